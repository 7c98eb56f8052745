"""Who may read a store: adding, listing and removing readers, through the CLI and the
library, and what a removed reader can and cannot still read."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import git
from panelctl.base.errors import ExitCode, NotAReaderError, PanelctlError, TamperedError
from panelctl.crypto import envelope
from panelctl.crypto import primitives as crypto
from panelctl.crypto.casekeys import CaseKeys
from panelctl.crypto.keyring import KEYRING_PATH, Keyring
from panelctl.model.records import TYPES, record_type
from panelctl.panel import access
from panelctl.store.core import Store
from panelctl.store.index import _aad as index_aad

CASE = {"status": "open", "child": {"name": "Test Child", "dob": date(2012, 5, 6)}, "risk": "High"}


def head(store: Store) -> str:
    return git(store.root, "rev-parse", "HEAD").strip()


def commit_count(store: Store) -> int:
    return int(git(store.root, "rev-list", "--count", "HEAD"))


def status(store: Store) -> str:
    return git(store.root, "status", "--porcelain", "--untracked-files=all")


def record_files(store: Store) -> dict[str, bytes]:
    found = {}
    for rtype in TYPES.values():
        for record_id in store.ids(rtype):
            path = rtype.path_for(record_id)
            found[path] = (store.root / path).read_bytes()
    return found


def git_in(repo: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "blob", spec], cwd=repo, capture_output=True, check=True
    ).stdout


def git_show(store: Store, spec: str) -> bytes:
    return subprocess.run(
        ["git", "show", spec], cwd=store.root, capture_output=True, check=True
    ).stdout


def add(cli, store, by, person, role="member", name=None):
    return cli(
        "access",
        "add",
        person.recipient,
        "--name",
        name or person.name,
        "--agency",
        "Police",
        "--role",
        role,
        store=store.root,
        identity=by.path,
    )


@pytest.fixture
def filled(store):
    """A store with records of every type, so re-encryption has something to do."""
    with store.transaction() as tx:
        for _ in range(3):
            tx.create("case", CASE)
        tx.create("meeting", {"date": date(2026, 12, 9), "status": "planned", "cases": ["C-0001"]})
        tx.create(
            "action",
            {"description": "Visit", "case": "C-0001", "due": date(2026, 12, 1), "status": "open"},
        )
    return store


# --- adding and listing -----------------------------------------------------------------


def test_access_add_lets_the_new_person_read(filled, coordinator, make_person, cli):
    store = filled
    member = make_person("Mo Member")
    before = cli("record", "show", "C-0001", store=store.root, identity=member.path)
    assert before.exit_code == ExitCode.NOT_A_READER
    files = record_files(store)
    count = commit_count(store)

    result = add(cli, store, coordinator, member)
    assert result.exit_code == 0, result.output
    assert "Mo Member" in result.stderr
    assert commit_count(store) == count + 1
    subject = git(store.root, "log", "-1", "--format=%s").strip()
    assert subject.startswith("Grant access to reader pcr2") and "Mo Member" not in subject
    assert git(store.root, "show", "--name-only", "--format=", "HEAD").split() == [KEYRING_PATH]
    assert status(store) == ""

    shown = cli("record", "show", "C-0001", store=store.root, identity=member.path)
    assert shown.exit_code == 0, shown.output
    assert "Test Child" in shown.stdout
    assert Store(store.root, member.unlock()).read("A-00001")["description"] == "Visit"
    # adding a reader re-wraps the key; no record is re-encrypted and the epoch stays
    assert record_files(store) == files
    assert Store(store.root, coordinator.unlock()).keyring.epoch == 1


def test_access_list_json_shows_every_reader_with_role(store, coordinator, make_person, cli):
    member = make_person("Mo Member")
    assert add(cli, store, coordinator, member, role="vice-chair").exit_code == 0
    for who in (coordinator, member):
        result = cli("access", "list", "--format", "json", store=store.root, identity=who.path)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert {(r["name"], r["role"], r["recipient"]) for r in rows} == {
            ("Sam Coordinator", "coordinator", coordinator.recipient),
            ("Mo Member", "vice-chair", member.recipient),
        }
        assert all(r["agency"] and r["added"] for r in rows)


def test_adding_a_reader_needs_the_coordinator_role(filled, coordinator, make_person, cli):
    store = filled
    member = make_person("Mo Member")
    third = make_person("Tia Third")
    assert add(cli, store, coordinator, member).exit_code == 0
    before = head(store), (store.root / KEYRING_PATH).read_bytes()

    result = add(cli, store, member, third)
    assert result.exit_code == ExitCode.NOT_ALLOWED == 11
    assert "coordinator" in result.stderr and "member" in result.stderr
    removal = cli("access", "remove", "Sam Coordinator", store=store.root, identity=member.path)
    assert removal.exit_code == ExitCode.NOT_ALLOWED
    assert (head(store), (store.root / KEYRING_PATH).read_bytes()) == before
    assert status(store) == ""
    denied = cli("record", "show", "C-0001", store=store.root, identity=third.path)
    assert denied.exit_code == ExitCode.NOT_A_READER


def test_adding_an_existing_reader_or_a_bad_recipient_is_refused(store, coordinator, cli):
    before = head(store)
    again = add(cli, store, coordinator, coordinator)
    assert again.exit_code == ExitCode.INVALID_INPUT and "already a reader" in again.stderr
    typo = coordinator.recipient[:10] + ("a" if coordinator.recipient[10] != "a" else "b")
    typo += coordinator.recipient[11:]
    result = cli(
        "access",
        "add",
        typo,
        "--name",
        "Typo",
        "--agency",
        "X",
        "--role",
        "member",
        store=store.root,
        identity=coordinator.path,
    )
    assert result.exit_code == ExitCode.INVALID_INPUT and "checksum" in result.stderr
    assert head(store) == before


def test_recipient_in_another_spelling_still_gives_access(filled, coordinator, make_person, cli):
    store = filled
    member = make_person("Mo Member")
    shouted = "pcr2" + member.recipient[4:].upper()
    result = cli(
        "access",
        "add",
        shouted,
        "--name",
        "Mo Member",
        "--agency",
        "Police",
        "--role",
        "member",
        store=store.root,
        identity=coordinator.path,
    )
    if result.exit_code == 0:  # accepted: then it must work
        shown = cli("record", "show", "C-0001", store=store.root, identity=member.path)
        assert shown.exit_code == 0, shown.output
    else:  # or refused clearly
        assert result.exit_code == ExitCode.INVALID_INPUT


# --- removing ---------------------------------------------------------------------------


@pytest.fixture
def with_members(filled, coordinator, make_person, cli):
    store = filled
    leaver = make_person("Lee Leaver")
    stayer = make_person("Stella Stayer")
    assert add(cli, store, coordinator, leaver).exit_code == 0
    assert add(cli, store, coordinator, stayer, role="chair").exit_code == 0
    return store, leaver, stayer


def test_access_remove_starts_a_new_epoch_and_re_encrypts_everything(
    with_members, coordinator, cli
):
    store, leaver, stayer = with_members
    old_keyring = Store(store.root, leaver.unlock()).keyring  # what the leaver kept
    assert old_keyring.epoch == 1
    before_files = record_files(store)
    before_records = {
        p: Store(store.root, coordinator.unlock()).decrypt(p, b) for p, b in before_files.items()
    }
    assert len(before_files) == 5
    count = commit_count(store)

    result = cli("access", "remove", "Lee Leaver", store=store.root, identity=coordinator.path)
    assert result.exit_code == 0, result.output
    assert "epoch 2" in result.stderr and "history" in result.stderr

    # one commit, naming no one, touching every record and the keyring
    assert commit_count(store) == count + 1
    subject = git(store.root, "log", "-1", "--format=%s").strip()
    assert "epoch 2" in subject and "Lee" not in subject
    changed = set(git(store.root, "show", "--name-only", "--format=", "HEAD").split())
    assert changed == set(before_files) | {KEYRING_PATH}
    assert status(store) == ""

    after_files = record_files(store)
    assert set(after_files) == set(before_files)
    for path, blob in after_files.items():
        assert blob != before_files[path], path
        assert envelope.epoch_of(blob) == 2, path
    keyring = Store(store.root, coordinator.unlock()).keyring
    assert keyring.epoch == 2 and sorted(keyring.keys) == [1, 2]
    assert {r.name for r in keyring.readers} == {"Sam Coordinator", "Stella Stayer"}

    # the same records, readable by those who remain
    for person in (coordinator, stayer):
        reader_store = Store(store.root, person.unlock())
        for path, blob in after_files.items():
            assert reader_store.decrypt(path, blob) == before_records[path]
    assert cli("verify", store=store.root, identity=stayer.path).exit_code == 0

    # ...and by no one who left
    with pytest.raises(NotAReaderError):
        Store(store.root, leaver.unlock()).keyring  # noqa: B018
    shown = cli("record", "show", "C-0001", store=store.root, identity=leaver.path)
    assert shown.exit_code == ExitCode.NOT_A_READER
    for path, blob in after_files.items():
        with pytest.raises(NotAReaderError):  # epoch 2 is not in the old keyring
            envelope.decrypt(old_keyring.keys, store.store_id, path, blob)
        with pytest.raises(TamperedError):  # nor does the old key open it, if tried anyway
            envelope.decrypt({2: old_keyring.key}, store.store_id, path, blob)
        with pytest.raises(crypto.CryptoFailure):
            head_len = 30 + len(path)
            crypto.open_sealed(old_keyring.key, blob[head_len:], blob[:head_len])
    # the new keyring's stanzas hold nothing for the leaver
    stanzas = json.loads((store.root / KEYRING_PATH).read_text())["stanzas"]
    assert leaver.recipient not in {s["to"] for s in stanzas} and len(stanzas) == 2


def test_records_written_after_removal_are_closed_to_the_removed_reader(
    with_members, coordinator, cli
):
    store, leaver, _stayer = with_members
    old_keyring = Store(store.root, leaver.unlock()).keyring
    assert (
        cli("access", "remove", "Lee Leaver", store=store.root, identity=coordinator.path).exit_code
        == 0
    )
    fresh = Store(store.root, coordinator.unlock())
    new_id = fresh.create("case", CASE)
    blob = (store.root / fresh.path_of(new_id)).read_bytes()
    assert envelope.epoch_of(blob) == 2
    with pytest.raises(PanelctlError):
        envelope.decrypt(old_keyring.keys, store.store_id, fresh.path_of(new_id), blob)
    index_blob = (fresh.private / "index" / "case.bin").read_bytes()
    aad = index_aad(fresh, record_type("case"), 2)
    assert crypto.open_sealed(fresh.keyring.key, index_blob, aad)  # the index moved to epoch 2
    with pytest.raises(crypto.CryptoFailure):
        crypto.open_sealed(old_keyring.key, index_blob, aad)


def test_history_before_removal_stays_readable_to_the_removed_reader(
    with_members, coordinator, cli
):
    """A property of git, stated in the README: removal protects only what comes after."""
    store, leaver, _stayer = with_members
    plaintext = Store(store.root, coordinator.unlock()).read_plaintext("C-0001")
    keys = store.root / ".git" / "panelctl" / "keys.git"
    kept_table = git_in(keys, "refs/panelctl/case-keys")  # the leaver's clone has it
    assert (
        cli("access", "remove", "Lee Leaver", store=store.root, identity=coordinator.path).exit_code
        == 0
    )

    old_blob = git_show(store, "HEAD~1:cases/C-0001.enc")
    old_keyring_raw = git_show(store, f"HEAD~1:{KEYRING_PATH}")
    assert old_blob != (store.root / "cases/C-0001.enc").read_bytes()
    old_keyring = Keyring.open(old_keyring_raw, leaver.unlock(), store.store_id, Path(KEYRING_PATH))
    case_keys = CaseKeys.from_bytes(kept_table, store.store_id, old_keyring.keys)
    assert (
        envelope.decrypt(old_keyring.keys, store.store_id, "cases/C-0001.enc", old_blob, case_keys)
        == plaintext
    )
    # but the same old keyring does not open the HEAD version, even with the case keys
    with pytest.raises(NotAReaderError):
        envelope.decrypt(
            old_keyring.keys,
            store.store_id,
            "cases/C-0001.enc",
            (store.root / "cases/C-0001.enc").read_bytes(),
            case_keys,
        )
    # nor the case-key table as it is now (sealed again under the new epoch)
    with pytest.raises(TamperedError):
        CaseKeys.from_bytes(
            git_in(keys, "refs/panelctl/case-keys"), store.store_id, old_keyring.keys
        )
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text().lower()
    assert "history" in readme and "removed" in readme


def test_removing_the_last_coordinator_is_refused(with_members, coordinator, cli):
    store, _leaver, _stayer = with_members
    before = head(store), record_files(store), (store.root / KEYRING_PATH).read_bytes()
    for who in ("Sam Coordinator", "sam coordinator", coordinator.recipient):
        result = cli("access", "remove", who, store=store.root, identity=coordinator.path)
        assert result.exit_code == ExitCode.NOT_ALLOWED == 11, result.output
        assert "last coordinator" in result.stderr
    assert (head(store), record_files(store), (store.root / KEYRING_PATH).read_bytes()) == before
    assert status(store) == ""
    assert not (Store(store.root, coordinator.unlock()).private / "journal.json").exists()


def test_a_second_coordinator_can_be_removed_and_then_the_last_cannot(
    filled, coordinator, make_person, cli
):
    store = filled
    deputy = make_person("Dee Deputy")
    assert add(cli, store, coordinator, deputy, role="coordinator").exit_code == 0
    assert (
        cli("access", "remove", "Sam Coordinator", store=store.root, identity=deputy.path).exit_code
        == 0
    )
    last = cli("access", "remove", "Dee Deputy", store=store.root, identity=deputy.path)
    assert last.exit_code == ExitCode.NOT_ALLOWED
    assert (
        cli("record", "show", "C-0002", store=store.root, identity=coordinator.path).exit_code
        == ExitCode.NOT_A_READER
    )


def test_ambiguous_names_are_refused_and_recipients_decide(filled, coordinator, make_person, cli):
    store = filled
    first = make_person("Alex Member")
    second = make_person("Alex Member Two")  # another file, then given the same name
    assert add(cli, store, coordinator, first).exit_code == 0
    assert add(cli, store, coordinator, second, name="alex MEMBER").exit_code == 0
    before = head(store), record_files(store)

    result = cli("access", "remove", "Alex Member", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert "2 readers" in result.stderr and "recipient" in result.stderr
    assert (head(store), record_files(store)) == before
    assert status(store) == ""

    unknown = cli("access", "remove", "Nobody", store=store.root, identity=coordinator.path)
    assert unknown.exit_code == ExitCode.NOT_FOUND

    result = cli("access", "remove", second.recipient, store=store.root, identity=coordinator.path)
    assert result.exit_code == 0, result.output
    readers = {r.recipient for r in Store(store.root, coordinator.unlock()).keyring.readers}
    assert readers == {coordinator.recipient, first.recipient}
    assert cli("record", "show", "C-0001", store=store.root, identity=first.path).exit_code == 0
    assert (
        cli("record", "show", "C-0001", store=store.root, identity=second.path).exit_code
        == ExitCode.NOT_A_READER
    )


def test_keyring_rolled_back_in_git_is_not_used_to_write(with_members, coordinator, cli):
    """Someone with push access reverts the keyring to before a removal: no later write may
    be encrypted under a key the removed reader holds."""
    store, leaver, _stayer = with_members
    old_keyring = Store(store.root, leaver.unlock()).keyring
    assert (
        cli("access", "remove", "Lee Leaver", store=store.root, identity=coordinator.path).exit_code
        == 0
    )
    git(store.root, "checkout", "HEAD~1", "--", KEYRING_PATH)
    git(store.root, "commit", "--quiet", "--no-verify", "-m", "tidy", "--", KEYRING_PATH)
    try:
        new_id = Store(store.root, coordinator.unlock()).create("case", CASE)
    except PanelctlError:
        return  # refused: fine
    blob = (store.root / f"cases/{new_id}.enc").read_bytes()
    with pytest.raises(PanelctlError):
        envelope.decrypt(old_keyring.keys, store.store_id, f"cases/{new_id}.enc", blob)


def test_keyring_rolled_back_in_an_empty_store_is_not_used_to_write(
    store, coordinator, make_person, cli
):
    leaver = make_person("Lee Leaver")
    assert add(cli, store, coordinator, leaver).exit_code == 0
    old_keyring = Store(store.root, leaver.unlock()).keyring
    assert (
        cli("access", "remove", "Lee Leaver", store=store.root, identity=coordinator.path).exit_code
        == 0
    )
    git(store.root, "checkout", "HEAD~1", "--", KEYRING_PATH)
    git(store.root, "commit", "--quiet", "--no-verify", "-m", "tidy", "--", KEYRING_PATH)
    try:
        new_id = Store(store.root, coordinator.unlock()).create("case", CASE)
    except PanelctlError:
        return
    blob = (store.root / f"cases/{new_id}.enc").read_bytes()
    with pytest.raises(PanelctlError):
        envelope.decrypt(old_keyring.keys, store.store_id, f"cases/{new_id}.enc", blob)


def test_library_remove_returns_the_reader_and_updates_the_open_store(with_members, coordinator):
    store, leaver, _stayer = with_members
    mine = Store(store.root, coordinator.unlock())
    removed = access.remove_reader(mine, leaver.recipient)
    assert removed.name == "Lee Leaver"
    assert mine.keyring.epoch == 2
    assert mine.read("C-0003")["risk"] == "High"
    assert mine.create("case", CASE) == "C-0004"
    assert envelope.epoch_of((store.root / "cases/C-0004.enc").read_bytes()) == 2
