"""The command line as a coordinator and a cron job meet it: identities, init, discovery,
verify, log, records, the demo, and the error catalogue with its exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import (
    CANARY,
    REPO,
    SAMPLE_STORE,
    all_commands,
    git,
    run_panelctl,
    signed_commit,
    store_state,
)
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.crypto import envelope

CASE = {"status": "open", "child": {"name": CANARY, "dob": date(2011, 4, 2)}, "risk": "High"}


def snapshot(root: Path) -> dict:
    """HEAD, refs, git's index and the working tree: an error must leave them as they were."""
    return store_state(root)


# --- identities ----------------------------------------------------------------------


def test_identity_new_with_passphrase_file_is_private_and_prints_recipient(tmp_path):
    secret = tmp_path / "pass.txt"
    secret.write_text("correct horse battery staple\n")
    config = tmp_path / "cfg"
    result = run_panelctl(
        "identity",
        "new",
        "--name",
        "Sam Coordinator",
        env={"PANELCTL_CONFIG_DIR": str(config), "PANELCTL_PASSPHRASE_FILE": str(secret)},
    )
    assert result.returncode == 0, result.stderr
    recipient = result.stdout.strip()
    assert recipient.startswith("pcr2") and len(recipient) == 113
    identity = config / "identity.json"
    assert oct(config.stat().st_mode & 0o777) == "0o700"
    assert oct(identity.stat().st_mode & 0o777) == "0o600"
    document = json.loads(identity.read_text())
    assert document["secret"]["scheme"] == "scrypt-chacha20poly1305"
    assert document["secret"]["log_n"] == 18
    assert "correct horse" not in identity.read_text()


def test_identity_without_passphrase_needs_out(cli, tmp_path):
    result = cli("identity", "new", "--name", "Cron", "--no-passphrase")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "--out" in result.stderr
    result = cli(
        "identity", "new", "--name", "Cron", "--no-passphrase", "--out", str(tmp_path / "cron.json")
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cron.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("how", ["a dangling link", "a symlinked folder", "a FIFO", "read-only"])
def test_identity_out_is_refused_like_every_other_out(cli, tmp_path, how):
    folder = tmp_path / "keys"
    folder.mkdir()
    out = folder / "cron.json"
    if how == "a dangling link":
        os.symlink(tmp_path / "elsewhere.json", out)
    elif how == "a symlinked folder":
        (tmp_path / "real").mkdir()
        os.symlink(tmp_path / "real", tmp_path / "link")
        out = tmp_path / "link" / "cron.json"
    elif how == "a FIFO":
        os.mkfifo(out)
    else:
        folder.chmod(0o500)
    result = cli("identity", "new", "--name", "Cron", "--no-passphrase", "--out", str(out))
    folder.chmod(0o700)
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1
    assert (
        not (tmp_path / "elsewhere.json").exists()
        and not (tmp_path / "real" / "cron.json").exists()
    )
    assert how == "a FIFO" or not os.path.isfile(out)


def test_no_terminal_never_prompts(tmp_path):
    result = run_panelctl(
        "identity",
        "new",
        "--name",
        "Sam",
        stdin=subprocess.DEVNULL,
        env={"PANELCTL_CONFIG_DIR": str(tmp_path / "cfg")},
    )
    assert result.returncode == ExitCode.NO_TERMINAL
    assert "PANELCTL_PASSPHRASE_FILE" in result.stderr
    assert not (tmp_path / "cfg" / "identity.json").exists()


def test_passphrase_identity_opens_store_with_file_and_fails_without_terminal(
    store, make_person, cli, tmp_path
):
    reader = make_person("Pat Reader", passphrase="a long enough passphrase")
    assert (
        cli(
            "access",
            "add",
            reader.recipient,
            "--name",
            "Pat Reader",
            "--agency",
            "Police",
            "--role",
            "member",
            store=store.root,
            identity=store_identity(store, tmp_path),
        ).exit_code
        == 0
    )
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("a long enough passphrase\n")
    bad.write_text("not it\n")
    base = ["--store", str(store.root), "--identity", str(reader.path), "verify"]
    assert run_panelctl(*base, env={"PANELCTL_PASSPHRASE_FILE": str(good)}).returncode == 0
    wrong = run_panelctl(*base, env={"PANELCTL_PASSPHRASE_FILE": str(bad)})
    assert wrong.returncode == ExitCode.WRONG_PASSPHRASE
    assert "Wrong passphrase" in wrong.stderr and "Traceback" not in wrong.stderr
    no_tty = run_panelctl(*base, stdin=subprocess.DEVNULL)
    assert no_tty.returncode == ExitCode.NO_TERMINAL


def store_identity(store, tmp_path) -> Path:
    return tmp_path / "identities" / "sam-coordinator.json"


# --- init and discovery --------------------------------------------------------------


def test_init_creates_a_committed_store_with_driver_and_hook(cli, coordinator, tmp_path):
    target = tmp_path / "panels" / "mace"
    result = cli(
        "init",
        str(target),
        "--profile",
        "mace",
        "--name",
        "Stoke-on-Trent MACE",
        "--agency",
        "Stoke-on-Trent City Council",
        identity=coordinator.path,
    )
    assert result.exit_code == 0, result.output
    assert git(target, "log", "--format=%s|%an").splitlines() == ["Create store|Sam Coordinator"]
    assert sorted(git(target, "ls-files").split()) == [
        ".gitattributes",
        ".panelctl/keyring.json",
        "README.md",
        "panelctl.yaml",
    ]
    assert "diff=panelctl" in (target / ".gitattributes").read_text()
    assert "panelctl textconv" in git(target, "config", "diff.panelctl.textconv")
    assert git(target, "config", "diff.panelctl.cachetextconv").strip() == "false"
    assert "Stoke-on-Trent MACE" in (target / "README.md").read_text()
    assert os.access(target / ".git" / "hooks" / "pre-commit", os.X_OK)


@pytest.mark.parametrize("profile", ["cse-marac", "mace", "cse-panel", "mcse", "macse"])
def test_init_accepts_each_seed_profile(cli, coordinator, tmp_path, profile):
    result = cli(
        "init",
        str(tmp_path / profile),
        "--profile",
        profile,
        "--name",
        "Panel",
        "--agency",
        "Council",
        identity=coordinator.path,
    )
    assert result.exit_code == 0, result.output


def test_init_refuses_unknown_profile_and_non_empty_folder(cli, coordinator, tmp_path):
    result = cli(
        "init",
        str(tmp_path / "x"),
        "--profile",
        "nowhere",
        "--name",
        "P",
        "--agency",
        "A",
        identity=coordinator.path,
    )
    assert result.exit_code == ExitCode.INVALID_INPUT and "mace" in result.stderr
    assert not (tmp_path / "x").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    result = cli(
        "init",
        str(busy),
        "--profile",
        "mace",
        "--name",
        "P",
        "--agency",
        "A",
        identity=coordinator.path,
    )
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert (busy / "notes.txt").read_text() == "keep me"


def test_store_is_found_from_flag_env_or_walking_up(store, coordinator):
    store.create("case", CASE)
    (store.root / "cases").mkdir(exist_ok=True)
    env = {"PANELCTL_IDENTITY": str(coordinator.path)}
    assert run_panelctl("verify", cwd=store.root / "cases", env=env).returncode == 0
    assert (
        run_panelctl(
            "verify", cwd=store.root.parent, env={**env, "PANELCTL_STORE": str(store.root)}
        ).returncode
        == 0
    )
    outside = run_panelctl("verify", cwd=store.root.parent, env=env)
    assert outside.returncode == ExitCode.NOT_A_STORE
    assert "not inside a panelctl store" in outside.stderr


# --- verify, log and records ---------------------------------------------------------


def test_verify_is_silent_when_clean_and_names_each_problem(store, coordinator, cli):
    store.create("case", CASE)
    store.create("case", CASE)
    clean = cli("verify", store=store.root, identity=coordinator.path)
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "")
    blob = bytearray((store.root / "cases/C-0002.enc").read_bytes())
    blob[-1] ^= 1
    (store.root / "cases/C-0002.enc").write_bytes(bytes(blob))
    (store.root / "cases/notes.yaml").write_text("child: someone\n")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    lines = result.stdout.splitlines()
    assert any(line.startswith("cases/C-0002.enc") and "integrity" in line for line in lines)
    assert any(line.startswith("cases/notes.yaml") and "not encrypted" in line for line in lines)
    assert any("never committed" in line for line in lines)


def test_pre_commit_hook_refuses_plaintext(store):
    (store.root / "cases").mkdir(exist_ok=True)
    (store.root / "cases/C-0007.enc").write_text("id: C-0007\n")
    git(store.root, "add", "cases/C-0007.enc")
    result = subprocess.run(
        ["git", "commit", "-m", "oops"], cwd=store.root, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "not an encrypted record" in result.stderr


def test_log_lists_changes_and_patch_shows_them_decrypted(store, coordinator, cli):
    record_id = store.create("case", CASE)
    record = store.read(record_id)
    record["risk"] = "Medium"
    store.update(record)
    result = cli("log", record_id, "--format", "json", store=store.root, identity=coordinator.path)
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["change"] for e in entries] == ["Update case C-0001", "Create case C-0001"]
    assert {e["author"] for e in entries} == {"Sam Coordinator (Test Council, coordinator)"}
    table = cli("log", store=store.root, identity=coordinator.path)
    assert "Create store" in table.stdout and CANARY not in table.output
    patch = cli("log", record_id, "--patch", store=store.root, identity=coordinator.path)
    assert "-risk: High" in patch.stdout and "+risk: Medium" in patch.stdout


def test_record_list_and_show(store, coordinator, cli):
    store.create("case", CASE)
    listed = cli(
        "record", "list", "case", "--format", "csv", store=store.root, identity=coordinator.path
    )
    assert listed.stdout.splitlines()[0].startswith("id,status,risk")
    assert listed.stdout.splitlines()[1].startswith("C-0001,open,High")
    shown = cli("record", "show", "C-0001", store=store.root, identity=coordinator.path)
    assert yamlio.load(shown.stdout)["child"]["name"] == CANARY


# --- the error catalogue -------------------------------------------------------------


def test_error_catalogue(store, coordinator, make_person, cli, tmp_path):
    """Each error: its exit code, one sentence naming where, no traceback, store unchanged."""
    store.create("case", CASE)
    store.create("case", CASE)
    stranger = make_person("Stan Stranger")
    root = store.root

    def check(args, code, words, identity=coordinator.path):
        before = snapshot(root)
        result = cli(*args, store=root, identity=identity)
        assert result.exit_code == code, result.output
        assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1, (
            result.stderr
        )
        assert words in result.stderr
        assert "Traceback" not in result.output and CANARY not in result.output
        assert snapshot(root) == before

    check(
        ["record", "show", "C-0001"], ExitCode.NOT_A_READER, "not a reader", identity=stranger.path
    )
    check(
        ["record", "show", "C-0001"],
        ExitCode.IDENTITY,
        "No identity file",
        identity=tmp_path / "missing.json",
    )
    check(["record", "show", "C-0099"], ExitCode.NOT_FOUND, "C-0099")
    check(["record", "show", "X-1"], ExitCode.INVALID_INPUT, "not a record id")
    check(["access", "remove", "Sam Coordinator"], ExitCode.NOT_ALLOWED, "last coordinator")

    original = (root / "cases/C-0002.enc").read_bytes()
    try:
        (root / "cases/C-0002.enc").write_bytes(original[:-3])
        signed_commit(root, coordinator.path, "damage")
        check(["record", "show", "C-0002"], ExitCode.TAMPERED, "cases/C-0002.enc")
        (root / "cases/C-0002.enc").write_bytes((root / "cases/C-0001.enc").read_bytes())
        signed_commit(root, coordinator.path, "swap")
        check(["record", "show", "C-0002"], ExitCode.MISPLACED, "cases/C-0001.enc")
        keyring = store.keyring
        bad = envelope.encrypt(
            keyring.key,
            keyring.epoch,
            store.store_id,
            "cases/C-0002.enc",
            f"id: C-0002\nchild: [{CANARY}\n".encode(),
        )
        (root / "cases/C-0002.enc").write_bytes(bad)
        signed_commit(root, coordinator.path, "bad yaml")
        check(["record", "show", "C-0002"], ExitCode.INVALID_RECORD, "not valid YAML")
    finally:
        (root / "cases/C-0002.enc").write_bytes(original)

    elsewhere = tmp_path / "nowhere"
    elsewhere.mkdir()
    result = cli("verify", store=elsewhere, identity=coordinator.path)
    assert result.exit_code == ExitCode.NOT_A_STORE and str(elsewhere) in result.stderr


def test_debug_shows_the_traceback(store, make_person, cli):
    stranger = make_person("Stan Stranger")
    with pytest.raises(Exception, match="not a reader"):
        cli("--debug", "verify", store=store.root, identity=stranger.path)


# --- the demo, help and the README ---------------------------------------------------


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_demo_runs_on_a_copy_and_leaves_the_sample_store_untouched(tmp_path):
    before = tree_digest(SAMPLE_STORE)
    result = run_panelctl("demo", str(SAMPLE_STORE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "C-0006" in result.stdout and "New nomination" in result.stdout
    assert "Risk changed" in result.stdout and "Import the sample store" in result.stdout
    (papers,) = (tmp_path / "tmp").glob("panelctl-demo-*/papers")  # the demo's copy is in TMPDIR
    assert (papers / "agenda-M-0002.html").exists()
    assert tree_digest(SAMPLE_STORE) == before
    assert not (SAMPLE_STORE / ".git").exists()


def test_sample_store_verifies(sample, cli):
    result = cli("verify", store=sample.store, identity=sample.identity)
    assert (result.exit_code, result.output) == (0, "")


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    for path, command in all_commands():
        assert "Example:" in (command.help or ""), f"{' '.join(path)} has no example in its help"
        assert f"panelctl {path[0]}" in readme, f"{' '.join(path)} is not in the README"


def test_readme_lists_every_exit_code():
    readme = (REPO / "README.md").read_text()
    for code in ExitCode:
        assert f"\n| {int(code)} |" in readme, (
            f"exit code {int(code)} ({code.name}) missing from README"
        )


def test_help_runs_without_loading_the_library():
    code = (
        "import sys, panelctl.cli.main as m\n"
        "heavy = {'cryptography', 'yaml', 'ruamel', 'jinja2', 'msgspec'} & {n.split('.')[0] for n in sys.modules}\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert run_panelctl("--help").returncode == 0


def test_version_is_the_installed_one(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"panelctl {version('panelctl')}"


def test_a_field_error_points_at_the_option_that_gave_it(cli, store, coordinator):
    """The library names the field; the CLI names the option that gave it."""
    head = git(store.root, "rev-parse", "HEAD")
    result = cli(
        "meeting",
        "schedule",
        "14/03/2026",
        "--time",
        "25:99",
        store=store.root,
        identity=coordinator.path,
    )
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == "panelctl: The time is not a time of day; write it as 09:30 (--time).\n"
    closing = cli(
        "case",
        "close",
        "C-0001",
        "--reason",
        " ",
        "--agreed-by",
        "Police",
        store=store.root,
        identity=coordinator.path,
    )
    assert closing.stderr == "panelctl: Closing a case needs a reason (--reason).\n"
    assert git(store.root, "rev-parse", "HEAD") == head
