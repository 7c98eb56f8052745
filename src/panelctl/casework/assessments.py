"""Risk assessments of a case, recorded with a risk tool (see :mod:`panelctl.model.risk`).

Adding an assessment is one commit: the new ``assessment`` record, and the case's current
risk (``risk``, ``risk_tool``, ``assessed``) with a line in its history. A case's current
risk is the agreed level of its latest assessment by date; an assessment dated before
the latest is kept in the history but does not change the current risk. Queries read the
encrypted index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from panelctl.base.dates import as_date, show_date
from panelctl.base.dates import today as uk_today
from panelctl.base.errors import InvalidInputError, NotFoundError
from panelctl.model import records, risk
from panelctl.rules import plausible
from panelctl.store.core import Store, Transaction


def prepare(
    store: Store,
    case_id: str,
    date: date,
    assessor: str,
    agency: str,
    factors: Iterable[str],
    agreed: str | None = None,
    reason: str | None = None,
    tool: str | None = None,
    *,
    source: str | None = None,
    allow_closed: bool = False,
    today: date | None = None,
) -> dict:
    """The assessment record that :func:`add_assessment` would create (without its id).

    Checks everything, reads the case, writes nothing: what ``--dry-run`` shows.
    """
    record = _record(
        store, case_id, date, assessor, agency, factors, agreed, reason, tool, source, today
    )
    _check_case(_read_case(store, case_id), case_id, allow_closed)
    return record


@dataclass(frozen=True)
class Assessed:
    """What recording an assessment did."""

    id: str
    record: dict  # the assessment as recorded (without its id)
    case_risk: str | None  # the case's risk now
    sets_risk: bool  # False when a later assessment of the case already sets its risk
    latest: date | None  # the date of the assessment that sets the case's risk


def add_assessment(
    store: Store,
    case_id: str,
    date: date,
    assessor: str,
    agency: str,
    factors: Iterable[str],
    agreed: str | None = None,
    reason: str | None = None,
    tool: str | None = None,
    *,
    source: str | None = None,
    allow_closed: bool = False,
    today: date | None = None,
) -> Assessed:
    """Record an assessment of a case and update its current risk, in one commit.

    ``tool`` defaults to the panel's (``store.profile["risk_tool"]``).
    """
    record = _record(
        store, case_id, date, assessor, agency, factors, agreed, reason, tool, source, today
    )
    with store.transaction() as tx:
        case = _read_case(store, case_id)  # read under the lock: no lost update
        _check_case(case, case_id, allow_closed)
        plausible.check_past(  # ``date`` is a parameter here: as_date reads the dob
            record["date"], today or uk_today(), "date", as_date((case.get("child") or {}).get("dob"))
        )
        assessment_id = stage(tx, case, record)
        tx.message = f"Record risk assessment {assessment_id} of case {case_id}"
    return Assessed(
        assessment_id,
        record,
        case.get("risk"),
        sets_risk=case.get("assessed") == record["date"],
        latest=case.get("assessed"),
    )


def stage(tx: Transaction, case: dict, assessment: dict) -> str:
    """Within ``tx``: create the assessment of ``case`` and update the case (in place).

    ``assessment`` holds checked fields as :func:`prepare` returns them. The case's risk,
    tool and date change only when this assessment is its latest by date (on the same date,
    the one recorded last); its history gains a line either way. Returns the new id.
    """
    fields = {k: v for k, v in assessment.items() if v is not None and k != "case"}
    assessment_id = tx.create("assessment", {**fields, "case": case["id"]})
    latest = case.get("assessed")
    is_latest = latest is None or assessment["date"] >= latest
    if is_latest:
        case.update(
            risk=assessment["agreed"], risk_tool=assessment["tool"], assessed=assessment["date"]
        )
    case.setdefault("history", []).append(
        {"date": assessment["date"], "event": _event(assessment_id, assessment, is_latest)}
    )
    tx.put(case)
    return assessment_id


def history(store: Store, case_id: str) -> list[dict]:
    """A case's assessments from the index, oldest first (by date, then by id)."""
    _check_case_id(case_id)
    if not store.exists(case_id):
        raise NotFoundError(f"No case {case_id} in this store.")
    rows = []
    for assessment_id, fields in store.index().rows("assessment"):
        if fields.get("case") != case_id:
            continue
        row = {"id": assessment_id, **fields}
        row["override"] = fields.get("agreed") != fields.get("derived")
        row.setdefault("score", None)
        rows.append(row)
    return sorted(rows, key=lambda r: (r["date"], records.number_of(r["id"])))


# --- helpers -----------------------------------------------------------------------------


def _record(store, case_id, on, assessor, agency, factors, agreed, reason, tool, source, today):
    """The checked assessment fields (no case, no id): the tool's levels and who assessed."""
    _check_case_id(case_id)
    if not isinstance(on, date) or isinstance(on, datetime):
        raise InvalidInputError("An assessment's date must be a date (e.g. 14/03/2026).")
    today = today or uk_today()
    if on > today:
        raise InvalidInputError(
            f"The assessment date {show_date(on)} is after today ({show_date(today)}); "
            "record an assessment once it has been done."
        )
    for field, value in (("assessor", assessor), ("agency", agency)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"An assessment needs its {field}: who assessed, and for which agency.", field
            )
    tool_name = tool or store.profile["risk_tool"]
    result = risk.assess(risk.load_tool(tool_name, store.root), factors, agreed, reason)
    record = {
        "tool": tool_name,
        "date": on,
        "assessor": assessor.strip(),
        "agency": agency.strip(),
        "factors": result["factors"],
        "score": result["score"],
        "derived": result["derived"],
        "agreed": result["agreed"],
        "override_reason": result["override_reason"],
        "source": source,
    }
    return {k: v for k, v in record.items() if v is not None}


def _check_case_id(case_id: str) -> None:
    if records.type_of_id(case_id) is not records.CASE:
        raise InvalidInputError(f"{case_id} is not a case id (case ids look like C-0042).")


def _read_case(store: Store, case_id: str) -> dict:
    if not store.exists(case_id):
        raise NotFoundError(f"No case {case_id} in this store.")
    return store.read(case_id)


def _check_case(case: dict, case_id: str, allow_closed: bool) -> None:
    if case.get("status") == "closed" and not allow_closed:
        raise InvalidInputError(
            f"Case {case_id} is closed; reopen it first, or allow an assessment on a closed "
            "case.",
            "allow_closed",
        )


def _event(assessment_id: str, record: dict, is_latest: bool) -> str:
    """The line in the case's history: ids and levels only, never a name."""
    event = f"Risk assessed ({record['tool']}, {assessment_id}): {record['agreed']}"
    if record["agreed"] != record["derived"]:
        event += f" (override of the derived {record['derived']})"
    if not is_latest:
        event += "; dated before the latest assessment, so the current risk is unchanged"
    return event
