"""Cases from nomination to closure: nominate, list, show, update, close, reopen, missing
episodes and flags. Queries read the encrypted index; changes are one commit each."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from panelctl.base import yamlio
from panelctl.base.dates import LONDON, parse_date, parse_datetime, show_date
from panelctl.base.dates import today as uk_today
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.base.names import fold, name_key, similar
from panelctl.casework.assessments import stage
from panelctl.model import entry, records, risk
from panelctl.rules import ages, plausible
from panelctl.store.core import Store

#: Nomination fields a person may give, beside ``child`` and ``assessment``.
CASE_FIELDS = (
    "lead_professional",
    "team",
    "team_manager",
    "referring_agency",
    "lead_agency",
    "involved_agencies",
    "known_to",
    "first_referral",
    "protocol_followed",
    "concern",
    "exploitation_types",
    "consequences",
    "child_views",
    "carer_views",
    "age_reason",
)
CHILD_FIELDS = (
    "name",
    "dob",
    "gender",
    "ethnicity",
    "school",
    "area",
    "looked_after",
    "out_of_area",
)
LIST_FIELDS = ("involved_agencies", "known_to", "exploitation_types")
BOOL_FIELDS = ("first_referral", "protocol_followed", "child.looked_after", "child.out_of_area")
REPEAT_WINDOW_DAYS = 365


@dataclass
class Nominated:
    case_id: str | None  # None: not made (a dry run, or the coordinator said no)
    warnings: list[str] = field(default_factory=list)
    would_be: str | None = None  # a dry run: the id the case would have


# --- nominations ---------------------------------------------------------------------


def clean_nomination(raw: dict) -> dict:
    """Check a nomination's shape and types (from options, a file or prompts)."""
    if not isinstance(raw, dict):
        raise InvalidInputError("A nomination must be a mapping of fields.")
    unknown = set(raw) - set(CASE_FIELDS) - {"child", "assessment"}
    if unknown:
        raise InvalidInputError(
            f"Unknown nomination fields: {_keys(unknown)}; a nomination "
            f"has child, assessment, {', '.join(CASE_FIELDS)}."
        )
    child = raw.get("child") or {}
    if not isinstance(child, dict):
        raise InvalidInputError(
            "The nomination's child must be a mapping (name, dob, ...).", "child"
        )
    unknown = set(child) - set(CHILD_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"Unknown child fields: {_keys(unknown)}; "
            f"the child has {', '.join(CHILD_FIELDS)}."
        )
    nomination = {k: v for k, v in raw.items() if v not in (None, "", [])}
    nomination["child"] = {k: v for k, v in child.items() if v not in (None, "")}
    if not nomination["child"].get("name"):
        raise InvalidInputError("A nomination needs the child's name (child.name).")
    if "dob" in nomination["child"]:
        nomination["child"]["dob"] = _as_date(nomination["child"]["dob"], "child.dob")
    for name in LIST_FIELDS:  # a single text is taken as a one-item list (documented)
        if name in nomination and isinstance(nomination[name], str):
            nomination[name] = [nomination[name]]
        if name in nomination and (
            not isinstance(nomination[name], list)
            or not all(isinstance(v, str) for v in nomination[name])
        ):
            raise InvalidInputError(f"Nomination field {name} must be a list of text.", name)
    for dotted in BOOL_FIELDS:
        value = entry.lookup(nomination, dotted)
        if value is None:
            continue
        if yamlio.flag(value) is None:
            raise InvalidInputError(f"Nomination field {dotted} must be yes or no (true/false).")
        *parents, last = dotted.split(".")
        holder = nomination["child"] if parents else nomination
        holder[last] = yamlio.flag(value)
    if "known_to" in nomination:
        nomination["known_to"] = [entry.sector_name(s) for s in nomination["known_to"]]
    if "assessment" in nomination:
        nomination["assessment"] = _clean_assessment(nomination["assessment"])
    return nomination


def _keys(unknown: set) -> str:
    """Unknown keys from a file, shown only when they look like field names (a key that is
    a child's name by mistake is not repeated)."""
    shown = {
        str(k) if re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", str(k)) else "(a key that is not a field)"
        for k in unknown
    }
    return ", ".join(sorted(shown))


def _clean_assessment(raw) -> dict:
    if not isinstance(raw, dict):
        raise InvalidInputError(
            "The nomination's assessment must be a mapping (tool, level, date, ...)."
        )
    allowed = {"tool", "level", "date", "assessor", "agency", "factors", "reason"}
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidInputError(
            f"Unknown assessment fields: {_keys(unknown)}."
        )
    cleaned = dict(raw)
    if "date" in cleaned:
        cleaned["date"] = _as_date(cleaned["date"], "assessment.date")
    factors = cleaned.get("factors")
    if isinstance(factors, str):  # one factor written without brackets: a one-item list
        cleaned["factors"] = [factors]
    elif factors is not None and not (
        isinstance(factors, list) and all(isinstance(f, str) for f in factors)
    ):
        raise InvalidInputError(
            "assessment.factors must be a list of factor names.", "assessment.factors"
        )
    return cleaned


def _as_date(value, what: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_date(value, what, f"Nomination field {what}")
    raise InvalidInputError(f"{what} must be a date such as 14/03/2026.")


def nominate(
    store: Store,
    raw: dict,
    today: date,
    *,
    dry_run: bool = False,
    go_on: Callable[[list[str]], bool] | None = None,
) -> Nominated:
    """Apply the profile's entry rules, warn about a child who may already be known, and
    create the case (with its assessment, if one came with the nomination) in one commit.

    The warnings are handed to ``go_on`` before anything is committed: it says them, and
    returns False to stop (nothing is saved; the case id is then None). ``dry_run`` checks
    everything and saves nothing: the result has the warnings and the id it would take."""
    nomination = clean_nomination(raw)
    dob = nomination["child"].get("dob")
    # ``today`` is the nomination's date: a birth after it is refused as such
    plausible.check_dob(dob, max(today, uk_today()), nominated=today)
    plausible.check_past(
        (nomination.get("assessment") or {}).get("date"), today, "assessment.date", dob
    )
    profile = store.profile
    refused = ages.age_refusal(dob, today, profile.get("ages"), nomination.get("age_reason"))
    if refused:
        raise NotAllowedError(
            f"Nomination refused under the {profile['name']} profile: {refused}.", "age_reason"
        )
    assessment = _prepare_assessment(store, nomination, today)
    if assessment:
        nomination["assessment"] = {**nomination["assessment"], "level": assessment["agreed"]}
    reasons = entry.refusals(profile["entry_rules"], nomination)
    if reasons:
        raise NotAllowedError(
            f"Nomination refused under the {profile['name']} profile: {'; '.join(reasons)}."
        )
    check_agencies(store, nomination)
    if dry_run:
        refuse_open_duplicate(store, nomination["child"])
        warnings, _repeat_of = known_child_warnings(store, nomination["child"], today)
        existing = store.ids(records.CASE)
        number = (records.number_of(existing[-1]) if existing else 0) + 1
        return Nominated(None, warnings, would_be=records.CASE.format_id(number))
    with store.transaction() as tx:
        # under the lock, so that two nominations of one child cannot both get in
        refuse_open_duplicate(store, nomination["child"])
        warnings, repeat_of = known_child_warnings(store, nomination["child"], today)
        if go_on is not None and not go_on(warnings):
            return Nominated(None, warnings)  # nothing staged: no commit
        case = case_from_nomination(nomination, today, "Nominated", repeat_of)
        case_id = tx.create("case", case)
        if assessment:

            stage(tx, {"id": case_id, **case}, assessment)
    return Nominated(case_id, warnings)


def case_from_nomination(
    nomination: dict, today: date, event: str, repeat_of: str | None = None
) -> dict:
    """The new case record (without its id) for a checked nomination: every nomination,
    whether typed, from a file or from an imported risk matrix, becomes a case here."""
    case = {
        "status": "open",
        "child": nomination["child"],
        "nominated": today,
        **{k: nomination[k] for k in CASE_FIELDS if k in nomination},
        "history": [{"date": today, "event": event}],
    }
    if repeat_of:
        case["repeat_of"] = repeat_of
        case["history"].append(
            {"date": today, "event": f"Repeat nomination (earlier case {repeat_of})"}
        )
    case.setdefault("lead_agency", nomination.get("referring_agency"))
    return {k: v for k, v in case.items() if v is not None}


def _prepare_assessment(store: Store, nomination: dict, today: date) -> dict | None:
    """The assessment that came with a nomination, as an assessment record (without case)."""
    given = nomination.get("assessment")
    if not given:
        return None

    tool_name = given.get("tool") or store.profile["risk_tool"]
    tool = risk.load_tool(tool_name, store.root)
    factors = given.get("factors") or []
    if factors:
        result = risk.assess(tool, factors, agreed=given.get("level"), reason=given.get("reason"))
    else:
        level = risk.level_of(tool, given.get("level") or "", "assessment level")
        result = {"derived": level, "agreed": level, "score": None, "override_reason": None}
    record = {
        "tool": tool_name,
        "date": given.get("date") or today,
        "assessor": given.get("assessor") or nomination.get("lead_professional") or "not recorded",
        "agency": given.get("agency") or nomination.get("referring_agency") or "not recorded",
        "factors": list(factors),
        "score": result.get("score"),
        "derived": result["derived"],
        "agreed": result["agreed"],
        "override_reason": result.get("override_reason"),
        "source": "nomination",
    }
    nomination["assessment"]["tool"] = tool_name
    return {k: v for k, v in record.items() if v is not None}


def check_agencies(store: Store, data: dict) -> None:
    """Once a store lists its agencies, every agency a case names must be one of them."""
    known = {fold(fields.get("name")) for _id, fields in store.index().rows("agency")}
    if not known:
        return
    involved = data.get("involved_agencies") or []
    named = [
        ("referring_agency", data.get("referring_agency")),
        ("lead_agency", data.get("lead_agency")),
        *(("involved_agencies", agency) for agency in involved),
    ]
    for where, agency in named:
        if agency and fold(agency) not in known:
            # the field, never the value: a child's name in the wrong column must not show
            raise InvalidInputError(
                f"Unknown agency in {where}; add it with `panelctl agency add` or check its "
                "spelling (see `panelctl agency list`).",
                where,
            )


def same_child(store: Store, child: dict) -> list[tuple[str, dict]]:
    """The cases (id, index fields) of exactly this child: the same date of birth and the
    same name as `name_key` compares them (any script; digits count)."""
    dob, key = child.get("dob"), name_key(child.get("name") or "")
    if dob is None or not key:
        return []
    return [
        (case_id, fields)
        for case_id, fields in sorted(store.index().rows("case"))
        if fields.get("dob") == dob and name_key(fields.get("name") or "") == key
    ]


def refuse_open_duplicate(store: Store, child: dict) -> None:
    """A nomination of a child who already has an open case is refused, naming that case:
    update or reassess it instead. (A child whose name is only similar gets a warning.)"""
    for case_id, fields in same_child(store, child):
        if fields.get("status") == "open":
            raise NotAllowedError(
                f"{case_id} is already an open case for this child (the same name and date of "
                "birth); update or reassess that case instead of nominating again.",
                "child.name",
            )


def known_child_warnings(store: Store, child: dict, today: date) -> tuple[list[str], str | None]:
    """Warnings (by case id) when the child may already be known, and the case a repeat
    nomination follows: same date of birth and a similar name, open or closed within a year."""
    dob = child.get("dob")
    if dob is None:
        return [], None
    warnings, repeat_of = [], None
    key = name_key(child["name"])
    for case_id, fields in sorted(store.index().rows("case")):
        if fields.get("dob") != dob or not similar(key, fields.get("name") or ""):
            continue
        if fields.get("status") == "open":
            warnings.append(
                f"{case_id} is an open case with the same date of birth and a similar name."
            )
        elif fields.get("closed") and fields["closed"] >= today - timedelta(
            days=REPEAT_WINDOW_DAYS
        ):
            warnings.append(
                f"{case_id} (same date of birth, similar name) was closed on {show_date(fields['closed'])}: "
                "this is a repeat nomination."
            )
            repeat_of = repeat_of or case_id
    return warnings, repeat_of


# --- the case lifecycle --------------------------------------------------------------


def list_cases(
    store: Store,
    status: str | None = None,
    risk: str | None = None,
    lead_agency: str | None = None,
    exploitation_type: str | None = None,
) -> list[dict]:
    table = store.index().table("case")
    # no map per case: the columns the filters test, then what a row shows (not the name
    # and date of birth) for the rows chosen
    filters = ("status", "risk", "lead_agency", "exploitation_types")
    ids, columns = table.columns(filters)
    empty = [None] * len(ids)
    statuses, risks = columns.get("status", empty), columns.get("risk", empty)
    agencies, types = columns.get("lead_agency", empty), columns.get("exploitation_types", empty)
    chosen = []
    for i in range(len(ids)):
        if status and statuses[i] != status:
            continue
        if risk and (risks[i] or "").casefold() != risk.casefold():
            continue
        if lead_agency and fold(agencies[i]) != fold(lead_agency):
            continue
        if exploitation_type and exploitation_type.casefold() not in [
            t.casefold() for t in types[i] or []
        ]:
            continue
        chosen.append(i)
    shown = [k for k in table.field_names() if k not in ("name", "dob")]
    picked = table.pick(shown, chosen)
    rows = [{"id": ids[i], **{k: picked[k][n] for k in shown}} for n, i in enumerate(chosen)]
    return sorted(rows, key=lambda r: records.number_of(r["id"]))


def get_case(store: Store, case_id: str) -> dict:
    if records.type_of_id(case_id) is not records.CASE:
        raise InvalidInputError(f"{case_id} is not a case id (case ids look like C-0042).")
    return store.read(case_id)


def chronology(store: Store, case_id: str) -> list[dict]:
    """Everything that happened to a case, oldest first: a list of {date, what, ref}."""
    case = get_case(store, case_id)
    events = [
        {"date": h["date"], "what": h["event"], "ref": case_id} for h in case.get("history", [])
    ]
    index = store.index()  # assessments appear through the case's own history
    # a discussion once, and only at a meeting that held it (not one where the case is
    # only on the agenda): `meeting run` puts it in the case's history; from the meeting
    # only when the history lacks it (an older case, or one changed outside a run)
    told = {h["event"].rpartition(" ")[2] for h in case.get("history", [])}
    for mid, f in index.rows("meeting"):
        if case_id in (f.get("discussed") or []) and mid not in told:
            events.append({"date": f["date"], "what": f"Discussed at panel {mid}", "ref": mid})
    for aid, f in index.rows("action"):
        if f.get("case") == case_id:
            events.append(
                {
                    "date": f["due"],
                    "what": f"Action due ({f.get('status')})",
                    "ref": aid,
                }
            )
    for episode in case.get("missing", []):
        end = (
            f" to {episode['end']:%d/%m/%Y %H:%M}" if episode.get("end") else " (not yet returned)"
        )
        events.append(
            {
                "date": episode["start"].date(),
                "what": f"Missing from {episode['start']:%d/%m/%Y %H:%M}{end}",
                "ref": case_id,
            }
        )
    for flag in case.get("flags", []):
        state = "cleared" if flag.get("cleared") else f"review {show_date(flag['review'])}"
        events.append(
            {
                "date": flag.get("raised") or flag["review"],
                "what": f"Flag: {flag['flag']} ({state})",
                "ref": case_id,
            }
        )
    return sorted(events, key=lambda e: (e["date"], e["ref"]))


UPDATABLE = (
    "lead_professional",
    "team",
    "team_manager",
    "lead_agency",
    "involved_agencies",
    "concern",
    "exploitation_types",
    "consequences",
    "child_views",
    "carer_views",
    "review_due",
)


def update_case(store: Store, case_id: str, changes: dict, today: date) -> bool:
    """Change some of a case's details; True when anything changed (one commit)."""
    unknown = set(changes) - set(UPDATABLE) - {f"child.{f}" for f in CHILD_FIELDS}
    if unknown:
        raise InvalidInputError(
            f"These case fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    plausible.check_ahead(changes.get("review_due"), today, "review_due")
    with store.transaction() as tx:
        case = get_case(store, case_id)
        for name, value in changes.items():
            if name.startswith("child."):
                if "child" not in case:
                    raise InvalidInputError(
                        f"{case_id} is a perpetrator referral; it has no child to change.", name
                    )
                case["child"][name[6:]] = value
            else:
                case[name] = value
        check_agencies(store, case)
        before = store.read(case_id)
        if case != before:
            case.setdefault("history", []).append({"date": today, "event": "Details updated"})
            tx.put(case)
    return tx.committed


#: what becomes of a closing case's open actions: cancelled with it, or carried on
OPEN_ACTION_CHOICES = ("close", "carry")


@dataclass
class Closure:
    """What a closure needs, wherever it is made (`case close` or a panel's close decision):
    why, who agreed (agencies), and what becomes of the case's open actions and why."""

    reason: str
    agreed_by: list[str]
    open_actions: str | None = None
    actions_reason: str | None = None


def closure_from(given: object, agreed_by: list[str], where: str) -> Closure:
    """A :class:`Closure` from a meeting script's or prompt's ``closure`` mapping (reason,
    open_actions, actions_reason), with the agencies that agreed."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidInputError(
            f"{where} must be a mapping (reason, open_actions, actions_reason).", where
        )
    unknown = set(given) - {"reason", "open_actions", "actions_reason"}
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown key {_keys(unknown)}; the keys are: reason, open_actions, "
            "actions_reason.",
            where,
        )
    return Closure(
        str(given.get("reason") or ""),
        agreed_by,
        _optional_text(given.get("open_actions")),
        _optional_text(given.get("actions_reason")),
    )


def _optional_text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def core_agencies(store: Store) -> list[str]:
    """The names of the panel's core agencies (agency records with core: true)."""
    return sorted(
        (f["name"] for _id, f in store.index().rows("agency") if f.get("core") and f.get("name")),
        key=str.casefold,
    )


def missing_agreement(required: list[str], agreed: list[str]) -> list[str]:
    """The agencies of ``required`` not among ``agreed`` (names compared as `fold` does)."""
    have = {fold(a) for a in agreed}
    return [a for a in required if fold(a) not in have]


def open_actions(store: Store, case_id: str) -> list[str]:
    """The ids of a case's open actions, by number."""
    return sorted(
        (aid for aid, f in store.index().rows("action")
         if f.get("case") == case_id and f.get("status") == "open"),
        key=records.number_of,
    )  # fmt: skip


def check_closure(
    store: Store,
    case_id: str,
    closure: Closure,
    core_present: list[str] | None,
    key: str = "",
) -> list[str]:
    """Refuse a closure the profile does not allow, before anything is saved; return the
    case's open actions (which the closure then closes or carries).

    A closure needs a reason everywhere. Under a profile with
    ``decisions.closure_by_all_core_agencies`` (MACSE), every core agency present must be
    among those agreeing: ``core_present`` (a meeting's), or every core agency of the
    panel when the closure is made outside a meeting (None). Open actions must be closed
    with the case or carried, with a reason. ``key`` prefixes the fields named (a meeting
    script's ``cases.C-0001.closure.``)."""
    if not closure.reason.strip():
        where = f" ({key}reason)" if key else ""
        raise InvalidInputError(f"Closing {case_id} needs a reason{where}.", f"{key}reason")
    profile = store.profile
    if (profile.get("decisions") or {}).get("closure_by_all_core_agencies"):
        required = core_agencies(store) if core_present is None else core_present
        missing = missing_agreement(required, closure.agreed_by)
        if missing:
            raise NotAllowedError(
                f"{case_id} cannot be closed under the {profile['name']} profile until every "
                f"core agency {'present ' if core_present is not None else ''}agrees the risk "
                f"is reduced or removed; not yet agreed: {', '.join(missing)}.",
                "agreed_by",
            )
    if not closure.agreed_by:  # MACSE too, when no core agency was present
        raise InvalidInputError(
            f"Closing {case_id} needs the agreement of the agencies: name each one.", "agreed_by"
        )
    pending = open_actions(store, case_id)
    if pending and closure.open_actions is None:
        raise NotAllowedError(
            f"{case_id} has open actions ({', '.join(pending)}): close them with the case or "
            f"carry them on ({key}open_actions: close or carry, with {key}actions_reason), "
            "or reassign or complete them first.",
            f"{key}open_actions",
        )
    if pending and closure.open_actions not in OPEN_ACTION_CHOICES:
        raise InvalidInputError(
            f"{key}open_actions for {case_id} must be close or carry.", f"{key}open_actions"
        )
    if pending and not (closure.actions_reason or "").strip():
        raise InvalidInputError(
            f"Say why {case_id}'s open actions ({', '.join(pending)}) are "
            f"{'closed' if closure.open_actions == 'close' else 'carried'} with the case "
            f"({key}actions_reason).",
            f"{key}actions_reason",
        )
    return pending


def settle_actions(
    tx, case_id: str, pending: list[str], closure: Closure, by: str, at: datetime
) -> None:
    """Close (cancel) or carry a closing case's open actions, each with the reason in its
    history (the same history entry the action log writes: at, by, change, note)."""
    stamp = at.astimezone(LONDON).replace(second=0, microsecond=0)
    for action_id in pending:
        action = tx.store.read(action_id)
        if closure.open_actions == "close":
            change = f"cancelled: case {case_id} closed"
            action["status"] = "cancelled"
        else:
            change = f"carried on after case {case_id} closed"
        action["history"] = [
            *(action.get("history") or []),
            {"at": stamp, "by": by, "change": change, "note": closure.actions_reason.strip()},
        ]
        tx.put(action)


def close_case(
    store: Store, case_id: str, closure: Closure, on: date, now: datetime | None = None
) -> list[str]:
    """Close a case outside a meeting (one commit): the reason, the agencies that agreed,
    and what becomes of its open actions; returns those actions' ids."""
    if not closure.reason.strip():
        raise InvalidInputError("Closing a case needs a reason.", "reason")

    def closed(case: dict) -> dict:  # an already closed case is refused before the rest
        return closed_case(case, on, closure.reason.strip(), list(closure.agreed_by), "Closed")

    closed(get_case(store, case_id))
    check_agencies(store, {"involved_agencies": closure.agreed_by})
    check_closure(store, case_id, closure, None)
    with store.transaction() as tx:
        case = closed(get_case(store, case_id))
        pending = check_closure(store, case_id, closure, None)  # under the lock
        settle_actions(tx, case_id, pending, closure, _who(store), now or datetime.now(LONDON))
        tx.put(case)
    return pending


def close_at_meeting(
    tx, case: dict, meeting: dict, closure: Closure, pending: list[str], at: datetime
) -> dict:
    """``case`` closed by the panel's decision at ``meeting`` (checked first with
    :func:`check_closure`), its open actions settled; the closed case to save."""
    settle_actions(tx, case["id"], pending, closure, _who(tx.store), at)
    return closed_case(
        case,
        meeting["date"],
        closure.reason.strip(),
        list(closure.agreed_by),
        f"Closed by panel decision at {meeting['id']}",
    )


def agencies_agreeing(meeting: dict, people: list[str]) -> list[str]:
    """The agencies of the people named (as the meeting's attendance records them)."""
    by_name = {fold(a.get("name")): a.get("agency") for a in meeting.get("attendance") or []}
    found = [by_name.get(fold(p)) or "" for p in people]
    return sorted({a for a in found if a}, key=str.casefold)


def core_present(store: Store, meeting: dict, excluded: list[str]) -> list[str]:
    """The core agencies represented at ``meeting`` by someone present (in the room or
    joined remotely, or deputising) and not excluded from the item."""
    out = {fold(n) for n in excluded}
    present = {
        fold(a.get("agency"))
        for a in meeting.get("attendance") or []
        if a.get("status") in ("present", "virtual", "deputy")
        and not a.get("guest")
        and fold(a.get("name")) not in out
    }
    return [a for a in core_agencies(store) if fold(a) in present]


def _who(store: Store) -> str:
    if store.identity is None:
        raise InvalidInputError("Closing a case needs an identity.", "identity")
    return store.identity.name


def recorder(store: Store) -> str:
    """Who records a change: the identity's name (a store opened to write has one)."""
    return store.identity.name if store.identity is not None else "not recorded"


def closed_case(case: dict, on: date, reason: str, agreed_by: list[str], event: str) -> dict:
    """``case`` closed on ``on``, with why and by whose agreement: the one closing rule, for
    `case close` and a panel's close decision alike."""
    if case["status"] == "closed":
        raise NotAllowedError(f"{case['id']} is already closed.")
    closed = {
        **case,
        "status": "closed",
        "closed": on,
        "closure_reason": reason,
        "closure_agreed_by": agreed_by,
    }
    closed["history"] = [*(case.get("history") or []), {"date": on, "event": event}]
    return closed


def reopen_case(store: Store, case_id: str, on: date) -> None:
    with store.transaction() as tx:
        case = get_case(store, case_id)
        if case["status"] == "open":
            raise NotAllowedError(f"{case_id} is already open.")
        case["status"] = "open"
        for name in ("closed", "closure_reason", "closure_agreed_by"):
            case.pop(name, None)
        case.setdefault("history", []).append({"date": on, "event": "Reopened"})
        tx.put(case)


def add_missing(
    store: Store, case_id: str, start: str, end: str | None, note: str | None = None
) -> None:
    begin = parse_datetime(start, "start", "The start of the missing episode")
    finish = parse_datetime(end, "end", "The end of the missing episode") if end else None
    if finish is not None and finish < begin:
        raise InvalidInputError(
            "The end is before the start: a missing episode cannot end before it starts.", "end"
        )
    with store.transaction() as tx:
        case = get_case(store, case_id)
        dob = (case.get("child") or {}).get("dob")
        plausible.check_past(
            begin.date(), uk_today(), "start", dob if isinstance(dob, date) else None
        )
        if finish is not None:
            plausible.check_past(finish.date(), uk_today(), "end")
        episode = {
            "start": begin,
            **({"end": finish} if finish else {}),
            **({"note": note} if note else {}),
        }
        case.setdefault("missing", []).append(episode)
        tx.put(case)


def add_flag(store: Store, case_id: str, flag: str, owner: str, review: str, today: date) -> None:
    if not flag.strip() or not owner.strip():
        raise InvalidInputError(
            "A flag needs its text and an owner.", "flag" if not flag.strip() else "owner"
        )
    review_date = parse_date(review, "review", "The review date")
    plausible.check_ahead(review_date, today, "review")
    with store.transaction() as tx:
        case = get_case(store, case_id)
        case.setdefault("flags", []).append(
            {"flag": flag.strip(), "owner": owner.strip(), "review": review_date, "raised": today}
        )
        tx.put(case)


def meeting_closure(
    store: Store, meeting: dict, discussion: dict, given: object
) -> tuple[Closure, list[str]]:
    """A panel's close decision checked before anything is saved: the closure (the agencies
    of the people who agreed) and the case's open actions it settles."""
    case_id = discussion["case"]
    closure = closure_from(
        given,
        agencies_agreeing(meeting, discussion.get("agreed_by") or []),
        f"cases.{case_id}.closure",
    )
    core = core_present(store, meeting, discussion.get("excluded") or [])
    return closure, check_closure(store, case_id, closure, core, f"cases.{case_id}.closure.")


def set_at_meeting(meeting: dict, by: str) -> dict:
    """The first entry of an action's history: when (the meeting's day and time, UK) and
    at which meeting it was set, and who recorded it."""
    start = time.fromisoformat(meeting.get("time") or "00:00")
    at = datetime.combine(meeting["date"], start, tzinfo=LONDON)
    return {"at": at, "by": by, "change": f"set at {meeting['id']}"}
