"""After a meeting: its minutes (draft, then approved by the chair or vice-chair) and the
written decisions for team managers with their deadlines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

from panelctl.base.dates import LONDON, show_date, today
from panelctl.base.errors import NotAllowedError
from panelctl.meetings.agenda import (
    meeting_context,
    my_restricted_groups,
    panel_context,
    restricted_for_case,
)
from panelctl.meetings.schedule import get_meeting
from panelctl.model import records
from panelctl.outputs import papers
from panelctl.store.core import Store
from panelctl.store.disclosures import check_can_disclose, log_disclosure


def answered_items(titles: list[str], said: dict) -> list[dict]:
    """Each of the profile's items with what was said under it, ``None`` for an item not
    discussed (the minutes say so rather than leave it out), then any other item said."""
    rows = [{"title": t, "text": said.get(t)} for t in titles]
    return rows + [{"title": t, "text": x} for t, x in said.items() if t not in titles]


def minutes_context(store: Store, meeting: dict, restricted_keys: dict | None = None) -> dict:
    """The minutes' context; with ``restricted_keys``, each case's discussion also holds
    the restricted items about it those keys open, and every page is marked."""
    minutes = meeting.get("minutes") or {"status": "draft"}
    profile = store.profile
    agenda = profile.get("agenda") or {}
    interests = {}
    for d in meeting.get("declarations") or []:
        for case_id in d.get("excluded_cases") or []:
            interests.setdefault(case_id, []).append(
                {"name": d["name"], "interest": d.get("interest") or None}
            )
    discussions = []
    restricted_to: set[str] = set()
    for d in meeting.get("discussions") or []:
        actions = [store.read(a) for a in d.get("actions") or []]
        items = []
        if restricted_keys is not None:
            items = restricted_for_case(store, d["case"], restricted_keys)["restricted"]
            restricted_to.update(i["group"] for i in items)
        discussions.append(
            {
                "case": d["case"],
                "restricted": items,
                "items": answered_items(list(agenda.get("case_items") or []), d.get("items") or {}),
                "risk_agreed": d.get("risk_agreed"),
                "decision": d.get("decision"),
                "agreed_by": d.get("agreed_by") or [],
                "left": interests.get(d["case"], []),
                "resources": d.get("resources"),
                "asks_resources": "resources" in (profile.get("decision_sheet") or []),
                "note": d.get("note"),
                "lead_update": d.get("lead_update"),
                "actions": [
                    {k: a.get(k) for k in ("id", "description", "agency", "owner", "due")}
                    for a in actions
                ],
            }
        )
    standing = meeting.get("standing_items") or {}
    previous = [t for t in agenda.get("standing") or [] if "previous meeting" in t]
    return {
        "panel": panel_context(store),
        "marking": papers.MARKING,
        "generated": today(),
        "meeting": meeting_context(meeting),
        "draft": minutes.get("status") != "approved",
        "approved_by": minutes.get("approved_by"),
        "approved_at": minutes.get("approved_at"),
        "approved_as": minutes.get("approved_as"),
        "chair": meeting.get("chair"),
        "confidentiality_form": bool((profile.get("meetings") or {}).get("confidentiality_form")),
        "standing_items": answered_items(previous, standing),
        "closing_items": answered_items(
            list(agenda.get("closing") or []), meeting.get("closing_items") or {}
        ),
        **attendance_sections(meeting.get("attendance") or []),
        # None: not recorded (no core agencies, or a meeting run before this was kept)
        "unrepresented": meeting.get("unrepresented"),
        "reported_to": (profile.get("meetings") or {}).get("unrepresented_reported_to"),
        "confidentiality": meeting.get("confidentiality"),  # None: nothing recorded
        "declarations": meeting.get("declarations") or [],
        "quorate": bool(meeting.get("quorate")),
        "quorum_note": quorum_sentence(meeting.get("quorum_note")),
        "discussions": discussions,
        "restricted_to": ", ".join(sorted(restricted_to)) or None,
    }


def attendance_sections(attendance: list[dict]) -> dict:
    """Who was there (members, deputies, those who joined remotely) and who sent apologies,
    for the minutes."""
    return {
        "attendance": attendance,
        "present": [a for a in attendance if a.get("status") != "apologies"],
        "apologies": [a for a in attendance if a.get("status") == "apologies"],
    }


def render_minutes(
    store: Store,
    meeting_id: str,
    fmt: str,
    include_restricted: bool = False,
    *,
    used: list | None = None,
) -> str:
    """The minutes as text (md, html) or an encrypted PDF; with ``include_restricted``,
    with the restricted items about each case discussed that this identity's groups can
    read, marked on every page. ``used``, when given, receives the ids of the records whose
    data they hold: the meeting, the cases discussed and the actions set."""
    meeting = get_meeting(store, meeting_id)
    if meeting.get("status") != "held":
        raise NotAllowedError(
            f"{meeting_id} has not been held yet; run it with `panelctl meeting run {meeting_id}`."
        )
    keys = my_restricted_groups(store) if include_restricted else None
    ctx = minutes_context(store, meeting, keys)
    if used is not None:
        used.append(meeting_id)
        for d in meeting.get("discussions") or []:
            used += [d["case"], *(d.get("actions") or [])]
    return papers.render_minutes(ctx, fmt, store.root)


def minutes_out(
    store: Store,
    meeting_id: str,
    fmt: str,
    *,
    out: Path | None = None,
    overwrite: bool = False,
    show: Callable[[str], object] | None = None,
    include_restricted: bool = False,
) -> list[Path]:
    """Render the minutes out of the store, logged as one disclosure: into the folder
    ``out`` (``minutes-M-0003.html``; its files returned), or else given to ``show``
    (standard output) once the disclosure is committed."""
    check_can_disclose(store)
    used: list[str] = []
    text = render_minutes(store, meeting_id, fmt, include_restricted, used=used)
    form = str(fmt)  # (a PDF's format carries its password: only its name is kept)
    if out is None:
        log_disclosure(store, output="minutes", form=form, records=used)
        if show is not None:
            show(text)
        return []
    return papers.write_disclosed(
        store,
        out,
        {f"minutes-{meeting_id}.{form}": text},
        output="minutes",
        records=used,
        overwrite=overwrite,
    )


def approve_minutes(store: Store, meeting_id: str, now: datetime) -> None:
    """The chair approves the minutes; after that they are frozen."""
    with store.transaction() as tx:
        store.require_role("chair", "vice-chair")
        meeting = get_meeting(store, meeting_id)
        if meeting.get("status") != "held":
            raise NotAllowedError(
                f"{meeting_id} has not been held yet; its minutes cannot be approved."
            )
        if meeting["date"] > now.astimezone(LONDON).date():
            raise NotAllowedError(
                f"{meeting_id} is on {show_date(meeting['date'])}, which has not come yet; its "
                "minutes cannot be approved before the meeting."
            )
        if (meeting.get("minutes") or {}).get("status") == "approved":
            raise NotAllowedError(
                f"The minutes of {meeting_id} are already approved and cannot change."
            )
        meeting["minutes"] = {
            "status": "approved",
            "approved_by": store.identity.name,
            "approved_at": now,
            "approved_as": store.me().role,  # a vice-chair deputising for the chair
        }
        tx.put(meeting)


def decisions(store: Store, now: datetime, overdue_only: bool = False) -> list[dict]:
    """Decision records for team managers, with their confirmation deadline; overdue when
    not confirmed and the deadline is before ``now``."""
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


def deadline(start: datetime, hours: int | None) -> datetime | None:
    return start + timedelta(hours=hours) if hours else None


def meeting_start(meeting: dict) -> datetime:
    """When the meeting started: its date and start time in UK time (the start of its day
    when no time was set, so a deadline counted from it is never later than it should be).
    A written-decision clock runs from here, not from when the run was typed in."""
    hhmm = str(meeting.get("time") or "00:00")
    return datetime.combine(meeting["date"], time.fromisoformat(hhmm), tzinfo=LONDON)


def quorum_sentence(note: str | None) -> str:
    """The quorum check's note as the minutes' second sentence after "The meeting was
    (not) quorate.": "quorate: police and health present" -> "Police and health present.",
    "no quorum rule" -> "The panel has no quorum rule."."""
    text = (note or "").strip()
    for prefix in ("not quorate:", "quorate:"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    if text == "no quorum rule":
        text = "the panel has no quorum rule"
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
