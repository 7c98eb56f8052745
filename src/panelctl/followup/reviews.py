"""Reviews due and risk assessments due for refresh, and who is behind on assessments.

Both reports read only the encrypted index (cases and meetings), so they are quick enough
for cron on a regional store. The rules are the profile's ``reviews.cadence_months`` and
``reviews.assessment_refresh_days``, applied by :mod:`meetingrules`; the functions that
take one case's facts (:func:`due_items`, :func:`assessment_state`) touch no store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from panelctl.base.errors import InvalidInputError
from panelctl.meetings.schedule import case_history
from panelctl.model import records
from panelctl.rules import meetingrules
from panelctl.store.core import Store

REVIEW, REFRESH, FIRST = "review", "assessment refresh", "first assessment"
#: the index fields of a case that the rules here and their rows read
CASE_FIELDS = ("status", "nominated", "review_due", "assessed", "lead_professional", "lead_agency")


# --- one case (pure) ----------------------------------------------------------------------


def due_items(
    fields: dict,
    last_discussed: date | None,
    cadence_months: int | None,
    refresh_days: int | None,
) -> list[tuple[str, date]]:
    """(what, due date) for one open case's index fields: its panel review under the
    cadence (or the chair's date), and its risk assessment's refresh. A case never
    assessed under a refresh rule owes its first assessment from its nomination."""
    found = []
    review = meetingrules.review_due(
        last_discussed,
        fields.get("nominated"),
        cadence_months,
        fields.get("review_due"),
    )
    if review is not None:
        found.append((REVIEW, review))
    state, due = assessment_state(fields, refresh_days)
    if state == "never" and due is not None:
        found.append((FIRST, due))
    elif state in ("current", "overdue") and due is not None:
        found.append((REFRESH, due))
    return found


def assessment_state(fields: dict, refresh_days: int | None) -> tuple[str, date | None]:
    """("none", None) with no refresh rule; ("never", nominated) when never assessed;
    otherwise ("current" or "overdue" as judged later, the last day it is current)."""
    if refresh_days is None:
        return "none", None
    assessed = fields.get("assessed")
    if assessed is None:
        return "never", fields.get("nominated")
    return "current", meetingrules.assessment_due(assessed, refresh_days)


# --- reviews due --------------------------------------------------------------------------


def reviews_due(store: Store, today: date, within: int = 0) -> list[dict]:
    """Open cases with a review or an assessment due on or before ``today`` + ``within``
    days: most overdue first. ``days_overdue`` is negative for the days still left."""
    if within < 0:
        raise InvalidInputError("The number of days ahead must be 0 or more.", "within")
    cadence, refresh = _rules(store)

    history = case_history(store, date.max)
    horizon = today + timedelta(days=within)
    rows = []
    for case_id, fields in _open_cases(store):
        last = history.get(case_id, (None, None))[0]
        for what, due in due_items(fields, last, cadence, refresh):
            if due <= horizon:
                rows.append(_case_row(case_id, fields, what, due, today))
    return sorted(rows, key=lambda r: (-r["days_overdue"], records.number_of(r["case"]), r["what"]))


# --- assessment compliance ----------------------------------------------------------------


def behind_on_assessments(store: Store, today: date) -> list[dict]:
    """Open cases whose assessment is overdue for refresh, or that were never assessed
    (only under a refresh rule): by lead agency, lead professional and case id."""
    return _behind(_open_cases(store), _rules(store)[1], today)


def _behind(open_cases: Iterable[tuple[str, dict]], refresh: int | None, today: date) -> list:
    rows = []
    for case_id, fields in open_cases:
        state, due = assessment_state(fields, refresh)
        if state == "current" and meetingrules.assessment_overdue(
            fields.get("assessed"), refresh, today
        ):
            rows.append({**_case_row(case_id, fields, REFRESH, due, today), "state": "overdue"})
        elif state == "never":
            row = _case_row(case_id, fields, FIRST, due, today) if due else _bare(case_id, fields)
            rows.append({**row, "state": "never assessed"})
    return sorted(
        rows,
        key=lambda r: (
            (r["lead_agency"] or "").casefold(),
            (r["lead_professional"] or "").casefold(),
            records.number_of(r["case"]),
        ),
    )


def compliance(store: Store, today: date, everyone: bool = False) -> list[dict]:
    """Counts per lead agency and per lead professional (within their agency): open cases,
    overdue refreshes and cases never assessed. Only those behind, unless ``everyone``.
    With no refresh rule in the profile nobody is behind: an empty list."""
    _cadence, refresh = _rules(store)
    if refresh is None:
        return []
    open_cases = list(_open_cases(store))
    counts: dict[tuple[str, str, str], dict] = {}
    for _case_id, fields in open_cases:
        for key in _groups(fields):
            counts.setdefault(key, _counter(key))["open_cases"] += 1
    for row in _behind(open_cases, refresh, today):
        column = "overdue_refreshes" if row["state"] == "overdue" else "never_assessed"
        for key in _groups(row):
            counts[key][column] += 1
    rows = [c for c in counts.values() if everyone or c["overdue_refreshes"] or c["never_assessed"]]
    return sorted(
        rows,
        key=lambda r: (
            r["lead_agency"].casefold(),
            r["level"] != "agency",
            r["lead_professional"].casefold(),
        ),
    )


def _groups(fields: dict) -> Iterable[tuple[str, str, str]]:
    agency = fields.get("lead_agency") or "(no lead agency)"
    professional = fields.get("lead_professional") or "(no lead professional)"
    return (("agency", agency, ""), ("professional", agency, professional))


def _counter(key: tuple[str, str, str]) -> dict:
    level, agency, professional = key
    return {
        "level": level,
        "lead_agency": agency,
        "lead_professional": professional,
        "open_cases": 0,
        "overdue_refreshes": 0,
        "never_assessed": 0,
    }


# --- helpers ------------------------------------------------------------------------------


def _rules(store: Store) -> tuple[int | None, int | None]:
    reviews = store.profile.get("reviews") or {}
    return reviews.get("cadence_months"), reviews.get("assessment_refresh_days")


#: the assessor panelctl before 0.3.0 wrote when it saved a panel's agreed level as an
#: assessment; such records are not assessments and never count for the refresh
PANEL_ASSESSOR = "Panel (chair)"


def _open_cases(store: Store) -> Iterable[tuple[str, dict]]:
    """(id, the CASE_FIELDS it has) for every open child's case, from those columns of the
    index; ``assessed`` is the date of its last real assessment (see :func:`real_assessed`).
    Perpetrator referrals are left out: they are never reviewed as a child's case (no review
    date, no risk assessment to refresh)."""
    ids, columns = store.index().table("case").columns((*CASE_FIELDS, "kind"))
    status = columns.get("status") or [None] * len(ids)
    kinds = columns.pop("kind", None) or [None] * len(ids)
    corrected = real_assessed(store)
    for i, case_id in enumerate(ids):
        if status[i] != "open" or kinds[i] == "perpetrator":
            continue
        fields = {name: values[i] for name, values in columns.items()}
        if case_id in corrected:
            fields["assessed"] = corrected[case_id]
        yield case_id, fields


def real_assessed(store: Store) -> dict[str, date | None]:
    """For each case whose latest assessment date came from a panel's agreed level saved as
    an assessment by panelctl before 0.3.0 (assessor "Panel (chair)"), the date of its last
    real assessment (None: never assessed). Other cases are not listed: their ``assessed``
    is already a real assessment's."""
    panel, real = {}, {}
    for _aid, f in store.index().rows("assessment"):
        case_id, on = f.get("case"), f.get("date")
        if not case_id or on is None:
            continue
        bucket = panel if f.get("assessor") == PANEL_ASSESSOR else real
        if bucket.get(case_id) is None or on > bucket[case_id]:
            bucket[case_id] = on
    return {
        case_id: real.get(case_id)
        for case_id, on in panel.items()
        if real.get(case_id) is None or on >= real[case_id]
    }


def _case_row(case_id: str, fields: dict, what: str, due: date, today: date) -> dict:
    return {
        **_bare(case_id, fields),
        "what": what,
        "due": due.isoformat(),
        "days_overdue": (today - due).days,
    }


def _bare(case_id: str, fields: dict) -> dict:
    return {
        "case": case_id,
        "what": FIRST,
        "due": None,
        "days_overdue": None,
        "assessed": fields.get("assessed"),
        "lead_professional": fields.get("lead_professional"),
        "lead_agency": fields.get("lead_agency"),
    }
