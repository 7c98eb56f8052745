"""Record types: where each lives, how its ids look, and what a valid record holds.

A record is a plain ``dict`` with an ``id``. Each type declares its fields; validation
names the record id and the field, never a value (a value may be a child's name). Later
issues add types by adding a :class:`RecordType` to :data:`TYPES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError, InvalidRecordError
from panelctl.base.names import name_key

ID_PATTERN = re.compile(r"^([A-Z]{1,3})-([0-9]{4,9})$")


@dataclass(frozen=True)
class Field:
    kind: str  # str, text, date, datetime, time, int, bool, list, map, ref:<type>
    required: bool = False
    choices: tuple[str, ...] = ()
    fields: Mapping[str, Field] = field(default_factory=dict)  # known keys of a map
    items: Field | None = None  # the type of each item of a list
    strict: bool = False  # a map with only the keys in ``fields``


@dataclass(frozen=True)
class RecordType:
    name: str
    plural: str
    prefix: str
    width: int
    fields: Mapping[str, Field]
    #: fields copied into the query index, so lists and reports need not decrypt records
    index_fields: tuple[str, ...] = ()
    #: values worked out from a record for the index (e.g. a name key for duplicate checks)
    index_computed: Callable[[dict], dict] | None = None

    @property
    def folder(self) -> str:
        return self.plural

    def path_for(self, record_id: str) -> str:
        return f"{self.folder}/{record_id}.enc"

    def format_id(self, number: int) -> str:
        return f"{self.prefix}-{number:0{self.width}d}"


S, T, D = Field("str"), Field("text"), Field("date")

SECTORS = (
    "police",
    "health",
    "local authority",
    "education",
    "probation",
    "youth justice",
    "voluntary",
    "other",
)
MEMBER_ROLES = ("chair", "vice-chair", "coordinator", "core", "virtual")
LIST_OF_TEXT = Field("list", items=Field("str"))


def _case_index(record: dict) -> dict:

    child = record.get("child") or {}
    dob = child.get("dob")
    return {
        "dob": dob.isoformat() if isinstance(dob, date) else None,
        "name": name_key(child.get("name") or ""),
        "assessed": (record.get("assessed") or None) and record["assessed"].isoformat(),
        # for reports, which must not read 10,000 records to count them
        **{k: child.get(k) for k in ("gender", "ethnicity", "looked_after", "out_of_area")},
        "missing": [
            [e["start"].isoformat(), e["end"].isoformat() if e.get("end") else None]
            for e in record.get("missing") or []
        ],
    }


def _action_index(record: dict) -> dict:
    history = record.get("history") or []
    return {"set": history[0]["at"].date().isoformat() if history else None}


CASE = RecordType(
    name="case",
    plural="cases",
    prefix="C",
    width=4,
    fields={
        "id": Field("str", required=True),
        "status": Field("str", required=True, choices=("open", "closed")),
        "child": Field(
            "map",
            required=True,
            fields={
                "name": Field("str", required=True),
                "dob": D,
                "gender": S,
                "ethnicity": S,
                "school": S,
                "area": S,
                "looked_after": Field("bool"),
                "out_of_area": Field("bool"),
            },
        ),
        "nominated": D,
        "repeat_of": Field("ref:case"),
        "referring_agency": S,
        "involved_agencies": LIST_OF_TEXT,
        "known_to": LIST_OF_TEXT,
        "first_referral": Field("bool"),
        "protocol_followed": Field("bool"),
        "lead_agency": S,
        "lead_professional": S,
        "team": S,
        "team_manager": S,
        "risk": S,
        "risk_tool": S,
        "assessed": D,
        "exploitation_types": LIST_OF_TEXT,
        "concern": T,
        "consequences": T,
        "child_views": T,
        "carer_views": T,
        "review_due": D,
        "closed": D,
        "closure_reason": T,
        "closure_agreed_by": LIST_OF_TEXT,
        "history": Field(
            "list",
            items=Field(
                "map",
                fields={"date": Field("date", required=True), "event": Field("str", required=True)},
            ),
        ),
        "missing": Field(
            "list",
            items=Field(
                "map",
                fields={
                    "start": Field("datetime", required=True),
                    "end": Field("datetime"),
                    "note": T,
                },
                strict=True,
            ),
        ),
        "flags": Field(
            "list",
            items=Field(
                "map",
                fields={
                    "flag": Field("str", required=True),
                    "owner": Field("str", required=True),
                    "review": Field("date", required=True),
                    "raised": D,
                    "cleared": D,
                },
                strict=True,
            ),
        ),
    },
    index_fields=(
        "status",
        "risk",
        "nominated",
        "lead_agency",
        "referring_agency",
        "lead_professional",
        "exploitation_types",
        "review_due",
        "closed",
        "repeat_of",
    ),
    index_computed=_case_index,
)

ASSESSMENT = RecordType(
    name="assessment",
    plural="assessments",
    prefix="RA",
    width=5,
    fields={
        "id": Field("str", required=True),
        "case": Field("ref:case", required=True),
        "tool": Field("str", required=True),
        "date": Field("date", required=True),
        "assessor": Field("str", required=True),
        "agency": Field("str", required=True),
        "factors": LIST_OF_TEXT,
        "score": Field("int"),
        "derived": Field("str", required=True),
        "agreed": Field("str", required=True),
        "override_reason": T,
        "source": S,
    },
    index_fields=("case", "tool", "date", "assessor", "agency", "score", "derived", "agreed"),
)

AGENCY = RecordType(
    name="agency",
    plural="agencies",
    prefix="AG",
    width=4,
    fields={
        "id": Field("str", required=True),
        "name": Field("str", required=True),
        "sector": Field("str", required=True, choices=SECTORS),
        "core": Field("bool"),
    },
    index_fields=("name", "sector", "core"),
)

MEMBER = RecordType(
    name="member",
    plural="members",
    prefix="MB",
    width=4,
    fields={
        "id": Field("str", required=True),
        "name": Field("str", required=True),
        "agency": Field("str", required=True),
        "role": Field("str", required=True, choices=MEMBER_ROLES),
        "email": S,
        "active": Field("bool"),
    },
    index_fields=("name", "agency", "role", "email", "active"),
)

PERSON = RecordType(
    name="person",
    plural="persons",
    prefix="P",
    width=4,
    fields={
        "id": Field("str", required=True),
        "kind": Field("str", required=True, choices=("person", "group")),
        "names": LIST_OF_TEXT,
        "nicknames": LIST_OF_TEXT,
        "description": T,
        "vehicles": LIST_OF_TEXT,
        "phones": LIST_OF_TEXT,
        "usernames": LIST_OF_TEXT,
        "police_only": Field("bool"),
        "added": D,
    },
    index_fields=("kind", "police_only", "added"),
)

LOCATION = RecordType(
    name="location",
    plural="locations",
    prefix="L",
    width=4,
    fields={
        "id": Field("str", required=True),
        "kind": Field(
            "str",
            required=True,
            choices=("address", "area", "school", "venue", "hotspot", "safe space", "other"),
        ),
        "name": Field("str", required=True),
        "address": T,
        "area": S,
        "description": T,
        "police_only": Field("bool"),
        "added": D,
    },
    index_fields=("kind", "area", "police_only", "added"),
)

LINK = RecordType(
    name="link",
    plural="links",
    prefix="K",
    width=5,
    fields={
        "id": Field("str", required=True),
        "a": Field("str", required=True),
        "b": Field("str", required=True),
        "nature": Field("str", required=True),
        "source": Field("str", required=True),
        "date": Field("date", required=True),
        "police_only": Field("bool"),
    },
    index_fields=("a", "b", "nature", "source", "date", "police_only"),
)

MEETING = RecordType(
    name="meeting",
    plural="meetings",
    prefix="M",
    width=4,
    fields={
        "id": Field("str", required=True),
        "date": Field("date", required=True),
        "time": Field("time"),
        "venue": S,
        "status": Field("str", choices=("planned", "in progress", "held", "cancelled")),
        "cases": LIST_OF_TEXT,
        "agenda": Field(
            "list", items=Field("map", fields={"case": Field("ref:case", required=True)})
        ),
        "papers_due": D,
        "attendance": Field(
            "list", items=Field("map", fields={"name": Field("str", required=True)})
        ),
        "confidentiality": Field(
            "list", items=Field("map", fields={"name": Field("str", required=True)})
        ),
        "declarations": Field(
            "list", items=Field("map", fields={"name": Field("str", required=True)})
        ),
        "quorate": Field("bool"),
        "quorum_note": S,
        "discussions": Field(
            "list", items=Field("map", fields={"case": Field("ref:case", required=True)})
        ),
        "progress": LIST_OF_TEXT,
        "started": Field("datetime"),
        "finished": Field("datetime"),
        "minutes": Field(
            "map",
            fields={
                "status": Field("str", required=True, choices=("draft", "approved")),
                "approved_by": S,
                "approved_at": Field("datetime"),
            },
        ),
    },
    index_fields=("date", "time", "status", "cases", "quorate"),
    index_computed=lambda record: {
        "discussed": [d["case"] for d in record.get("discussions") or []],
        "risks": {d["case"]: d.get("risk_agreed") for d in record.get("discussions") or []},
        "approved": (record.get("minutes") or {}).get("status") == "approved",
    },
)

DECISION = RecordType(
    name="decision",
    plural="decisions",
    prefix="D",
    width=5,
    fields={
        "id": Field("str", required=True),
        "case": Field("ref:case", required=True),
        "meeting": Field("ref:meeting", required=True),
        "decision": Field("str", required=True, choices=("keep", "step down", "close")),
        "risk": S,
        "actions": LIST_OF_TEXT,
        "team_manager": S,
        "due": Field("datetime"),
        "confirmed": Field("datetime"),
        "confirmed_by": S,
    },
    index_fields=("case", "meeting", "decision", "team_manager", "due", "confirmed"),
)

ACTION = RecordType(
    name="action",
    plural="actions",
    prefix="A",
    width=5,
    fields={
        "id": Field("str", required=True),
        "description": Field("text", required=True),
        "case": Field("ref:case"),
        "meeting": Field("ref:meeting"),
        "agency": S,
        "owner": S,
        "due": Field("date", required=True),
        "status": Field("str", required=True, choices=("open", "done", "cancelled")),
        "completed": D,
        "owner_email": S,
        # every change, with who and when: {at, by, change, note?}
        "history": Field(
            "list",
            items=Field(
                "map",
                fields={
                    "at": Field("datetime", required=True),
                    "by": Field("str", required=True),
                    "change": Field("str", required=True),
                    "note": T,
                },
            ),
        ),
    },
    index_fields=(
        "case",
        "meeting",
        "agency",
        "owner",
        "owner_email",
        "due",
        "status",
        "completed",
    ),
    index_computed=_action_index,
)

REMINDER = RecordType(
    name="reminder",
    plural="reminders",
    prefix="RM",
    width=5,
    fields={
        "id": Field("str", required=True),
        "day": Field("date", required=True),
        "recipient": Field("str", required=True),
        "kind": Field("str", required=True, choices=("actions", "reviews", "digest")),
        "items": LIST_OF_TEXT,
        "subject": Field("str", required=True),
        "sent": Field("datetime", required=True),
    },
    index_fields=("day", "recipient", "kind", "items", "sent"),
)

TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        CASE,
        MEETING,
        ACTION,
        ASSESSMENT,
        AGENCY,
        MEMBER,
        PERSON,
        LOCATION,
        LINK,
        DECISION,
        REMINDER,
    )
}
BY_PREFIX: dict[str, RecordType] = {t.prefix: t for t in TYPES.values()}
BY_FOLDER: dict[str, RecordType] = {t.folder: t for t in TYPES.values()}


def record_type(name: str) -> RecordType:
    try:
        return TYPES[name]
    except KeyError:
        raise InvalidInputError(
            f"Unknown record type {name!r}; use one of: {', '.join(TYPES)}."
        ) from None


def type_of_id(record_id: str) -> RecordType:
    match = ID_PATTERN.match(record_id)
    rtype = BY_PREFIX.get(match.group(1)) if match else None
    if rtype is None:
        raise InvalidInputError(
            f"{record_id!r} is not a record id (ids look like C-0042, M-0007 or A-00123)."
        )
    return rtype


def number_of(record_id: str) -> int:
    return int(record_id.split("-", 1)[1])


# --- validation --------------------------------------------------------------------------


def validate(rtype: RecordType, record: object, expected_id: str | None = None) -> dict:
    """Return ``record`` if valid for ``rtype``; otherwise raise naming the id and field."""
    rid = expected_id or (record.get("id") if isinstance(record, dict) else None) or "(new)"
    if not isinstance(record, dict):
        raise InvalidRecordError(f"{rtype.name} {rid} is not a mapping of fields.")
    if expected_id is not None and record.get("id") != expected_id:
        raise InvalidRecordError(f"{rtype.name} {rid}: its id field does not match its file name.")
    record_id = record.get("id")
    if not isinstance(record_id, str) or type_of_id(record_id) is not rtype:
        raise InvalidRecordError(
            f"{rtype.name} {rid}: field id must look like {rtype.format_id(42)}."
        )
    _check_map(rtype.fields, record, f"{rtype.name} {rid}", "", strict=True)
    return record


def _check_map(
    spec: Mapping[str, Field], data: dict, where: str, prefix: str, strict: bool
) -> None:
    for name, spec_field in spec.items():
        if name not in data or data[name] is None:
            if spec_field.required:
                raise InvalidRecordError(f"{where}: field {prefix}{name} is required.")
            continue
        _check_value(spec_field, data[name], where, f"{prefix}{name}")
    if strict:
        for name in data:
            if name not in spec:
                raise InvalidRecordError(
                    f"{where}: unknown field {prefix}{_safe_key(name)}; check its spelling."
                )


def _check_value(spec: Field, value: object, where: str, name: str) -> None:
    kind = spec.kind
    ok = {
        "str": lambda v: isinstance(v, str),
        "text": lambda v: isinstance(v, str),
        "date": lambda v: isinstance(v, date) and not isinstance(v, datetime),
        "datetime": lambda v: isinstance(v, datetime) and v.tzinfo is not None,
        "time": lambda v: isinstance(v, str) and re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", v),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "map": lambda v: isinstance(v, dict),
    }.get(kind)
    if kind.startswith("ref:"):
        target = TYPES[kind[4:]]
        if not (
            isinstance(value, str)
            and ID_PATTERN.match(value)
            and value.startswith(target.prefix + "-")
        ):
            raise InvalidRecordError(f"{where}: field {name} must be a {target.name} id.")
        return
    if not ok(value):
        expected = {
            "date": "a date (YYYY-MM-DD)",
            "datetime": "a date and time with its UTC offset",
            "time": "a time (HH:MM)",
            "text": "text",
            "str": "text",
        }.get(kind, f"a {kind}")
        raise InvalidRecordError(f"{where}: field {name} must be {expected}.")
    if spec.choices and value not in spec.choices:
        raise InvalidRecordError(
            f"{where}: field {name} must be one of: {', '.join(spec.choices)}."
        )
    if kind == "map" and spec.fields:
        _check_map(spec.fields, value, where, f"{name}.", strict=spec.strict)
    if kind == "list" and spec.items is not None:
        for number, item in enumerate(value, start=1):
            _check_value(spec.items, item, where, f"{name}[{number}]")


def _safe_key(name: object) -> str:
    text = str(name)
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,40}", text) else "(unprintable key)"


def index_entry(rtype: RecordType, record: dict) -> dict:
    """The few fields a query needs, as msgpack-friendly values (dates as ISO strings)."""
    entry = {}
    for name in rtype.index_fields:
        value = record.get(name)
        if isinstance(value, date | datetime):
            value = value.isoformat()
        entry[name] = value
    if rtype.index_computed is not None:
        entry.update(rtype.index_computed(record))
    return entry


def parse(rtype: RecordType, plaintext: bytes, record_id: str) -> dict:
    """A record from its decrypted YAML, checked against its type."""
    return validate(rtype, _load_yaml(plaintext, rtype, record_id), expected_id=record_id)


def _load_yaml(plaintext: bytes, rtype: RecordType, record_id: str):
    try:
        return yamlio.load(plaintext)
    except yamlio.YamlProblem as problem:
        raise InvalidRecordError(
            f"{rtype.name} {record_id} is not valid YAML ({problem.where})."
        ) from None
