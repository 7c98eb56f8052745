"""The plausible-date rules, with fixed dates: each refusal names the field, never the date."""

from __future__ import annotations

from datetime import date

import pytest

from panelctl.base.errors import InvalidInputError
from panelctl.model import risk
from panelctl.rules import plausible

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("dob", "nominated", "words"),
    [
        (date(9999, 1, 1), None, "in the future"),
        (date(1, 1, 1), None, "before 1900"),
        (date(2026, 12, 1), date(2026, 11, 30), "after the nomination"),
    ],
)
def test_implausible_births_are_refused_by_field(dob, nominated, words):
    with pytest.raises(InvalidInputError) as raised:
        plausible.check_dob(dob, TODAY, nominated=nominated)
    assert words in raised.value.message and raised.value.field == "dob"
    assert dob.isoformat() not in raised.value.message


def test_plausible_dates_pass():
    plausible.check_dob(date(2011, 3, 14), TODAY, nominated=TODAY)
    plausible.check_dob(date(1900, 1, 1), TODAY)
    plausible.check_past(TODAY, TODAY, "date", date(2011, 3, 14))
    plausible.check_due(TODAY, TODAY, "due")


@pytest.mark.parametrize(
    ("value", "dob", "words"),
    [(date(2099, 1, 1), None, "in the future"), (date(2010, 1, 1), date(2011, 3, 14), "before")],
)
def test_events_are_not_in_the_future_nor_before_birth(value, dob, words):
    with pytest.raises(InvalidInputError) as raised:
        plausible.check_past(value, TODAY, "assessment.date", dob)
    assert words in raised.value.message and raised.value.field == "assessment.date"


def test_a_due_date_before_the_meeting_is_refused():
    with pytest.raises(InvalidInputError, match="before the meeting"):
        plausible.check_due(date(2026, 12, 2), TODAY, "cases.C-0001.actions.1.due")


def test_a_single_factor_is_one_factor_not_its_letters():
    tool = risk.load_tool("rfm", None)
    factor = next(iter(risk.factors(tool)))
    assert risk.check_factors(tool, factor) == [factor]
    with pytest.raises(InvalidInputError, match="factors must be a list"):
        risk.check_factors(tool, {factor: True})
