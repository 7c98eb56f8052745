"""The field-wise three-way merge of one record (model/merge.py) and settling a conflict:
plain cases, then properties over random edits of full records."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panelctl.base.errors import InvalidInputError
from panelctl.model import records
from panelctl.model.merge import merge_records, resolve

UTC = dt.UTC
NOW = "2026-03-14T10:02:00+00:00"
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CASE = {
    "id": "C-0007",
    "status": "open",
    "child": {"name": "Fictional Child", "dob": dt.date(2011, 3, 14), "area": "North ward"},
    "risk": "Medium",
    "lead_agency": "Police",
    "involved_agencies": ["Police", "Health"],
    "history": [
        {"date": dt.date(2026, 1, 5), "event": "Nominated"},
        {"date": dt.date(2026, 2, 2), "event": "Discussed at M-0001"},
    ],
    "flags": [
        {"flag": "Carries a knife", "owner": "Police", "review": dt.date(2026, 4, 1)},
        {"flag": "Missing often", "owner": "Health", "review": dt.date(2026, 5, 1)},
    ],
    "missing": [{"start": AT, "end": AT + dt.timedelta(hours=5)}],
}

MEETING = {
    "id": "M-0003",
    "date": dt.date(2026, 3, 12),
    "time": "10:00",
    "status": "held",
    "cases": ["C-0007", "C-0008"],
    "attendance": [
        {"name": "Alex Chair", "agency": "Police", "status": "present"},
        {"name": "Bo Nurse", "agency": "Health", "status": "present"},
        {"name": "Cy Teacher", "agency": "School", "status": "apologies"},
    ],
    "discussions": [
        {"case": "C-0007", "items": {"Risk": "Discussed", "Plan": "Agreed"}, "decision": "keep"},
        {"case": "C-0008", "items": {"Risk": "Discussed"}},
    ],
    "progress": ["attendance", "quorum"],
    "minutes": {"status": "draft"},
}

ACTION = {
    "id": "A-00012",
    "description": "Visit school",
    "case": "C-0007",
    "due": dt.date(2026, 4, 1),
    "status": "open",
    "owner": "Bo Nurse",
    "history": [{"at": AT, "by": "Sam Coordinator", "change": "set"}],
}


def merge(rtype, base, ours, theirs):
    return merge_records(records.record_type(rtype), base, ours, theirs, recorded=NOW)


def edited(record, **changes):
    new = copy.deepcopy(record)
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    return new


# --- plain cases ----------------------------------------------------------------------------


def test_edits_to_different_fields_merge_silently():
    ours = edited(CASE, risk="High")
    theirs = edited(CASE, lead_agency="Health")
    theirs["child"]["area"] = "South ward"
    merged, new = merge("case", CASE, ours, theirs)
    assert new == []
    assert merged["risk"] == "High" and merged["lead_agency"] == "Health"
    assert merged["child"] == {**CASE["child"], "area": "South ward"}
    assert "conflicts" not in merged


def test_same_field_two_values_keeps_theirs_and_records_both():
    ours, theirs = edited(CASE, risk="High"), edited(CASE, risk="Low")
    ours["child"]["dob"] = dt.date(2011, 3, 15)
    theirs["child"]["dob"] = dt.date(2011, 4, 14)
    merged, new = merge("case", CASE, ours, theirs)
    assert merged["risk"] == "Low" and merged["child"]["dob"] == dt.date(2011, 4, 14)
    assert new == [  # in the record's field order
        {
            "field": "child.dob",
            "base": dt.date(2011, 3, 14),
            "ours": dt.date(2011, 3, 15),
            "theirs": dt.date(2011, 4, 14),
            "recorded": NOW,
        },
        {"field": "risk", "base": "Medium", "ours": "High", "theirs": "Low", "recorded": NOW},
    ]
    assert merged["conflicts"] == new
    records.validate(records.CASE, merged)


def test_identical_changes_are_not_conflicts():
    ours = edited(CASE, risk="High", involved_agencies=["Police", "Health", "School"])
    merged, new = merge("case", CASE, ours, copy.deepcopy(ours))
    assert new == [] and merged == ours


def test_removed_field_against_edited_field_is_a_conflict():
    ours = edited(CASE, lead_agency=None)
    theirs = edited(CASE, lead_agency="Health")
    merged, new = merge("case", CASE, ours, theirs)
    assert merged["lead_agency"] == "Health"
    assert [(c["field"], c["ours"], c["theirs"]) for c in new] == [("lead_agency", None, "Health")]
    # ... and the other way round: theirs' absence is kept, ours' value recorded
    merged, new = merge("case", CASE, theirs, ours)
    assert "lead_agency" not in merged
    assert [(c["field"], c["ours"], c["theirs"]) for c in new] == [("lead_agency", "Health", None)]


def test_list_items_added_on_both_sides_are_all_kept_theirs_first():
    ours = copy.deepcopy(CASE)
    ours["history"].append({"date": dt.date(2026, 3, 1), "event": "Ours"})
    ours["involved_agencies"].append("School")
    theirs = copy.deepcopy(CASE)
    theirs["history"].append({"date": dt.date(2026, 3, 2), "event": "Theirs"})
    theirs["involved_agencies"].insert(0, "Probation")
    merged, new = merge("case", CASE, ours, theirs)
    assert new == []
    assert [e["event"] for e in merged["history"]] == [
        "Nominated",
        "Discussed at M-0001",
        "Theirs",
        "Ours",
    ]
    assert merged["involved_agencies"] == ["Probation", "Police", "Health", "School"]


def test_item_removed_on_one_side_and_unchanged_on_the_other_is_removed():
    ours = copy.deepcopy(CASE)
    del ours["flags"][0]
    ours["involved_agencies"].remove("Health")
    theirs = edited(CASE, risk="High")
    merged, new = merge("case", CASE, ours, theirs)
    assert new == []
    assert [f["flag"] for f in merged["flags"]] == ["Missing often"]
    assert merged["involved_agencies"] == ["Police"] and merged["risk"] == "High"


def test_items_with_a_key_merge_field_by_field():
    ours, theirs = copy.deepcopy(MEETING), copy.deepcopy(MEETING)
    ours["attendance"][2]["status"] = "present"  # Cy came after all
    theirs["attendance"][2]["agency"] = "Academy"  # and the agency was wrong
    theirs["attendance"].insert(0, {"name": "Di Guest", "guest": True})
    ours["discussions"][0]["items"]["Plan"] = "Agreed, with a review"
    theirs["discussions"][0]["items"]["Voice"] = "Heard"
    merged, new = merge("meeting", MEETING, ours, theirs)
    assert new == []
    assert merged["attendance"][0] == {"name": "Di Guest", "guest": True}
    assert merged["attendance"][3] == {
        "name": "Cy Teacher",
        "agency": "Academy",
        "status": "present",
    }
    assert merged["discussions"][0]["items"] == {
        "Risk": "Discussed",
        "Plan": "Agreed, with a review",
        "Voice": "Heard",
    }
    records.validate(records.MEETING, merged)


def test_an_item_edited_differently_on_both_sides_names_its_position():
    ours, theirs = copy.deepcopy(MEETING), copy.deepcopy(MEETING)
    ours["attendance"][2]["status"] = "present"
    theirs["attendance"][2]["status"] = "deputy"
    theirs["attendance"].insert(0, {"name": "Di Guest", "guest": True})
    merged, new = merge("meeting", MEETING, ours, theirs)
    assert [(c["field"], c["base"], c["ours"], c["theirs"]) for c in new] == [
        ("attendance[4].status", "apologies", "present", "deputy")
    ]
    assert merged["attendance"][3]["status"] == "deputy"


def test_an_item_removed_on_one_side_and_edited_on_the_other_is_a_conflict():
    ours, theirs = copy.deepcopy(CASE), copy.deepcopy(CASE)
    del ours["flags"][1]
    theirs["flags"][1]["owner"] = "Education"
    merged, new = merge("case", CASE, ours, theirs)
    assert merged["flags"] == theirs["flags"]
    assert [(c["field"], c["ours"]) for c in new] == [("flags[2]", "deleted")]
    assert new[0]["theirs"] == theirs["flags"][1] and new[0]["base"] == CASE["flags"][1]
    # settling it on our side removes the item
    settled = resolve(merged, "flags[2]", "ours")
    assert settled["flags"] == CASE["flags"][:1] and "conflicts" not in settled


def test_append_only_history_is_a_union():
    ours, theirs = copy.deepcopy(ACTION), copy.deepcopy(ACTION)
    ours["history"].append({"at": AT + dt.timedelta(days=1), "by": "A", "change": "done"})
    ours["status"] = "done"
    theirs["history"].append({"at": AT + dt.timedelta(days=2), "by": "B", "change": "extended"})
    theirs["due"] = dt.date(2026, 5, 1)
    merged, new = merge("action", ACTION, ours, theirs)
    assert new == []
    assert [e["change"] for e in merged["history"]] == ["set", "extended", "done"]
    assert merged["status"] == "done" and merged["due"] == dt.date(2026, 5, 1)


def test_a_decision_confirmed_on_both_sides_keeps_the_first_confirmation():
    base = {"id": "D-00001", "case": "C-0007", "meeting": "M-0003", "decision": "keep"}
    ours = {**base, "confirmed": AT + dt.timedelta(hours=2), "confirmed_by": "Ours Manager"}
    theirs = {**base, "confirmed": AT + dt.timedelta(hours=1), "confirmed_by": "Their Manager"}
    for a, b in ((ours, theirs), (theirs, ours)):
        merged, new = merge("decision", base, a, b)
        assert new == [] and merged == theirs


def test_delete_against_edit_keeps_the_edit_with_a_record_conflict():
    theirs = edited(CASE, risk="High")
    merged, new = merge("case", CASE, None, theirs)
    assert new == [
        {"field": "(record)", "base": None, "ours": "deleted", "theirs": "changed", "recorded": NOW}
    ]
    assert merged == {**theirs, "conflicts": new}
    records.validate(records.CASE, merged)
    assert resolve(merged, "(record)", "ours") is None  # deleting it after all
    assert resolve(merged, "(record)", "theirs") == theirs

    merged, new = merge("case", CASE, theirs, None)
    assert [(c["ours"], c["theirs"]) for c in new] == [("changed", "deleted")]
    assert resolve(merged, "(record)", "theirs") is None


def test_deletions_without_edits():
    assert merge("case", CASE, None, None) == (None, [])
    assert merge("case", CASE, None, copy.deepcopy(CASE)) == (None, [])
    assert merge("case", CASE, copy.deepcopy(CASE), None) == (None, [])
    assert merge("case", None, None, CASE) == (CASE, [])
    assert merge("case", None, CASE, None) == (CASE, [])


def test_open_conflicts_merge_and_settled_ones_stay_settled():
    ours, theirs = edited(CASE, risk="High"), edited(CASE, risk="Low")
    merged, _ = merge("case", CASE, ours, theirs)
    settled_here = resolve(merged, "risk", "ours")
    other = edited(merged, lead_agency="Health")  # edited elsewhere, conflict still open
    again, new = merge("case", merged, settled_here, other)
    assert new == [] and "conflicts" not in again
    assert again["risk"] == "High" and again["lead_agency"] == "Health"


def test_resolve_takes_ours_theirs_or_a_value():
    ours, theirs = edited(CASE, risk="High"), edited(CASE, risk="Low")
    merged, _ = merge("case", CASE, ours, theirs)
    assert resolve(merged, "risk", "ours")["risk"] == "High"
    assert resolve(merged, "risk", "theirs")["risk"] == "Low"
    assert resolve(merged, "risk", "Very high")["risk"] == "Very high"
    assert "conflicts" not in resolve(merged, "risk", "ours")
    assert merged["conflicts"], "resolve must not change the record it was given"
    ours["child"]["dob"], theirs["child"]["dob"] = dt.date(2011, 1, 1), dt.date(2011, 2, 2)
    merged, _ = merge("case", CASE, ours, theirs)
    settled = resolve(merged, "child.dob", "2011-03-03")
    assert settled["child"]["dob"] == dt.date(2011, 3, 3)
    assert [c["field"] for c in settled["conflicts"]] == ["risk"]
    assert merged["child"]["dob"] == dt.date(2011, 2, 2)


@pytest.mark.parametrize("field", ["lead_agency", "id", "conflicts", "risk[", ""])
def test_resolve_refuses_a_field_without_a_conflict_naming_id_and_field(field):
    merged, _ = merge("case", CASE, edited(CASE, risk="High"), edited(CASE, risk="Low"))
    with pytest.raises(InvalidInputError) as caught:
        resolve(merged, field, "ours")
    assert "C-0007" in caught.value.message and field in caught.value.message
    assert "High" not in caught.value.message and "Low" not in caught.value.message


def test_resolve_refuses_a_value_for_a_record_conflict_and_bad_yaml():
    merged, _ = merge("case", CASE, None, edited(CASE, risk="High"))
    with pytest.raises(InvalidInputError, match="C-0007"):
        resolve(merged, "(record)", "keep it")
    merged, _ = merge("case", CASE, edited(CASE, risk="High"), edited(CASE, risk="Low"))
    with pytest.raises(InvalidInputError, match="C-0007: the value for field risk"):
        resolve(merged, "risk", "[unclosed")


# --- properties over random edits -----------------------------------------------------------

ROOTS = {"case": CASE, "meeting": MEETING, "action": ACTION}
WORDS = ["alpha", "bravo", "charlie", "delta", "echo"]

#: per type: top-level or nested scalars to set (path, values; None removes an optional one)
SCALARS = {
    "case": [
        (("risk",), ["Low", "Medium", "High", None]),
        (("lead_agency",), ["Police", "Health", "Education", None]),
        (("status",), ["open", "closed"]),
        (("child", "dob"), [dt.date(2011, 3, 14), dt.date(2012, 1, 1), None]),
        (("child", "area"), ["North ward", "South ward", None]),
        (("concern",), WORDS + [None]),
    ],
    "meeting": [
        (("time",), ["10:00", "14:30", None]),
        (("venue",), WORDS + [None]),
        (("status",), ["planned", "held", "cancelled"]),
        (("minutes", "status"), ["draft", "approved"]),
    ],
    "action": [
        (("due",), [dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)]),
        (("status",), ["open", "done", "cancelled"]),
        (("owner",), ["Bo Nurse", "Cy Teacher", None]),
        (("description",), WORDS),
    ],
}


def _new_item(list_name: str, n: int):
    return {
        "involved_agencies": f"Agency {n}",
        "history": {"date": dt.date(2026, 3, 1) + dt.timedelta(days=n), "event": f"Event {n}"},
        "flags": {"flag": f"Flag {n}", "owner": "Police", "review": dt.date(2026, 6, 1)},
        "missing": {"start": AT + dt.timedelta(days=n)},
        "cases": f"C-{1000 + n:04d}",
        "attendance": {"name": f"Person {n}", "status": "present"},
        "discussions": {"case": f"C-{1000 + n:04d}", "items": {"Risk": f"Said {n}"}},
        "progress": f"step {n}",
        "action history": {"at": AT + dt.timedelta(days=n), "by": "Someone", "change": f"c{n}"},
    }[list_name]


LISTS = {
    "case": ["involved_agencies", "history", "flags", "missing"],
    "meeting": ["cases", "attendance", "discussions", "progress"],
    "action": ["history"],
}
#: per list of maps: a field each item may have edited, and its values
ITEM_FIELDS = {
    ("case", "flags"): ("owner", ["Police", "Health", "Education"]),
    ("case", "history"): ("event", WORDS),
    ("case", "missing"): ("note", WORDS),
    ("meeting", "attendance"): ("status", ["present", "apologies", "deputy"]),
    ("meeting", "discussions"): ("decision", ["keep", "step down", "close"]),
}


@st.composite
def random_edit(draw, rtype: str, record: dict) -> dict:
    new = copy.deepcopy(record)
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["scalar", "add", "remove", "item", "items text"]))
        if kind == "scalar":
            path, values = draw(st.sampled_from(SCALARS[rtype]))
            holder = new
            for step in path[:-1]:
                holder = holder[step]
            value = draw(st.sampled_from(values))
            if value is None:
                holder.pop(path[-1], None)
            else:
                holder[path[-1]] = value
            continue
        keyed = [name for (of, name) in ITEM_FIELDS if of == rtype]
        if kind == "item" and not keyed:
            continue
        name = draw(
            st.sampled_from(keyed if kind in ("item", "remove") and keyed else LISTS[rtype])
        )
        items = new.setdefault(name, [])
        if kind == "add":
            key = "action history" if (rtype, name) == ("action", "history") else name
            item = _new_item(key, draw(st.integers(1, 40)))
            if item not in items:
                items.insert(draw(st.integers(0, len(items))), item)
        elif kind == "remove" and items and not (rtype == "action" and name == "history"):
            del items[draw(st.integers(0, len(items) - 1))]
        elif kind == "item" and items:
            field, values = ITEM_FIELDS[(rtype, name)]
            candidate = copy.deepcopy(items[draw(st.integers(0, len(items) - 1))])
            candidate[field] = draw(st.sampled_from(values))
            if candidate not in items:
                items[items.index(next(i for i in items if _same_key(name, i, candidate)))] = (
                    candidate
                )
        elif kind == "items text" and rtype == "meeting" and new.get("discussions"):
            discussion = new["discussions"][draw(st.integers(0, len(new["discussions"]) - 1))]
            discussion.setdefault("items", {})[draw(st.sampled_from(["Risk", "Plan", "Voice"]))] = (
                draw(st.sampled_from(WORDS))
            )
        if not items:
            new.pop(name)
    return new


def _same_key(name: str, a: dict, b: dict) -> bool:
    key = {"flags": "flag", "missing": "start", "attendance": "name", "discussions": "case"}
    return a.get(key.get(name, "date")) == b.get(key.get(name, "date"))


@st.composite
def three_versions(draw):
    rtype = draw(st.sampled_from(sorted(ROOTS)))
    base = draw(random_edit(rtype, ROOTS[rtype]))
    return rtype, base, draw(random_edit(rtype, base)), draw(random_edit(rtype, base))


def _without_conflicts(record):
    return {k: v for k, v in record.items() if k != "conflicts"}


def _leaves(value, into: set) -> set:
    if isinstance(value, dict):
        for k, v in value.items():
            into.add(("key", str(k)))
            _leaves(v, into)
    elif isinstance(value, list):
        for v in value:
            _leaves(v, into)
    else:
        into.add((type(value).__name__, value))
    return into


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(three_versions())
def test_same_change_on_both_sides_is_that_change(versions):
    rtype, base, ours, _theirs = versions
    merged, new = merge(rtype, base, ours, copy.deepcopy(ours))
    assert new == [] and _without_conflicts(merged) == _without_conflicts(ours)


@PROPERTY
@given(three_versions())
def test_a_change_on_one_side_only_is_taken_whole(versions):
    rtype, base, ours, theirs = versions
    assert merge(rtype, base, copy.deepcopy(base), theirs) == (theirs, [])
    assert merge(rtype, base, ours, copy.deepcopy(base)) == (ours, [])


@PROPERTY
@given(three_versions())
def test_no_new_value_is_lost_and_the_result_validates(versions):
    rtype, base, ours, theirs = versions
    merged, new = merge(rtype, base, ours, theirs)
    records.validate(records.record_type(rtype), merged)
    assert merged.get("conflicts", []) == new  # the bases held none
    new_values = (_leaves(ours, set()) | _leaves(theirs, set())) - _leaves(base, set())
    lost = new_values - _leaves(merged, set())
    assert not lost, f"lost without a conflict: {lost}"
    assert merged["id"] == base["id"]
    for conflict in new:  # every conflict is settled back to a valid record either way
        for take in ("ours", "theirs"):
            settled = resolve(merged, conflict["field"], take)
            assert settled is not None
            records.validate(records.record_type(rtype), settled)
            assert [
                c for c in settled.get("conflicts", []) if c["field"] == conflict["field"]
            ] == []
