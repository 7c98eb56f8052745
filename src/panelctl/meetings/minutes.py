"""After a meeting: its minutes (draft, then approved by the chair or vice-chair) and the
written decisions for team managers with their deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from panelctl.base.dates import today
from panelctl.base.errors import NotAllowedError
from panelctl.meetings.agenda import meeting_context, panel_context
from panelctl.meetings.schedule import get_meeting
from panelctl.model import records
from panelctl.outputs import papers
from panelctl.store.core import Store


def minutes_context(store: Store, meeting: dict) -> dict:
    minutes = meeting.get("minutes") or {"status": "draft"}
    discussions = []
    for d in meeting.get("discussions") or []:
        actions = [store.read(a) for a in d.get("actions") or []]
        discussions.append(
            {
                "case": d["case"],
                "items": [{"title": t, "text": x} for t, x in (d.get("items") or {}).items()],
                "risk_agreed": d.get("risk_agreed"),
                "decision": d.get("decision"),
                "actions": [
                    {k: a.get(k) for k in ("id", "description", "agency", "owner", "due")}
                    for a in actions
                ],
            }
        )
    return {
        "panel": panel_context(store),
        "marking": papers.MARKING,
        "generated": today(),
        "meeting": meeting_context(meeting),
        "draft": minutes.get("status") != "approved",
        "approved_by": minutes.get("approved_by"),
        "approved_at": minutes.get("approved_at"),
        **attendance_sections(meeting.get("attendance") or []),
        "confidentiality": meeting.get("confidentiality") or [],
        "declarations": meeting.get("declarations") or [],
        "quorate": bool(meeting.get("quorate")),
        "quorum_note": meeting.get("quorum_note") or "",
        "discussions": discussions,
    }


def attendance_sections(attendance: list[dict]) -> dict:
    """Who was there (members and deputies) and who sent apologies, for the minutes."""
    return {
        "attendance": attendance,
        "present": [a for a in attendance if a.get("status") != "apologies"],
        "apologies": [a for a in attendance if a.get("status") == "apologies"],
    }


def render_minutes(store: Store, meeting_id: str, fmt: str) -> str:

    meeting = get_meeting(store, meeting_id)
    if meeting.get("status") != "held":
        raise NotAllowedError(
            f"{meeting_id} has not been held yet; run it with `panelctl meeting run {meeting_id}`."
        )
    ctx = minutes_context(store, meeting)
    return papers.render_minutes(ctx, fmt, store.root)


def approve_minutes(store: Store, meeting_id: str, now: datetime) -> None:
    """The chair approves the minutes; after that they are frozen."""
    with store.transaction() as tx:
        store.require_role("chair", "vice-chair")
        meeting = get_meeting(store, meeting_id)
        if meeting.get("status") != "held":
            raise NotAllowedError(
                f"{meeting_id} has not been held yet; its minutes cannot be approved."
            )
        if (meeting.get("minutes") or {}).get("status") == "approved":
            raise NotAllowedError(
                f"The minutes of {meeting_id} are already approved and cannot change."
            )
        meeting["minutes"] = {
            "status": "approved",
            "approved_by": store.identity.name,
            "approved_at": now,
        }
        tx.put(meeting)


def decisions(store: Store, now: datetime, overdue_only: bool = False) -> list[dict]:
    """Decision records for team managers, with their confirmation deadline."""
    rows = []
    for did, f in store.index().rows("decision"):
        due = f.get("due")
        overdue = due is not None and not f.get("confirmed") and due < now
        if overdue_only and not overdue:
            continue
        rows.append({"id": did, **f, "overdue": overdue})
    return sorted(rows, key=lambda r: records.number_of(r["id"]))


def confirm_decision(store: Store, decision_id: str, now: datetime) -> None:
    with store.transaction() as tx:
        record = store.read(decision_id)
        if record.get("confirmed"):
            raise NotAllowedError(f"{decision_id} was already confirmed.")
        record.update(confirmed=now, confirmed_by=store.identity.name)
        tx.put(record)


def deadline(finished: datetime, hours: int | None) -> datetime | None:
    return finished + timedelta(hours=hours) if hours else None
