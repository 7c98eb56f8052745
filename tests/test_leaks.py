"""The canary child name must never leave ciphertext: not into git objects, commit messages,
file names, files in the store or its .git, temp files, logs or error messages. It may
appear only in output a reader asked to see decrypted (`log --patch`, `git log -p`)."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import CANARY, git, run_panelctl, signed_commit
from panelctl.base.errors import ExitCode, InvalidRecordError
from panelctl.crypto import envelope

CASE = {
    "status": "open",
    "child": {"name": CANARY, "dob": date(2011, 4, 2), "looked_after": True},
    "nominated": date(2026, 11, 1),
    "risk": "High",
    "concern": f"{CANARY} was seen with older males",
}
OTHER = {"status": "open", "child": {"name": "Another Child"}, "risk": "Low"}
# The whole name, each part, and the name as UTF-16 (as some tools write it).
NEEDLES = [
    CANARY.encode("utf-8"),
    *[part.encode("utf-8") for part in CANARY.replace("-", " ").split()],
    CANARY.encode("utf-16-le"),
    CANARY.lower().encode("utf-8"),
]


def found_in(data: bytes) -> list[bytes]:
    return [needle for needle in NEEDLES if needle in data]


def all_files(root: Path) -> list[Path]:
    return [Path(folder) / name for folder, _dirs, names in os.walk(root) for name in names]


def all_names(root: Path) -> list[str]:
    names = []
    for folder, dirs, files in os.walk(root):
        names.extend(str(Path(folder, n).relative_to(root)) for n in dirs + files)
    return names


@pytest.fixture
def history(store, coordinator):
    """A canary case created and updated, and another case created and deleted."""
    canary_id = store.create("case", CASE)
    record = store.read(canary_id)
    record["risk"] = "Medium"
    record["child"]["school"] = f"{CANARY.split()[0]} Primary"
    assert store.update(record) is True
    other_id = store.create("case", OTHER)
    store.delete(other_id)
    assert canary_id == "C-0001" and other_id == "C-0002"
    return store


def test_canary_never_leaves_ciphertext(history, coordinator, tmp_path):
    store = history
    root = store.root
    env = {"PANELCTL_IDENTITY": str(coordinator.path)}

    log = run_panelctl("--store", str(root), "log", env=env)
    assert log.returncode == 0, log.stderr
    assert "Update case C-0001" in log.stdout and "Delete case C-0002" in log.stdout

    patch = run_panelctl("--store", str(root), "log", "C-0001", "--patch", env=env)
    assert patch.returncode == 0, patch.stderr
    # Decrypted output to a reader, on purpose: proves these checks can see the name.
    assert CANARY in patch.stdout and "+risk: Medium" in patch.stdout
    assert found_in(patch.stdout.encode()) == NEEDLES[:4]  # the checker sees it

    git_patch = subprocess.run(
        ["git", "log", "-p", "--no-color"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
    )
    assert git_patch.returncode == 0, git_patch.stderr
    assert CANARY.encode() in git_patch.stdout  # textconv decrypted it for the reader
    assert b"-risk: High" in git_patch.stdout and b"+risk: Medium" in git_patch.stdout
    assert found_in(git_patch.stderr) == []

    leaks: dict[str, list[bytes]] = {}

    def check(where: str, data: bytes) -> None:
        hits = found_in(data)
        if hits:
            leaks[where] = hits

    check("panelctl log stdout", log.stdout.encode())
    check("panelctl log stderr", log.stderr.encode())
    check("log --patch stderr", patch.stderr.encode())

    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    assert objects.count(b" commit ") >= 5  # every commit is in there
    assert envelope.MAGIC_CASES in objects  # and the record blobs (about a child: case keys)
    check("git objects", objects)
    check("commit messages", git(root, "log", "--all", "--format=%H%n%an%n%ae%n%B").encode())
    check("reflog", git(root, "reflog", "--format=%gs").encode())
    check("notes", git(root, "notes", "list").encode())

    check("file names in the store", "\n".join(all_names(root)).encode())
    files = all_files(root)
    assert any(".git/panelctl" in str(f) for f in files), "the local index should exist"
    assert (root / ".git/panelctl/index/case.bin").exists()
    for file in files:
        if file.is_file() and not file.is_symlink():
            check(str(file.relative_to(root)), file.read_bytes())

    tmp = tmp_path / "tmp"
    assert os.environ["TMPDIR"] == str(tmp)
    check("file names in TMPDIR", "\n".join(all_names(tmp)).encode())
    for file in all_files(tmp):
        if file.is_file():
            check(f"TMPDIR/{file.relative_to(tmp)}", file.read_bytes())
    # git's textconv cache is off: no refs/notes/textconv holding decrypted text
    assert "notes" not in git(root, "for-each-ref", "--format=%(refname)")

    assert leaks == {}


def test_git_diff_of_working_tree_change_decrypts_only_to_stdout(history, coordinator, tmp_path):
    store = history
    record = store.read("C-0001")
    record["risk"] = "Low"
    store.update(record)
    diff = subprocess.run(
        ["git", "diff", "--no-color", "HEAD~1", "HEAD"],
        cwd=store.root,
        env={**os.environ, "PANELCTL_IDENTITY": str(coordinator.path)},
        capture_output=True,
    )
    assert diff.returncode == 0 and b"+risk: Low" in diff.stdout
    for file in all_files(tmp_path / "tmp"):
        assert found_in(file.read_bytes()) == [], file


def _write_broken_record(store, record_id: str, plaintext: bytes) -> Path:
    keyring = store.keyring
    path = store.path_of(record_id)
    blob = envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, plaintext)
    target = store.root / path
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(blob)
    return target


BROKEN_YAML = [
    # unclosed flow mapping, the name on the offending line
    f"id: C-0002\nstatus: open\nchild: {{name: {CANARY}, dob: [\n",
    # a tab where YAML forbids one, next to the name
    f"id: C-0002\nchild:\n\tname: {CANARY}\n",
    # an unknown tag carrying the name
    f"id: C-0002\nchild: !{CANARY.split()[0]} {{name: x}}\n",
    # duplicate anchors / bad alias named after the child
    f"id: C-0002\nchild: *{CANARY.split()[0]}\n",
    # a key that is the name (valid YAML, invalid record)
    f"id: C-0002\nstatus: open\nchild: {{name: x}}\n{CANARY}: 1\n",
    # the name where the id should be
    f"id: {CANARY}\nstatus: open\nchild: {{name: x}}\n",
    # valid YAML of the wrong shape
    f"- {CANARY}\n",
    # not UTF-8 at all
    "id: C-0002\nchild: {name: " + CANARY + "}\n\udcff",
]


@pytest.mark.parametrize("text", BROKEN_YAML, ids=range(len(BROKEN_YAML)))
def test_errors_about_a_broken_record_never_quote_it(store, text):
    store.create("case", OTHER)
    plaintext = text.encode("utf-8", "surrogateescape")
    _write_broken_record(store, "C-0002", plaintext)
    assert (
        store.decrypt("cases/C-0002.enc", (store.root / "cases/C-0002.enc").read_bytes())
        == plaintext
    )
    with pytest.raises(InvalidRecordError) as caught:
        store.read("C-0002")
    message = caught.value.message
    assert "C-0002" in message
    assert found_in(message.encode()) == []
    assert found_in(str(caught.value).encode()) == []
    # nothing chained on the exception carries the document either
    cause = caught.value.__cause__ or caught.value.__context__
    assert cause is None or found_in(repr(cause).encode()) == []


def test_cli_with_a_broken_record_prints_no_traceback_and_no_name(store, coordinator, cli):
    store.create("case", OTHER)
    _write_broken_record(store, "C-0002", BROKEN_YAML[0].encode())
    shown = cli("record", "show", "C-0002", store=store.root, identity=coordinator.path)
    assert shown.exit_code == ExitCode.INVALID_RECORD == 9
    assert "not valid YAML" in shown.stderr and "(line " in shown.stderr
    assert "Traceback" not in shown.output and found_in(shown.output.encode()) == []
    assert shown.stdout == ""

    listed = cli("record", "list", "case", store=store.root, identity=coordinator.path)
    assert "Traceback" not in listed.output and found_in(listed.output.encode()) == []
    # (the list comes from the index as of HEAD, where C-0002 is not yet broken)
    assert listed.exit_code in (0, ExitCode.INVALID_RECORD)
    signed_commit(store.root, coordinator.path, "broken")
    listed = cli("record", "list", "case", store=store.root, identity=coordinator.path)
    assert listed.exit_code == ExitCode.INVALID_RECORD
    assert "Traceback" not in listed.output and found_in(listed.output.encode()) == []

    verified = cli("verify", store=store.root, identity=coordinator.path)
    assert verified.exit_code == ExitCode.PROBLEMS_FOUND
    assert "cases/C-0002.enc" in verified.output and found_in(verified.output.encode()) == []

    # and as a real process, as a terminal user would see it
    real = run_panelctl(
        "--store", str(store.root), "--identity", str(coordinator.path), "record", "show", "C-0002"
    )
    assert real.returncode == ExitCode.INVALID_RECORD
    assert "Traceback" not in real.stderr
    assert found_in((real.stdout + real.stderr).encode()) == []
