"""The panel's directory: its agencies (with their sector) and its members.

Agency names are not personal data, so messages may name them. Members are professionals,
but messages still name them by id only. A member who leaves is marked ``active: false``
rather than deleted, so minutes and history that mention them stay explained. Every change
is one commit made by the store, whose message names ids only.
"""

from __future__ import annotations

import re

from panelctl.base.addresses import is_address
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.base.names import fold
from panelctl.model.records import MEMBER_ROLES, SECTORS
from panelctl.rules import chairs
from panelctl.store.core import Store

# --- agencies ----------------------------------------------------------------------------


def check_sector(sector: str) -> str:
    """``sector`` in its stored spelling ("local-authority" and "Local Authority" are fine)."""
    value = " ".join(sector.replace("-", " ").replace("_", " ").split()).casefold()
    if value not in SECTORS:
        raise InvalidInputError(
            f"Sector {sector!r} is not one of: {', '.join(SECTORS)}; choose the nearest, "
            "or 'other'."
        )
    return value


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInputError(f"{what} needs a name.", "name")
    return cleaned


def list_agencies(store: Store) -> list[dict]:
    """Every agency, from the index: id, name, sector and core (standing member) or not."""
    rows = [{"id": rid, **fields} for rid, fields in store.index().rows("agency")]
    return sorted(rows, key=lambda row: (row.get("name") or "").casefold())


def _agency_named(rows: list[dict], name: str) -> dict | None:
    key = fold(name)
    for row in rows:
        if row["id"] == name.strip() or fold(row.get("name")) == key:
            return row
    return None


def find_agency(store: Store, name: str) -> dict:
    """An agency by name (case-insensitive) or id; NotFoundError naming it otherwise."""
    found = _agency_named(list_agencies(store), name)
    if found is None:
        raise NotFoundError(f"No agency named {name.strip()!r}; see panelctl agency list.")
    return found


def add_agency(store: Store, name: str, sector: str, core: bool = True) -> str:
    """Add an agency in one commit; refuses a name already used (whatever its case)."""
    name = _clean_name(name, "An agency")
    record = {"name": name, "sector": check_sector(sector), "core": bool(core)}
    with store.transaction() as tx:
        existing = _agency_named(list_agencies(store), name)
        if existing is not None:
            raise InvalidInputError(
                f"The agency {existing['name']!r} is already {existing['id']}; "
                "see panelctl agency list."
            )
        return tx.create("agency", record)


def seed_agencies(store: Store) -> list[str]:
    """Add the profile's ``seed_agencies`` not already present, all in one commit."""
    seeds = store.profile.get("seed_agencies") or []
    added = []
    with store.transaction() as tx:
        known = list_agencies(store)
        for seed in seeds:
            name = _clean_name(str(seed["name"]), "A seed agency")
            if _agency_named(known, name) is not None:
                continue
            record = {
                "name": name,
                "sector": check_sector(str(seed.get("sector", "other"))),
                "core": bool(seed.get("core", True)),
            }
            record_id = tx.create("agency", record)
            known.append({"id": record_id, **record})
            added.append(record_id)
    return added


# --- members -----------------------------------------------------------------------------


def check_role(role: str) -> str:
    value = role.strip().casefold()
    if value not in MEMBER_ROLES:
        raise InvalidInputError(f"Role {role!r} is not one of: {', '.join(MEMBER_ROLES)}.")
    return value


def check_email(email: str) -> str:
    value = email.strip()
    if not is_address(value):  # the same rule as the mail a reminder is sent to
        raise InvalidInputError(
            "That does not look like an e-mail address (name@agency.gov.uk).", "email"
        )
    return value


def list_members(
    store: Store,
    agency: str | None = None,
    role: str | None = None,
    include_inactive: bool = False,
) -> list[dict]:
    """Members from the index, active ones only unless asked, filtered by agency and role."""
    agency_name = find_agency(store, agency)["name"].casefold() if agency else None
    role = check_role(role) if role else None
    rows = []
    for rid, fields in store.index().rows("member"):
        row = {"id": rid, **fields}
        row["active"] = fields.get("active") is not False
        if not include_inactive and not row["active"]:
            continue
        if agency_name is not None and (row.get("agency") or "").casefold() != agency_name:
            continue
        if role is not None and row.get("role") != role:
            continue
        rows.append(row)
    return sorted(rows, key=lambda r: ((r.get("agency") or "").casefold(), r["id"]))


def add_member(store: Store, name: str, agency: str, role: str, email: str | None = None) -> str:
    """Add a member of a known agency in one commit (the agency as spelled in its record)."""
    name = _clean_name(name, "A member")
    record = {"name": name, "role": check_role(role), "active": True}
    if email:
        record["email"] = check_email(email)
    with store.transaction() as tx:
        known = _agency_named(list_agencies(store), agency)
        if known is None:
            raise NotFoundError(
                f"Unknown agency {agency.strip()!r}; add it with panelctl agency add, "
                "or see panelctl agency list."
            )
        record["agency"] = known["name"]
        if record["role"] == "chair":
            sitting = [row["id"] for row in list_members(store, role="chair")]
            if sitting:
                raise NotAllowedError(
                    f"The panel already has an active chair, {sitting[0]}; only one at a "
                    "time: remove them first when the chair changes hands.",
                    "role",
                )
        for other in list_members(store):
            if (other.get("name") or "").casefold() == name.casefold() and other.get(
                "agency"
            ) == known["name"]:
                raise InvalidInputError(
                    f"That person is already member {other['id']} for {known['name']!r}."
                )
        return tx.create("member", record)


def remove_member(store: Store, who: str) -> dict:
    """Mark a member inactive (kept for history), by id or exact name; refuses ambiguity."""
    who = " ".join(who.split())
    with store.transaction() as tx:
        if re.fullmatch(r"MB-[0-9]+", who):
            if not store.exists(who):
                raise NotFoundError(f"No member {who} in this store; see panelctl member list.")
            record_id = who
        else:
            matches = sorted(
                row["id"]
                for row in list_members(store)
                if (row.get("name") or "").casefold() == who.casefold()
            )
            if not matches:
                raise NotFoundError(
                    "No active member has that name; see panelctl member list, or give the id."
                )
            if len(matches) > 1:
                raise InvalidInputError(
                    f"{len(matches)} active members have that name ({', '.join(matches)}); "
                    "give the id instead."
                )
            record_id = matches[0]
        record = store.read(record_id)
        if record.get("active") is False:
            raise InvalidInputError(f"Member {record_id} was already removed.")
        record["active"] = False
        tx.put(record)
    return record


def chair_warnings(store: Store, role: str, agency: str) -> list[str]:
    """A warning when a chair or vice-chair from ``agency`` does not come from the sector
    the profile's ``chair`` settings name (see :mod:`panelctl.rules.chairs`)."""
    known = _agency_named(list_agencies(store), agency)
    name = known["name"] if known else " ".join(agency.split())
    warning = chairs.sector_warning(
        store.profile.get("chair"), role, name, known.get("sector") if known else None
    )
    return [warning[0].upper() + warning[1:] + "."] if warning else []
