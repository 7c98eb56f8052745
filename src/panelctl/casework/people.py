"""Persons of concern, organised crime groups, locations of concern, and the links between
them and cases: the material of the panel's mapping.

A person's names, nicknames, phones and the like are sensitive: they live only inside the
encrypted record and are shown by ``person show``; lists and messages use ids. A link joins
two of case, person and location, with its nature, source and date. Every change is one
commit whose message names ids only.

Two ways to mark intelligence: ``police_only`` is a label for readers and papers that
every reader of the store can still decrypt (kept for the records that have it);
``restricted_to`` a group (see :mod:`panelctl.casework.restricted`) puts the sensitive
fields (a person's names, nicknames, description, vehicles, phones and usernames; a
location's name, address and description; a link's source) into a restricted item only
that group's members can read, and the record every reader sees keeps only its kind, area,
ends and dates, with a marker where the text was.
"""

from __future__ import annotations

from datetime import date

from panelctl.base.dates import show_date, today
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.base.names import fold
from panelctl.casework.restricted import create_restricted
from panelctl.model import records
from panelctl.store.core import Store

PERSON_KINDS = records.PERSON_KINDS
LOCATION_KINDS = records.LOCATION_KINDS
LINKABLE = {"case": "C", "person": "P", "location": "L"}


def _texts(values) -> list[str]:
    """Items with spaces tidied, empty ones dropped, repeats removed (order kept)."""
    seen, out = set(), []
    for value in values or ():
        text = " ".join(str(value).split())
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    chosen = " ".join(value.replace("-", " ").split()).casefold()
    if chosen not in choices:
        raise InvalidInputError(f"{what} {value!r} is not one of: {', '.join(choices)}.")
    return chosen


def _drop_empty(record: dict) -> dict:
    return {k: v for k, v in record.items() if v not in (None, [], "")}


# --- persons and locations ---------------------------------------------------------------


def add_person(
    store: Store,
    kind: str = "person",
    names=(),
    nicknames=(),
    description: str | None = None,
    vehicles=(),
    phones=(),
    usernames=(),
    police_only: bool = False,
    added: date | None = None,
    restricted_to: str | None = None,
) -> str:
    """Add a person of concern or an organised crime group; returns its new id. With
    ``restricted_to``, its details are readable to that group only."""
    record = _drop_empty(
        {
            "kind": _choice(kind, PERSON_KINDS, "Kind"),
            "names": _texts(names),
            "nicknames": _texts(nicknames),
            "description": _text(description),
            "vehicles": _texts(vehicles),
            "phones": _texts(phones),
            "usernames": _texts(usernames),
        }
    )
    if not any(record.get(k) for k in ("names", "nicknames", "description")):
        raise InvalidInputError(
            "A person of concern needs at least a name, a nickname or a description.", "name"
        )
    record["police_only"] = bool(police_only)
    record["added"] = added or today()
    if restricted_to:
        return create_restricted(store, "person", record, restricted_to)
    return store.create("person", record)


def add_location(
    store: Store,
    kind: str,
    name: str,
    address: str | None = None,
    area: str | None = None,
    description: str | None = None,
    police_only: bool = False,
    added: date | None = None,
    restricted_to: str | None = None,
) -> str:
    """Add a location of concern; returns its new id. With ``restricted_to``, its name,
    address and description are readable to that group only."""
    if not _text(name):
        raise InvalidInputError("A location needs a name.", "name")
    record = _drop_empty(
        {
            "kind": _choice(kind, LOCATION_KINDS, "Kind"),
            "name": " ".join(name.split()),
            "address": _text(address),
            "area": _text(area),
            "description": _text(description),
        }
    )
    record["police_only"] = bool(police_only)
    record["added"] = added or today()
    if restricted_to:
        return create_restricted(store, "location", record, restricted_to)
    return store.create("location", record)


def _link_counts(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _rid, fields in store.index().rows("link"):
        for end in (fields.get("a"), fields.get("b")):
            counts[end] = counts.get(end, 0) + 1
    return counts


def list_persons(store: Store) -> list[dict]:
    """Id, kind, police-only and number of links; never names (see :func:`show`)."""
    counts = _link_counts(store)
    rows = [
        {
            "id": rid,
            "kind": f.get("kind"),
            "police_only": bool(f.get("police_only")),
            "added": f.get("added"),
            "links": counts.get(rid, 0),
        }
        for rid, f in store.index().rows("person")
    ]
    return sorted(rows, key=lambda r: records.number_of(r["id"]))


def list_locations(store: Store) -> list[dict]:
    """Id, kind, area, police-only and number of links (names and addresses: see show)."""
    counts = _link_counts(store)
    rows = [
        {
            "id": rid,
            "kind": f.get("kind"),
            "area": f.get("area"),
            "police_only": bool(f.get("police_only")),
            "added": f.get("added"),
            "links": counts.get(rid, 0),
        }
        for rid, f in store.index().rows("location")
    ]
    return sorted(rows, key=lambda r: records.number_of(r["id"]))


def show(store: Store, record_id: str, type_name: str) -> tuple[dict, list[dict]]:
    """A person or location record, decrypted, and its links."""
    rtype = records.type_of_id(record_id)
    if rtype.name != type_name:
        raise InvalidInputError(
            f"{record_id} is a {rtype.name} id, not a {type_name} id "
            f"(those look like {records.TYPES[type_name].format_id(7)})."
        )
    return store.read(record_id), links_of(store, record_id)


# --- links -------------------------------------------------------------------------------


def _linkable(store: Store, record_id: str) -> str:
    record_id = record_id.strip()
    rtype = records.type_of_id(record_id)
    if rtype.name not in LINKABLE:
        raise InvalidInputError(
            f"{record_id} is a {rtype.name}; links join cases (C-), persons (P-) "
            "and locations (L-)."
        )
    if not store.exists(record_id):
        raise NotFoundError(f"No {rtype.name} {record_id} in this store.")
    return record_id


def links_of(store: Store, record_id: str) -> list[dict]:
    """Every link with ``record_id`` at either end, from the index, oldest first."""
    found = []
    for rid, f in store.index().rows("link"):
        if record_id not in (f.get("a"), f.get("b")):
            continue
        other = f.get("b") if f.get("a") == record_id else f.get("a")
        found.append(
            {
                "id": rid,
                "with": other,
                "type": records.type_of_id(other).name,
                "nature": f.get("nature"),
                "source": f.get("source"),
                "date": f.get("date"),
                "police_only": bool(f.get("police_only")),
            }
        )
    return sorted(found, key=lambda r: (r["date"] or date.min, records.number_of(r["id"])))


def add_link(
    store: Store,
    a: str,
    b: str,
    nature: str,
    source: str,
    when: date | None = None,
    police_only: bool = False,
    restricted_to: str | None = None,
) -> str:
    """Link two of case, person and location; refuses the same link (either way round).
    With ``restricted_to``, its source is readable to that group only."""
    nature, source = " ".join(nature.split()), " ".join(source.split())
    if not nature:
        raise InvalidInputError("A link needs its nature, e.g. 'associate'.", "nature")
    if not source:
        raise InvalidInputError("A link needs its source, e.g. 'police'.", "source")
    when = when or today()
    if when > today():
        raise InvalidInputError(f"The link's date {show_date(when)} is in the future.")
    with store.transaction() as tx:
        a, b = _linkable(store, a), _linkable(store, b)
        if a == b:
            raise InvalidInputError(f"A link needs two different records; both ends are {a}.")
        for row in links_of(store, a):
            if row["with"] == b and (row["nature"] or "").casefold() == nature.casefold():
                raise InvalidInputError(
                    f"{a} and {b} are already linked with that nature ({row['id']})."
                )
        record = {
            "a": a,
            "b": b,
            "nature": nature,
            "source": source,
            "date": when,
            "police_only": bool(police_only),
        }
        if restricted_to:
            return create_restricted(store, "link", record, restricted_to, tx)
        return tx.create("link", record)


# --- perpetrator referrals ---------------------------------------------------------------


def refer_perpetrator(
    store: Store,
    person_id: str,
    lead_agency: str,
    concern: str | None = None,
    referred: date | None = None,
) -> str:
    """Refer a person of concern to the panel as a perpetrator referral: a case of kind
    ``perpetrator`` about ``person_id``, led by a police agency (MACSE: "primarily
    conducted by the police"). On the agenda it comes after the victims' cases when the
    profile says ``agenda.perpetrators_after_victims``, and it is never reviewed as a
    child's case (no review date, no risk assessment to refresh). Returns the case id."""
    person_id = person_id.strip()
    lead = " ".join((lead_agency or "").split())
    if not lead:
        raise InvalidInputError("A perpetrator referral needs its lead agency.", "lead_agency")
    referred = referred or today()
    if referred > today():
        raise InvalidInputError("The referral's date is in the future.", "nominated")
    with store.transaction() as tx:
        if records.type_of_id(person_id).name != "person":
            raise InvalidInputError(
                f"{person_id} is not a person of concern (those look like P-0007).", "person"
            )
        if not store.exists(person_id):
            raise NotFoundError(f"No person {person_id} in this store.")
        _check_police(store, lead)
        for case_id, fields in store.index().rows("case"):
            if fields.get("person") == person_id and fields.get("status") == "open":
                raise NotAllowedError(
                    f"{person_id} already has an open perpetrator referral, {case_id}."
                )
        record = {
            "status": "open",
            "kind": "perpetrator",
            "person": person_id,
            "nominated": referred,
            "referring_agency": lead,
            "lead_agency": lead,
            "concern": _text(concern),
            "history": [{"date": referred, "event": f"Perpetrator referral of {person_id}"}],
        }
        return tx.create("case", _drop_empty(record))


def _check_police(store: Store, lead: str) -> None:
    """Once a store lists its agencies, the lead agency must be one of them, of the police."""
    agencies = {fold(f.get("name")): f.get("sector") for _id, f in store.index().rows("agency")}
    if not agencies:
        return
    sector = agencies.get(fold(lead))
    if sector is None:
        raise InvalidInputError(
            "Unknown agency in lead_agency; check its spelling against the store's agencies.",
            "lead_agency",
        )
    if sector != "police":
        raise NotAllowedError(
            f"A perpetrator referral is led by the police; {lead} is a {sector} agency.",
            "lead_agency",
        )
