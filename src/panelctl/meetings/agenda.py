"""A meeting's agenda and its papers: which cases, in which slots, when papers are due, and
the agenda, case papers, action log and invitations rendered from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from panelctl.base.dates import LONDON, show_date
from panelctl.base.errors import NotAllowedError, PanelctlError
from panelctl.casework import restricted
from panelctl.meetings.schedule import carried_over, case_history, get_meeting
from panelctl.model import entry, records, risk
from panelctl.outputs import papers
from panelctl.panel import groups
from panelctl.rules import meetingrules
from panelctl.store.core import Store
from panelctl.store.disclosures import check_can_disclose, log_disclosure

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


@dataclass
class Agenda:
    meeting: dict
    standing: list[dict]
    items: list[dict]
    papers_due: date | None
    papers_late: bool
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # the papers, when asked for


def build_agenda(
    store: Store,
    meeting_id: str,
    today: date,
    *,
    dry_run: bool = False,
    papers_to: Path | None = None,
    formats: tuple[str, ...] = papers.FORMATS,
    overwrite: bool = False,
    include_restricted: bool = False,
) -> Agenda:
    """Choose, order and time the cases for a meeting, and work out the papers' deadline.

    With ``papers_to`` (and not ``dry_run``), also write the papers in ``formats`` into that
    folder (replacing papers already there only with ``overwrite``). Everything that could
    refuse them (the formats, the folder, files already there) is checked before the agenda
    is saved, so a refusal leaves the store as it was.

    With ``include_restricted``, each case paper also holds the restricted items about the
    case (and its links, and the persons and locations they join it to) that this identity's
    groups can read, and is marked as restricted on every page (see
    :func:`restricted_for_case`).
    """
    profile = store.profile
    if papers_to is not None and not dry_run:
        formats = papers.check_formats(formats)
        papers.check_destination(papers_to, store_root=store.root)
        check_can_disclose(store)
    mine = my_restricted_groups(store) if include_restricted else None
    # the papers go to temp names in their folder, removed if the commit fails
    with papers.Pending() as pending, store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        if meeting.get("status") != "planned":
            raise NotAllowedError(
                f"{meeting_id} is {meeting.get('status')}; only a planned meeting's agenda can be built."
            )
        on = meeting["date"]
        standing, items = _timetable(store, meeting, profile)
        due = meetingrules.papers_due(on, profile["meetings"].get("papers"), profile["nation"])
        late = due is not None and meetingrules.is_late(due, today)
        agenda = Agenda(meeting, standing, items, due, late)
        if late:
            agenda.warnings.append(
                f"The papers for {meeting_id} were due out by {show_date(due)}; that date has passed."
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
                used: list[str] = []
                files = papers_for(
                    store, agenda, today, formats, restricted_keys=mine, used=used
                )
                pending.staged = papers.stage_papers(
                    papers_to, files, overwrite=overwrite, store_root=store.root
                )
                # the agenda, and the disclosure of its papers, are one commit
                log_disclosure(
                    store, output="papers", form=papers.forms_of(files), records=used, tx=tx
                )
    if pending.staged is not None:  # the disclosure is committed: the papers go in place
        agenda.written = pending.staged.land()
    return agenda


def _timetable(store: Store, meeting: dict, profile: dict) -> tuple[list[dict], list[dict]]:
    """The standing items and the chosen cases of a meeting, each with its time slot."""
    on = meeting["date"]
    history = case_history(store, on)
    case_rows = dict(store.index().rows("case"))
    facts = []
    for case_id, fields in case_rows.items():
        if fields.get("status") != "open":
            continue
        last_on, last_risk = history.get(case_id, (None, None))
        facts.append(
            {
                "id": case_id,
                "status": "open",
                "nominated": fields.get("nominated") or on,
                "risk": fields.get("risk"),
                "kind": fields.get("kind") or "victim",
                "last_discussed": last_on,
                "risk_at_last_discussion": last_risk,
                "review_due": fields.get("review_due"),
            }
        )
    chosen = meetingrules.select_cases(facts, on, profile)
    carried = carried_over(store, on)  # a cancelled or inquorate meeting's cases say so
    chosen = [{**c, "reason": carried.get(c["id"], c["reason"])} for c in chosen]
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
    items = [
        {
            "number": number,
            "case": choice["id"],
            "start": slot["start"],
            "end": slot["end"],
            "reason": choice["reason"],
            "kind": choice.get("kind", "victim"),
            "presenter": case_rows[choice["id"]].get("lead_professional"),
            "risk": case_rows[choice["id"]].get("risk"),
        }
        for number, (choice, slot) in enumerate(
            zip(chosen, slots, strict=True), start=len(standing) + 1
        )
    ]
    return standing, items


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
    store: Store,
    agenda: Agenda,
    today: date,
    formats: tuple[str, ...] = ("md", "html"),
    restricted_keys: dict | None = None,
    *,
    used: list[str] | None = None,
) -> dict[str, str]:
    """Every file of the meeting's papers: {file name (ids only): text}. With
    ``restricted_keys`` (:func:`my_restricted_groups`), the case papers include the
    restricted items those keys open. ``used``, when given, receives the ids of the records
    whose data the papers hold (for the disclosure log): the meeting, its cases, their
    latest assessments and open actions, and the actions of the action log."""
    used = [] if used is None else used

    profile = store.profile
    meeting = agenda.meeting
    mid = meeting["id"]
    common = {"panel": panel_context(store), "marking": papers.MARKING, "generated": today}
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
    used.append(mid)
    for item in items:
        case = store.read(item["case"])
        mine = sorted((f["date"], aid) for aid, f in assessments if f.get("case") == case["id"])
        used += [case["id"], *(mine[-1][1:] if mine else ())]
        used += [aid for aid, f in case_actions if f.get("case") == case["id"]]
        item["team"] = case.get("team")
        ctx = {
            **common,
            "meeting": mctx,
            **case_paper_context(store, case, meeting["date"], case_actions, assessments),
        }
        if restricted_keys is not None:
            ctx.update(restricted_for_case(store, case["id"], restricted_keys))
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
    log_rows = fill_descriptions(store, action_log(actions, meeting))
    used += [row["id"] for row in log_rows]
    log_ctx = {**common, "meeting": mctx, **action_log_sections(log_rows)}
    for fmt in formats:
        files[f"agenda-{mid}.{fmt}"] = papers.render_agenda(agenda_ctx, fmt, store.root)
        files[f"action-log-{mid}.{fmt}"] = papers.render_action_log(log_ctx, fmt, store.root)
    return files


def my_restricted_groups(store: Store) -> dict:
    """The restricted groups whose keys this identity holds, to include their items in
    papers; refuses when it holds none (nothing restricted could be included)."""
    mine = groups.my_groups(store)
    if not mine:
        raise NotAllowedError(
            "You are not a member of any restricted group, so there is nothing restricted "
            "you could include (include_restricted)."
        )
    return mine


def restricted_for_case(store: Store, case_id: str, keys: dict) -> dict:
    """The restricted items about a case that ``keys`` open, and the groups they are
    restricted to (for the marking on every page; None when there are none)."""
    items = restricted.items_about(store, restricted.related_subjects(store, case_id), keys)
    return {
        "restricted": items,
        "restricted_to": ", ".join(sorted({i["group"] for i in items})) or None,
    }


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
    child = case.get("child") or {}  # a perpetrator referral has no child
    sheet = []
    for name in profile.get("decision_sheet") or []:
        value = None
        if name == "child.dob" and child.get("dob"):
            value = f"{meetingrules.age_on(child['dob'], on)} (born {show_date(child['dob'])})"
        elif name not in ("actions", "resources"):
            value = entry.lookup(case, name)
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
            "risk_tool": _tool_title(store, case.get("risk_tool")),
            "child": {k: child.get(k) for k in PAPER_CHILD_FIELDS},
        },
        "age": meetingrules.age_on(child["dob"], on) if child.get("dob") else None,
        "decision_sheet": sheet,
        "assessment": {k: latest.get(k) for k in PAPER_ASSESSMENT_FIELDS} if latest else None,
        "panel_risk": panel_risk(store, case["id"], on),
        "open_actions": open_actions,
    }


def _tool_title(store: Store, name: str | None) -> str | None:
    """A risk tool as a paper names it: its title ("Child Exploitation Risk Factor Matrix
    (RFM)"), not its id ("rfm"); the id when the tool is not to be found."""
    if not name:
        return None
    try:
        return risk.load_tool(name, store.root).get("title") or name
    except PanelctlError:
        return name


def panel_risk(store: Store, case_id: str, before: date) -> dict | None:
    """The risk level the panel last agreed for a case at a meeting before ``before``
    ({level, meeting, date}), from the meetings' index: the panel's own level, shown beside
    the latest risk assessment and never counted as one."""
    found = None
    for mid, f in store.index().rows("meeting"):
        level = (f.get("risks") or {}).get(case_id)
        if level and f["date"] < before and (found is None or f["date"] >= found["date"]):
            found = {"level": level, "meeting": mid, "date": f["date"]}
    return found


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
    "kind",
    "person",
    "age_reason",
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


def write_papers(
    out: Path, files: dict[str, str], overwrite: bool = False, *, store_root: Path | None = None
) -> list[Path]:
    """Papers out of the store, as :func:`panelctl.outputs.papers.write_papers` writes them."""
    return papers.write_papers(out, files, overwrite=overwrite, store_root=store_root)
