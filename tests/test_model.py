"""The record types (msgspec Structs): validation, messages, round trips, the index's dates
and the generated format reference."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CANARY, REPO
from panelctl.base import yamlio
from panelctl.base.errors import InvalidRecordError
from panelctl.model import docs, records, types
from panelctl.store.core import Store

UTC = dt.UTC
BST = dt.timezone(dt.timedelta(hours=1))
AT = dt.datetime(2026, 10, 14, 12, 0, tzinfo=BST)
DAY = dt.date(2026, 10, 14)

#: A good, full record of every type: every field the code writes today, nested parts too.
GOOD = {
    "case": {
        "id": "C-0001",
        "status": "open",
        "child": {
            "name": CANARY,
            "dob": dt.date(2011, 3, 14),
            "gender": "Female",
            "ethnicity": "White British",
            "school": "Demo Academy",
            "area": "Demo ward",
            "looked_after": False,
            "out_of_area": True,
        },
        "nominated": DAY,
        "repeat_of": "C-0002",
        "referring_agency": "Police",
        "involved_agencies": ["Police", "Health"],
        "known_to": ["police"],
        "first_referral": True,
        "protocol_followed": True,
        "lead_agency": "Police",
        "lead_professional": "Dana Whitfield",
        "team": "Adolescent Team",
        "team_manager": "Demo Manager",
        "risk": "High",
        "risk_tool": "rfm",
        "assessed": DAY,
        "exploitation_types": ["sexual"],
        "concern": "Going missing",
        "consequences": "Harm",
        "child_views": "Fine",
        "carer_views": "Worried",
        "review_due": DAY,
        "closed": DAY,
        "closure_reason": "Risk reduced",
        "closure_agreed_by": ["Police"],
        "history": [{"date": DAY, "event": "Nominated"}],
        "missing": [{"start": AT, "end": AT, "note": "Found"}, {"start": AT}],
        "flags": [
            {"flag": "Hotspot", "owner": "PC Demo", "review": DAY, "raised": DAY, "cleared": DAY}
        ],
    },
    "meeting": {
        "id": "M-0001",
        "date": DAY,
        "time": "10:00",
        "venue": "Room 2",
        "status": "held",
        "cases": ["C-0001", "C-0002"],
        "agenda": [
            {"case": "C-0001", "start": "10:20", "end": "10:50", "reason": "new", "kind": "victim"}
        ],
        "papers_due": DAY,
        "attendance": [
            {"name": "Demo Chair", "agency": "Police", "status": "present", "sector": "police"},
            {"name": "Deputy", "agency": "Health", "status": "deputy", "deputising_for": "Nurse"},
            {"name": "Away", "agency": "", "status": "apologies"},
        ],
        "confidentiality": [{"name": "Demo Chair", "signed": True}],
        "declarations": [
            {"name": "Demo Chair", "interest": "Knows family", "excluded_cases": ["C-0002"]}
        ],
        "quorate": True,
        "quorum_note": "no quorum rule",
        "discussions": [
            {
                "case": "C-0001",
                "items": {"presentation": "Update given."},
                "excluded": ["Demo Chair"],
                "risk_agreed": "High",
                "decision": "keep",
                "agreed_by": ["Demo Chair"],
                "actions": ["A-00001"],
            },
            {"case": "C-0002", "items": {}, "note": "No decisions.", "actions": []},
        ],
        "progress": ["attendance", "case C-0001"],
        "started": AT,
        "finished": AT,
        "minutes": {"status": "approved", "approved_by": "Demo Chair", "approved_at": AT},
    },
    "action": {
        "id": "A-00001",
        "description": "Share the matrix",
        "case": "C-0001",
        "meeting": "M-0001",
        "agency": "Police",
        "owner": "PC Demo",
        "due": DAY,
        "status": "done",
        "completed": DAY,
        "owner_email": "pc@example.police.uk",
        "history": [{"at": AT, "by": "Sam", "change": "done", "note": "Shared"}],
    },
    "assessment": {
        "id": "RA-00001",
        "case": "C-0001",
        "tool": "rfm",
        "date": DAY,
        "assessor": "Dana",
        "agency": "Police",
        "factors": ["missing"],
        "score": 12,
        "derived": "Medium",
        "agreed": "High",
        "override_reason": "Escalating",
        "source": "nomination",
    },
    "agency": {"id": "AG-0001", "name": "Police", "sector": "police", "core": True},
    "member": {
        "id": "MB-0001",
        "name": "Demo Chair",
        "agency": "Police",
        "role": "chair",
        "email": "chair@example.gov.uk",
        "active": True,
    },
    "person": {
        "id": "P-0001",
        "kind": "person",
        "names": ["Adult One"],
        "nicknames": ["A"],
        "description": "Tall",
        "vehicles": ["Blue car"],
        "phones": ["07700 900000"],
        "usernames": ["@demo"],
        "police_only": False,
        "added": DAY,
    },
    "location": {
        "id": "L-0001",
        "kind": "hotspot",
        "name": "Demo Park",
        "address": "1 Demo Road",
        "area": "Demo ward",
        "description": "Benches",
        "police_only": True,
        "added": DAY,
    },
    "link": {
        "id": "K-00001",
        "a": "C-0001",
        "b": "P-0001",
        "nature": "seen together",
        "source": "police",
        "date": DAY,
        "police_only": False,
    },
    "decision": {
        "id": "D-00001",
        "case": "C-0001",
        "meeting": "M-0001",
        "decision": "step down",
        "risk": "High",
        "actions": ["A-00001"],
        "team_manager": "Demo Manager",
        "due": AT,
        "confirmed": AT,
        "confirmed_by": "Demo Manager",
    },
    "reminder": {
        "id": "RM-00001",
        "day": DAY,
        "recipient": "pc@example.police.uk",
        "kind": "actions",
        "items": ["A-00001"],
        "subject": "1 action",
        "sent": AT,
    },
    "erasure": {
        "id": "E-0001",
        "case": "C-0009",
        "erased": AT,
        "by": "pcr1abcdefgh",
        "role": "coordinator",
        "rule": "retention: 6 years after closure (ended 14 Mar 2026)",
        "reason": "retention period ended",
        "removed": {"case": 1, "action": 2},
        "ids": ["C-0009", "A-00007", "A-00008"],
        "changed": ["M-0003"],
        "unshredded": 2,
    },
    "disclosure": {
        "id": "DL-00001",
        "at": AT,
        "by": {"reader": "pcr2abcdefgh", "role": "coordinator", "agency": "Demo Council"},
        "output": "papers",
        "form": "md,html,ics",
        "records": ["M-0001", "C-0001", "A-00001"],
        "kinds": ["meeting", "case", "action"],
        "recipients": ["pc@example.police.uk"],
        "command": "panelctl agenda build",
    },
    "restricted": {
        "id": "RI-00001",
        "subject": "C-0001",
        "group": "police",
        "epoch": 1,
        "by": "Pat Police",
        "added": DAY,
        "sealed": "AAAA",
    },
}


def test_every_type_has_a_good_example_here():
    assert set(GOOD) == set(records.TYPES)


@pytest.mark.parametrize("name", list(GOOD))
def test_good_records_validate_and_come_back_whole_from_their_struct(name):
    rtype = records.record_type(name)
    record = GOOD[name]
    assert records.validate(rtype, record) is record
    typed = records.typed(rtype, record)
    assert isinstance(typed, rtype.struct)
    assert records.as_dict(typed) == record  # no key lost, dates still dates


#: fields a record type's own check requires although their type says optional: a case has
#: its child unless it is a perpetrator referral (types.Case.__post_init__)
REQUIRED_UNLESS = {"case": ("child",)}


@pytest.mark.parametrize("name", list(GOOD))
def test_only_the_required_fields_are_enough(name):
    rtype = records.record_type(name)
    info = msgspec.inspect.type_info(rtype.struct)
    needed = REQUIRED_UNLESS.get(name, ())
    minimal = {f.name: GOOD[name][f.name] for f in info.fields if f.required or f.name in needed}
    records.validate(rtype, minimal)
    for f in info.fields:
        if (f.required or f.name in needed) and f.name != "id":
            without = {k: v for k, v in minimal.items() if k != f.name}
            with pytest.raises(InvalidRecordError, match=rf": field {f.name} is required\.$"):
                records.validate(rtype, without)


def _bad(name: str, path: str, value: object) -> dict:
    """GOOD[name] with the value at ``path`` (keys and 0-based positions) replaced."""
    record = _deep_copy(GOOD[name])
    target = record
    steps = re.findall(r"[^.\[\]]+", path)
    for step in steps[:-1]:
        target = target[int(step)] if step.isdigit() else target[step]
    last = steps[-1]
    target[int(last) if last.isdigit() else last] = value
    return record


def _deep_copy(value):
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


BAD = [
    # the meeting's answers, as the meeting run writes them
    ("meeting", "discussions.0.risk_agreed", 3, "field discussions[1].risk_agreed must be text"),
    ("meeting", "discussions.1.decision", CANARY, "field discussions[2].decision must be one of: keep, step down, close"),
    ("meeting", "discussions.0.actions.0", CANARY, "field discussions[1].actions[1] must be an action id"),
    ("meeting", "discussions.0.agreed_by", CANARY, "field discussions[1].agreed_by must be a list"),
    ("meeting", "discussions.0.agreed_by.0", 7, "field discussions[1].agreed_by[1] must be text"),
    ("meeting", "discussions.0.items", [CANARY], "field discussions[1].items must be a mapping"),
    ("meeting", "discussions.0.items.presentation", 5, "every value of field discussions[1].items must be text"),
    ("meeting", "discussions.0.case", CANARY, "field discussions[1].case must be a case id"),
    ("meeting", "discussions.0.excluded", [CANARY, 1], "field discussions[1].excluded[2] must be text"),
    ("meeting", "discussions.1", CANARY, "field discussions[2] must be a mapping of fields"),
    ("meeting", "attendance.0.status", CANARY, "field attendance[1].status must be one of: present, apologies, deputy, virtual"),
    ("meeting", "attendance.1.name", None, "field attendance[2].name is required"),
    ("meeting", "attendance.1.deputising_for", ["x"], "field attendance[2].deputising_for must be text"),
    ("meeting", "confidentiality.0.signed", CANARY, "field confidentiality[1].signed must be true or false"),
    ("meeting", "declarations.0.excluded_cases.0", CANARY, "field declarations[1].excluded_cases[1] must be a case id"),
    ("meeting", "declarations.0.interest", 4, "field declarations[1].interest must be text"),
    ("meeting", "minutes.status", CANARY, "field minutes.status must be one of: draft, approved"),
    ("meeting", "minutes.approved_at", dt.datetime(2026, 1, 1), "field minutes.approved_at must be a date and time with its UTC offset"),
    ("meeting", "agenda.0.kind", CANARY, "field agenda[1].kind must be one of: victim, perpetrator"),
    ("meeting", "time", CANARY, "field time must be a time (HH:MM)"),
    ("meeting", "cases.1", CANARY, "field cases[2] must be a case id"),
    ("meeting", "cases.0", None, "field cases[1] must be a case id"),
    ("meeting", "date", "2026-10-14", "field date must be a date (YYYY-MM-DD)"),
    ("meeting", "quorate", CANARY, "field quorate must be true or false"),
    # other records
    ("case", "child.dob", CANARY, "field child.dob must be a date (YYYY-MM-DD)"),
    ("case", "child.name", 12, "field child.name must be text"),
    ("case", "child", CANARY, "field child must be a mapping of fields"),
    ("case", "status", CANARY, "field status must be one of: open, closed"),
    ("case", "missing.0.start", DAY, "field missing[1].start must be a date and time with its UTC offset"),
    ("case", "missing.1." + CANARY, 1, "unknown field missing[2].(unprintable key); check its spelling"),
    ("case", "flags.0.review", None, "field flags[1].review is required"),
    ("case", "history.0.date", AT, "field history[1].date must be a date (YYYY-MM-DD)"),
    ("case", "repeat_of", "M-0001", "field repeat_of must be a case id"),
    ("action", "history.0.at", CANARY, "field history[1].at must be a date and time with its UTC offset"),
    ("action", "due", None, "field due is required"),
    ("assessment", "score", True, "field score must be a whole number"),
    ("agency", "sector", CANARY, "field sector must be one of: police, health, local authority, education, probation, youth justice, voluntary, other"),
    ("member", "role", CANARY, "field role must be one of: chair, vice-chair, coordinator, core, virtual"),
    ("person", "names", CANARY, "field names must be a list"),
    ("location", "kind", CANARY, "field kind must be one of: address, area, school, venue, hotspot, safe space, other"),
    ("link", "date", CANARY, "field date must be a date (YYYY-MM-DD)"),
    ("decision", "meeting", CANARY, "field meeting must be a meeting id"),
    ("reminder", "sent", CANARY, "field sent must be a date and time with its UTC offset"),
    ("case", CANARY, 1, "unknown field (unprintable key); check its spelling"),
    ("meeting", "colour", 1, "unknown field colour; check its spelling"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "value", "message"), BAD)
def test_bad_records_are_refused_by_type_id_and_field_path_never_quoting_a_value(
    name, path, value, message
):
    rtype = records.record_type(name)
    record = _bad(name, path, value)
    with pytest.raises(InvalidRecordError) as caught:
        records.validate(rtype, record)
    text = str(caught.value)
    assert text == f"{name} {record['id']}: {message}."
    assert CANARY not in text and "Quillonia" not in text
    # nothing that quotes the value rides along as the error's cause or context
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_msgspec_wording_not_known_here_is_not_passed_on():
    said = records.explain(types.Meeting, f"Invalid value '{CANARY}' - at `$.venue`")
    assert CANARY not in said and "Quillonia" not in said
    said = records.explain(types.Meeting, f"Something new: '{CANARY}'\nat two lines")
    assert said == "a field does not have the type it must have"


def test_an_unknown_key_in_a_nested_part_that_allows_them_is_kept_unchecked():
    record = _bad("meeting", "discussions.0.extra", "kept")
    assert records.validate(records.MEETING, record) is record


def test_dates_must_already_be_dates_not_text():
    record = _bad("action", "due", "2026-10-14")
    with pytest.raises(InvalidRecordError, match=r"field due must be a date"):
        records.validate(records.ACTION, record)


def test_every_record_type_has_a_format_number():
    for rtype in records.TYPES.values():
        assert isinstance(rtype.format, int) and rtype.format >= 1
        assert rtype.format == rtype.struct.FORMAT


def test_choices_come_from_the_types_in_their_order():
    assert records.PERSON.choices("kind") == ("person", "group")
    assert records.AGENCY.choices("sector") == types.SECTORS
    assert records.CASE.choices("concern") == ()


# --- a wrong answer on disk, end to end ----------------------------------------------------


def test_a_meeting_answer_of_the_wrong_type_on_disk_is_named_by_id_and_path(sample, cli):
    """A meeting record whose discussion holds a list where the agreed risk level belongs
    (and the child's name in it): verify and record show name the meeting and the field."""
    from panelctl.base.errors import ExitCode
    from panelctl.crypto import envelope
    from panelctl.crypto.identity import read_identity_file

    store = Store(sample.store, read_identity_file(sample.identity).unlock(lambda: None))
    meeting = store.read("M-0001")
    meeting["discussions"][1]["risk_agreed"] = [CANARY]
    plaintext = yamlio.dump(meeting)
    keyring = store.keyring
    path = store.path_of("M-0001")
    blob = envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, plaintext)
    (store.root / path).write_bytes(blob)
    said = "meeting M-0001: field discussions[2].risk_agreed must be text."

    verified = cli("verify", store=sample.store, identity=sample.identity)
    assert verified.exit_code == ExitCode.PROBLEMS_FOUND
    assert said in verified.stdout
    shown = cli("record", "show", "M-0001", store=sample.store, identity=sample.identity)
    assert shown.exit_code == ExitCode.INVALID_RECORD
    assert said in shown.stderr
    for output in (verified.output, shown.output):
        assert CANARY not in output and "Quillonia" not in output
        assert "Traceback" not in output


# --- the sample store ----------------------------------------------------------------------


def test_every_sample_store_record_converts_to_its_struct_and_back_unchanged(sample):
    from panelctl.crypto.identity import read_identity_file

    store = Store(sample.store, read_identity_file(sample.identity).unlock(lambda: None))
    seen = 0
    for rtype in records.TYPES.values():
        for record_id in store.ids(rtype):
            record = store.read(record_id)
            assert records.as_dict(records.typed(rtype, record)) == record
            seen += 1
    assert seen > 40


# --- round trips through YAML --------------------------------------------------------------


def _strategy(info, top: bool = False) -> st.SearchStrategy:
    """Values of a msgspec type, for Hypothesis: the types say what a record may hold."""
    inspect = msgspec.inspect
    if isinstance(info, inspect.Metadata):
        return _strategy(info.type)
    if isinstance(info, inspect.UnionType):
        return st.one_of([_strategy(t) for t in info.types if not isinstance(t, inspect.NoneType)])
    if isinstance(info, inspect.StrType):
        if info.pattern:
            return st.from_regex(info.pattern, fullmatch=True)
        return st.text(max_size=12)
    if isinstance(info, inspect.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, inspect.DateType):
        return st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))
    if isinstance(info, inspect.DateTimeType):
        offsets = st.sampled_from([UTC, BST, dt.timezone(dt.timedelta(hours=-5, minutes=-30))])
        return st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1), timezones=offsets)
    if isinstance(info, inspect.IntType):
        return st.integers(-1000 if info.ge is None else info.ge, 10**6)
    if isinstance(info, inspect.BoolType):
        return st.booleans()
    if isinstance(info, inspect.ListType):
        return st.lists(_strategy(info.item_type), max_size=2)
    if isinstance(info, inspect.DictType):
        return st.dictionaries(_strategy(info.key_type), _strategy(info.value_type), max_size=2)
    if isinstance(info, inspect.StructType):
        required = {f.encode_name: _strategy(f.type) for f in info.fields if f.required}
        optional = {f.encode_name: _strategy(f.type) for f in info.fields if not f.required}
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(info, inspect.AnyType):  # a conflict's values: any YAML value
        return st.one_of(
            st.none(),
            st.text(max_size=12),
            st.integers(-1000, 10**6),
            st.booleans(),
            st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
        )
    raise AssertionError(f"no strategy for {info}")


def _whole(rtype, record: dict) -> tuple:
    """A generated record made to pass its type's own check beyond its fields' types: a
    case has its child, or is a perpetrator referral with its person."""
    if rtype.name == "case":
        if record.get("kind") == "perpetrator":
            record.setdefault("person", "P-0001")
        else:
            record.setdefault("child", {"name": "Test Child"})
    return rtype, record


def _records() -> st.SearchStrategy:
    def of(rtype):
        info = msgspec.inspect.type_info(rtype.struct)
        ids = st.integers(1, 10**4 - 1).map(rtype.format_id)
        return st.tuples(st.just(rtype), _strategy(info), ids).map(
            lambda t: _whole(t[0], {**t[1], "id": t[2]})
        )

    return st.one_of([of(t) for t in records.TYPES.values()])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_any_valid_record_round_trips_through_yaml_and_its_struct(pair):
    rtype, record = pair
    plaintext = yamlio.dump(record)
    again = records.parse(rtype, plaintext, record["id"])
    assert again == record
    assert records.as_dict(records.typed(rtype, again)) == record


# --- the index holds real dates ------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_any_index_row_keeps_its_dates_and_offsets_through_a_saved_table(pair):
    from panelctl.store.index import _column, _encoded, _typed_column

    rtype, record = pair
    entry = records.index_entry(rtype, record)
    for name in rtype.dated_index_fields:
        columns = {"paths": ["p"], "ids": [record["id"]], "fields": {name: [entry[name]]}}
        stored = msgspec.msgpack.decode(msgspec.msgpack.encode(_encoded(columns, rtype)))
        again = _column(stored["fields"], name, lambda v, n=name: _typed_column(rtype, n, v))
        assert again == [entry[name]]
        assert [type(v) for v in again] == [type(entry[name])]
        if isinstance(entry[name], dt.datetime):
            assert again[0].utcoffset() == entry[name].utcoffset()


def test_index_rows_hold_real_dates_fresh_and_after_reopening(sample):
    from panelctl.crypto.identity import read_identity_file

    def open_store():
        return Store(sample.store, read_identity_file(sample.identity).unlock(lambda: None))

    store = open_store()
    with store.transaction() as tx:
        tx.put({**store.read("C-0001"), "missing": [{"start": AT, "end": AT}]})
        tx.put({**store.read("A-00001"), "history": [{"at": AT, "by": "Sam", "change": "x"}]})
        decision = {k: v for k, v in GOOD["decision"].items() if k not in ("id", "confirmed")}
        tx.create("decision", decision)
    for reopened in (False, True):
        index = (open_store() if reopened else store).index()
        cases = dict(index.rows("case"))
        assert type(cases["C-0001"]["nominated"]) is dt.date
        assert type(cases["C-0001"]["dob"]) is dt.date
        assert cases["C-0001"]["missing"][0][0] == AT
        assert cases["C-0001"]["missing"][0][0].utcoffset() == dt.timedelta(hours=1)
        meetings = dict(index.rows("meeting"))
        assert meetings["M-0001"]["date"] == dt.date(2026, 10, 14)
        actions = dict(index.rows("action"))
        assert type(actions["A-00001"]["due"]) is dt.date
        assert actions["A-00001"]["set"] == DAY
        ids, columns = index.table("action").columns()
        assert all(type(d) is dt.date for d in columns["due"])
        decisions = dict(index.rows("decision"))
        due = [f["due"] for f in decisions.values() if f.get("due")]
        assert due == [AT] and due[0].utcoffset() == dt.timedelta(hours=1)


# --- the format reference ------------------------------------------------------------------


def test_the_format_reference_is_what_the_types_say():
    checked_in = (REPO / "docs" / "format.md").read_text(encoding="utf-8")
    assert checked_in == docs.reference(), (
        f"docs/format.md is out of date with the record types; regenerate it with `{docs.COMMAND}`."
    )


def test_the_format_reference_command_prints_the_reference(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "panelctl.model.docs"], capture_output=True, text=True, check=True
    )
    assert result.stdout == docs.reference()
    assert "| `discussions[].risk_agreed` | text |" in result.stdout
    assert Path(REPO / "docs" / "format.md").is_file()
