"""`panelctl conflicts` and `panelctl resolve` on a real store: conflicts recorded in a record
(as `sync` records them) are listed by id and field, settled in one signed commit, found
through the index, and kept out of papers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import CANARY, git, store_state
from panelctl.base.errors import ExitCode
from panelctl.casework.conflicts import open_conflicts, resolve_conflict
from panelctl.crypto.identity import read_identity_file
from panelctl.store.core import Store

RECORDED = "2026-03-14T10:02:00+00:00"
OURS_MARK = "Ysolde Ourside-Marker"
THEIRS_MARK = "Tamsin Theirside-Marker"


def conflict(field, base, ours, theirs, recorded=RECORDED):
    return {"field": field, "base": base, "ours": ours, "theirs": theirs, "recorded": recorded}


@pytest.fixture
def with_conflicts(store, coordinator):
    """A case whose risk and lead professional were changed differently on two clones,
    and a second case with no conflict."""
    case_id = store.create(
        "case",
        {"status": "open", "child": {"name": CANARY, "dob": dt.date(2011, 4, 2)}, "risk": "Low"},
    )
    store.create("case", {"status": "open", "child": {"name": "Other Child"}})
    record = store.read(case_id)
    record["lead_professional"] = THEIRS_MARK
    record["conflicts"] = [
        conflict("risk", "Medium", "High", "Low"),
        conflict("lead_professional", None, OURS_MARK, THEIRS_MARK),
    ]
    assert store.update(record)
    return store, case_id


def args(store, coordinator):
    return {"store": store.root, "identity": coordinator.path}


def test_conflicts_lists_ids_and_fields_and_values_only_when_asked(
    with_conflicts, coordinator, cli
):
    store, case_id = with_conflicts
    result = cli("conflicts", **args(store, coordinator))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Record", "Type", "Field", "Recorded"]
    assert lines[2].split() == [case_id, "case", "risk", "14", "Mar", "2026", "10:02"]
    assert lines[3].split() == [case_id, "case", "lead_professional", "14", "Mar", "2026", "10:02"]
    for value in ("High", OURS_MARK, THEIRS_MARK, CANARY):
        assert value not in result.output

    shown = cli("conflicts", "--show", "--format", "json", **args(store, coordinator))
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert rows[0] == {
        "id": case_id,
        "type": "case",
        "field": "risk",
        "recorded": RECORDED,
        "base": "Medium",
        "ours": "High",
        "theirs": "Low",
    }
    assert rows[1]["ours"] == OURS_MARK and rows[1]["base"] is None
    assert CANARY not in shown.output

    checked = cli("conflicts", "--check", **args(store, coordinator))
    assert checked.exit_code == ExitCode.PROBLEMS_FOUND


def test_resolve_settles_one_conflict_in_one_signed_commit(with_conflicts, coordinator, cli):
    store, case_id = with_conflicts
    before = git(store.root, "rev-list", "--count", "HEAD")
    result = cli("resolve", case_id, "risk", "--take", "ours", **args(store, coordinator))
    assert result.exit_code == 0, result.output
    assert int(git(store.root, "rev-list", "--count", "HEAD")) == int(before) + 1
    message = git(store.root, "log", "-1", "--format=%B")
    assert case_id in message and "High" not in message and CANARY not in message
    record = Store(store.root, coordinator.unlock()).read(case_id)
    assert record["risk"] == "High"
    assert [c["field"] for c in record["conflicts"]] == ["lead_professional"]

    result = cli(
        "resolve", case_id, "lead_professional", "--take", "Una Value", **args(store, coordinator)
    )
    assert result.exit_code == 0, result.output
    record = Store(store.root, coordinator.unlock()).read(case_id)
    assert record["lead_professional"] == "Una Value" and "conflicts" not in record

    listed = cli("conflicts", "--check", **args(store, coordinator))
    assert listed.exit_code == 0 and listed.stdout == ""
    verified = cli("verify", **args(store, coordinator))
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(
    ("argv", "code", "named"),
    [
        (["{id}", "status", "--take", "ours"], ExitCode.INVALID_INPUT, "status"),
        (["{id}", "risk[", "--take", "ours"], ExitCode.INVALID_INPUT, "risk["),
        (["{id}", "risk", "--take", "[unclosed"], ExitCode.INVALID_INPUT, "risk"),
        (["C-0099", "risk", "--take", "ours"], ExitCode.NOT_FOUND, "C-0099"),
        (["X-1", "risk", "--take", "ours"], ExitCode.INVALID_INPUT, "X-1"),
        (["{id}", "risk", "--take", "[1, 2]"], ExitCode.INVALID_RECORD, "risk"),
    ],
)
def test_resolve_refuses_and_changes_nothing(with_conflicts, coordinator, cli, argv, code, named):
    store, case_id = with_conflicts
    before = store_state(store.root)
    argv = [a.replace("{id}", case_id) for a in argv]
    result = cli("resolve", *argv, **args(store, coordinator))
    assert result.exit_code == code, result.output
    assert named in result.stderr
    for value in ("High", "Medium", OURS_MARK, THEIRS_MARK, CANARY):
        assert value not in result.output
    assert store_state(store.root) == before


def test_a_deletion_against_an_edit_is_settled_by_deleting_or_keeping(store, coordinator, cli):
    kept = store.create("case", {"status": "open", "child": {"name": CANARY}})
    gone = store.create("case", {"status": "open", "child": {"name": CANARY}})
    for case_id in (kept, gone):
        record = store.read(case_id)
        record["conflicts"] = [conflict("(record)", None, "deleted", "changed")]
        store.update(record)
    result = cli("resolve", gone, "(record)", "--take", "ours", **args(store, coordinator))
    assert result.exit_code == 0, result.output
    assert "deleted" in result.stderr
    result = cli("resolve", kept, "(record)", "--take", "theirs", **args(store, coordinator))
    assert result.exit_code == 0, result.output
    result = cli("resolve", kept, "risk", "--take", "ours", **args(store, coordinator))
    assert result.exit_code == ExitCode.INVALID_INPUT
    fresh = Store(store.root, coordinator.unlock())
    assert not fresh.exists(gone) and "conflicts" not in fresh.read(kept)
    assert cli("verify", **args(store, coordinator)).exit_code == 0


def test_conflicts_are_found_through_the_index_without_reading_other_records(
    with_conflicts, coordinator
):
    store, case_id = with_conflicts
    for n in range(5):
        store.create(
            "action", {"description": f"Task {n}", "due": dt.date(2026, 4, 1), "status": "open"}
        )
    fresh = Store(store.root, coordinator.unlock())
    ids, columns = fresh.index().table("case").columns(["conflicts"])
    assert dict(zip(ids, columns["conflicts"], strict=True)) == {case_id: 2, "C-0002": 0}
    _ids, columns = fresh.index().table("action").columns(["conflicts"])
    assert columns["conflicts"] == [0] * 5

    read = []
    original = fresh.read
    fresh.read = lambda record_id: read.append(record_id) or original(record_id)
    rows = open_conflicts(fresh)
    assert [(r["id"], r["field"]) for r in rows] == [
        (case_id, "risk"),
        (case_id, "lead_professional"),
    ]
    assert read == [case_id]  # only the record holding conflicts was decrypted

    # settling through the library keeps the index in step
    assert resolve_conflict(fresh, case_id, "risk", "theirs")
    assert resolve_conflict(fresh, case_id, "lead_professional", "theirs")
    assert open_conflicts(Store(store.root, coordinator.unlock())) == []


def test_papers_never_show_a_conflict(sample, cli, tmp_path):
    """A case with a conflict renders its papers with the kept value only: neither the other
    side's value nor the conflict entry reaches them."""
    store = Store(sample.store, read_identity_file(sample.identity).unlock())
    record = store.read("C-0001")
    record["conflicts"] = [
        conflict("lead_professional", "Earlier Name", OURS_MARK, record.get("lead_professional")),
        conflict("concern", "Before-Concern-Mark", "Ours-Concern-Mark", record.get("concern")),
    ]
    assert store.update(record)
    meeting = store.read("M-0001")  # held, minutes in draft
    meeting["conflicts"] = [
        conflict("discussions[1].note", None, "Ours-Note-Mark", None),
        conflict("attendance[1].status", "present", "apologies", "present"),
    ]
    assert store.update(meeting)
    out = tmp_path / "papers"
    result = cli(
        "agenda", "build", "M-0002", "--out", str(out), store=sample.store, identity=sample.identity
    )
    assert result.exit_code == 0, result.output
    for fmt in ("md", "html"):
        result = cli(
            "minutes", "render", "M-0001", "--format", fmt, "--out", str(out),
            store=sample.store, identity=sample.identity,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    papers = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert {"minutes-M-0001.md", "minutes-M-0001.html"} <= set(papers), sorted(papers)
    kept = record["lead_professional"]
    assert any(kept in text for text in papers.values()), "the kept value is shown"
    for name, text in papers.items():
        for leaked in (
            OURS_MARK, "Earlier Name", "Ours-Concern-Mark", "Before-Concern-Mark", "Ours-Note-Mark"
        ):  # fmt: skip
            assert leaked not in text, f"{name} shows a conflict's value"
        assert "conflict" not in text.lower(), f"{name} mentions the conflicts"
        assert RECORDED not in text and "10:02" not in text


def test_a_merged_record_is_listed_and_settled_to_each_side(store, coordinator, cli):
    """What `sync` does with a record changed on two clones, then the coordinator's part."""
    from panelctl.model import records
    from panelctl.model.merge import merge_records

    case_id = store.create(
        "case", {"status": "open", "child": {"name": CANARY}, "risk": "Medium", "team": "North"}
    )
    base = store.read(case_id)
    ours = {**base, "risk": "High", "team_manager": "Una Manager"}
    theirs = {**base, "risk": "Low", "child": {**base["child"], "area": "South ward"}}
    merged, new = merge_records(records.CASE, base, ours, theirs, recorded=RECORDED)
    assert [c["field"] for c in new] == ["risk"]
    assert store.update(merged)

    listed = cli("conflicts", "--format", "csv", **args(store, coordinator))
    assert listed.stdout.splitlines() == [
        "id,type,field,recorded",
        f"{case_id},case,risk,{RECORDED}",
    ]
    result = cli("resolve", case_id, "risk", "--take", "theirs", **args(store, coordinator))
    assert result.exit_code == 0, result.output
    settled = Store(store.root, coordinator.unlock()).read(case_id)
    assert settled == {**base, **ours, **theirs, "team_manager": "Una Manager"}
    assert settled["risk"] == "Low" and settled["child"]["area"] == "South ward"
    assert cli("verify", **args(store, coordinator)).exit_code == 0
