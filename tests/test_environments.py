"""Odd environments, as cron and shells make them, through real processes: stdin or stdout
closed, a broken pipe, a full disk, an ASCII-only encoding, a read-only store. Each gives a
documented exit code and at most one sentence on stderr, no traceback, and the store exactly
as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CANARY, SAMPLE_STORE, assert_unchanged, store_state
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.panel.demo import prepare_demo
from panelctl.store.core import Store

NON_ASCII_TEAM = "Équipe Adolescents – Nord"  # not a name: a team, with non-ASCII letters
LEAD = "Zoë Ó Briain"  # a fictional professional: shown by `case list`


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    base = tmp_path_factory.mktemp("env")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PANELCTL_")]:
            patch.delenv(name)
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        demo = prepare_demo(SAMPLE_STORE, base / "demo")
        store = Store(demo.store, read_identity_file(demo.identity).unlock())
        with store.transaction() as tx:
            case = store.read("C-0001")
            case["team"] = NON_ASCII_TEAM
            case["lead_professional"] = LEAD
            tx.put(case)
    return demo


def _broken_pipe() -> int:
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write fails with EPIPE
    return write


CASES = {
    # name: (args, {subprocess options}, env, exit code, words in the sentence or None)
    "stdin /dev/null, a command that asks": (
        ["meeting", "run", "M-0002"],
        {"stdin": subprocess.DEVNULL},
        {},
        ExitCode.USAGE,
        "--script",
    ),
    "stdin closed, a command that asks": (
        ["meeting", "run", "M-0002"],
        {"close": 0},
        {},
        ExitCode.USAGE,
        "--script",
    ),
    "stdin closed, a list": (["case", "list"], {"close": 0}, {}, ExitCode.OK, None),
    "stdout closed, a list": (
        ["case", "list"],
        {"close": 1},
        {},
        ExitCode.WRITE_FAILED,
        "standard output was closed",
    ),
    "stdout closed, record show": (
        ["record", "show", "C-0001"],
        {"close": 1},
        {},
        ExitCode.WRITE_FAILED,
        "standard output was closed",
    ),
    "stdout a broken pipe": (
        ["case", "list", "--format", "json"],
        {"stdout": "broken pipe"},
        {},
        ExitCode.WRITE_FAILED,
        "broken pipe",
    ),
    "stdout a full disk, a list": (
        ["case", "list"],
        {"stdout": "/dev/full"},
        {},
        ExitCode.WRITE_FAILED,
        "no space",
    ),
    "stdout a full disk, a report": (
        ["report", "annual", "--year", "2025", "--format", "md"],
        {"stdout": "/dev/full"},
        {},
        ExitCode.WRITE_FAILED,
        "no space",
    ),
    "ascii, record show": (
        ["record", "show", "C-0001"],
        {},
        {"PYTHONIOENCODING": "ascii"},
        ExitCode.WRITE_FAILED,
        "PYTHONIOENCODING=utf-8",
    ),
    "ascii, a list as a table": (
        ["case", "list"],
        {},
        {"PYTHONIOENCODING": "ascii"},
        ExitCode.WRITE_FAILED,
        "encoding (ascii)",
    ),
    "ascii, a list as json": (
        ["case", "list", "--format", "json"],
        {},
        {"PYTHONIOENCODING": "ascii"},
        ExitCode.WRITE_FAILED,
        "encoding (ascii)",
    ),
    "read-only store, a write": (
        ["case", "update", "C-0002", "--team", "Another Team"],
        {"stdin": subprocess.DEVNULL},
        {"READ_ONLY": "1"},
        ExitCode.WRITE_FAILED,
        "read-only",
    ),
    "stdout a full disk, a write that prints after it commits": (
        [
            "nominate",
            "--name",
            CANARY,
            "--dob",
            "14/03/2011",
            "--referring-agency",
            "Staffordshire Police",
            "--risk-level",
            "Medium",
            "--protocol-followed",
        ],
        {"stdout": "/dev/full"},
        {},
        ExitCode.WRITE_FAILED,
        "saved whole or not at all (see panelctl log)",
    ),
    "stdout closed, a write": (  # the change is saved; only its confirmation is lost
        ["case", "update", "C-0002", "--team", "Another Team"],
        {"close": 1},
        {},
        ExitCode.OK,
        None,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_an_odd_environment_gives_a_code_and_one_sentence(demo_template, tmp_path, name):
    import shutil

    args, options, env, code, words = CASES[name]
    demo = tmp_path / "demo"
    shutil.copytree(demo_template.store.parent, demo, symlinks=True)
    root = demo / demo_template.store.name
    identity = demo / demo_template.identity.relative_to(demo_template.store.parent)
    env = dict(env)
    if env.pop("READ_ONLY", None):
        os.chmod(root, 0o500)
    options = dict(options)
    opened = None
    if options.get("stdout") == "broken pipe":
        options["stdout"] = opened = _broken_pipe()
    elif options.get("stdout") == "/dev/full":
        opened = options["stdout"] = os.open("/dev/full", os.O_WRONLY)
    closes = options.pop("close", None)  # closed in the child, as `<&-` or `>&-` does
    if closes is not None:
        options["preexec_fn"] = lambda: os.close(closes)
    if closes != 1:
        options.setdefault("stdout", subprocess.PIPE)
    if closes != 0:
        options.setdefault("stdin", subprocess.DEVNULL)
    before = store_state(root)
    full_env = {
        **os.environ,
        "PANELCTL_STORE": str(root),
        "PANELCTL_IDENTITY": str(identity),
        **env,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "panelctl", *args],
            env=full_env,
            stderr=subprocess.PIPE,
            timeout=60,
            **options,
        )
    finally:
        if opened is not None:
            os.close(opened)
        os.chmod(root, 0o700)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert CANARY not in stderr and NON_ASCII_TEAM not in stderr and LEAD not in stderr
    if words is None:
        assert stderr.count("panelctl: ") <= 1, stderr
    else:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("panelctl: "), stderr
        assert words in lines[0] and lines[0].endswith("."), stderr
    # saved before its output: a change, or a report's disclosure (logged before it is shown)
    if args[0] in ("nominate", "case", "report") and args[1] != "list":
        after = store_state(root)["HEAD"].strip()
        assert subprocess.run(
            ["git", "rev-list", "--count", f"{before['HEAD'].strip()}..{after}"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip() == ("0" if "read-only" in name else "1")
        if "read-only" in name:
            assert_unchanged(before, store_state(root))
    else:
        assert_unchanged(before, store_state(root))


def test_the_read_only_folder_refusal_is_by_mode_even_for_root(tmp_path):
    from panelctl.base.fsutil import is_writable_folder

    folder = tmp_path / "folder"
    folder.mkdir()
    assert is_writable_folder(folder)
    folder.chmod(0o500)
    try:
        assert not is_writable_folder(folder)
    finally:
        folder.chmod(0o700)
    assert not is_writable_folder(Path(tmp_path / "missing"))
