"""Meetings in the calendar: scheduling, listing and planning dates, and each case's last
discussion. The pure rules (working days, frequencies) are in :mod:`panelctl.rules.meetingrules`."""

from __future__ import annotations

from datetime import date, datetime

from panelctl.base.dates import show_date
from panelctl.base.errors import InvalidInputError, NotFoundError
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
    """For each case, its last discussion before ``before``: (date, risk agreed then)."""
    last: dict[str, tuple[date, str | None]] = {}
    for _mid, fields in store.index().rows("meeting"):
        held_on = fields["date"]
        if held_on >= before:
            continue
        for case_id in fields.get("discussed") or []:
            if case_id not in last or last[case_id][0] < held_on:
                last[case_id] = (held_on, (fields.get("risks") or {}).get(case_id))
    return last
