"""Running a meeting, step by step, saving after every step.

The steps are: attendance (and who chaired); the confidentiality statement and who signed
it; declarations of interest; the quorum check; the review of the previous meeting's actions
(a standing item); then each case in agenda order; then the profile's closing items (such as
emerging patterns, locations and sources); then closing the meeting.
Each step is one commit, and the meeting record lists the steps done, so a run that stops
halfway (Ctrl-C, a lost terminal, a flat battery) resumes at the first step not done, with
nothing already entered lost. Answers come from an :class:`Answers` object: questions on a
terminal (the CLI's) or a script file (:class:`ScriptAnswers`), so the engine is the same.

Nothing is recorded that nobody said: a question left unanswered is stored as nothing (the
minutes say "not recorded" or "not discussed"), never as a default such as "signed" or
"keep"; and nothing said is dropped: a script key the run does not know is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from panelctl.base.dates import LONDON, parse_date, show_date
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.base.names import fold
from panelctl.casework import cases as casework
from panelctl.meetings.minutes import deadline, meeting_start
from panelctl.meetings.schedule import get_meeting
from panelctl.model import risk
from panelctl.model.entry import sector_name
from panelctl.rules import meetingrules, plausible
from panelctl.store.core import Store

DECISIONS = ("keep", "step down", "close")
#: ``virtual``: joined remotely. A member who attends remotely is present: they count
#: towards the quorum, may chair and agree decisions, and represent their agency.
ATTENDANCE = ("present", "apologies", "deputy", "virtual")
PRESENT = ("present", "deputy", "virtual")
#: how a lead worker's update came, when they sent one instead of attending
UPDATE_MEANS = ("written", "e-mail")


class Answers(Protocol):
    def attendance(self, members: list[dict]) -> list[dict]: ...
    def chair(self, present: list[str]) -> str | None: ...
    def confidentiality(self, statement: str, present: list[str], form: bool) -> list[str] | None:
        """The names of those who signed; None when nothing was recorded."""

    def declarations(self, present: list[str], cases: list[str]) -> list[dict]: ...
    def standing(self, titles: list[str]) -> dict[str, str]: ...
    def case(self, case_id: str, context: dict) -> dict: ...
    def closing(self, titles: list[str]) -> dict[str, str]: ...
    def note(self, message: str) -> None: ...


@dataclass
class RunResult:
    meeting_id: str
    done: list[str]
    resumed_at: str | None
    quorate: bool


def steps(meeting: dict) -> list[str]:
    return [
        "attendance",
        "confidentiality",
        "declarations",
        "quorum",
        "standing items",
        *(f"case {c}" for c in meeting.get("cases") or []),
        "closing items",
        "close",
    ]


def run_meeting(store: Store, meeting_id: str, answers: Answers, now: datetime) -> RunResult:
    meeting = get_meeting(store, meeting_id)
    if meeting.get("status") in ("held", "cancelled"):
        raise NotAllowedError(f"{meeting_id} is {meeting['status']}; there is nothing left to run.")
    if meeting.get("cases") is None:  # built, an agenda may hold no case: standing items only
        raise NotAllowedError(
            f"{meeting_id} has no agenda yet; build it with `panelctl agenda build {meeting_id}`."
        )
    check = getattr(answers, "check", None)
    if check is not None:  # a script's mistakes first: they are what needs fixing
        check(meeting, store.profile)
    if meeting["date"] > now.astimezone(LONDON).date():
        raise NotAllowedError(
            f"{meeting_id} is on {show_date(meeting['date'])}, which has not come yet; a "
            "meeting can be run only on or after its day."
        )
    done = list(meeting.get("progress") or [])
    remaining = [s for s in steps(meeting) if s not in done]
    resumed_at = remaining[0] if done and remaining else None
    if resumed_at:
        answers.note(f"Resuming {meeting_id} at: {resumed_at} ({len(done)} steps already saved).")
    for step in remaining:
        _run_step(store, meeting_id, step, answers, now)
        done.append(step)
    final = get_meeting(store, meeting_id)
    return RunResult(meeting_id, done, resumed_at, bool(final.get("quorate")))


def _run_step(store: Store, meeting_id: str, step: str, answers: Answers, now: datetime) -> None:
    """Gather the step's answers first (nothing is written while a person types), then
    save the step in one transaction."""
    meeting = get_meeting(store, meeting_id)
    profile = store.profile
    present = [
        a["name"]
        for a in meeting.get("attendance") or []
        if a.get("status") in PRESENT
    ]
    if step == "attendance":
        members = [
            f for _id, f in store.index().rows("member") if f.get("active", True) is not False
        ]
        given = _check_attendance(answers.attendance(members), members)
        chair = _check_chair(
            answers.chair([a["name"] for a in given if a["status"] != "apologies"]), given
        )
        with store.transaction() as tx:
            meeting = get_meeting(store, meeting_id)
            meeting.update(attendance=given, status="in progress", started=now)
            unrepresented = _unrepresented(casework.core_agencies(store), given, members)
            if unrepresented is not None:
                meeting["unrepresented"] = unrepresented
            if chair:
                meeting["chair"] = chair
            _done(tx, meeting, step)
        if unrepresented:  # agency names: said now, so the chair can follow them up
            answers.note(f"Core agencies not represented: {'; '.join(unrepresented)}.")
    elif step == "confidentiality":
        form = bool((profile.get("meetings") or {}).get("confidentiality_form"))
        signed = answers.confidentiality(profile["confidentiality_statement"], present, form)
        if signed is not None:
            unknown = [n for n in signed if n not in present]
            if unknown:
                raise InvalidInputError(
                    "Only people present can sign the confidentiality statement; check the "
                    "names signed.",
                    "confidentiality.signed",
                )
        with store.transaction() as tx:
            meeting = get_meeting(store, meeting_id)
            if signed is not None:  # unanswered: nothing recorded, not "signed"
                meeting["confidentiality"] = [{"name": n, "signed": n in signed} for n in present]
            _done(tx, meeting, step)
    elif step == "declarations":
        given = _check_declarations(
            answers.declarations(present, meeting["cases"]), present, meeting["cases"]
        )
        with store.transaction() as tx:
            meeting = get_meeting(store, meeting_id)
            meeting["declarations"] = given
            _done(tx, meeting, step)
    elif step == "quorum":
        quorate, note = meetingrules.quorum(profile["quorum"], _sectors(store, meeting))
        answers.note(
            note
            if quorate
            else f"{note}: the meeting cannot make decisions; discussions are recorded."
        )
        with store.transaction() as tx:
            meeting = get_meeting(store, meeting_id)
            meeting.update(quorate=quorate, quorum_note=note)
            _done(tx, meeting, step)
    elif step == "standing items":
        titles = _previous_actions_items(profile)
        _items_step(store, meeting_id, step, titles, answers.standing, "standing")
    elif step.startswith("case "):
        _case_step(store, meeting_id, step[5:], answers, now)
    elif step == "closing items":
        titles = list((profile.get("agenda") or {}).get("closing") or [])
        _items_step(store, meeting_id, step, titles, answers.closing, "closing")
    elif step == "close":
        with store.transaction() as tx:
            meeting = get_meeting(store, meeting_id)
            meeting.update(status="held", finished=now, minutes={"status": "draft"})
            _done(tx, meeting, step)


def _items_step(store: Store, meeting_id: str, step: str, titles: list[str], ask, kind: str) -> None:
    """The standing or closing items: what was said under each, kept only when something
    was (``standing_items`` / ``closing_items``)."""
    given = _texts(ask(titles) if titles else {}, titles, kind)
    with store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        if given:
            meeting[f"{kind}_items"] = given
        _done(tx, meeting, step)


def _done(tx, meeting: dict, step: str) -> None:
    meeting["progress"] = [*(meeting.get("progress") or []), step]
    tx.put(meeting)


def _previous_actions_items(profile: dict) -> list[str]:
    """The standing items the meeting records an answer for: the review of the previous
    meeting's actions (the other standing items are attendance, confidentiality,
    declarations and quorum, recorded by their own steps)."""
    standing = (profile.get("agenda") or {}).get("standing") or []
    return [t for t in standing if "previous meeting" in t]


def _texts(given, titles: list[str], path: str) -> dict[str, str]:
    """What was said under each of ``titles`` (item: text); an item not among them is an
    error naming it (if it reads as a field name), and a blank answer is not kept."""
    given = _mapping(given, path, "item: text")
    for key in given:
        if str(key) not in titles:
            raise InvalidInputError(
                f"{path}: {_key(key)} is not one of this panel's items; they are: "
                f"{'; '.join(titles) or 'none'}.",
                f"{path}.{_key(key)}",
            )
    return {str(k): str(v).strip() for k, v in given.items() if v is not None and str(v).strip()}


def _check_chair(chair, attendance: list[dict]) -> str | None:
    """Who chaired: someone recorded as present (or deputising), or nothing recorded."""
    if chair is None or not str(chair).strip():
        return None
    chair = str(chair).strip()
    for person in attendance:
        if fold(person["name"]) == fold(chair):
            if person.get("status") == "apologies":
                raise InvalidInputError(
                    f"chair: {person['name']} sent apologies, so cannot have chaired.", "chair"
                )
            return person["name"]
    raise InvalidInputError(
        "chair: the chair must be someone recorded in the attendance as present.", "chair"
    )


def _check_agreed(names: list, case_id: str, attendance: list[dict], excluded: dict) -> list[str]:
    """``agreed_by`` for a case: each one present for the item. Someone who sent apologies
    or left the item after declaring an interest is refused by name (a member's name, from
    the attendance); a name not in the attendance is refused by its place in the list."""
    path = f"cases.{case_id}.agreed_by"
    by_name = {fold(p["name"]): p for p in attendance}
    agreed = []
    for number, name in enumerate(names, start=1):
        person = by_name.get(fold(str(name)))
        if person is None:
            raise InvalidInputError(
                f"{path}: entry {number} is not recorded in the attendance of the meeting; "
                "only people present for the item can agree its decision.",
                f"{path}.{number}",
            )
        if person.get("status") == "apologies":
            raise InvalidInputError(
                f"{path}: {person['name']} sent apologies, so cannot have agreed the "
                f"decision on {case_id}.",
                f"{path}.{number}",
            )
        if fold(person["name"]) in excluded:
            raise InvalidInputError(
                f"{path}: {person['name']} declared an interest and left the item for "
                f"{case_id}, so cannot have agreed its decision.",
                f"{path}.{number}",
            )
        if person["name"] not in agreed:
            agreed.append(person["name"])
    return agreed


def _check_attendance(given: list[dict], members: list[dict]) -> list[dict]:
    """The attendance as recorded: each person a member of the panel (as `panelctl member
    list` has them), a deputy for a member, or marked ``guest: true``, so that a misspelt
    name is an error rather than a stranger in the minutes."""
    by_name = {fold(m.get("name")): m for m in members if m.get("name")}
    if not by_name:
        raise NotAllowedError(
            "This panel has no members recorded, so attendance cannot be checked; add them "
            "first with `panelctl member add`."
        )
    cleaned = []
    for number, person in enumerate(_list_of(given, "attendance", "people"), start=1):
        path = f"attendance.{number}"
        if not isinstance(person, dict) or not str(person.get("name") or "").strip():
            raise InvalidInputError(f"Attendance entry {number} needs a name.", path)
        status = person.get("status", "present")
        if status not in ATTENDANCE:
            raise InvalidInputError(
                f"Attendance entry {number}: status must be one of {', '.join(ATTENDANCE)}.",
                f"{path}.status",
            )
        guest = person.get("guest", False)
        if not isinstance(guest, bool):
            raise InvalidInputError(f"{path}.guest must be true or false.", f"{path}.guest")
        entry = {
            "name": str(person["name"]).strip(),
            "agency": str(person.get("agency") or ""),
            "status": status,
        }
        if person.get("sector"):
            entry["sector"] = sector_name(str(person["sector"]))
        if status == "deputy":
            if not person.get("deputising_for"):
                raise InvalidInputError(
                    f"Attendance entry {number} is a deputy: say for whom (deputising_for).",
                    f"{path}.deputising_for",
                )
            entry["deputising_for"] = str(person["deputising_for"]).strip()
            if guest:
                raise InvalidInputError(
                    f"Attendance entry {number} is a deputy for a member, so not a guest.",
                    f"{path}.guest",
                )
            if fold(entry["deputising_for"]) not in by_name:
                raise InvalidInputError(
                    f"Attendance entry {number} deputises for someone who is not a member of "
                    "this panel; check the name against `panelctl member list`.",
                    f"{path}.deputising_for",
                )
            # a deputy stands in for the member's agency (as the terminal records them)
            member = by_name[fold(entry["deputising_for"])]
            entry["agency"] = entry["agency"] or str(member.get("agency") or "")
        elif guest:
            entry["guest"] = True
        elif fold(entry["name"]) not in by_name:
            raise InvalidInputError(
                f"Attendance entry {number} is not a member of this panel; check the name "
                "against `panelctl member list`, or mark a guest with guest: true.",
                path,
            )
        else:
            member = by_name[fold(entry["name"])]
            entry["agency"] = entry["agency"] or str(member.get("agency") or "")
        cleaned.append(entry)
    if not any(e["status"] != "apologies" for e in cleaned):
        raise InvalidInputError(
            "Nobody is recorded as present; a meeting needs at least its chair."
        )
    return cleaned


def _unrepresented(core: list[str], attendance: list[dict], members: list[dict]) -> list[str] | None:
    """The core agencies (``agency list``, core: yes) with nobody there for them: a member,
    a deputy (for a member of that agency) or someone who joined remotely; guests and
    apologies do not represent an agency. None when the panel has no core agencies."""
    if not core:
        return None
    agency_of = {fold(m.get("name")): m.get("agency") for m in members if m.get("name")}
    there = set()
    for person in attendance:
        if person.get("status") not in PRESENT or person.get("guest"):
            continue
        there.add(fold(person.get("agency")))
        if person.get("status") == "deputy":  # a deputy stands in for the member's agency
            there.add(fold(agency_of.get(fold(person.get("deputising_for")))))
    return [a for a in core if fold(a) not in there]


def _check_declarations(given: list[dict], present: list[str], cases: list[str]) -> list[dict]:
    cleaned = []
    for number, item in enumerate(_list_of(given, "declarations", "mappings"), start=1):
        if not isinstance(item, dict):
            raise InvalidInputError(
                f"declarations.{number} must be a mapping (name, interest, excluded_cases).",
                f"declarations.{number}",
            )
        name = str(item.get("name") or "")
        if name not in present:
            raise InvalidInputError(f"Declaration {number} is by someone not recorded as present.")
        excluded = [
            str(c)
            for c in _list_of(
                item.get("excluded_cases"), f"declarations.{number}.excluded_cases", "case ids"
            )
        ]
        strange = [c for c in excluded if c not in cases]
        if strange:
            raise InvalidInputError(
                f"Declaration {number} excludes from cases not on the agenda: {', '.join(strange)}."
            )
        cleaned.append(
            {"name": name, "interest": str(item.get("interest") or ""), "excluded_cases": excluded}
        )
    return cleaned


def _sectors(store: Store, meeting: dict) -> list[str]:
    by_agency = {fold(f.get("name")): f.get("sector") for _id, f in store.index().rows("agency")}
    sectors = []
    for person in meeting.get("attendance") or []:
        if person.get("status") == "apologies" or person.get("guest"):
            continue  # a guest does not make a meeting quorate
        sector = person.get("sector") or by_agency.get(fold(person.get("agency")))
        if sector:
            sectors.append(sector)
    return sectors


def _case_step(
    store: Store, meeting_id: str, case_id: str, answers: Answers, now: datetime
) -> None:
    """Ask about one case, then record the discussion, its actions and decision in one commit."""
    meeting = get_meeting(store, meeting_id)
    tool = risk.load_tool(store.profile["risk_tool"], store.root)
    context = _case_context(store.profile, tool, meeting, store.read(case_id))
    context["open_actions"] = casework.open_actions(store, case_id)
    given = answers.case(case_id, context)
    discussion, actions = _discussion(case_id, given, context, tool, meeting)
    closing = None
    if discussion.get("decision") == "close":  # checked before anything is saved
        closing = casework.meeting_closure(store, meeting, discussion, given.get("closure"))
    with store.transaction() as tx:
        meeting = get_meeting(store, meeting_id)
        case = store.read(case_id)
        set_at = [casework.set_at_meeting(meeting, casework.recorder(store))]
        discussion["actions"] = [
            tx.create(
                "action",
                {**a, "case": case_id, "meeting": meeting_id, "status": "open", "history": set_at},
            )
            for a in actions
        ]
        tx.put(_case_after(tx, case, meeting, discussion, context, tool, closing, now))
        if context["quorate"] and discussion.get("decision"):
            tx.create("decision", _decision_record(case, meeting, discussion, store.profile))
        meeting.setdefault("discussions", []).append(discussion)
        _done(tx, meeting, f"case {case_id}")


def _case_context(profile: dict, tool: dict, meeting: dict, case: dict) -> dict:
    """What the person answering is told about a case: its items, levels, who may speak."""
    excluded = [
        d["name"]
        for d in meeting.get("declarations") or []
        if case["id"] in d.get("excluded_cases", [])
    ]
    present = [a for a in meeting.get("attendance") or [] if a.get("status") != "apologies"]
    return {
        "items": list(profile["agenda"].get("case_items") or []),
        "levels": list(tool["levels"]),
        "current_risk": case.get("risk"),
        "quorate": bool(meeting.get("quorate")),
        "excluded": excluded,
        "present": [p["name"] for p in present if p["name"] not in excluded],
        "agencies_present": sorted({p.get("agency") or p["name"] for p in present}),
        "meeting_date": meeting.get("date"),
        "asks_resources": "resources" in (profile.get("decision_sheet") or []),
        "lead_updates": bool((profile.get("meetings") or {}).get("lead_worker_updates")),
    }


def _discussion(
    case_id: str, given: dict, context: dict, tool: dict, meeting: dict
) -> tuple[dict, list[dict]]:
    """The discussion of a case as answered (checked), and the actions it sets. What was
    not answered is not recorded (no decision, no risk level, nobody agreeing)."""
    discussion = {
        "case": case_id,
        "items": {
            str(k): str(v)
            for k, v in _mapping(given.get("items"), f"cases.{case_id}.items", "item: text").items()
            if v is not None and str(v).strip()
        },
    }
    resources = given.get("resources")
    if resources is not None and str(resources).strip():
        if not context.get("asks_resources"):
            raise InvalidInputError(
                f"cases.{case_id}: unknown key resources in the meeting script; this panel's "
                "decision sheet does not ask for resources.",
                f"cases.{case_id}.resources",
            )
        discussion["resources"] = str(resources).strip()
    update = _lead_update(given.get("lead_update"), case_id, context, meeting)
    if update:
        discussion["lead_update"] = update
    if context["excluded"]:
        discussion["excluded"] = context["excluded"]
    if not context["quorate"]:
        discussion["note"] = "No decisions: the meeting was not quorate."
        return discussion, []
    if given.get("risk"):
        discussion["risk_agreed"] = risk.level_of(tool, given["risk"], "agreed risk level")
    decision = given.get("decision")
    if decision is not None:  # none given: no decision recorded (never a default "keep")
        if decision not in DECISIONS:
            raise InvalidInputError(
                f"The decision for {case_id} must be one of: {', '.join(DECISIONS)}.",
                f"cases.{case_id}.decision",
            )
        discussion["decision"] = decision
    agreed = _check_agreed(
        _list_of(given.get("agreed_by"), f"cases.{case_id}.agreed_by", "names"),
        case_id,
        meeting.get("attendance") or [],
        {fold(n) for n in context["excluded"]},
    )
    if agreed:
        discussion["agreed_by"] = agreed
    actions = [
        _check_action(action, case_id, number, context.get("meeting_date"))
        for number, action in enumerate(
            _list_of(given.get("actions"), f"cases.{case_id}.actions", "actions"), start=1
        )
    ]
    return discussion, actions


def _lead_update(given, case_id: str, context: dict, meeting: dict) -> dict | None:
    """A lead worker's written or e-mail update sent instead of attending (Stoke CSE panel:
    "attend at time invited or provide email update"): who sent it, their agency, and how.
    Only where the profile takes such updates; not from someone recorded as there."""
    path = f"cases.{case_id}.lead_update"
    if given is None:
        return None
    if not context.get("lead_updates"):
        raise InvalidInputError(
            f"cases.{case_id}: unknown key lead_update in the meeting script; this panel does "
            "not take lead workers' updates (meetings.lead_worker_updates).",
            path,
        )
    given = _mapping(given, path, "name, agency, by")
    _unknown_keys(given, UPDATE_KEYS, path)
    name = str(given.get("name") or "").strip()
    if not name:
        raise InvalidInputError(f"{path}.name: say who sent the update.", f"{path}.name")
    by = str(given.get("by") or "").strip().casefold().replace("email", "e-mail")
    if by not in UPDATE_MEANS:
        raise InvalidInputError(
            f"{path}.by must be one of: {', '.join(UPDATE_MEANS)}.", f"{path}.by"
        )
    for person in meeting.get("attendance") or []:
        if fold(person.get("name")) == fold(name) and person.get("status") in PRESENT:
            raise InvalidInputError(
                f"{path}.name is recorded as attending {meeting.get('id')}; an update instead "
                "of attending comes from someone who was not there.",
                f"{path}.name",
            )
    update = {"name": name}
    if str(given.get("agency") or "").strip():
        update["agency"] = str(given["agency"]).strip()
    update["by"] = by
    return update


def _case_after(
    tx, case: dict, meeting: dict, discussion: dict, context: dict, tool: dict, closing, now
) -> dict:
    """The case once discussed: its history, the panel's agreed risk, a close decision."""
    on, meeting_id = meeting["date"], meeting["id"]
    case.setdefault("history", []).append({"date": on, "event": f"Discussed at panel {meeting_id}"})
    if discussion.get("risk_agreed"):
        # The panel's agreed level is the case's current risk, kept in the meeting's record
        # of the discussion; it is not a risk assessment, so the case's last assessment
        # (``assessed``, which the refresh rule and compliance count from) does not move.
        case["risk"] = discussion["risk_agreed"]
        case["history"].append(
            {
                "date": on,
                "event": f"Risk level agreed by the panel at {meeting_id}: "
                f"{discussion['risk_agreed']} (the panel's level, not a risk assessment)",
            }
        )
    if closing is not None:
        case = casework.close_at_meeting(tx, case, meeting, *closing, now)
    return case


def _decision_record(case: dict, meeting: dict, discussion: dict, profile: dict) -> dict:
    """The written decision for the case's team manager, with its deadline if the profile
    has one: counted from the meeting's start (its date and time, UK time), not from when
    the coordinator typed it in."""
    record = {
        "case": case["id"],
        "meeting": meeting["id"],
        "decision": discussion["decision"],
        "actions": discussion["actions"],
    }
    if discussion.get("risk_agreed"):
        record["risk"] = discussion["risk_agreed"]
    if case.get("team_manager"):
        record["team_manager"] = case["team_manager"]
    due = deadline(
        meeting_start(meeting), (profile.get("decisions") or {}).get("confirmation_hours")
    )
    if due:
        record["due"] = due
    return record


def _list_of(value, path: str, what: str) -> list:
    """``value`` as a list: a missing value is an empty list; a single string or a mapping
    where a list belongs is an error naming the key path (never split into characters)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInputError(f"{path} must be a list of {what}.", path)
    return value


def _mapping(value, path: str, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{path} must be a mapping ({what}).", path)
    return value


def _check_action(action: dict, case_id: str, number: int, meeting_date=None) -> dict:
    where = f"Action {number} for {case_id}"
    if not isinstance(action, dict) or not str(action.get("description") or "").strip():
        raise InvalidInputError(f"{where} needs a description.")
    for needed in ("agency", "owner", "due"):
        if not action.get(needed):
            raise InvalidInputError(
                f"{where} needs {'a due date' if needed == 'due' else 'an ' + needed}."
            )
    due = action["due"]
    if not isinstance(due, date):
        due = parse_date(str(due), "due", f"{where}'s due date")
    if isinstance(meeting_date, date):
        plausible.check_due(due, meeting_date, f"cases.{case_id}.actions.{number}.due")
    return {
        "description": str(action["description"]).strip(),
        "agency": str(action["agency"]),
        "owner": str(action["owner"]),
        "due": due,
    }


SCRIPT_KEYS = (
    "attendance",
    "chair",
    "confidentiality",
    "declarations",
    "previous_actions",
    "cases",
    "closing",
)
CASE_KEYS = ("items", "risk", "decision", "agreed_by", "actions", "closure")
#: keys a case takes only when the profile's decision sheet asks for them
SHEET_KEYS = ("resources",)
ACTION_KEYS = ("description", "agency", "owner", "due")
#: a lead worker's update instead of attending, where the profile takes them
UPDATE_KEYS = ("name", "agency", "by")
PERSON_KEYS = ("name", "agency", "status", "sector", "deputising_for", "guest")
DECLARATION_KEYS = ("name", "interest", "excluded_cases")


_SAFE_KEY = re.compile(r"[a-z_]{1,30}|[A-Z]{1,3}-[0-9]{1,6}")


def _key(key) -> str:
    """A key as it may be named in a message: a field-like word or a record id; anything
    else (it could be a child's name typed in the wrong place) is not quoted."""
    return str(key) if _SAFE_KEY.fullmatch(str(key)) else "(a key that is not a field name)"


def _unknown_keys(given: dict, known: tuple[str, ...], path: str) -> None:
    strange = [_key(k) for k in given if k not in known]
    if strange:
        where = f"{path}: " if path else ""
        raise InvalidInputError(
            f"{where}unknown key {strange[0]} in the meeting script; the keys are: "
            f"{', '.join(known)}.",
            f"{path}.{strange[0]}" if path else strange[0],
        )


class ScriptAnswers:
    """Answers from a YAML script: the same questions, answered in a file.

    :meth:`check` reads the whole script against the meeting before the first step is
    saved: unknown keys, a string or mapping where a list belongs, a case not on the
    agenda, an action due before the meeting are refused then, with the key path, so a
    script wrong from the start leaves no half-run meeting.
    """

    def __init__(self, script: dict):
        if not isinstance(script, dict):
            raise InvalidInputError(
                "A meeting script must be a mapping (attendance, confidentiality, ...)."
            )
        self.script = script
        self.notes: list[str] = []

    def check(self, meeting: dict, profile: dict) -> None:
        script = self.script
        _unknown_keys(script, SCRIPT_KEYS, "")
        if "attendance" not in script and "attendance" not in (meeting.get("progress") or []):
            raise InvalidInputError("The script has no attendance.", "attendance")
        sheet = profile.get("decision_sheet") or []
        case_keys = (*CASE_KEYS, *(k for k in SHEET_KEYS if k in sheet))
        if (profile.get("meetings") or {}).get("lead_worker_updates"):
            case_keys = (*case_keys, "lead_update")
        if script.get("chair") is not None and not isinstance(script["chair"], str):
            raise InvalidInputError("chair must be the name of the person who chaired.", "chair")
        titles = _previous_actions_items(profile)
        if script.get("previous_actions") is not None and not titles:
            raise InvalidInputError(
                "previous_actions: this panel's agenda has no review of the previous "
                "meeting's actions.",
                "previous_actions",
            )
        self._closing(list((profile.get("agenda") or {}).get("closing") or []))
        for number, person in enumerate(
            _list_of(script.get("attendance"), "attendance", "people"), start=1
        ):
            path = f"attendance.{number}"
            _unknown_keys(_mapping(person, path, "name, agency, status"), PERSON_KEYS, path)
        signed = script.get("confidentiality")
        if isinstance(signed, dict):
            _unknown_keys(signed, ("signed",), "confidentiality")
            _list_of(signed.get("signed"), "confidentiality.signed", "names")
        elif signed is not None:
            _list_of(signed, "confidentiality", "names")
        for number, item in enumerate(
            _list_of(script.get("declarations"), "declarations", "mappings"), start=1
        ):
            path = f"declarations.{number}"
            if not isinstance(item, dict):
                raise InvalidInputError(
                    f"{path} must be a mapping (name, interest, excluded_cases).", path
                )
            _unknown_keys(item, DECLARATION_KEYS, path)
            _list_of(item.get("excluded_cases"), f"{path}.excluded_cases", "case ids")
        attendance = [
            {"name": str(p["name"]), "status": p.get("status", "present")}
            for p in _list_of(script.get("attendance"), "attendance", "people")
            if isinstance(p, dict) and p.get("name")
        ]
        agenda = [str(c) for c in meeting.get("cases") or []]
        cases = _mapping(script.get("cases"), "cases", "case id: answers")
        for case_id, given in cases.items():
            path = f"cases.{_key(case_id)}"
            if str(case_id) not in agenda:
                raise InvalidInputError(
                    f"{path} is not a case on the agenda of {meeting.get('id')}; "
                    f"the agenda has: {', '.join(agenda)}.",
                    path,
                )
            given = _mapping(given, path, "items, risk, decision, agreed_by, actions")
            _unknown_keys(given, case_keys, path)
            _mapping(given.get("items"), f"{path}.items", "item: text")
            if attendance:  # checked here too, so a wrong name stops the run before it starts
                excluded = {
                    fold(str(d.get("name")))
                    for d in script.get("declarations") or []
                    if isinstance(d, dict) and str(case_id) in (d.get("excluded_cases") or [])
                }
                _check_agreed(
                    _list_of(given.get("agreed_by"), f"{path}.agreed_by", "names"),
                    str(case_id),
                    attendance,
                    excluded,
                )
            casework.closure_from(given.get("closure"), [], f"{path}.closure")
            _lead_update(
                given.get("lead_update"),
                str(case_id),
                {"lead_updates": "lead_update" in case_keys},
                {"id": meeting.get("id"), "attendance": attendance},
            )
            for number, action in enumerate(
                _list_of(given.get("actions"), f"{path}.actions", "actions"), start=1
            ):
                if isinstance(action, dict):
                    _unknown_keys(action, ACTION_KEYS, f"{path}.actions.{number}")
                _check_action(action, str(case_id), number, meeting.get("date"))

    def attendance(self, members):
        if "attendance" not in self.script:
            raise InvalidInputError("The script has no attendance.", "attendance")
        return _list_of(self.script["attendance"], "attendance", "people")

    def chair(self, present):
        chair = self.script.get("chair")
        return None if chair is None else str(chair)

    def confidentiality(self, statement, present, form):
        """Who signed, as the script says; no ``confidentiality`` key: nothing recorded."""
        if "confidentiality" not in self.script:
            return None
        signed = self.script["confidentiality"]
        path = "confidentiality"
        if isinstance(signed, dict):
            if "signed" not in signed:
                return None
            signed, path = signed["signed"], "confidentiality.signed"
        if signed is None:
            return None
        return [str(n) for n in _list_of(signed, path, "names")]

    def standing(self, titles):
        text = self.script.get("previous_actions")
        if text is None or not titles:
            return {}
        if not isinstance(text, str):
            raise InvalidInputError(
                "previous_actions must be text: what the panel said about the previous "
                "meeting's actions.",
                "previous_actions",
            )
        return {titles[0]: text}

    def closing(self, titles):
        return self._closing(titles)

    def _closing(self, titles: list[str]) -> dict:
        """``closing`` as item: text. Plain text is the answer to the panel's one closing
        item (an error when it has several: say which)."""
        given = self.script.get("closing")
        if given is None:
            return {}
        if isinstance(given, str):
            if len(titles) != 1:
                raise InvalidInputError(
                    f"closing: this panel has {len(titles)} closing items; give each as "
                    f"item: text ({'; '.join(titles) or 'none'}).",
                    "closing",
                )
            return {titles[0]: given}
        return _texts(given, titles, "closing")

    def declarations(self, present, cases):
        return _list_of(self.script.get("declarations"), "declarations", "mappings")

    def case(self, case_id, context):
        cases = _mapping(self.script.get("cases"), "cases", "case id: answers")
        if case_id not in cases:
            raise InvalidInputError(
                f"The script has no answers for case {case_id}; add them and run it again to continue.",
                f"cases.{case_id}",
            )
        return _mapping(
            cases[case_id], f"cases.{case_id}", "items, risk, decision, agreed_by, actions"
        )

    def note(self, message):
        self.notes.append(message)
