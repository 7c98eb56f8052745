"""`panelctl erase`: crypto-shredding a case, carried by sync to every clone (issue 14).

The attacker here is anyone holding a clone, or the remote, and a reader's identity: after
the erasure and a sync of every clone (and the server's `git gc`), no object in any of
them opens to the erased child's data, with every key that identity can find in it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from test_model import GOOD

from conftest import CANARY, Clone, git
from panelctl.base.errors import ErasedError, ExitCode, NotAllowedError, TamperedError
from panelctl.casework.restricted import add_note
from panelctl.crypto import casekeys, envelope
from panelctl.crypto import primitives as crypto
from panelctl.crypto.casekeys import CaseKeys
from panelctl.crypto.identity import read_identity_file
from panelctl.crypto.keyring import Keyring
from panelctl.panel.groups import add_member
from panelctl.store.core import Store

OTHER = "Ottoline Pemberton-Vasquez"  # another child, whose records must survive
DAY = dt.date(2026, 3, 14)
AT = dt.datetime(2026, 3, 14, 10, 0, tzinfo=dt.UTC)


def sync(cli, clone: Clone, *args: str):
    return cli("sync", *args, store=clone.root, identity=clone.identity)


def build(store: Store) -> None:
    """C-0001 (the canary child, closed) with everything a case can have, and C-0002,
    another child discussed at the same meeting, in several commits."""
    case = copy.deepcopy(GOOD["case"])
    case.pop("id")
    case.pop("repeat_of")
    case["child"]["dob"] = dt.date(2008, 3, 14)
    case["status"] = "closed"
    other = {"status": "open", "child": {"name": OTHER}, "nominated": DAY, "risk": "High"}
    with store.transaction() as tx:
        assert tx.create("case", case) == "C-0001"
        assert tx.create("case", other) == "C-0002"
        tx.create("person", {"kind": "person", "names": ["Adult One"], "added": DAY})
    with store.transaction() as tx:
        assessment = {k: v for k, v in GOOD["assessment"].items() if k != "id"}
        tx.create("assessment", assessment)
        for case_id, text in (("C-0001", f"Visit {CANARY}"), ("C-0002", f"Visit {OTHER}")):
            action = {k: v for k, v in GOOD["action"].items() if k != "id"}
            tx.create("action", {**action, "case": case_id, "description": text})
        decision = {k: v for k, v in GOOD["decision"].items() if k not in ("id", "confirmed")}
        tx.create("decision", {**decision, "case": "C-0001"})
        for a, b in (("C-0001", "P-0001"), ("C-0001", "C-0002"), ("C-0002", "P-0001")):
            tx.create(
                "link",
                {"a": a, "b": b, "nature": "associates", "source": f"Seen with {CANARY}"
                 if "C-0001" in (a, b) else "Police report", "date": DAY},
            )  # fmt: skip
    meeting = copy.deepcopy(GOOD["meeting"])
    meeting.pop("id")
    meeting["discussions"][0]["items"] = {"presentation": f"{CANARY} was missing twice."}
    meeting["discussions"][0]["actions"] = ["A-00001"]
    meeting["discussions"][1]["actions"] = ["A-00002"]
    meeting["discussions"][1]["items"] = {"presentation": f"{OTHER} is settled."}
    meeting["declarations"][0]["excluded_cases"] = ["C-0002"]
    meeting.pop("minutes")  # the chair approves them (approve_minutes below)
    with store.transaction() as tx:
        tx.create("meeting", meeting)
        for items in (["A-00001"], ["A-00001", "A-00002"]):
            tx.create(
                "reminder",
                {"day": DAY, "recipient": "pc@example.police.uk", "kind": "actions",
                 "items": items, "subject": "Actions due", "sent": AT},
            )  # fmt: skip
    store.update({**store.read("C-0001"), "team": "Exploitation Team"})


def approve_minutes(cli, chair: Clone) -> None:
    """The chair approves M-0001's minutes and pushes (approved minutes never change, but
    for an erasure)."""
    assert sync(cli, chair).exit_code == 0
    mine = chair.store()
    mine.update({**mine.read("M-0001"), "minutes": copy.deepcopy(GOOD["meeting"]["minutes"])})
    assert sync(cli, chair).exit_code == 0


# --- what a reader's identity can open in a repository ------------------------------------


def objects(repo: Path) -> list[bytes]:
    """The content of every object git holds in ``repo`` (reachable or not, loose or packed)
    and in a clone's repository of case-key tables."""
    found = _objects(repo)
    keys = repo / ".git" / "panelctl" / "keys.git"
    if keys.exists():
        found += _objects(keys)
    for left in (repo / ".git" / "panelctl").glob("keys.git.*"):  # nothing half-purged
        found += _objects(left)
    return found


def _objects(repo: Path) -> list[bytes]:
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    oids = listed.split()
    out = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="".join(f"{o}\n" for o in oids).encode(),
        capture_output=True,
        check=True,
    ).stdout
    found = []
    for _oid in oids:
        header, _, out = out.partition(b"\n")
        size = int(header.split()[2])
        found.append(out[:size])
        out = out[size + 1 :]
    return found


def readable(repo: Path, identity_path: Path, store_id: bytes) -> list[bytes]:
    """Every record plaintext that ``identity`` can open from the objects in ``repo``: with
    every epoch key of every keyring it finds, and every case key of every table it finds."""
    identity = read_identity_file(identity_path).unlock()
    blobs = objects(repo)
    keys: dict[int, bytes] = {}
    for blob in blobs:
        if b'"panelctl_keyring"' in blob[:200]:
            try:
                keys.update(Keyring.open(blob, identity, store_id, Path("k")).keys)
            except Exception:  # noqa: BLE001 - a keyring this identity is not in
                continue
    table = CaseKeys()
    for blob in blobs:
        if blob.startswith(casekeys.MAGIC):
            try:
                table.merge(CaseKeys.from_bytes(blob, store_id, keys))
            except TamperedError:
                continue
    opened = []
    for blob in blobs:
        if not envelope.is_encrypted(blob):
            continue
        length = int.from_bytes(blob[28:30], "big")
        path = blob[30 : 30 + length].decode()
        try:
            opened.append(envelope.decrypt(keys, store_id, path, blob, table))
        except Exception:  # noqa: BLE001 - what does not open is what we want
            continue
    return opened


def holds(repo: Path, identity_path: Path, store_id: bytes, text: str) -> bool:
    raw = text.encode()
    if any(raw in blob for blob in objects(repo)):
        return True
    return any(raw in plain for plain in readable(repo, identity_path, store_id))


# --- the whole story -----------------------------------------------------------------------


def test_an_erased_case_cannot_be_read_from_any_clone_or_the_remote(team, cli, tmp_path):
    coordinator, chair, cron = team["coordinator"], team["chair"], team["cron"]
    store = coordinator.store()
    build(store)
    # police intelligence about the child, restricted to a group (sealed twice over)
    police = store.keyring.reader(read_identity_file(chair.identity).unlock().recipient)
    add_member(store, "police", police)
    add_note(coordinator.store(), "C-0001", "police", f"{CANARY} seen at the hotel")
    assert sync(cli, coordinator).exit_code == 0
    approve_minutes(cli, chair)
    for clone in (coordinator, chair, cron):
        assert sync(cli, clone).exit_code == 0
    remote = tmp_path / "remote.git"
    repos = [coordinator.root, chair.root, cron.root, remote]
    # the check can fail: before the erasure, a reader opens the child's records everywhere
    for repo in repos:
        assert holds(repo, chair.identity, store.store_id, CANARY), repo
    head_before = git(coordinator.root, "rev-parse", "HEAD").strip()

    dry = cli("erase", "C-0001", "--reason", "retention period ended", "--dry-run",
              store=coordinator.root, identity=coordinator.identity)  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.split() == [
        "C-0001", "RA-00001", "A-00001", "D-00001", "K-00001", "K-00002", "RI-00001",
        "RM-00001",
    ]  # fmt: skip
    assert "taken out of M-0001, RM-00002" in dry.stderr
    assert git(coordinator.root, "rev-parse", "HEAD").strip() == head_before

    done = cli("erase", "C-0001", "--reason", "retention period ended", "--yes",
               store=coordinator.root, identity=coordinator.identity)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Erased case C-0001 (E-0001)" in done.stderr and CANARY not in done.output
    for clone in (coordinator, chair, cron):
        result = sync(cli, clone)
        assert result.exit_code == 0, result.output
    # the server's administrator prunes what nothing refers to (README, Data protection)
    git(remote, "gc", "-q", "--prune=now")
    for repo in repos:
        assert not holds(repo, chair.identity, store.store_id, CANARY), repo
        assert holds(repo, chair.identity, store.store_id, OTHER), repo  # the rest stays
    for clone in (coordinator, chair, cron):
        checked = cli("verify", "--all", store=clone.root, identity=clone.identity)
        assert checked.exit_code == 0, checked.output

    # a fresh clone, and what each clone shows now
    fresh = tmp_path / "fresh"
    cloned = cli("clone", str(remote), str(fresh), identity=chair.identity)
    assert cloned.exit_code == 0, cloned.output
    assert not holds(fresh, chair.identity, store.store_id, CANARY)
    for root in (chair.root, fresh):
        shown = cli("case", "show", "C-0001", store=root, identity=chair.identity)
        assert shown.exit_code == ExitCode.NOT_FOUND, shown.output
        meeting = Store(root, read_identity_file(chair.identity).unlock()).read("M-0001")
        assert [d["case"] for d in meeting["discussions"]] == ["C-0002"]
        assert meeting["cases"] == ["C-0002"] and meeting["minutes"]["status"] == "approved"
        listed = cli("record", "list", "reminder", store=root, identity=chair.identity)
        assert "RM-00001" not in listed.stdout and "RM-00002" in listed.stdout
    # the panel's report counts the erasure, and names nothing of it
    month = dt.date.today().strftime("%Y-%m")
    report = cli("report", "bimonthly", "--period", f"{month}..{month}", "--format", "json",
                 store=chair.root, identity=chair.identity)  # fmt: skip
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["sections"]["caseload"]["cases_erased"] == 1
    assert "C-0001" not in report.stdout and CANARY not in report.stdout
    # an old version of the case, through log --patch: unreadable, said plainly
    patch = cli("log", "C-0001", "--patch", store=chair.root, identity=chair.identity)
    assert CANARY not in patch.output

    # the tombstone: signed, no names; ids never given out again
    tomb = Store(chair.root, read_identity_file(chair.identity).unlock()).read("E-0001")
    assert tomb["case"] == "C-0001" and tomb["removed"]["case"] == 1
    assert tomb["removed"]["action"] == 1 and tomb["removed"]["link"] == 2
    assert tomb["role"] == "coordinator" and "retention" in tomb["rule"]
    assert "A-00001" in tomb["ids"] and tomb["changed"] == ["M-0001", "RM-00002"]
    again = coordinator.store()
    assert again.create("case", {"status": "open", "child": {"name": "New Child"}}) == "C-0003"
    assert again.create("action", {"description": "x", "due": DAY, "status": "open"}) == "A-00003"


def test_a_change_made_offline_to_the_erased_case_is_not_brought_back(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    build(coordinator.store())
    assert sync(cli, coordinator).exit_code == 0
    assert sync(cli, chair).exit_code == 0
    mine = chair.store()
    mine.update({**mine.read("C-0001"), "team": "Changed offline"})
    mine.update({**mine.read("C-0002"), "team": "Kept"})
    erased = cli("erase", "C-0001", "--reason", "created in error", "--yes",
                 store=coordinator.root, identity=coordinator.identity)  # fmt: skip
    assert erased.exit_code == 0, erased.output
    assert sync(cli, coordinator).exit_code == 0
    result = sync(cli, chair)
    assert result.exit_code == 0, result.output
    assert "C-0001" in result.output and "erased" in result.output
    now = chair.store()
    assert not now.exists("C-0001") and now.read("C-0002")["team"] == "Kept"
    assert "C-0001" not in now.case_keys.cases()
    with pytest.raises(ErasedError):  # nothing about it can be written again
        now.create("action", {"description": "x", "due": DAY, "status": "open", "case": "C-0001"})


def test_erasure_is_for_a_coordinator_of_a_closed_case_with_a_reason_without_names(
    team, cli
):
    coordinator, chair = team["coordinator"], team["chair"]
    build(coordinator.store())
    assert sync(cli, chair).exit_code == 0
    before = git(coordinator.root, "rev-parse", "HEAD").strip()
    cases = [
        (["C-0001", "--reason", "retention period ended"], chair, ExitCode.NOT_ALLOWED, "coordinator"),
        (["C-0002", "--reason", "retention period ended"], coordinator, ExitCode.INVALID_INPUT, "open"),
        (["C-0001", "--reason", f"{CANARY.split()[0]} asked"], coordinator, ExitCode.INVALID_INPUT, "names the child"),
        (["C-0009", "--reason", "x"], coordinator, ExitCode.NOT_FOUND, "C-0009"),
        (["Zoe", "--reason", "x"], coordinator, ExitCode.INVALID_INPUT, "case id"),
        (["C-0001", "--reason", "x"], coordinator, ExitCode.NO_TERMINAL, "--yes"),
    ]  # fmt: skip
    for args, who, code, words in cases:
        result = cli("erase", *args, *(["--yes"] if code != ExitCode.NO_TERMINAL else []),
                     store=who.root, identity=who.identity)  # fmt: skip
        assert result.exit_code == code, (args, result.output)
        assert words in result.stderr and CANARY not in result.output
    assert git(coordinator.root, "rev-parse", "HEAD").strip() == before
    assert git(coordinator.root, "status", "--porcelain") == ""


def test_the_rules_hold_for_a_reader_using_the_library(team, cli):
    """A chair writing an erasure record, or a coordinator's tombstone changed later: both
    refused before anything is written, as `verify` would refuse the commits."""
    coordinator, chair = team["coordinator"], team["chair"]
    build(coordinator.store())
    assert sync(cli, chair).exit_code == 0
    tomb = {
        "case": "C-0001", "erased": AT, "by": "x", "role": "chair", "rule": "r",
        "reason": "r", "removed": {"case": 1}, "ids": ["C-0001"],
    }  # fmt: skip
    with pytest.raises(NotAllowedError, match="only a coordinator"):
        chair.store().create("erasure", tomb)
    assert cli("erase", "C-0001", "--reason", "retention period ended", "--yes",
               store=coordinator.root, identity=coordinator.identity).exit_code == 0  # fmt: skip
    store = coordinator.store()
    with pytest.raises(NotAllowedError, match="never changes"):
        store.update({**store.read("E-0001"), "reason": "something else"})
    with pytest.raises(NotAllowedError, match="never changes"):
        store.delete("E-0001")


def test_migrating_to_case_keys_seals_the_records_and_says_what_history_keeps(sample, cli):
    """A store from before format 4: `migrate` seals every record about a child under its
    case key; erasing then says how many older versions stay readable in history."""
    refused = cli("erase", "C-0001", "--reason", "x", "--yes", store=sample.store,
                  identity=sample.identity)  # fmt: skip
    assert refused.exit_code == ExitCode.ERASED and "migrate" in refused.stderr
    migrated = cli("migrate", store=sample.store, identity=sample.identity)
    assert migrated.exit_code == 0, migrated.output
    blob = (sample.store / "cases" / "C-0001.enc").read_bytes()
    assert blob.startswith(envelope.MAGIC_CASES)
    agency = (sample.store / "agencies" / "AG-0001.enc").read_bytes()
    assert not agency.startswith(envelope.MAGIC_CASES)  # about no child: the store key alone
    store = Store(sample.store, read_identity_file(sample.identity).unlock())
    closed = "C-0001"
    store.update({**store.read(closed), "status": "closed", "closed": DAY, "closure_reason": "Risk reduced"})
    dry = cli("erase", closed, "--reason", "retention period ended", "--dry-run",
              store=sample.store, identity=sample.identity)  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "stay readable in history" in dry.stderr


# --- the envelope ---------------------------------------------------------------------------


def test_a_record_about_cases_needs_every_case_key_and_says_which_is_missing():
    store_id, key = bytes(range(16)), crypto.random_key()
    table = CaseKeys()
    kids = {case: table.new(case) for case in ("C-0001", "C-0002")}
    slots = [(c, kids[c], table.key(c, kids[c])) for c in ("C-0001", "C-0002")]
    blob = envelope.encrypt(key, 1, store_id, "links/K-00001.enc", b"a: 1\n", slots)
    assert envelope.decrypt({1: key}, store_id, "links/K-00001.enc", blob, table) == b"a: 1\n"
    assert envelope.cases_of({1: key}, store_id, "links/K-00001.enc", blob) == ["C-0001", "C-0002"]
    for gone in ("C-0001", "C-0002"):
        partial = table.copy()
        partial.forget({gone})
        with pytest.raises(ErasedError, match=gone) as caught:
            envelope.decrypt({1: key}, store_id, "links/K-00001.enc", blob, partial)
        assert caught.value.exit_code == ExitCode.ERASED
    # the list of cases is sealed: a flipped bit in it, or in the body, is tampering
    head = len(envelope.header(1, store_id, "links/K-00001.enc"))
    for at in (head + 5, len(blob) - 3):
        bad = bytearray(blob)
        bad[at] ^= 1
        with pytest.raises(TamperedError):
            envelope.decrypt({1: key}, store_id, "links/K-00001.enc", bytes(bad), table)
    # copied to another path: said so
    with pytest.raises(TamperedError, match="K-00001"):
        envelope.decrypt({1: key}, store_id, "links/K-00002.enc", blob, table)


def test_the_list_of_cases_shows_only_a_power_of_two_of_how_many():
    store_id, key = bytes(16), crypto.random_key()
    table = CaseKeys()
    sizes = {}
    for count in (1, 2, 3, 4, 5, 8):
        cases = [f"C-{n:04d}" for n in range(1, count + 1)]
        slots = [(c, table.kid_for(c) or table.new(c), b"") for c in cases]
        slots = [(c, kid, table.key(c, kid)) for c, kid, _ in slots]
        sizes[count] = len(envelope.encrypt(key, 1, store_id, "meetings/M-0001.enc", b"x", slots))
    assert sizes[3] == sizes[4] and sizes[5] == sizes[8] and sizes[1] < sizes[2] < sizes[4]


def test_the_case_key_table_is_bound_to_its_store_and_epoch():
    table = CaseKeys()
    table.new("C-0001")
    key = crypto.random_key()
    raw = table.to_bytes(bytes(16), 3, key)
    assert CaseKeys.from_bytes(raw, bytes(16), {3: key}).entries == table.entries
    with pytest.raises(TamperedError, match="another store"):
        CaseKeys.from_bytes(raw, bytes(range(16)), {3: key})
    for bad in (raw[:-1], raw[:20], raw.replace(b"\x00\x00\x00\x03", b"\x00\x00\x00\x02", 1)):
        with pytest.raises(TamperedError):
            CaseKeys.from_bytes(bad, bytes(16), {2: key, 3: key})


def test_a_write_that_fails_puts_back_the_table_as_it_was_under_the_lock(
    store, coordinator, monkeypatch
):
    """Two processes: A read the case keys, then B nominated a child (a new key saved).
    A's own nomination then fails at its commit: the table is put back as B left it, not
    as A first read it, so B's child stays readable."""
    from panelctl.store import gitio

    store.create("case", {"status": "open", "child": {"name": "First Child"}})
    a = Store(store.root, coordinator.unlock())
    a.read("C-0001")  # A holds the table as it was
    b = Store(store.root, coordinator.unlock())
    assert b.create("case", {"status": "open", "child": {"name": CANARY}}) == "C-0002"

    def failing(*_args, **_kwargs):
        raise OSError("disk trouble")

    monkeypatch.setattr(gitio, "commit", failing)
    with pytest.raises(OSError):
        a.create("case", {"status": "open", "child": {"name": "Third Child"}})
    monkeypatch.undo()
    fresh = Store(store.root, coordinator.unlock())
    assert fresh.read("C-0002")["child"]["name"] == CANARY
    assert not fresh.exists("C-0003")
