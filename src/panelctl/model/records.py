"""Record types: where each lives, how its ids look, and what a valid record holds.

A record is a plain ``dict`` with an ``id``, checked against its type's msgspec Struct
(:mod:`panelctl.model.types`); validation names the record id and the field path, never
a value (a value may be a child's name). A new record type is a Struct there and a
:class:`RecordType` in :data:`TYPES`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import msgspec

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError, InvalidRecordError
from panelctl.base.names import name_key
from panelctl.model import formats, types

ID_PATTERN = re.compile(r"^([A-Z]{1,3})-([0-9]{4,9})$")


@dataclass(frozen=True)
class RecordType:
    name: str
    plural: str
    prefix: str
    width: int
    #: what a record of this type holds (see :mod:`panelctl.model.types`)
    struct: type[types.Record]
    #: fields copied into the query index, so lists and reports need not decrypt records
    index_fields: tuple[str, ...] = ()
    #: values worked out from a record for the index (e.g. a name key for duplicate checks)
    index_computed: Callable[[dict], dict] | None = None
    #: the type of each value ``index_computed`` gives, by name
    computed_types: Mapping[str, object] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return self.plural

    @property
    def format(self) -> int:
        """The version of this type's YAML shape (see :mod:`panelctl.model.types`)."""
        return self.struct.FORMAT

    def path_for(self, record_id: str) -> str:
        return f"{self.folder}/{record_id}.enc"

    def format_id(self, number: int) -> str:
        return f"{self.prefix}-{number:0{self.width}d}"

    def choices(self, name: str) -> tuple[str, ...]:
        """The values a top-level field may take (empty when it is free)."""
        return _choices(_info(self.struct).fields, name)

    @property
    def index_types(self) -> dict[str, object]:
        """The type of every value in an index row, by name (a record field's own type)."""
        return _index_types(self)

    @property
    def dated_index_fields(self) -> dict[str, object]:
        """The index values that hold dates or moments, with their types."""
        return _dated_index_fields(self)


_INDEX_TYPES: dict[str, dict[str, object]] = {}
_DATED: dict[str, dict[str, object]] = {}


def _index_types(rtype: RecordType) -> dict[str, object]:
    if rtype.name not in _INDEX_TYPES:
        hints = {f.name: f.type for f in msgspec.structs.fields(rtype.struct)}
        _INDEX_TYPES[rtype.name] = {
            **{name: hints[name] for name in rtype.index_fields},
            **rtype.computed_types,
            **COMMON_COMPUTED,
        }
    return _INDEX_TYPES[rtype.name]


def _dated_index_fields(rtype: RecordType) -> dict[str, object]:
    if rtype.name not in _DATED:
        _DATED[rtype.name] = {
            name: kind
            for name, kind in _index_types(rtype).items()
            if _holds_dates(msgspec.inspect.type_info(kind))
        }
    return _DATED[rtype.name]


SECTORS = types.SECTORS
MEMBER_ROLES = types.MEMBER_ROLES
PERSON_KINDS = types.PERSON_KINDS
LOCATION_KINDS = types.LOCATION_KINDS


def _case_index(record: dict) -> dict:
    child = record.get("child") or {}
    return {
        "dob": child.get("dob"),
        "name": name_key(child.get("name") or ""),
        "assessed": record.get("assessed") or None,
        # for reports, which must not read 10,000 records to count them
        **{k: child.get(k) for k in ("gender", "ethnicity", "looked_after", "out_of_area")},
        "missing": [(e["start"], e.get("end")) for e in record.get("missing") or []],
    }


def _action_index(record: dict) -> dict:
    history = record.get("history") or []
    return {"set": history[0]["at"].date() if history else None}


def _meeting_index(record: dict) -> dict:
    discussions = record.get("discussions") or []
    return {
        "discussed": [d["case"] for d in discussions],
        "risks": {d["case"]: d.get("risk_agreed") for d in discussions},
        "approved": (record.get("minutes") or {}).get("status") == "approved",
    }


def _disclosure_index(record: dict) -> dict:
    by = record["by"]
    return {"reader": by["reader"], "role": by["role"], "agency": by["agency"]}


CASE = RecordType(
    name="case",
    plural="cases",
    prefix="C",
    width=4,
    struct=types.Case,
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
        "kind",
        "person",
    ),
    index_computed=_case_index,
    computed_types={
        "dob": dt.date | None,
        "name": str,
        "assessed": dt.date | None,
        "gender": str | None,
        "ethnicity": str | None,
        "looked_after": bool | None,
        "out_of_area": bool | None,
        "missing": list[tuple[types.Stamp, types.Stamp | None]],
    },
)

ASSESSMENT = RecordType(
    name="assessment",
    plural="assessments",
    prefix="RA",
    width=5,
    struct=types.Assessment,
    index_fields=("case", "tool", "date", "assessor", "agency", "score", "derived", "agreed"),
)

AGENCY = RecordType(
    name="agency",
    plural="agencies",
    prefix="AG",
    width=4,
    struct=types.Agency,
    index_fields=("name", "sector", "core"),
)

MEMBER = RecordType(
    name="member",
    plural="members",
    prefix="MB",
    width=4,
    struct=types.Member,
    index_fields=("name", "agency", "role", "email", "active"),
)

PERSON = RecordType(
    name="person",
    plural="persons",
    prefix="P",
    width=4,
    struct=types.Person,
    index_fields=("kind", "police_only", "added"),
)

LOCATION = RecordType(
    name="location",
    plural="locations",
    prefix="L",
    width=4,
    struct=types.Location,
    index_fields=("kind", "area", "police_only", "added"),
)

LINK = RecordType(
    name="link",
    plural="links",
    prefix="K",
    width=5,
    struct=types.Link,
    index_fields=("a", "b", "nature", "source", "date", "police_only"),
)

MEETING = RecordType(
    name="meeting",
    plural="meetings",
    prefix="M",
    width=4,
    struct=types.Meeting,
    index_fields=("date", "time", "status", "cases", "quorate"),
    index_computed=_meeting_index,
    computed_types={
        "discussed": list[str],
        "risks": dict[str, str | None],
        "approved": bool,
    },
)

DECISION = RecordType(
    name="decision",
    plural="decisions",
    prefix="D",
    width=5,
    struct=types.Decision,
    index_fields=("case", "meeting", "decision", "team_manager", "due", "confirmed"),
)

ACTION = RecordType(
    name="action",
    plural="actions",
    prefix="A",
    width=5,
    struct=types.Action,
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
    computed_types={"set": dt.date | None},
)

REMINDER = RecordType(
    name="reminder",
    plural="reminders",
    prefix="RM",
    width=5,
    struct=types.Reminder,
    index_fields=("day", "recipient", "kind", "items", "sent"),
)

ERASURE = RecordType(
    name="erasure",
    plural="erasures",
    prefix="E",
    width=4,
    struct=types.Erasure,
    index_fields=("case", "erased", "rule"),
)

DISCLOSURE = RecordType(
    name="disclosure",
    plural="disclosures",
    prefix="DL",
    width=5,
    struct=types.Disclosure,
    index_fields=("at", "output", "form", "records", "kinds", "recipients", "command"),
    index_computed=_disclosure_index,
    computed_types={"reader": str, "role": str, "agency": str},
)

RESTRICTED = RecordType(
    name="restricted",
    plural="restricted",
    prefix="RI",
    width=5,
    struct=types.Restricted,
    #: never ``sealed``: the index is readable to every reader
    index_fields=("subject", "group", "epoch", "by", "added"),
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
        ERASURE,
        DISCLOSURE,
        RESTRICTED,
    )
}
BY_PREFIX: dict[str, RecordType] = {t.prefix: t for t in TYPES.values()}
BY_FOLDER: dict[str, RecordType] = {t.folder: t for t in TYPES.values()}


def without_cases(record: dict | None, cases: set[str] | frozenset[str]) -> dict | None:
    """A meeting record with every trace of these cases taken out: off its agenda, and
    their discussions gone (what erasing a case does to the meetings that discussed it)."""
    if not record or not cases:
        return record
    kept = dict(record)
    if kept.get("cases"):
        kept["cases"] = [c for c in kept["cases"] if c not in cases]
    if kept.get("discussions"):
        kept["discussions"] = [d for d in kept["discussions"] if d.get("case") not in cases]
    return kept


def case_scope(rtype: RecordType, record: dict) -> list[str]:
    """The cases a record is about, whose keys it is sealed under (so that erasing any of
    them makes every version of it unreadable): a case itself; an assessment, action or
    decision of a case; a link that names a case; a restricted item about a case; a meeting
    that has a case on its agenda or discussed it. Sorted, without repeats."""
    name = rtype.name
    if name == "case":
        found = [record.get("id")]
    elif name in ("assessment", "action", "decision"):
        found = [record.get("case")]
    elif name == "link":
        found = [record.get("a"), record.get("b")]
    elif name == "restricted":
        found = [record.get("subject")]
    elif name == "meeting":
        found = [*(record.get("cases") or []), *(d.get("case") for d in record.get("discussions") or [])]
    else:
        return []
    return sorted({c for c in found if isinstance(c, str) and c.startswith("C-")})


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

#: dates and moments must already be dates in a record (YAML makes them), never text
_NATIVE = (dt.date, dt.datetime)


#: the longest text one field may hold (about eight pages), and the largest record
MAX_TEXT = 20_000
MAX_RECORD_BYTES = 1024 * 1024


def validate(rtype: RecordType, record: object, expected_id: str | None = None) -> dict:
    """Return ``record`` if valid for ``rtype``; otherwise raise naming the id and field."""
    typed(rtype, record, expected_id)
    long = _too_long(record, "")
    if long:
        raise InvalidRecordError(
            f"{rtype.name} {record['id']}: {long} is longer than {MAX_TEXT:,} characters, "  # type: ignore[index]
            "the most one field may hold; shorten it or attach a document elsewhere.",
            long,
        )
    return record  # type: ignore[return-value]


def check_size(rtype: RecordType, record_id: str, size: int) -> None:
    """A record is at most MAX_RECORD_BYTES when written out."""
    if size > MAX_RECORD_BYTES:
        raise InvalidRecordError(
            f"{rtype.name} {record_id} would be larger than "
            f"{MAX_RECORD_BYTES // (1024 * 1024)} MB, the most a record may be."
        )


def _too_long(value: object, path: str) -> str | None:
    """The key path of the first text longer than MAX_TEXT, or None."""
    if isinstance(value, str):
        return path or "a field" if len(value) > MAX_TEXT else None
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{n}]", v) for n, v in enumerate(value, start=1))
    else:
        return None
    for where, inner in items:
        found = _too_long(inner, where)
        if found:
            return found
    return None


def typed(rtype: RecordType, record: object, expected_id: str | None = None) -> types.Record:
    """``record`` (a mapping) as its type's Struct, checked; raise naming the id and field."""
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
    try:
        return msgspec.convert(record, rtype.struct, strict=True, builtin_types=_NATIVE)
    except msgspec.ValidationError as error:
        message = explain(rtype.struct, str(error))
    # raised outside the except block, so msgspec's own message (which may quote a
    # value) is not kept as this error's context
    raise InvalidRecordError(f"{rtype.name} {rid}: {message}.")


def as_dict(record: types.Record) -> dict:
    """A typed record back as the mapping it is stored as (absent fields left out)."""
    return msgspec.to_builtins(record, builtin_types=_NATIVE)


_MESSAGE = re.compile(r"(?P<what>.*?)(?: - at `(?P<key>key` in `)?(?P<path>\$[^`]*)`)?", re.S)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]|\[\.\.\.\]")


def explain(struct: type, message: str) -> str:
    """msgspec's validation message, said our way: the field path (1-based list positions),
    and what the field must be, from the type; never the value (msgspec's own wording
    sometimes quotes it)."""
    parsed = _MESSAGE.fullmatch(message)
    what, path = parsed["what"], parsed["path"] or "$"
    names, leaf = _walk(msgspec.inspect.type_info(struct), path[1:])
    where = "".join(names).lstrip(".")
    if parsed["key"]:
        return (
            f"every key of field {where} must be text" if where else "every field name must be text"
        )
    if what.startswith("Object missing required field"):
        name = _safe_key(_quoted(what))
        return f"field {where + '.' if where else ''}{name} is required"
    if what.startswith("Object contains unknown field"):
        name = _safe_key(_quoted(what))
        return f"unknown field {where + '.' if where else ''}{name}; check its spelling"
    if not names and what.startswith("field "):  # a record type's own check (a constant)
        return what
    if not names:  # a wording not known here: say nothing that could quote a value
        return "a field does not have the type it must have"
    if what.endswith("got `null`") and names[-1].startswith("."):
        return f"field {where} is required"
    if names[-1] == "[…]":
        return f"every value of field {''.join(names[:-1]).lstrip('.')} must be {expected(leaf)}"
    return f"field {where} must be {expected(leaf)}"


def _quoted(text: str) -> str:
    match = re.search(r"`(.*)`", text)
    return match.group(1) if match else "?"


def _walk(info, path: str):
    """The display names of ``path``'s steps, and the type at its end."""
    names: list[str] = []
    for match in _STEP.finditer(path):
        info = _unwrap(info)
        if match.group(1) is not None:
            fields = {f.encode_name: f for f in getattr(info, "fields", ())}
            names.append(f".{match.group(1)}")
            info = fields[match.group(1)].type if match.group(1) in fields else None
        elif match.group(2) is not None:
            names.append(f"[{int(match.group(2)) + 1}]")
            info = getattr(info, "item_type", None)
        else:
            names.append("[…]")
            info = getattr(info, "value_type", None)
    return names, info


def _unwrap(info):
    """The type itself, without its Metadata or an ``| None``."""
    while True:
        if isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        elif isinstance(info, msgspec.inspect.UnionType):
            rest = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            if len(rest) != 1:
                return info
            info = rest[0]
        else:
            return info


def _extra(info) -> dict:
    """The ``Meta.extra`` of a type (a time, a record id), looking through ``| None``."""
    found: dict = {}
    while True:
        if isinstance(info, msgspec.inspect.Metadata):
            found = {**(info.extra or {}), **found}
            info = info.type
        elif isinstance(info, msgspec.inspect.UnionType):
            rest = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            if len(rest) != 1:
                return found
            info = rest[0]
        else:
            return found


def expected(info) -> str:
    """What a value of this type is, in words (for messages and the format reference)."""
    extra = _extra(info)
    if extra.get("kind") == "time":
        return "a time (HH:MM)"
    if extra.get("kind") == "ref":
        return f"{'an' if extra['ref'][0] in 'aeiou' else 'a'} {extra['ref']} id"
    info = _unwrap(info)
    inspect = msgspec.inspect
    if isinstance(info, inspect.LiteralType):
        return f"one of: {', '.join(_in_order(info.values))}"
    if isinstance(info, inspect.ListType | inspect.TupleType | inspect.VarTupleType):
        return "a list"
    return {
        inspect.StrType: "text",
        inspect.DateType: "a date (YYYY-MM-DD)",
        inspect.DateTimeType: "a date and time with its UTC offset",
        inspect.IntType: "a whole number",
        inspect.BoolType: "true or false",
        inspect.DictType: "a mapping",
        inspect.StructType: "a mapping of fields",
    }.get(type(info), "something else")


def _choices(fields, name: str) -> tuple[str, ...]:
    for f in fields:
        if f.name == name:
            info = _unwrap(f.type)
            if isinstance(info, msgspec.inspect.LiteralType):
                return _in_order(info.values)
    return ()


def _in_order(values) -> tuple[str, ...]:
    """Choices in the order the types declare them (msgspec sorts them)."""
    wanted = set(values)
    for choices in types.CHOICES:
        if set(choices) == wanted:
            return choices
    return tuple(map(str, values))


@functools.cache
def _info(struct: type):
    return msgspec.inspect.type_info(struct)


def _holds_dates(info) -> bool:
    inspect = msgspec.inspect
    if isinstance(info, inspect.DateType | inspect.DateTimeType):
        return True
    if isinstance(info, inspect.Metadata):
        return _holds_dates(info.type)
    if isinstance(info, inspect.UnionType):
        return any(_holds_dates(t) for t in info.types)
    if isinstance(info, inspect.ListType | inspect.VarTupleType | inspect.SetType):
        return _holds_dates(info.item_type)
    if isinstance(info, inspect.TupleType):
        return any(_holds_dates(t) for t in info.item_types)
    if isinstance(info, inspect.DictType):
        return _holds_dates(info.value_type)
    return False


def _safe_key(name: object) -> str:
    text = str(name)
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,40}", text) else "(unprintable key)"


#: values every record type gives the index, whatever its own fields: the number of open
#: conflicts (see model/merge.py), so that `panelctl conflicts` decrypts only the records
#: that hold some
COMMON_COMPUTED: dict[str, object] = {"conflicts": int}


def index_entry(rtype: RecordType, record: dict) -> dict:
    """The few fields a query needs, with real dates (see ``RecordType.index_types``)."""
    entry = {name: record.get(name) for name in rtype.index_fields}
    if rtype.index_computed is not None:
        entry.update(rtype.index_computed(record))
    entry["conflicts"] = len(record.get("conflicts") or ())
    return entry


def parse(rtype: RecordType, plaintext: bytes, record_id: str) -> dict:
    """A record from its decrypted YAML, at this panelctl's format (upgraded if it was
    older), checked against its type. A record at a newer format than this panelctl
    knows is refused as such (:class:`NeedsNewerError`), before its fields are checked."""
    return validate(rtype, load_current(rtype, plaintext, record_id), expected_id=record_id)


def load_current(rtype: RecordType, plaintext: bytes, record_id: str) -> object:
    """A record's decrypted YAML as a mapping at this panelctl's format, without its
    ``format`` key; not checked against its type (see :func:`parse`)."""
    return load_stored(rtype, plaintext, record_id)[1]


def load_stored(rtype: RecordType, plaintext: bytes, record_id: str) -> tuple[int, object]:
    """(the format the record is stored at, its mapping at this panelctl's format)."""
    data = _load_yaml(plaintext, rtype, record_id)
    if not isinstance(data, dict):
        return 1, data  # validate says what is wrong
    number = data.pop(formats.KEY, None)  # a mapping of our own, just loaded
    if number is None and rtype.format == 1:
        return 1, data  # every record before format 2: one look-up, no copy
    what = f"{rtype.name} {record_id}"
    number = formats.number_of(number, what)
    reads_up_to = (
        formats.reads_up_to(rtype.name, rtype.format) if number > rtype.format else rtype.format
    )
    return number, formats.brought_up(rtype.name, what, number, data, reads_up_to, plaintext)


def dump(rtype: RecordType, record: dict) -> bytes:
    """A record's YAML as stored: its ``format`` line, then its fields (a record holding
    conflicts, or an optional field added since its type's format, at the format that
    added it: see ``formats.format_of``)."""
    number = formats.format_of(rtype.name, rtype.format, record)
    return formats.header(number) + yamlio.dump(record)


def _load_yaml(plaintext: bytes, rtype: RecordType, record_id: str):
    try:
        return yamlio.load(plaintext)
    except yamlio.YamlProblem as problem:
        raise InvalidRecordError(
            f"{rtype.name} {record_id} is not valid YAML ({problem.where})."
        ) from None
