"""The panel data report (bi-monthly) and the annual review.

Three steps, kept apart so the figures can be tested without a store:

:func:`gather`
    reads the store: the encrypted index for most figures, and only the records a figure
    needs beyond it (children's gender, ethnicity and circumstances, missing episodes and
    closure reasons of the cases on the panel in the period; attendance at the meetings
    held in it; when an action without a meeting was set). It returns plain data, never a
    child's name (a closure reason has the child's name blanked out).
:func:`compute`
    pure: plain data and a period in, the report as one plain ``dict`` out.
:func:`render_report`
    the report as json, csv (one row per figure: section, item, value), md or print-ready
    HTML (OFFICIAL-SENSITIVE on every page, bar charts drawn as inline SVG).

:func:`suppress_small` replaces counts of 1 to 4 with ``"<5"`` for wider circulation.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from panelctl.base.dates import as_date, show_date
from panelctl.base.dates import today as uk_today
from panelctl.base.errors import InvalidInputError
from panelctl.model import risk
from panelctl.outputs import papers
from panelctl.rules.meetingrules import assessment_overdue
from panelctl.store.disclosures import check_can_disclose, log_disclosure

FORMATS = ("html", "md", "json", "csv")
SMALL = "<5"
AGE_BANDS = ("under 12", "12-13", "14-15", "16-17", "18+", "not recorded")
NOT_RECORDED = "not recorded"

#: section key -> (title, how it is drawn: "count" one value per item, "chart" a bar chart
#: of its items, "table" rows of named columns)
SECTIONS = {
    "caseload": ("Caseload", "count"),
    "nominations_by_agency": ("New nominations by referring agency", "chart"),
    "closure_reasons": ("Closures and why", "chart"),
    "risk_at_nomination": ("Risk level at nomination (first assessment)", "chart"),
    "risk_latest": ("Latest risk level", "chart"),
    "risk_movement": ("Movement between risk levels", "count"),
    "risk_matrix": ("Risk at nomination (rows) against latest risk (columns)", "table"),
    "exploitation_types": ("Exploitation types", "chart"),
    "age_bands": ("Age at the end of the period", "chart"),
    "gender": ("Gender", "chart"),
    "ethnicity": ("Ethnicity", "chart"),
    "circumstances": ("Looked-after and out-of-area children", "count"),
    "missing": ("Missing episodes in the period", "count"),
    "intelligence": ("Persons of concern, locations and links", "count"),
    "actions": ("Actions", "count"),
    "actions_by_agency": ("Actions by agency", "table"),
    "meetings": ("Meetings", "count"),
    "attendance_by_agency": ("Attendance at meetings held, by agency", "table"),
    "assessment_compliance": ("Risk-assessment compliance at the end of the period", "count"),
    "trends": ("Month by month", "table"),
}
ITEM_LABELS = {
    "open_at_start": "Cases open at the start of the period",
    "new_nominations": "New nominations",
    "repeat_nominations": "Repeat nominations",
    "closures": "Closures",
    "open_at_end": "Cases open at the end of the period",
    "reviews_held": "Case reviews held at meetings",
    "cases_reviewed": "Cases reviewed",
    "children_on_panel": "Children on the panel in the period",
    "cases_erased": "Cases erased in the period (no longer in any figure here)",
    "looked_after": "Looked-after children",
    "out_of_area": "Children placed out of area",
    "episodes": "Missing episodes",
    "children_missing": "Children missing",
    "children_missing_on_panel": "Of those, open to the panel at the end of the period",
    "persons_added": "Persons of concern identified",
    "groups_added": "Groups identified",
    "locations_added": "Locations identified",
    "links_made": "Links made",
    "set": "Set",
    "completed": "Completed",
    "completed_late": "Completed late",
    "overdue": "Overdue at the end of the period",
    "held": "Held",
    "quorate": "Quorate",
    "not_quorate": "Not quorate",
    "quorum_not_recorded": "Quorum not recorded",
    "cancelled": "Cancelled",
    "open_cases": "Open cases",
    "current": "Assessment current",
    "overdue_refresh": "Assessment older than the refresh period",
    "never_assessed": "Never assessed",
    "increased": "Risk increased",
    "decreased": "Risk decreased",
    "unchanged": "Risk unchanged",
    "not_assessed": "Not assessed",
    "present": "Present (including deputies)",
    "apologies": "Apologies",
    "virtual": "Of those present, joined remotely",
    "not_represented": "Core agency not represented",
    "nominations": "Nominations",
    "meetings": "Meetings held",
    "actions_set": "Actions set",
    "actions_completed": "Actions completed",
}


# --- periods ------------------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def default_bimonthly(today: date) -> tuple[date, date]:
    """The last two whole months before ``today``'s month."""
    first = today.replace(day=1)
    end = first - timedelta(days=1)
    start = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
    return start, end


def parse_period(text: str) -> tuple[date, date]:
    """``2026-09..2026-10`` (whole months), ``2026-09`` (one month) or two dates ``a..b``."""
    raw = text.strip()
    parts = [p.strip() for p in raw.split("..")] if ".." in raw else [raw, raw]
    if len(parts) != 2:
        raise _bad_period(raw)
    try:
        if all(re.fullmatch(r"\d{4}-\d{2}", p) for p in parts):
            (y1, m1), (y2, m2) = ((int(x) for x in p.split("-")) for p in parts)
            start, end = date(y1, m1, 1), month_end(y2, m2)
        elif all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", p) for p in parts):
            start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
        else:
            raise _bad_period(raw)
    except ValueError:
        raise _bad_period(raw) from None
    if end < start:
        raise InvalidInputError("The period ends before it starts.", "period")
    return start, end


def _bad_period(raw: str) -> InvalidInputError:
    return InvalidInputError(
        "The period is not a period; write it as 2026-09..2026-10 (whole months) "
        "or 2026-09-01..2026-10-31.",
        "period",
    )


def year_period(year: int, first_month: int = 1) -> tuple[date, date]:
    """The panel's year that ends in ``year``: January to December, or from
    ``first_month`` of the year before (the older Stoke panel reviews each November, so
    ``first_month`` 12 and 2026 give 1 Dec 2025 to 30 Nov 2026)."""
    if not 1900 <= year <= 9999:
        raise InvalidInputError(f"The year {year} is not a year; write it as 2026.", "year")
    if first_month == 1:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year - 1, first_month, 1), month_end(year, first_month - 1)


def last_year(today: date, first_month: int = 1) -> tuple[date, date]:
    """The last of the panel's years to have ended before ``today``."""
    ends_in = today.year if today.month >= first_month > 1 else today.year - 1
    return year_period(ends_in, first_month)


def annual_period(
    year: int | None, start: date | None, end: date | None, today: date, first_month: int = 1
) -> tuple[date, date]:
    """The annual review's period: ``start`` to ``end`` when given (both), else the
    panel's year ending in ``year``, else the last one that has ended."""
    if (start is None) != (end is None):
        raise InvalidInputError("An annual review's own period needs its first and last day.", "period")
    if start is not None and end is not None:
        if year is not None:
            raise InvalidInputError("Give a year or a period, not both.", "period")
        if end < start:
            raise InvalidInputError("The period ends before it starts.", "period")
        return start, end
    if year is not None:
        return year_period(year, first_month)
    return last_year(today, first_month)


def first_month_of(profile: dict) -> int:
    """The month the panel's year starts in (profile ``annual_review.first_month``; January
    when the profile does not say)."""
    return (profile.get("annual_review") or {}).get("first_month") or 1


def months_of(start: date, end: date) -> list[str]:
    keys, day = [], start.replace(day=1)
    while day <= end:
        keys.append(f"{day.year:04d}-{day.month:02d}")
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


# --- reading the store --------------------------------------------------------------------

_CASE_INDEXED = ("status", "nominated", "closed", "referring_agency", "repeat_of", "risk")


def gather(store, start: date, end: date) -> dict:
    """The plain data the report needs, from the index and the few records it must read."""
    index = store.index()
    data: dict = {}
    cases = []
    for case_id, fields in index.rows("case"):
        if fields.get("kind") == "perpetrator":
            continue  # the report's caseload is children; referrals are not children's cases
        row = {"id": case_id, **{k: fields.get(k) for k in _CASE_INDEXED}}
        row["dob"] = fields.get("dob")
        row["exploitation_types"] = list(fields.get("exploitation_types") or [])
        closed = fields.get("closed")
        if closed is None or closed >= start:  # on the panel in or after the period
            for key in ("gender", "ethnicity", "looked_after", "out_of_area"):
                row[key] = fields.get(key)
            row["missing"] = [{"start": a, "end": b} for a, b in fields.get("missing") or []]
        if closed is not None and start <= closed <= end:  # only these need their reason read
            record = store.read(case_id)
            if record.get("closure_reason"):
                name = (record.get("child") or {}).get("name")
                row["closure_reason"] = _redact(record["closure_reason"], name)
        cases.append(row)
    data["cases"] = cases
    data["assessments"] = [
        {"case": f.get("case"), "date": f.get("date"), "agreed": f.get("agreed")}
        for _id, f in index.rows("assessment")
    ]
    meetings = []
    for meeting_id, fields in index.rows("meeting"):
        row = {
            "id": meeting_id,
            "date": fields.get("date"),
            "status": fields.get("status"),
            "quorate": fields.get("quorate"),
            "discussed": list(fields.get("discussed") or []),
        }
        held_on = row["date"]
        if row["status"] == "held" and held_on and start <= held_on <= end:
            record = store.read(meeting_id)
            row["attendance"] = [
                {"agency": a.get("agency") or "", "status": a.get("status") or "present"}
                for a in record.get("attendance") or []
            ]
            if record.get("unrepresented") is not None:  # core agencies with nobody there
                row["unrepresented"] = list(record["unrepresented"])
        meetings.append(row)
    data["meetings"] = meetings
    meeting_dates = {m["id"]: m["date"] for m in meetings}
    actions = []
    for _action_id, fields in index.rows("action"):
        row = {k: fields.get(k) for k in ("agency", "due", "status", "completed")}
        row["set"] = meeting_dates.get(fields.get("meeting") or "")
        if row["set"] is None:  # set outside a meeting: when it was created (from the index)
            row["set"] = fields.get("set")
        actions.append(row)
    data["actions"] = actions
    data["persons"] = [
        {"kind": f.get("kind"), "added": f.get("added")} for _i, f in index.rows("person")
    ]
    data["locations"] = [{"added": f.get("added")} for _i, f in index.rows("location")]
    data["links"] = [{"date": f.get("date")} for _i, f in index.rows("link")]
    # erased cases: their records are gone, so only when (counts; never an id)
    data["erasures"] = [{"erased": f.get("erased")} for _i, f in index.rows("erasure")]
    return data


def counted_cases(data: dict, start: date, end: date) -> list[str]:
    """The children's cases whose data the figures count (on the panel at some time in the
    period): the records a report with small numbers shown discloses."""
    ids = []
    for case in data.get("cases") or []:
        nominated, closed = as_date(case.get("nominated")), as_date(case.get("closed"))
        if nominated is None or nominated > end or (closed is not None and closed < start):
            continue
        ids.append(case["id"])
    return ids


def report_out(
    store,
    report: dict,
    text: str,
    fmt: str,
    *,
    records: list[str],
    out: Path | None = None,
    overwrite: bool = False,
    show=None,
) -> Path | None:
    """Write a rendered report to the file ``out`` (0600; returned), or give it to ``show``
    (standard output). A report whose small numbers are shown (not suppressed) can point
    to a child, so it is logged as one disclosure of the cases it counts, committed before
    the report is shown or put in place; a suppressed one is not a disclosure."""
    disclosed = not report["meta"].get("suppressed")
    output = "annual-review" if report["meta"].get("report") == "annual" else "report"
    if disclosed:
        check_can_disclose(store)
    if out is None:
        if disclosed:
            log_disclosure(store, output=output, form=fmt, records=records)
        if show is not None:
            show(text)
        return None
    return papers.write_out_file(
        Path(out),
        text,
        overwrite,
        store_root=store.root,
        disclose=(store, output, fmt, records) if disclosed else None,
    )


def settings_of(store) -> dict:
    """The profile's refresh rule and its risk tool's levels (highest first)."""
    profile = store.profile
    refresh = (profile.get("reviews") or {}).get("assessment_refresh_days")
    levels: list[str] = []
    if profile.get("risk_tool"):

        try:
            levels = list(risk.load_tool(profile["risk_tool"], store.root)["levels"])
        except InvalidInputError:
            levels = []
    panel = {"title": profile.get("title") or "", "area": profile.get("area") or ""}
    return {"refresh_days": refresh, "levels": levels, "panel": panel}


def _redact(text: str, name: object) -> str:
    """A closure reason on one line, any part of the child's name blanked out."""
    out = " ".join(str(text).split())
    for part in sorted(re.split(r"[\s,]+", str(name or "")), key=len, reverse=True):
        if len(part) >= 2:
            out = re.sub(re.escape(part), "[name]", out, flags=re.IGNORECASE)
    return out[:120]


# --- the figures (pure) -------------------------------------------------------------------


def _within(value: object, start: date, end: date) -> bool:
    day = as_date(value)
    return day is not None and start <= day <= end


def _sorted(counter: Counter, order: list[str] | tuple[str, ...] = ()) -> dict:
    """Counts in the given order first, then most first, then by name."""
    known = [k for k in order if k in counter]
    rest = sorted((k for k in counter if k not in order), key=lambda k: (-counter[k], str(k)))
    return {k: counter[k] for k in [*known, *rest]}


def age_band(dob: object, on: date) -> str:
    born = as_date(dob)
    if born is None:
        return NOT_RECORDED
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age < 12:
        return "under 12"
    if age >= 18:
        return "18+"
    return {12: "12-13", 13: "12-13", 14: "14-15", 15: "14-15"}.get(age, "16-17")


def _open_on(case: dict, day: date, before: bool = False) -> bool:
    """Open at the start of ``day`` (``before``) or at its end."""
    nominated, closed = as_date(case.get("nominated")), as_date(case.get("closed"))
    if nominated is None or (nominated >= day if before else nominated > day):
        return False
    if closed is None:
        return case.get("status") != "closed"
    return closed >= day if before else closed > day


def compute(
    data: dict,
    start: date,
    end: date,
    *,
    refresh_days: int | None = None,
    levels: list[str] | tuple[str, ...] = (),
    kind: str = "bimonthly",
    generated: date | None = None,
    panel: dict | None = None,
) -> dict:
    """The whole report as a plain dict: ``meta`` and ``sections`` {key: {item: value}}."""
    cases = data.get("cases") or []
    on_panel = [
        c
        for c in cases
        if as_date(c.get("nominated")) is not None
        and as_date(c["nominated"]) <= end
        and (_open_on(c, start, before=True) or _within(c.get("nominated"), start, end))
    ]
    held = [
        m
        for m in data.get("meetings") or []
        if m.get("status") == "held" and _within(m.get("date"), start, end)
    ]
    open_at_end = {c["id"] for c in cases if _open_on(c, end)}
    sections = _caseload(cases, on_panel, held, open_at_end, start, end)
    sections["caseload"]["cases_erased"] = sum(
        _within(e.get("erased"), start, end) for e in data.get("erasures") or []
    )
    sections.update(_risk(data.get("assessments") or [], on_panel, end, list(levels)))
    sections.update(_children(on_panel, end))
    sections["missing"] = _missing(cases, open_at_end, start, end)
    sections["intelligence"] = _intelligence(data, start, end)
    sections.update(_actions(data.get("actions") or [], start, end))
    sections.update(_meetings(data.get("meetings") or [], held, start, end))
    sections["assessment_compliance"] = _compliance(
        data.get("assessments") or [],
        [c for c in cases if c["id"] in open_at_end],
        end,
        refresh_days,
    )
    if kind == "annual":
        sections["trends"] = _trends(data, start, end)
    title = "Annual review" if kind == "annual" else "Panel data report"
    unfinished = kind == "annual" and generated is not None and generated <= end
    if unfinished:  # said on the report itself, not only on the screen
        title += f" (interim: the period is not over; figures to {show_date(generated)})"
    return {
        "meta": {
            "report": kind,
            "title": title,
            **({"unfinished": unfinished} if kind == "annual" else {}),
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "generated": (generated or uk_today()).isoformat(),
            "panel": panel or {"title": "", "area": ""},
            "assessment_refresh_days": refresh_days,
            "suppressed": False,
        },
        "sections": sections,
    }


def _caseload(
    cases: list[dict],
    on_panel: list[dict],
    held: list[dict],
    open_at_end: set[str],
    start: date,
    end: date,
) -> dict:
    """Cases open, new, repeated, reviewed and closed in the period, and why they closed."""
    new = [c for c in cases if _within(c.get("nominated"), start, end)]
    closed = [c for c in cases if _within(c.get("closed"), start, end)]
    discussions = [case_id for m in held for case_id in m.get("discussed") or []]
    return {
        "caseload": {
            "open_at_start": sum(_open_on(c, start, before=True) for c in cases),
            "new_nominations": len(new),
            "repeat_nominations": sum(bool(c.get("repeat_of")) for c in new),
            "closures": len(closed),
            "open_at_end": len(open_at_end),
            "reviews_held": len(discussions),
            "cases_reviewed": len(set(discussions)),
            "children_on_panel": len(on_panel),
        },
        "nominations_by_agency": _sorted(
            Counter(c.get("referring_agency") or NOT_RECORDED for c in new)
        ),
        "closure_reasons": _sorted(
            Counter(c.get("closure_reason") or NOT_RECORDED for c in closed)
        ),
    }


def _children(on_panel: list[dict], end: date) -> dict:
    """Who the children on the panel are: exploitation types, ages, gender, ethnicity,
    looked-after and out-of-area."""
    bands = Counter(age_band(c.get("dob"), end) for c in on_panel)
    return {
        "exploitation_types": _sorted(
            Counter(t for c in on_panel for t in c.get("exploitation_types") or [])
        ),
        "age_bands": {b: bands[b] for b in AGE_BANDS if b != NOT_RECORDED or bands[b]},
        "gender": _sorted(Counter(c.get("gender") or NOT_RECORDED for c in on_panel)),
        "ethnicity": _sorted(Counter(c.get("ethnicity") or NOT_RECORDED for c in on_panel)),
        "circumstances": {
            "children_on_panel": len(on_panel),
            "looked_after": sum(c.get("looked_after") is True for c in on_panel),
            "out_of_area": sum(c.get("out_of_area") is True for c in on_panel),
        },
    }


def _missing(cases: list[dict], open_at_end: set[str], start: date, end: date) -> dict:
    episodes = [
        (c["id"], e)
        for c in cases
        for e in c.get("missing") or []
        if _within(e.get("start"), start, end)
    ]
    missing_children = {case_id for case_id, _e in episodes}
    return {
        "episodes": len(episodes),
        "children_missing": len(missing_children),
        "children_missing_on_panel": len(missing_children & open_at_end),
    }


def _intelligence(data: dict, start: date, end: date) -> dict:
    persons = [p for p in data.get("persons") or [] if _within(p.get("added"), start, end)]
    return {
        "persons_added": sum(p.get("kind") != "group" for p in persons),
        "groups_added": sum(p.get("kind") == "group" for p in persons),
        "locations_added": sum(
            _within(x.get("added"), start, end) for x in data.get("locations") or []
        ),
        "links_made": sum(_within(x.get("date"), start, end) for x in data.get("links") or []),
    }


def _risk(assessments: list[dict], on_panel: list[dict], end: date, levels: list[str]) -> dict:
    by_case: dict[str, list[tuple[date, str]]] = {}
    for a in assessments:
        day = as_date(a.get("date"))
        if day is not None and day <= end and a.get("agreed"):
            by_case.setdefault(a["case"], []).append((day, a["agreed"]))
    first: Counter = Counter()
    latest: Counter = Counter()
    movement = {"increased": 0, "decreased": 0, "unchanged": 0, "not_assessed": 0}
    matrix: dict[str, Counter] = {}
    seen: list[str] = list(levels)
    for case in on_panel:
        found = sorted(by_case.get(case["id"]) or [])
        if not found:
            movement["not_assessed"] += 1
            continue
        a, b = found[0][1], found[-1][1]
        for level in (a, b):
            if level not in seen:
                seen.append(level)
        first[a] += 1
        latest[b] += 1
        matrix.setdefault(a, Counter())[b] += 1
        if a == b:
            movement["unchanged"] += 1
        elif seen.index(b) < seen.index(a):  # levels run highest first
            movement["increased"] += 1
        else:
            movement["decreased"] += 1
    used = [lv for lv in seen if first[lv] or latest[lv]]
    return {
        "risk_at_nomination": {lv: first[lv] for lv in used},
        "risk_latest": {lv: latest[lv] for lv in used},
        "risk_movement": movement,
        "risk_matrix": {
            row: {col: (matrix.get(row) or Counter())[col] for col in used} for row in used
        },
    }


def _actions(actions: list[dict], start: date, end: date) -> dict:
    totals = {"set": 0, "completed": 0, "completed_late": 0, "overdue": 0}
    by_agency: dict[str, dict] = {}
    for a in actions:
        agency = a.get("agency") or NOT_RECORDED
        row = by_agency.setdefault(agency, dict.fromkeys(totals, 0))
        due, completed = as_date(a.get("due")), as_date(a.get("completed"))
        counts = {
            "set": _within(a.get("set"), start, end),
            "completed": a.get("status") == "done" and _within(completed, start, end),
            "overdue": a.get("status") != "cancelled"
            and due is not None
            and due < end
            and (completed is None or completed > end)
            and (a.get("status") == "open" or completed is not None),
        }
        counts["completed_late"] = counts["completed"] and due is not None and completed > due
        for key, hit in counts.items():
            if hit:
                totals[key] += 1
                row[key] += 1
    by_agency = {k: v for k, v in by_agency.items() if any(v.values())}
    return {
        "actions": totals,
        "actions_by_agency": dict(sorted(by_agency.items(), key=lambda kv: kv[0].casefold())),
    }


def _meetings(meetings: list[dict], held: list[dict], start: date, end: date) -> dict:
    attendance: dict[str, dict] = {}
    for m in held:
        for person in m.get("attendance") or []:
            row = attendance.setdefault(
                person.get("agency") or NOT_RECORDED, {"present": 0, "apologies": 0}
            )
            row["apologies" if person.get("status") == "apologies" else "present"] += 1
            if person.get("status") == "virtual":  # counted as present, and shown apart
                row["virtual"] = row.get("virtual", 0) + 1
        for agency in m.get("unrepresented") or []:  # expected, and nobody there for it
            row = attendance.setdefault(agency, {"present": 0, "apologies": 0})
            row["not_represented"] = row.get("not_represented", 0) + 1
    # the same columns in every row, in one order; remote and unrepresented columns appear
    # only when some meeting in the period had them
    columns = [c for c in ("present", "virtual", "apologies", "not_represented")
               if any(c in row for row in attendance.values())]  # fmt: skip
    attendance = {k: {c: row.get(c, 0) for c in columns} for k, row in attendance.items()}
    return {
        "meetings": {
            "held": len(held),
            "quorate": sum(m.get("quorate") is True for m in held),
            "not_quorate": sum(m.get("quorate") is False for m in held),
            "quorum_not_recorded": sum(m.get("quorate") is None for m in held),
            "cancelled": sum(
                m.get("status") == "cancelled" and _within(m.get("date"), start, end)
                for m in meetings
            ),
        },
        "attendance_by_agency": dict(sorted(attendance.items(), key=lambda kv: kv[0].casefold())),
    }


def _compliance(
    assessments: list[dict], open_cases: list[dict], end: date, refresh_days: int | None
) -> dict:

    last: dict[str, date] = {}
    for a in assessments:
        day = as_date(a.get("date"))
        if day is not None and day <= end and (a["case"] not in last or last[a["case"]] < day):
            last[a["case"]] = day
    result = {
        "open_cases": len(open_cases),
        "current": 0,
        "overdue_refresh": 0,
        "never_assessed": 0,
    }
    for case in open_cases:
        assessed = last.get(case["id"])
        if assessed is None:
            result["never_assessed"] += 1
        elif assessment_overdue(assessed, refresh_days, end):
            result["overdue_refresh"] += 1
        else:
            result["current"] += 1
    return result


def _trends(data: dict, start: date, end: date) -> dict:
    keys = months_of(start, end)
    rows = {
        k: {
            "nominations": 0,
            "closures": 0,
            "meetings": 0,
            "actions_set": 0,
            "actions_completed": 0,
        }
        for k in keys
    }

    def add(value: object, column: str) -> None:
        day = as_date(value)
        if day is not None and start <= day <= end:
            rows[f"{day.year:04d}-{day.month:02d}"][column] += 1

    for c in data.get("cases") or []:
        add(c.get("nominated"), "nominations")
        add(c.get("closed"), "closures")
    for m in data.get("meetings") or []:
        if m.get("status") == "held":
            add(m.get("date"), "meetings")
    for a in data.get("actions") or []:
        add(a.get("set"), "actions_set")
        if a.get("status") == "done":
            add(a.get("completed"), "actions_completed")
    return rows


# --- wider circulation --------------------------------------------------------------------


def suppress_small(report: dict) -> dict:
    """A copy with every count from 1 to 4 shown as "<5" (0 stays 0)."""

    def walk(value: object) -> object:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
            return SMALL
        return value

    return {
        "meta": {**report["meta"], "suppressed": True},
        "sections": walk(report["sections"]),
    }


# --- rendering ----------------------------------------------------------------------------


def label(key: object) -> str:
    return ITEM_LABELS.get(str(key), str(key))


def figures(report: dict) -> list[tuple[str, str, object]]:
    """(section, item, value) for every figure; nested items joined with " / "."""
    rows = []
    for section, items in report["sections"].items():
        for item, value in items.items():
            if isinstance(value, dict):
                rows.extend((section, f"{item} / {sub}", v) for sub, v in value.items())
            else:
                rows.append((section, str(item), value))
    return rows


def render_report(report: dict, fmt: str, store_root: Path | None = None) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "item", "value"])
        writer.writerows(figures(report))
        return out.getvalue()
    if fmt not in FORMATS:
        raise InvalidInputError(f"Report format {fmt!r} is not one of: {', '.join(FORMATS)}.")

    env = papers.environment(store_root)
    env.filters.update(label=label)
    env.globals.update(bar_chart=bar_chart, SECTIONS=SECTIONS)
    meta = report["meta"]
    context = {
        "marking": papers.MARKING,
        "report": report,
        "meta": meta,
        "panel": meta["panel"],
        "generated": date.fromisoformat(meta["generated"]),
        "start": date.fromisoformat(meta["period"]["start"]),
        "end": date.fromisoformat(meta["period"]["end"]),
        "blocks": _blocks(report),
    }
    name = f"report/report.{fmt}.j2"
    return papers.render.run(env, name, context)


def _blocks(report: dict) -> list[dict]:
    """Each section ready for a template: its title, how to draw it, rows and columns."""
    blocks = []
    for key, items in report["sections"].items():
        title, how = SECTIONS.get(key, (key, "count"))
        block = {"key": key, "title": title, "how": how, "items": items, "columns": []}
        block["series"] = {}
        if how == "table":
            columns: list[str] = []
            for value in items.values():
                columns.extend(c for c in value if c not in columns)
            block["columns"] = columns
            if key == "trends":
                block["series"] = {
                    c: {m: row.get(c, 0) for m, row in items.items()} for c in columns
                }
        blocks.append(block)
    return blocks


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 2.5 if value == SMALL else 0.0


def _esc(text: object) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def bar_chart(items: dict, title: str = "") -> str:
    """A horizontal bar chart as inline SVG (no script, no external resources)."""
    from markupsafe import Markup

    rows = list(items.items())
    if not rows:
        return Markup("")
    label_w, bar_w, row_h = 190, 260, 18
    top = max(_number(v) for _k, v in rows) or 1.0
    height = row_h * len(rows) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{label_w + bar_w + 50}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 50} {height}" aria-label="{_esc(title)}">'
    ]
    for number, (key, value) in enumerate(rows):
        y = 3 + number * row_h
        width = round(bar_w * _number(value) / top, 1)
        name = label(key)
        name = name if len(name) <= 30 else name[:29] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="9">{_esc(name)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 6}" fill="#444"/>'
            f'<text x="{label_w + width + 4}" y="{y + 12}" font-size="9">{_esc(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
