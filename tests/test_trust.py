"""The attacks of issue 11, each detected by `verify` and refused by the commands that would
have acted on it: real git, real files, real crypto, the real command line."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import threading
from datetime import UTC, date

import pytest

from conftest import (
    CANARY,
    accept_history,
    assert_unchanged,
    commit_settings,
    git,
    store_state,
    take_case_keys,
)
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode, NotAllowedError
from panelctl.panel.access import add_reader, remove_reader
from panelctl.store import chain, gitio
from panelctl.store.core import Store
from panelctl.store.verify import verify

CASE = {"status": "open", "child": {"name": CANARY, "dob": date(2011, 4, 2)}, "risk": "High"}


def plain_commit(root, message="edit", name="Mallory"):
    git(root, "add", "-A")
    git(
        root,
        "-c",
        f"user.name={name}",
        "-c",
        "user.email=m@example.invalid",
        "commit",
        "--no-verify",
        "-q",
        "-m",
        message,
    )
    return git(root, "rev-parse", "HEAD").strip()


def signed_by(root, identity, message, author=None):
    """A commit of the working tree signed with ``identity``'s key, not accepted here."""
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    new = gitio.write_signed_commit(
        root,
        tree,
        [parent],
        message,
        gitio.Author(author or identity.name, "x@example.invalid"),
        identity.sign,
    )
    git(root, "update-ref", "HEAD", new, parent)
    git(root, "reset", "-q", "--hard")
    return new


def refused(cli, root, identity, *args, code=ExitCode.UNVERIFIED):
    before = store_state(root)
    result = cli(*args, store=root, identity=identity)
    assert result.exit_code == code, result.output
    assert CANARY not in result.output
    assert_unchanged(before, store_state(root))
    return result


def test_unsigned_template_commit_is_named_and_never_rendered(store, coordinator, cli, tmp_path):
    store.create("case", CASE)
    marker = tmp_path / "pwned"
    (store.root / "templates").mkdir(exist_ok=True)
    evil = "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    for name in ("report.md.j2", "agenda.md.j2", "papers.md.j2"):
        (store.root / "templates" / name).write_text(evil)
    bad = plain_commit(store.root, "tidy templates")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    assert f"commit {bad[:12]}" in result.stdout and "not signed" in result.stdout
    assert CANARY not in result.output
    for args in (("report", "bimonthly"), ("agenda", "build"), ("case", "list")):
        out = refused(cli, store.root, coordinator.path, *args)
        assert "panelctl verify" in out.output, out.output
    assert not marker.exists()


def test_removed_reader_with_old_keys_is_refused(store, coordinator, make_person, cli):
    mallory = make_person("Mallory Removed")
    add_reader(store, mallory.recipient, mallory.name, "Some Agency", "member")
    store.create("case", CASE)
    store.create("case", CASE)
    # Mallory's own clone, kept after her removal, with the old keyring and her identity
    clone = store.root.parent / "mallory"
    git(store.root.parent, "clone", "-q", str(store.root), str(clone))
    take_case_keys(clone)  # (what `panelctl clone` does)
    mine = Store(clone, mallory.unlock())
    assert verify(mine).problems == []
    forged = mine.create("case", CASE)
    lowered = mine.read("C-0001")
    lowered["risk"] = "Low"
    mine.update(lowered)
    remove_reader(store, mallory.name)
    # she writes those old-epoch files onto the store's new history, signed by her own key
    for record_id in (forged, "C-0001"):
        path = store.path_of(record_id)
        (store.root / path).write_bytes((clone / path).read_bytes())
    bad = signed_by(store.root, mallory.unlock(), "Update case C-0001")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert f"commit {bad[:12]}" in result.stdout
    assert "not signed by a reader" in result.stdout
    assert CANARY not in result.output
    refused(cli, store.root, coordinator.path, "case", "list")


def test_removed_reader_readding_themselves_is_refused(store, coordinator, make_person, cli):
    mallory = make_person("Mallory Removed")
    add_reader(store, mallory.recipient, mallory.name, "Some Agency", "member")
    old = Store(store.root, mallory.unlock()).keyring
    remove_reader(store, mallory.name)
    # Mallory builds a keyring with the keys she had, herself as coordinator
    me = old.reader(mallory.recipient)
    ring = old.remove(me).add(dataclasses.replace(me, role="coordinator"))
    (store.root / ".panelctl").mkdir(exist_ok=True)
    from panelctl.crypto.keyring import KEYRING_PATH

    (store.root / KEYRING_PATH).write_bytes(ring.to_bytes())
    bad = signed_by(store.root, mallory.unlock(), "Grant access")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    assert bad[:12] in result.stdout and "not signed by a reader" in result.stdout
    nomination = store.root.parent / "nom.yaml"
    nomination.write_text(f"child:\n  name: {CANARY}\n  dob: 2011-04-02\n")
    refused(cli, store.root, coordinator.path, "nominate", "--from", str(nomination))


def test_cron_making_itself_coordinator(store, coordinator, make_person, cli, monkeypatch):
    cron = make_person("Cron Job")
    add_reader(store, cron.recipient, cron.name, "Test Council", "cron")
    clone = store.root.parent / "cron"
    git(store.root.parent, "clone", "-q", str(store.root), str(clone))
    take_case_keys(clone)  # (what `panelctl clone` does)
    cstore = Store(clone, cron.unlock())
    assert verify(cstore).problems == []
    me = cstore.keyring.reader(cron.recipient)
    ring = cstore.keyring
    promoted = dataclasses.replace(
        ring,
        readers=tuple(
            dataclasses.replace(r, role="coordinator") if r.key == me.key else r
            for r in ring.readers
        ),
    )
    head = git(clone, "rev-parse", "HEAD")
    with pytest.raises(NotAllowedError):
        with cstore.transaction("promote") as tx:
            tx.set_keyring(promoted)
    assert git(clone, "rev-parse", "HEAD") == head
    from panelctl.store.core import Transaction

    monkeypatch.setattr(Transaction, "_check_rules", lambda self: None)
    with Store(clone, cron.unlock()).transaction("promote") as tx:
        tx.set_keyring(promoted)
    monkeypatch.undo()
    assert git(clone, "rev-parse", "HEAD") != head
    git(store.root, "pull", "-q", "--no-rebase", str(clone), "HEAD")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert "is not a coordinator" in result.stdout
    refused(cli, store.root, coordinator.path, "case", "list")


def test_member_deleting_a_record_is_refused(store, coordinator, make_person, cli):
    member = make_person("Mo Member")
    add_reader(store, member.recipient, member.name, "Test Council", "member")
    record_id = store.create("case", CASE)
    git(store.root, "rm", "-q", store.path_of(record_id))
    bad = signed_by(store.root, member.unlock(), "tidy")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    assert bad[:12] in result.stdout and "deletes a record" in result.stdout
    assert CANARY not in result.output


def test_restoring_an_older_record_after_a_new_epoch_is_refused(
    store, coordinator, make_person, cli
):
    member = make_person("Mo Member")
    gone = make_person("Gone Reader")
    add_reader(store, member.recipient, member.name, "Test Council", "member")
    add_reader(store, gone.recipient, gone.name, "Test Council", "member")
    record_id = store.create("case", CASE)
    path = store.path_of(record_id)
    old = git(store.root, "rev-parse", "HEAD").strip()
    remove_reader(store, gone.name)
    git(store.root, "checkout", old, "--", path)
    bad = signed_by(store.root, member.unlock(), "restore")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    assert bad[:12] in result.stdout and "epoch" in result.stdout and path in result.stdout


def test_log_shows_the_verified_signer_not_the_git_author(store, coordinator, cli):
    record_id = store.create("case", CASE)
    record = store.read(record_id)
    record["risk"] = "Low"
    store.update(record)
    git(store.root, "commit", "--amend", "-q", "--no-edit", "--author=Chief Constable <c@x>")
    # the amend drops the signature: log refuses until verify has checked (and named) it
    refused(cli, store.root, coordinator.path, "log")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND and "not signed" in result.stdout


def test_log_forged_author_on_signed_commit(store, coordinator, cli):
    store.create("case", CASE)
    (store.root / "templates").mkdir(exist_ok=True)
    (store.root / "templates" / "extra.md.j2").write_text("hello\n")
    signed_by(store.root, coordinator.unlock(), "Add template", author="Chief Constable")
    accept_history(store.root, coordinator.path, everything=False)
    result = cli("log", "--format", "json", store=store.root, identity=coordinator.path)
    assert result.exit_code == 0, result.output
    authors = [e["author"] for e in json.loads(result.stdout)]
    assert authors[0] == "Sam Coordinator (Test Council, coordinator)"
    assert "Chief Constable" not in result.stdout


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen missing")
def test_stock_git_verifies_panelctl_commits(store, coordinator, cli, tmp_path):
    store.create("case", CASE)
    shown = cli("identity", "show", identity=coordinator.path)
    line = next(x for x in shown.stdout.splitlines() if x.strip().startswith("signing:"))
    key = line.split(":", 1)[1].strip()
    allowed = tmp_path / "allowed"
    allowed.write_text(f"x@example.invalid {key}\n* {key}\n")
    ok = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "HEAD"],
        cwd=store.root,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    (store.root / "templates").mkdir(exist_ok=True)
    (store.root / "templates" / "x.md.j2").write_text("x\n")
    plain_commit(store.root)
    bad = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "HEAD"],
        cwd=store.root,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0


def test_fresh_clone_pins_creator_and_refuses_another(store, coordinator, cli, tmp_path):
    store.create("case", CASE)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(store.root), str(clone))
    take_case_keys(clone)  # (what `panelctl clone` does)
    first = cli("verify", store=clone, identity=coordinator.path)
    if first.exit_code != 0:
        cli("setup", store=clone, identity=coordinator.path)
        first = cli("verify", store=clone, identity=coordinator.path)
    assert first.exit_code == 0, first.output
    assert "Sam Coordinator" in first.output
    trust_file = clone / ".git" / "panelctl" / "trust.json"
    trust = json.loads(trust_file.read_text())
    assert "signing key ssh-ed25519 " in first.output
    trust["creator"] = base64.b64encode(os.urandom(32)).decode()
    trust_file.write_text(json.dumps(trust))
    result = cli("verify", "--all", store=clone, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert "creat" in result.output or "pinned" in result.output, result.output
    assert CANARY not in result.output


def test_verify_since_all_and_daily_counts(store, coordinator, cli):
    store.create("case", CASE)
    assert verify(store).commits == 0  # panelctl's own writes are verified as made
    start = git(store.root, "rev-parse", "HEAD").strip()
    (store.root / "templates").mkdir(exist_ok=True)
    for n in range(3):  # a colleague's three signed commits, as a pull brings them
        (store.root / "templates" / f"extra{n}.md.j2").write_text(f"{n}\n")
        signed_by(store.root, coordinator.unlock(), f"template {n}")
    assert verify(store).commits == 3
    assert verify(store).commits == 0
    assert verify(store, since=start).commits == 3
    total = int(git(store.root, "rev-list", "--count", "HEAD"))
    assert verify(store, everything=True).commits == total
    for args in (("verify", "--since", start), ("verify", "--all")):
        result = cli(*args, store=store.root, identity=coordinator.path)
        assert (result.exit_code, result.output) == (0, ""), result.output


@pytest.fixture
def counting_server():
    """A plain socket server that counts the connections it is offered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    seen = []

    def serve():
        while True:
            try:
                conn, _address = sock.accept()
            except OSError:
                return
            seen.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1], seen
    sock.close()


def test_settings_pointing_mail_at_an_attacker_are_refused(
    store, coordinator, cli, counting_server
):
    port, seen = counting_server
    with store.transaction() as tx:
        tx.create(
            "member",
            {"name": "Jo Worker", "agency": "Test", "role": "core", "email": "jo@stoke.gov.uk"},
        )
        tx.create("case", CASE)
        tx.create(
            "action",
            {
                "description": "Visit the school",
                "owner": "Jo Worker",
                "due": date(2026, 2, 25),
                "status": "open",
                "case": "C-0001",
                "agency": "Police",
            },
        )
    settings = store.root / "panelctl.yaml"
    original = settings.read_bytes()
    data = yamlio.load(original)
    mail = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "mace-panel@stoke.gov.uk",
        "names_in_body": True,
    }
    data["settings"] = {
        **(data.get("settings") or {}),
        "mail": {**mail, "password_file": str(coordinator.path)},
    }
    settings.write_bytes(yamlio.dump(data))
    out = refused(
        cli, store.root, coordinator.path, "remind", "--as-of", "2026-03-02", code=ExitCode.TAMPERED
    )
    assert "panelctl.yaml" in out.stderr and out.stderr.count("\n") == 1, out.stderr
    bad = plain_commit(store.root, "mail settings")
    refused(cli, store.root, coordinator.path, "remind", "--as-of", "2026-03-02")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND
    assert f"commit {bad[:12]}" in result.stdout and "not signed" in result.stdout
    assert seen == []
    # the control: the same server, committed by the coordinator, is reached
    git(store.root, "reset", "-q", "--hard", "HEAD~1")
    data["settings"]["mail"] = mail
    settings.write_bytes(yamlio.dump(data))
    commit_settings(store.root, coordinator.path)
    cli("remind", "--as-of", "2026-03-02", store=store.root, identity=coordinator.path)
    assert seen != []


def test_reverting_an_access_remove_is_refused(store, coordinator, make_person, cli, tmp_path):
    mallory = make_person("Mallory Removed")
    add_reader(store, mallory.recipient, mallory.name, "Some Agency", "member")
    store.create("case", CASE)
    remove_reader(store, mallory.name)
    removal = git(store.root, "rev-parse", "HEAD").strip()
    git(store.root, "revert", "--no-edit", removal)
    result = cli("verify", store=store.root, identity=coordinator.path)
    # this clone has seen epoch 2 in use: it refuses the older keyring outright
    assert result.exit_code == ExitCode.TAMPERED, result.output
    assert "keyring.json is at key epoch 1, older than epoch 2" in result.output
    refused(cli, store.root, coordinator.path, "case", "list", code=ExitCode.TAMPERED)
    git(store.root, "reset", "-q", "--hard", removal)
    # the same revert, signed by a real coordinator
    git(store.root, "revert", "--no-commit", removal)
    bad = signed_by(store.root, coordinator.unlock(), "Revert access removal")
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.TAMPERED, result.output
    assert "keyring.json is at key epoch 1, older than epoch 2" in result.output
    assert CANARY not in result.output
    # a fresh clone, which never saw epoch 2 in use, is told by the chain
    clone = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(store.root), str(clone))
    take_case_keys(clone)  # (what `panelctl clone` does)
    fresh = cli("verify", store=clone, identity=coordinator.path)
    assert fresh.exit_code == ExitCode.PROBLEMS_FOUND, fresh.output
    assert f"commit {bad[:12]}" in fresh.output and "epoch 2 to 1" in fresh.output
    refused(cli, clone, coordinator.path, "case", "list")


def test_member_approving_minutes_is_refused(store, coordinator, make_person, cli, monkeypatch):
    from datetime import datetime

    from panelctl.meetings.minutes import approve_minutes
    from panelctl.store.core import Transaction

    member = make_person("Mo Member")
    add_reader(store, member.recipient, member.name, "Test Council", "member")
    with store.transaction() as tx:
        tx.create("meeting", {"date": date(2026, 10, 1), "status": "held"})
    mine = Store(store.root, member.unlock())
    head = git(store.root, "rev-parse", "HEAD")
    now = datetime(2026, 10, 2, 10, tzinfo=UTC)
    with pytest.raises(NotAllowedError):
        approve_minutes(mine, "M-0001", now)
    # past the command's own role check, the rules refuse before anything is written
    monkeypatch.setattr(Store, "require_role", lambda self, *roles: None)
    with pytest.raises(NotAllowedError, match="approves minutes"):
        approve_minutes(Store(store.root, member.unlock()), "M-0001", now)
    assert git(store.root, "rev-parse", "HEAD") == head
    # past the rules too (an edited copy of panelctl): the commit lands, verify names it
    monkeypatch.setattr(Transaction, "_check_rules", lambda self: None)
    approve_minutes(Store(store.root, member.unlock()), "M-0001", now)
    bad = git(store.root, "rev-parse", "HEAD").strip()
    monkeypatch.undo()
    assert bad != head.strip()
    result = cli("verify", "--all", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert f"commit {bad[:12]}" in result.stdout
    assert "approves minutes, which only the chair or vice-chair may" in result.stdout


def test_a_dead_write_adopts_only_its_own_commit(store, coordinator, make_person, cli):
    """A write killed after its commit landed leaves its journal; the next command adopts
    that commit as verified only when it is this user's own, signed on the verified point
    (test_locks covers the adopting). A journal naming the verified point does not let a
    commit of anyone else's through, even a reader's."""
    member = make_person("Mo Member")
    add_reader(store, member.recipient, member.name, "Test Council", "member")
    record_id = store.create("case", CASE)
    parent = git(store.root, "rev-parse", "HEAD").strip()
    journal = store.private / "journal.json"
    journal.write_text(json.dumps({"paths": [], "before": parent, "owner": None}))
    (store.root / "notes.txt").write_text("by hand\n")
    bad = signed_by(store.root, member.unlock(), "notes")
    result = cli("case", "show", record_id, store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.UNVERIFIED and "verify" in result.stderr
    assert CANARY not in result.output
    assert chain.read_trust(store.private).verified == parent
    assert git(store.root, "rev-parse", "HEAD").strip() == bad
