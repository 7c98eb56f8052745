"""The action log between meetings: list, overdue, notes, completion, reassignment, extension.

Lists read only the encrypted index (a cron run on 100,000 actions decrypts none of them).
Each change reads the one action, appends an entry to its ``history`` ({at, by, change,
note}) and saves it in one commit. An action's description may hold names, so no error
here quotes it: errors name the action id and field.

The changes themselves are pure functions of a record, the person and the time
(:func:`mark_done`, :func:`reassigned`, :func:`extended`, :func:`noted`); the store
functions below wrap each in a transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from panelctl.base.addresses import is_address
from panelctl.base.dates import LONDON, parse_date, show_date
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.base.names import fold
from panelctl.casework.cases import check_agencies
from panelctl.model import records
from panelctl.store.core import Store

STATUSES = ("open", "done", "cancelled")
#: the index fields a list shows (the description is not indexed: it may hold names)
LIST_FIELDS = ("case", "meeting", "agency", "owner", "owner_email", "due", "status", "completed")


# --- queries (index only) -----------------------------------------------------------------


def list_actions(
    store: Store,
    *,
    agency: str | None = None,
    owner: str | None = None,
    case: str | None = None,
    meeting: str | None = None,
    status: str | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
) -> list[dict]:
    """Actions matching every filter given, by due date then id. Names of agencies and
    owners match without regard to case; ``due_before``/``due_after`` exclude the day."""
    if status is not None and status not in STATUSES:
        raise InvalidInputError(f"The status must be one of: {', '.join(STATUSES)}.", "status")
    wanted = {
        "agency": agency,
        "owner": owner,
        "case": _upper(case),
        "meeting": _upper(meeting),
        "status": status,
    }
    wanted = {k: v for k, v in wanted.items() if v is not None}
    rows = []
    for action_id, fields in store.index().rows("action"):
        if any(fold(fields.get(k)) != fold(v) for k, v in wanted.items()):
            continue
        due = fields.get("due")
        if due_before is not None and not (due is not None and due < due_before):
            continue
        if due_after is not None and not (due is not None and due > due_after):
            continue
        rows.append(_row(action_id, fields))
    return _sorted(rows)


def overdue_actions(store: Store, today: date) -> list[dict]:
    """Open actions due before ``today`` (due today is not overdue), most overdue first,
    each with ``days_overdue``."""
    table = store.index().table("action")
    # no map per record (100,000 of them), and only the two columns the test needs...
    ids, columns = table.columns(("status", "due"))
    empty = [None] * len(ids)
    status, due = columns.get("status", empty), columns.get("due", empty)
    wanted = [i for i, d in enumerate(due) if d and d < today and status[i] == "open"]
    shown = table.pick(LIST_FIELDS, wanted)  # ...then what a row shows, for those rows only
    lists = [(k, shown.get(k) or [None] * len(wanted)) for k in LIST_FIELDS]
    rows = []
    for n, i in enumerate(wanted):
        row = {"id": ids[i], **{k: column[n] for k, column in lists}}
        row["days_overdue"] = (today - due[i]).days
        rows.append(row)
    return _sorted(rows)


def _row(action_id: str, fields: dict) -> dict:
    return {"id": action_id, **{k: fields.get(k) for k in LIST_FIELDS}}


def _sorted(rows: list[dict]) -> list[dict]:
    # ids are zero-padded, so (length, text) orders them by number without parsing
    return sorted(rows, key=lambda r: (r["due"] or date.min, len(r["id"]), r["id"]))


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value is not None else None


# --- pure changes -------------------------------------------------------------------------


def stamp(now: datetime) -> datetime:
    """When a change happened, as kept in history: UK time, to the minute."""
    return now.astimezone(LONDON).replace(second=0, microsecond=0)


def entry(at: datetime, by: str, change: str, note: str | None = None) -> dict:
    """One history entry; ``at`` is stamped to the minute in UK time."""
    item = {"at": stamp(at), "by": by, "change": change}
    if note:
        item["note"] = note
    return item


def set_on(action: dict) -> date | None:
    """The day an action was set: its first history entry's (at the meeting that set it)."""
    history = action.get("history") or []
    return stamp(history[0]["at"]).date() if history else None


def check_day(action: dict, on: date, today: date, since: date | None) -> None:
    """``on`` (when something happened to an action) is neither after ``today`` nor before
    the action was set (``since``, when known)."""
    if on > today:
        raise InvalidInputError(
            f"The date {show_date(on)} for {action['id']} is in the future; give the day it "
            "happened, today or before.",
            "date",
        )
    if since is not None and on < since:
        raise InvalidInputError(
            f"The date {show_date(on)} for {action['id']} is before the action was set "
            f"({show_date(since)}); give a day from then on.",
            "date",
        )


def noted(
    action: dict,
    note: str,
    by: str,
    at: datetime,
    on: date | None = None,
    since: date | None = None,
) -> dict:
    """The action with a note added to its history; ``on``, the day the note is about when
    it is not the day it is written (neither in the future nor before the action was set)."""
    text = _text(note, "note", "a note needs some text")
    change = "note"
    if on is not None and on != stamp(at).date():
        check_day(action, on, stamp(at).date(), since if since is not None else set_on(action))
        change = f"note of {show_date(on)}"
    return _with(action, entry(at, by, change, text))


def mark_done(
    action: dict,
    by: str,
    at: datetime,
    note: str | None = None,
    on: date | None = None,
    since: date | None = None,
) -> dict:
    """The action marked done on ``on`` (the day it was really done: neither in the future
    nor before it was set), or else on ``at``'s day (UK time). ``at`` is when it is recorded."""
    if action["status"] == "done":
        completed = action.get("completed")
        when = f" (completed {show_date(completed)})" if completed else ""
        raise NotAllowedError(f"{action['id']} is already done{when}.")
    _require_open(action, "marked done")
    today = stamp(at).date()
    day = today if on is None else on
    check_day(action, day, today, since if since is not None else set_on(action))
    change = "done" if day == today else f"done on {show_date(day)}"
    changed = _with(action, entry(at, by, change, _optional(note)))
    changed.update(status="done", completed=day)
    return changed


def reassigned(
    action: dict,
    agency: str,
    owner: str,
    email: str | None,
    by: str,
    at: datetime,
    note: str | None = None,
) -> dict:
    """The action given to another agency and owner (the old owner's e-mail is dropped)."""
    _require_open(action, "reassigned")
    agency = _text(agency, "agency", "give the agency taking the action on")
    owner = _text(owner, "owner", "give the person taking the action on")
    email = (email or "").strip() or None
    if email is not None and not is_address(email):
        raise InvalidInputError(
            f"The e-mail address for {action['id']} is not an e-mail address.", "email"
        )
    before = (action.get("agency") or "", action.get("owner") or "", action.get("owner_email"))
    if (before[0].casefold(), before[1].casefold(), before[2]) == (
        agency.casefold(),
        owner.casefold(),
        email,
    ):
        raise InvalidInputError(f"{action['id']} is already with {agency} / {owner}.")
    change = f"reassigned from {before[0] or '(no agency)'} / {before[1] or '(no owner)'} to {agency} / {owner}"
    changed = _with(action, entry(at, by, change, _optional(note)))
    changed.update(agency=agency, owner=owner)
    changed.pop("owner_email", None)
    if email:
        changed["owner_email"] = email
    return changed


def extended(action: dict, due: date, reason: str, by: str, at: datetime) -> dict:
    """The action with a later due date; ``reason`` is kept as the history note."""
    _require_open(action, "extended")
    reason = _text(reason, "reason", "say why the deadline moves")
    today = stamp(at).date()
    if due < today:
        raise InvalidInputError(
            f"The new due date {show_date(due)} for {action['id']} is before today "
            f"({show_date(today)}); give a date from today on.",
            "due",
        )
    current = action["due"]
    if due <= current:
        raise InvalidInputError(
            f"The new due date {show_date(due)} for {action['id']} is not after its current "
            f"due date ({show_date(current)}); an extension moves the deadline later.",
            "due",
        )
    change = f"due extended from {show_date(current)} to {show_date(due)}"
    changed = _with(action, entry(at, by, change, reason))
    changed["due"] = due
    return changed


def _with(action: dict, item: dict) -> dict:
    changed = dict(action)
    changed["history"] = [*(action.get("history") or []), item]
    return changed


def _require_open(action: dict, verb: str) -> None:
    if action["status"] != "open":
        raise NotAllowedError(
            f"{action['id']} is {action['status']}; only an open action can be {verb}."
        )


def _text(value: str | None, field: str, fix: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInputError(f"The {field} is empty; {fix}.", field)
    return text


def _optional(value: str | None) -> str | None:
    return (value or "").strip() or None


# --- the store ----------------------------------------------------------------------------


def get_action(store: Store, action_id: str) -> dict:
    """One action, read and decrypted; a clear error for another type's id or a missing one."""
    action_id = action_id.strip().upper()
    if records.type_of_id(action_id) is not records.ACTION:
        raise InvalidInputError(f"{action_id} is not an action id (action ids look like A-00042).")
    if not store.exists(action_id):
        raise NotFoundError(
            f"No action {action_id} in this store; see `panelctl actions list` for the ids."
        )
    return store.read(action_id)


def _change(store: Store, action_id: str, how) -> dict:
    """Read, change and save one action in one commit; returns the saved action."""
    with store.transaction() as tx:
        changed = how(get_action(store, action_id))
        tx.put(changed)
    return changed


def add_note(
    store: Store, action_id: str, note: str, now: datetime, on: date | str | None = None
) -> dict:
    day = _day(on)
    return _change(
        store, action_id, lambda a: noted(a, note, _who(store), now, day, _set_on(store, a))
    )


def complete(
    store: Store,
    action_id: str,
    now: datetime,
    note: str | None = None,
    on: date | str | None = None,
) -> dict:
    """Mark an action done, on ``on`` (the day it was done) or else today."""
    day = _day(on)
    return _change(
        store, action_id, lambda a: mark_done(a, _who(store), now, note, day, _set_on(store, a))
    )


def _day(on: date | str | None) -> date | None:
    return parse_date(on, "date", "The date") if isinstance(on, str) else on


def _set_on(store: Store, action: dict) -> date | None:
    """When the action was set: the day of the meeting that set it, or its history's first
    entry (an action whose history began later, with a note, counts from the earlier)."""
    days = [set_on(action)]
    if action.get("meeting") and store.exists(action["meeting"]):
        days.append(store.read(action["meeting"]).get("date"))
    known = [d for d in days if d is not None]
    return min(known) if known else None


def reassign(
    store: Store,
    action_id: str,
    agency: str,
    owner: str,
    email: str | None,
    now: datetime,
    note: str | None = None,
) -> dict:

    check_agencies(store, {"lead_agency": (agency or "").strip()})
    return _change(
        store,
        action_id,
        lambda a: reassigned(a, agency, owner, email, _who(store), now, note),
    )


def extend(store: Store, action_id: str, due: date | str, reason: str, now: datetime) -> dict:
    if isinstance(due, str):
        due = parse_date(due, "due", "The new due date")
    return _change(store, action_id, lambda a: extended(a, due, reason, _who(store), now))


def _who(store: Store) -> str:
    if store.identity is None:
        raise InvalidInputError("Changing an action needs an identity.", "identity")
    return store.identity.name
