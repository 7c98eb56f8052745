"""Records in a store: create, read, update, list, delete; one commit per change."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import CANARY, accept_history, git, signed_commit, take_case_keys
from panelctl.base.errors import InvalidRecordError, NotFoundError
from panelctl.store.core import Store

CASE = {
    "status": "open",
    "child": {"name": CANARY, "dob": date(2011, 4, 2), "looked_after": True},
    "nominated": date(2026, 11, 1),
    "risk": "High",
    "lead_agency": "Police",
    "exploitation_types": ["sexual", "criminal"],
}


def commits(store: Store) -> list[str]:
    return git(store.root, "log", "--format=%s").splitlines()


@pytest.mark.parametrize(
    "type_name,data",
    [
        ("case", CASE),
        (
            "meeting",
            {
                "date": date(2026, 12, 9),
                "time": "10:00",
                "venue": "Room 2",
                "status": "planned",
                "cases": ["C-0001"],
            },
        ),
        (
            "action",
            {
                "description": "Visit",
                "case": "C-0001",
                "due": date(2026, 12, 1),
                "status": "open",
                "agency": "Police",
            },
        ),
    ],
)
def test_every_record_type_round_trips(store, type_name, data):
    record_id = store.create(type_name, data)
    assert store.read(record_id) == {"id": record_id, **data}
    assert (store.root / store.path_of(record_id)).stat().st_mode & 0o777 == 0o600


def test_ids_are_opaque_and_sequential(store):
    first = store.create("case", CASE)
    second = store.create("case", CASE)
    assert (first, second) == ("C-0001", "C-0002")
    assert (
        store.create("action", {"description": "x", "due": date(2026, 1, 1), "status": "open"})
        == "A-00001"
    )
    assert sorted(p.name for p in (store.root / "cases").iterdir()) == ["C-0001.enc", "C-0002.enc"]


def test_each_change_is_one_commit_naming_ids_only(store, coordinator):
    record_id = store.create("case", CASE)
    record = store.read(record_id)
    record["risk"] = "Medium"
    assert store.update(record) is True
    store.delete(record_id)
    assert commits(store) == [
        "Delete case C-0001",
        "Update case C-0001",
        "Create case C-0001",
        "Create store",
    ]
    authors = set(git(store.root, "log", "--format=%an|%cn").splitlines())
    assert authors == {f"{coordinator.name}|{coordinator.name}"}
    assert git(store.root, "status", "--porcelain") == ""


def test_saving_unchanged_content_leaves_file_byte_identical_and_makes_no_commit(store):
    record_id = store.create("case", CASE)
    path = store.root / store.path_of(record_id)
    before = path.read_bytes()
    assert store.update(store.read(record_id)) is False
    assert path.read_bytes() == before
    assert len(commits(store)) == 2


def test_invalid_record_is_refused_by_id_and_field_and_nothing_changes(store):
    record_id = store.create("case", CASE)
    head = git(store.root, "rev-parse", "HEAD")
    record = store.read(record_id)
    record["nominated"] = "14/03/2026"
    with pytest.raises(InvalidRecordError) as caught:
        store.update(record)
    assert "C-0001" in caught.value.message and "nominated" in caught.value.message
    assert CANARY not in caught.value.message
    record = store.read(record_id)
    record["colour"] = "blue"
    with pytest.raises(InvalidRecordError, match="unknown field colour"):
        store.update(record)
    assert git(store.root, "rev-parse", "HEAD") == head


def test_missing_required_field_is_named(store):
    with pytest.raises(
        InvalidRecordError,
        match=r"case \(new\)|field child is required|C-0001: field child is required",
    ):
        store.create("case", {"status": "open"})
    assert not (store.root / "cases").exists() or not any((store.root / "cases").iterdir())


def test_reading_an_unknown_record_says_so(store):
    with pytest.raises(NotFoundError, match="C-0099"):
        store.read("C-0099")


def test_transaction_is_all_or_nothing(store):
    store.create("case", CASE)
    head = git(store.root, "rev-parse", "HEAD")
    with pytest.raises(InvalidRecordError):
        with store.transaction() as tx:
            tx.create("case", CASE)
            tx.create("case", {"status": "open"})  # invalid: no child
    assert git(store.root, "rev-parse", "HEAD") == head
    assert store.ids(store_type("case")) == ["C-0001"]


def test_bulk_transaction_makes_one_commit(store):
    with store.transaction() as tx:
        for _ in range(25):
            tx.create("case", CASE)
    assert commits(store)[0] == "Change records: create 25"
    assert len(store.ids(store_type("case"))) == 25


def test_index_answers_lists_and_follows_changes_made_elsewhere(store, coordinator, tmp_path):
    a = store.create("case", CASE)
    assert dict(store.index().rows("case"))[a]["risk"] == "High"
    # A second clone changes the record; after a pull the index re-reads only what changed.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(store.root), str(clone))
    take_case_keys(clone)  # (not in git's history: `panelctl clone` fetches them)
    accept_history(clone, coordinator.path)  # a new clone verifies first (and pins)
    other = Store(clone, coordinator.unlock())
    record = other.read(a)
    record["risk"] = "Low"
    other.update(record)
    git(store.root, "pull", "--quiet", "--ff-only", str(clone), "main")
    accept_history(store.root, coordinator.path, everything=False)  # what was pulled
    assert dict(Store(store.root, coordinator.unlock()).index().rows("case"))[a]["risk"] == "Low"


def store_type(name):
    from panelctl.model.records import record_type

    return record_type(name)


def test_an_unchanged_record_written_with_anchors_is_left_alone(store, coordinator):
    """Older panelctl wrote a date used twice as a YAML anchor; saving such a record
    unchanged must still leave the file byte-identical and make no commit."""
    import yaml

    from panelctl.crypto import envelope

    day = date(2026, 3, 14)
    case_id = store.create(
        "case", {**CASE, "nominated": day, "history": [{"date": day, "event": "Nominated"}]}
    )
    record = store.read(case_id)
    path = store.path_of(case_id)
    record["history"][0]["date"] = record["nominated"]  # the same object twice: an anchor
    anchored = yaml.safe_dump(record, sort_keys=False).encode()
    assert b"&id" in anchored
    keyring = store.keyring
    (store.root / path).write_bytes(
        envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, anchored)
    )
    signed_commit(store.root, coordinator.path, "older file")
    head = git(store.root, "rev-parse", "HEAD")
    before = (store.root / path).read_bytes()
    assert store.update(store.read(case_id)) is False
    assert git(store.root, "rev-parse", "HEAD") == head
    assert (store.root / path).read_bytes() == before
