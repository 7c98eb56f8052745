"""Meetings: scheduling, the agenda and its papers, minutes and decisions.

The pure rules (working days, slots, which cases are due) are in :mod:`meetingrules`;
the templates in :mod:`papers`; running the meeting itself in :mod:`meetingrun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from panelctl.base.dates import LONDON, today
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.model import records
from panelctl.outputs import papers
from panelctl.rules import meetingrules
from panelctl.store.core import Store

MARKING = "OFFICIAL-SENSITIVE"
STANDING_MINUTES = 10
DECISION_LABELS = {
    "child.name": "Name of young person",
    "child.dob": "Age / date of birth",
    "child.school": "School / college",
    "lead_professional": "Allocated worker",
    "team": "Team / service",
    "involved_agencies": "Involved agencies",
    "referring_agency": "Referring agency",
    "concern": "Nature of concern",
    "consequences": "Potential consequences if the identified risk is not reduced",
    "risk": "Risk level",
    "actions": "Actions and decisions (chair)",
    "resources": "Resources / cost implications (chair)",
}


# --- scheduling ----------------------------------------------------------------------


def check_time(text: str) -> str:
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise InvalidInputError("The time is not a time of day; write it as 09:30.", "time") from None
    return parsed.strftime("%H:%M")


def schedule(store: Store, on: date, at: str, venue: str | None) -> str:
    record = {"date": on, "time": check_time(at), "status": "planned"}
    if venue:
        record["venue"] = venue
    return store.create("meeting", record)


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


# --- the agenda ----------------------------------------------------------------------


@dataclass
class Agenda:
    meeting: dict
    standing: list[dict]
    items: list[dict]
    papers_due: date | None
    papers_late: bool
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # the papers, when asked for


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


def build_agenda(
    store: Store,
    meeting_id: str,
    today: date,
    *,
    dry_run: bool = False,
    papers_to: Path | None = None,
    formats: tuple[str, ...] = papers.FORMATS,
) -> Agenda:
    """Choose, order and time the cases for a meeting, and work out the papers' deadline.

    With ``papers_to`` (and not ``dry_run``), also write the papers in ``formats`` into that
    folder. Everything that could refuse them (the formats, the folder, files already
    there) is checked before the agenda is saved, so a refusal leaves the store as it was.
    """
    profile = store.profile
    files: dict[str, str] = {}
    if papers_to is not None and not dry_run:
        formats = papers.check_formats(formats)
        papers.check_destination(papers_to)
    with store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        if meeting.get("status") != "planned":
            raise NotAllowedError(
                f"{meeting_id} is {meeting.get('status')}; only a planned meeting's agenda can be built."
            )
        on = meeting["date"]
        history = case_history(store, on)
        facts = []
        for case_id, fields in store.index().rows("case"):
            if fields.get("status") != "open":
                continue
            last_on, last_risk = history.get(case_id, (None, None))
            facts.append(
                {
                    "id": case_id,
                    "status": "open",
                    "nominated": fields.get("nominated") or on,
                    "risk": fields.get("risk"),
                    "kind": "victim",
                    "last_discussed": last_on,
                    "risk_at_last_discussion": last_risk,
                    "review_due": fields.get("review_due"),
                }
            )
        chosen = meetingrules.select_cases(facts, on, profile)
        start = time.fromisoformat(
            meeting.get("time") or profile["meetings"].get("start_time") or "10:00"
        )
        standing, slots = meetingrules.allocate_slots(
            start,
            profile["meetings"]["slot_minutes"],
            profile["agenda"]["standing"],
            STANDING_MINUTES,
            [c["id"] for c in chosen],
        )
        case_rows = dict(store.index().rows("case"))
        items = []
        for number, (choice, slot) in enumerate(
            zip(chosen, slots, strict=True), start=len(standing) + 1
        ):
            fields = case_rows[choice["id"]]
            items.append(
                {
                    "number": number,
                    "case": choice["id"],
                    "start": slot["start"],
                    "end": slot["end"],
                    "reason": choice["reason"],
                    "kind": choice.get("kind", "victim"),
                    "presenter": fields.get("lead_professional"),
                    "risk": fields.get("risk"),
                }
            )
        due = meetingrules.papers_due(on, profile["meetings"].get("papers"), profile["nation"])
        late = due is not None and meetingrules.is_late(due, today)
        agenda = Agenda(meeting, standing, items, due, late)
        if late:
            agenda.warnings.append(
                f"The papers for {meeting_id} were due out by {due:%d/%m/%Y}; that date has passed."
            )
        if not dry_run:
            meeting.update(
                cases=[i["case"] for i in items],
                agenda=[
                    {k: i[k] for k in ("case", "start", "end", "reason", "kind")} for i in items
                ],
            )
            if due is not None:
                meeting["papers_due"] = due
            tx.put(meeting)
            if papers_to is not None:
                files = papers_for(store, agenda, today, formats)
                papers.check_destination(papers_to, files)
    if files:
        agenda.written = write_papers(papers_to, files)
    return agenda


# --- papers --------------------------------------------------------------------------


def panel_context(store: Store) -> dict:
    profile = store.profile
    return {
        "name": store.settings.name,
        "title": profile["title"],
        "area": profile["area"],
        "confidentiality_statement": profile["confidentiality_statement"],
    }


def meeting_context(meeting: dict, agenda: Agenda | None = None) -> dict:
    return {
        "id": meeting["id"],
        "date": meeting["date"],
        "time": meeting.get("time"),
        "venue": meeting.get("venue"),
        "papers_due": agenda.papers_due if agenda else meeting.get("papers_due"),
        "papers_late": agenda.papers_late if agenda else False,
    }


def papers_for(
    store: Store, agenda: Agenda, today: date, formats: tuple[str, ...] = ("md", "html")
) -> dict[str, str]:
    """Every file of the meeting's papers: {file name (ids only): text}."""

    profile = store.profile
    meeting = agenda.meeting
    mid = meeting["id"]
    common = {"panel": panel_context(store), "marking": MARKING, "generated": today}
    mctx = meeting_context(meeting, agenda)
    files: dict[str, str] = {}
    items = [{**i, "team": None} for i in agenda.items]  # each item's team is filled below
    agenda_ctx = {
        **common,
        "meeting": mctx,
        **agenda_sections(agenda.standing, items, profile["agenda"].get("closing") or []),
        "case_items": profile["agenda"].get("case_items") or [],
    }
    index = store.index()
    on_agenda = {i["case"] for i in agenda.items}
    actions = list(index.rows("action"))
    assessments = [(aid, f) for aid, f in index.rows("assessment") if f.get("case") in on_agenda]
    case_actions = [
        (aid, f) for aid, f in actions if f.get("case") in on_agenda and f.get("status") == "open"
    ]
    for item in items:
        case = store.read(item["case"])
        item["team"] = case.get("team")
        ctx = {
            **common,
            "meeting": mctx,
            **case_paper_context(store, case, meeting["date"], case_actions, assessments),
        }
        for fmt in formats:
            files[f"paper-{mid}-{case['id']}.{fmt}"] = papers.render_case_paper(
                ctx, fmt, store.root
            )
        if item.get("presenter"):
            files[f"invite-{mid}-{case['id']}.ics"] = papers.render_ics(
                {
                    **common,
                    "meeting": mctx,
                    "item": item,
                    "start": _at(meeting["date"], item["start"]),
                    "end": _at(meeting["date"], item["end"]),
                }
            )
    log_ctx = {
        **common,
        "meeting": mctx,
        **action_log_sections(fill_descriptions(store, action_log(actions, meeting))),
    }
    for fmt in formats:
        files[f"agenda-{mid}.{fmt}"] = papers.render_agenda(agenda_ctx, fmt, store.root)
        files[f"action-log-{mid}.{fmt}"] = papers.render_action_log(log_ctx, fmt, store.root)
    return files


def agenda_sections(standing: list[dict], items: list[dict], closing: list[str]) -> dict:
    """The agenda as the papers lay it out, numbered once here for every format: the standing
    items, the victims' cases, the perpetrator referrals (after the victims, led by police),
    then the closing items, numbered on from the last case."""
    numbered = [{**s, "number": n} for n, s in enumerate(standing, start=1)]
    last = max([len(numbered), *(i["number"] for i in items)])
    return {
        "standing": numbered,
        "victims": [i for i in items if i.get("kind") != "perpetrator"],
        "perpetrators": [i for i in items if i.get("kind") == "perpetrator"],
        "closing": [{"number": last + n, "title": t} for n, t in enumerate(closing, start=1)],
    }


def _at(on: date, hhmm: str) -> datetime:
    return datetime.combine(on, time.fromisoformat(hhmm), tzinfo=LONDON)


def case_paper_context(
    store: Store, case: dict, on: date, actions: list, assessments: list
) -> dict:
    profile = store.profile
    child = case["child"]
    sheet = []
    for name in profile.get("decision_sheet") or []:
        value = None
        if name == "child.dob" and child.get("dob"):
            value = f"{meetingrules.age_on(child['dob'], on)} ({child['dob']:%d/%m/%Y})"
        elif name not in ("actions", "resources"):
            value = _lookup(case, name)
        sheet.append(
            {
                "label": DECISION_LABELS.get(name, name.replace("_", " ").capitalize()),
                "value": value,
            }
        )
    latest = None
    mine = sorted((f["date"], aid) for aid, f in assessments if f.get("case") == case["id"])
    if mine:
        latest = store.read(mine[-1][1])
    open_actions = []
    for aid, f in sorted(actions, key=lambda a: records.number_of(a[0])):
        if f.get("case") == case["id"] and f.get("status") == "open":
            due = f["due"]
            open_actions.append(
                {
                    "id": aid,
                    "description": store.read(aid)["description"],
                    "agency": f.get("agency"),
                    "owner": f.get("owner"),
                    "due": due,
                    "overdue": due < on,
                }
            )
    return {
        "case": {
            **{k: case.get(k) for k in PAPER_CASE_FIELDS},
            "child": {k: child.get(k) for k in PAPER_CHILD_FIELDS},
        },
        "age": meetingrules.age_on(child["dob"], on) if child.get("dob") else None,
        "decision_sheet": sheet,
        "assessment": {k: latest.get(k) for k in PAPER_ASSESSMENT_FIELDS} if latest else None,
        "open_actions": open_actions,
    }


#: Every field a template may show is present (None when the record has no value).
PAPER_CASE_FIELDS = (
    "id",
    "status",
    "nominated",
    "risk",
    "risk_tool",
    "lead_professional",
    "team",
    "team_manager",
    "referring_agency",
    "involved_agencies",
    "concern",
    "consequences",
    "child_views",
    "carer_views",
    "exploitation_types",
)
PAPER_CHILD_FIELDS = ("name", "dob", "gender", "ethnicity", "school", "area", "looked_after")
PAPER_ASSESSMENT_FIELDS = (
    "tool",
    "date",
    "assessor",
    "agency",
    "derived",
    "agreed",
    "override_reason",
    "factors",
)


def _lookup(record: dict, dotted: str):
    value = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def action_log(actions: list, meeting: dict) -> list[dict]:
    """Open actions from earlier meetings (and none set at this one), overdue first."""
    on = meeting["date"]
    rows = []
    for aid, f in actions:
        if f.get("status") != "open" or not f.get("meeting") or f.get("meeting") == meeting["id"]:
            continue  # open actions set at earlier meetings only
        due = f["due"]
        rows.append(
            {
                "id": aid,
                "case": f.get("case"),
                "description": None,
                "agency": f.get("agency"),
                "owner": f.get("owner"),
                "due": due,
                "status": f["status"],
                "overdue": due < on,
                "days_overdue": max(0, (on - due).days),
            }
        )
    return sorted(rows, key=lambda r: (not r["overdue"], r["due"], records.number_of(r["id"])))


def action_log_sections(rows: list[dict]) -> dict:
    """The action log's rows and how many of them are overdue."""
    return {"actions": rows, "overdue": sum(1 for r in rows if r["overdue"])}


def fill_descriptions(store: Store, rows: list[dict]) -> list[dict]:
    for row in rows:
        row["description"] = store.read(row["id"])["description"]
    return rows


def write_papers(out: Path, files: dict[str, str], overwrite: bool = False) -> list[Path]:

    return papers.write_papers(out, files, overwrite=overwrite)


# --- minutes and decisions -----------------------------------------------------------


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
        "marking": MARKING,
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
