"""When a closed case's records have been kept long enough: the profile's retention rule,
as a plain function over dates (no store, no disk).

A profile's ``retention`` says ``years_after_closure`` (kept that many years after the case
closed) and may add ``until_age`` (kept at least until the child's birthday of that age).
With both, the later day applies: each is a minimum the panel's retention schedule sets. An
open case is never due.
"""

from __future__ import annotations

from datetime import date

from panelctl.base.dates import show_date


def add_years(day: date, years: int) -> date:
    """``day`` moved on ``years`` years; 29 February becomes 1 March (one day more kept,
    never one day less)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def retention_end(
    closed: date | None,
    dob: date | None,
    years_after_closure: int | None,
    until_age: int | None = None,
) -> tuple[date, str] | None:
    """The first day the case is past its retention period, and the rule that set it (a
    sentence with no name in it); None while the case is open or no rule applies."""
    if closed is None:
        return None
    ends: list[tuple[date, str]] = []
    if years_after_closure:
        ends.append(
            (
                add_years(closed, years_after_closure),
                f"{years_after_closure} years after closure ({show_date(closed)})",
            )
        )
    if until_age and dob is not None:
        ends.append((add_years(dob, until_age), f"until the child's {_ordinal(until_age)} birthday"))
    if not ends:
        return None
    day, rule = max(ends)
    if len(ends) > 1:
        rule = f"{rule}, the later of: " + "; ".join(r for _d, r in ends)
    return day, rule


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
