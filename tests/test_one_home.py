"""Rules that have one home, tested as plain functions (no disk)."""

from __future__ import annotations

from datetime import date

import pytest

from panelctl.base.errors import NotAllowedError
from panelctl.base.names import fold
from panelctl.casework.cases import case_from_nomination, closed_case


def test_fold_is_the_one_way_names_are_compared():
    assert fold("Jo  Smith") == fold(" jo smith ") == "jo smith"
    assert fold("ＪＯ Smith") == "jo smith"  # full-width letters (NFKC)
    assert fold("Straße") == fold("STRASSE")
    assert fold(None) == "" and fold(3) == ""


def test_a_case_from_a_nomination_whatever_brought_it():
    nomination = {
        "child": {"name": "Ada Example", "dob": date(2011, 2, 3)},
        "referring_agency": "Police",
        "assessment": {"tool": "rfm", "level": "High"},
        "concern": None,
    }
    case = case_from_nomination(nomination, date(2026, 3, 14), "Nominated")
    assert case == {
        "status": "open",
        "child": {"name": "Ada Example", "dob": date(2011, 2, 3)},
        "nominated": date(2026, 3, 14),
        "referring_agency": "Police",
        "lead_agency": "Police",  # the referrer leads until someone says otherwise
        "history": [{"date": date(2026, 3, 14), "event": "Nominated"}],
    }
    repeat = case_from_nomination(nomination, date(2026, 3, 14), "Nominated", "C-0007")
    assert repeat["repeat_of"] == "C-0007"
    assert repeat["history"][-1]["event"] == "Repeat nomination (earlier case C-0007)"


def test_closing_a_case_keeps_its_history_and_refuses_a_closed_one():
    case = {
        "id": "C-0001",
        "status": "open",
        "history": [{"date": date(2026, 1, 1), "event": "Nominated"}],
    }
    closed = closed_case(case, date(2026, 3, 14), "Risk reduced", ["Police", "Health"], "Closed")
    assert closed["status"] == "closed" and closed["closed"] == date(2026, 3, 14)
    assert closed["closure_agreed_by"] == ["Police", "Health"]
    assert [h["event"] for h in closed["history"]] == ["Nominated", "Closed"]
    assert case["status"] == "open" and len(case["history"]) == 1  # the input is not changed
    with pytest.raises(NotAllowedError, match="C-0001 is already closed"):
        closed_case(closed, date(2026, 3, 15), "again", ["Police"], "Closed")
