"""`panelctl retention due` (issue 14, item 2's first part): closed cases past the
profile's retention rule, from the index, by id and never by name."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import CANARY
from panelctl.rules.retention import add_years, retention_end


def test_years_after_closure_and_a_leap_day():
    assert retention_end(date(2019, 3, 3), None, 6) == (
        date(2025, 3, 3), "6 years after closure (3 Mar 2019)",
    )  # fmt: skip
    assert add_years(date(2020, 2, 29), 6) == date(2026, 3, 1)  # a day more, never less
    assert retention_end(None, date(2010, 1, 1), 6, 25) is None  # an open case
    assert retention_end(date(2019, 3, 3), None, None, 25) is None  # no birth date: no rule


@pytest.mark.parametrize(
    ("closed", "dob", "ends", "by"),
    [
        (date(2019, 3, 3), date(2001, 5, 1), date(2026, 5, 1), "until the child's 25th birthday"),
        (date(2022, 3, 3), date(1999, 5, 1), date(2028, 3, 3), "6 years after closure"),
    ],
)
def test_with_an_age_too_the_later_day_applies(closed, dob, ends, by):
    day, rule = retention_end(closed, dob, 6, 25)
    assert day == ends and rule.startswith(by) and "the later of" in rule


def test_retention_due_lists_closed_cases_past_the_rule(cli, store, coordinator):
    ids = []
    with store.transaction() as tx:
        for n, (closed, status) in enumerate(
            [(date(2018, 1, 10), "closed"), (date(2020, 6, 1), "closed"),
             (date(2021, 1, 1), "closed"), (None, "open")]
        ):  # fmt: skip
            case = {"status": status, "child": {"name": f"{CANARY} {n}", "dob": date(2010, 1, 1)},
                    "nominated": date(2017, 1, 1), "risk": "High"}  # fmt: skip
            if closed:
                case.update(closed=closed, closure_reason="Risk reduced", closure_agreed_by=["Police"])
            ids.append(tx.create("case", case))
    listed = cli("retention", "due", "--as-of", "01/07/2026", "--format", "json",
                 store=store.root, identity=coordinator.path)  # fmt: skip
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["case"] for r in rows] == [ids[0], ids[1]]  # the longest past first
    assert rows[0]["ends"] == "2024-01-10" and rows[0]["days_past"] == (date(2026, 7, 1) - date(2024, 1, 10)).days
    assert rows[1]["rule"] == "6 years after closure (1 Jun 2020)"
    assert CANARY not in listed.output
    check = cli("retention", "due", "--as-of", "01/07/2026", "--check",
                store=store.root, identity=coordinator.path)  # fmt: skip
    assert check.exit_code == 1
    none = cli("retention", "due", "--as-of", "01/07/2020", "--check",
               store=store.root, identity=coordinator.path)  # fmt: skip
    assert (none.exit_code, none.stdout) == (0, "")
