"""Meetings in the calendar: scheduling, listing and planning dates, and each case's last
discussion. The pure rules (working days, frequencies) are in :mod:`panelctl.rules.meetingrules`."""

from __future__ import annotations

from datetime import date, datetime

from panelctl.base.dates import show_date
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.model import records
from panelctl.rules import meetingrules
from panelctl.store.core import Store


def check_time(text: str) -> str:
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise InvalidInputError(
            "The time is not a time of day; write it as 09:30.", "time"
        ) from None
    return parsed.strftime("%H:%M")


def schedule(store: Store, on: date, at: str, venue: str | None) -> str:
    record = {"date": on, "time": check_time(at), "status": "planned"}
    if venue:
        record["venue"] = venue
    return store.create("meeting", record)


def date_warnings(store: Store, on: date) -> list[str]:
    """A warning when a meeting is set for a weekend day or a bank holiday of the profile's
    nation (it is still scheduled: a panel may meet then)."""
    nation = store.profile["nation"]
    why = meetingrules.not_a_working_day(on, nation)
    if why is None:
        return []
    where = f" in {NATION_NAMES[nation]}" if why == "a bank holiday" else ""
    return [f"{show_date(on)} is {why}{where}; check the date."]


#: the nations' bank-holiday calendars, as a warning names them
NATION_NAMES = {
    "england": "England and Wales",
    "wales": "England and Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}


def list_meetings(store: Store) -> list[dict]:
    rows = [{"id": mid, **fields} for mid, fields in store.index().rows("meeting")]
    return sorted(rows, key=lambda r: (r["date"], r.get("time") or "", records.number_of(r["id"])))


def plan(store: Store, until: date, today: date) -> list[date]:
    """Dates the profile's frequency proposes after the last scheduled meeting (or today)."""
    profile = store.profile
    meetings = list_meetings(store)
    if meetings:
        last = meetings[-1]["date"]
        proposed = meetingrules.plan_dates(
            profile["meetings"]["frequency"], last, until, profile["nation"]
        )
        return [d for d in proposed if d > last]
    return meetingrules.plan_dates(
        profile["meetings"]["frequency"], today, until, profile["nation"]
    )


def get_meeting(store: Store, meeting_id: str) -> dict:
    if records.type_of_id(meeting_id) is not records.MEETING:
        raise InvalidInputError(f"{meeting_id} is not a meeting id (meeting ids look like M-0007).")
    return store.read(meeting_id)


def next_meeting(store: Store, today: date) -> str:
    """The first planned meeting on or after today."""
    for row in list_meetings(store):
        if row.get("status") == "planned" and row["date"] >= today:
            return row["id"]
    raise NotFoundError(
        "No planned meeting from today on; schedule one with `panelctl meeting schedule`."
    )


def case_history(store: Store, before: date) -> dict[str, tuple[date, str | None]]:
    """For each case, its last discussion before ``before`` at a quorate meeting: (date,
    risk agreed then). A meeting without quorum decides nothing, so its discussions do not
    count: the cases stay due and come back on the next agenda."""
    last: dict[str, tuple[date, str | None]] = {}
    for _mid, fields in store.index().rows("meeting"):
        held_on = fields["date"]
        if held_on >= before or fields.get("quorate") is False:
            continue
        for case_id in fields.get("discussed") or []:
            if case_id not in last or last[case_id][0] < held_on:
                last[case_id] = (held_on, (fields.get("risks") or {}).get(case_id))
    return last


# --- adjourning and cancelling ------------------------------------------------------------


def _movable(meeting: dict, verb: str) -> None:
    """Only a meeting that has made no decision may be cancelled: a planned one, or one
    whose run stopped without quorum (its discussions decide nothing). Only a planned one
    may be adjourned: a run already started keeps what it recorded on its own day."""
    status = meeting.get("status")
    if status == "planned":
        return
    if status == "in progress" and meeting.get("quorate") is not True:
        if verb == "cancelled":
            return
        raise NotAllowedError(
            f"{meeting['id']} cannot be adjourned: its run has started, and what it recorded "
            "stays on its own day; cancel it with a reason and schedule the next meeting, "
            "whose agenda takes its cases."
        )
    why = {
        "held": "it has been held",
        "cancelled": "it is cancelled",
        "in progress": "its run is under way with a quorum (decisions are being made)",
    }.get(status or "", f"it is {status}")
    raise NotAllowedError(f"{meeting['id']} cannot be {verb}: {why}.")


def _note_on_cases(tx, meeting: dict, on: date, event: str) -> list[str]:
    """Add ``event`` to the history of every case on the meeting's agenda; their ids."""
    moved = []
    for case_id in meeting.get("cases") or []:
        case = tx.store.read(case_id)
        case["history"] = [*(case.get("history") or []), {"date": on, "event": event}]
        tx.put(case)
        moved.append(case_id)
    return moved


def adjourn(store: Store, meeting_id: str, to: date, at: str | None, today: date) -> list[str]:
    """Move a planned meeting to a later day (and time), with its agenda: its cases go
    with it. The papers' deadline follows the new date. Returns the ids of the cases."""
    with store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        _movable(meeting, "adjourned")
        was = meeting["date"]
        if to <= was or to < today:
            raise InvalidInputError(
                f"{meeting_id} can only be adjourned to a later day than {show_date(was)}, "
                "and not to a day in the past.",
                "to",
            )
        meeting["date"] = to
        meeting.setdefault("adjournments", []).append({"was": was, "to": to, "on": today})
        if at is not None:
            meeting["time"] = check_time(at)
        profile = store.profile
        if meeting.get("papers_due") is not None:
            due = meetingrules.papers_due(to, profile["meetings"].get("papers"), profile["nation"])
            meeting.pop("papers_due")
            if due is not None:
                meeting["papers_due"] = due
        tx.message = (
            f"Adjourn {meeting_id} from {was.isoformat()} to {to.isoformat()}"
        )
        tx.put(meeting)
        return _note_on_cases(
            tx,
            meeting,
            today,
            f"Meeting {meeting_id} adjourned from {show_date(was)} to {show_date(to)}",
        )


def cancel(store: Store, meeting_id: str, reason: str, today: date) -> list[str]:
    """Cancel a meeting that has made no decision. Its cases go back to being due, so the
    next agenda takes them; the reason is kept in each case's history. Returns their ids."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(f"Cancelling {meeting_id} needs a reason.", "reason")
    with store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        _movable(meeting, "cancelled")
        meeting["status"] = "cancelled"
        meeting["cancelled"] = {"reason": reason, "on": today}  # kept with the meeting too
        tx.message = f"Cancel {meeting_id}"
        tx.put(meeting)
        return _note_on_cases(
            tx,
            meeting,
            today,
            f"Meeting {meeting_id} on {show_date(meeting['date'])} cancelled ({reason}); "
            "back to due for the next agenda",
        )


def carried_over(store: Store, before: date) -> dict[str, str]:
    """Cases on the agenda of a meeting before ``before`` that decided nothing (cancelled,
    or held without quorum), with no quorate discussion since: {case: why}, for the next
    agenda to say why they are back."""
    last = case_history(store, before)
    carried: dict[str, tuple[date, str]] = {}
    for meeting_id, fields in store.index().rows("meeting"):
        on = fields["date"]
        if on >= before:
            continue
        if fields.get("status") == "cancelled":
            why = f"carried from {meeting_id}, cancelled"
        elif fields.get("quorate") is False:
            why = f"carried from {meeting_id}, not quorate"
        else:
            continue
        for case_id in fields.get("cases") or []:
            decided = last.get(case_id, (None, None))[0]
            if (decided is None or decided < on) and (
                case_id not in carried or carried[case_id][0] < on
            ):
                carried[case_id] = (on, why)
    return {case_id: why for case_id, (_on, why) in carried.items()}
