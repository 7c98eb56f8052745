"""Plausible dates: pure rules, each taking ``today``, that refuse a date which cannot be
right (a birth in the future or before 1900, a nomination in 2099, an assessment before the
child was born, an action due before the meeting that set it).

Each refusal names the field, never the value (a date of birth identifies a child).
"""

from __future__ import annotations

from datetime import date

from panelctl.base.errors import InvalidInputError

EARLIEST_BIRTH = date(1900, 1, 1)


def check_dob(
    dob: date | None,
    today: date,
    where: str = "child.dob",
    nominated: date | None = None,
    field: str = "dob",
) -> None:
    """A date of birth is not in the future, not after the nomination, not before 1900.
    ``where`` names it in the message (its key path); ``field`` is the error's field."""
    if dob is None:
        return
    if dob > today:
        raise InvalidInputError(f"{where} is in the future; check the date of birth.", field)
    if nominated is not None and dob > nominated:
        raise InvalidInputError(
            f"{where} is after the nomination date; check the date of birth.", field
        )
    if dob < EARLIEST_BIRTH:
        raise InvalidInputError(f"{where} is before 1900; check the date of birth.", field)


def check_past(value: date | None, today: date, field: str, dob: date | None = None) -> None:
    """A date that records something that happened (a nomination, an assessment, a missing
    episode) is not in the future and not before the child's birth, when the dob is known."""
    if value is None:
        return
    if value > today:
        raise InvalidInputError(f"{field} is in the future; give the day it happened.", field)
    if dob is not None and value < dob:
        raise InvalidInputError(f"{field} is before the child's date of birth.", field)


def check_due(due: date, meeting_day: date | None, field: str) -> None:
    """A due date set in a meeting is not before the meeting's date."""
    if meeting_day is not None and due < meeting_day:
        raise InvalidInputError(
            f"{field} is before the meeting that set it; give a date on or after it.", field
        )


def check_ahead(value: date | None, today: date, field: str) -> None:
    """A date set for something still to happen (a review the chair set, a flag's review)
    is not in the past."""
    if value is not None and value < today:
        raise InvalidInputError(
            f"{field} is in the past; give a date from today on.", field
        )
