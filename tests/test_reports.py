"""`panelctl report`: the panel data report and the annual review.

One hand-built store where every figure is known in advance (period September and October
2026), with the edges: a case nominated and closed inside the period, a repeat nomination,
a meeting without quorum, an action completed late, an assessment after the period, a child
turning 18 on the last day.
"""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, date, datetime

import pytest

from conftest import CANARY
from panelctl.base.errors import InvalidInputError
from panelctl.outputs import reports

START, END = date(2026, 9, 1), date(2026, 10, 31)
D = date.fromisoformat
POLICE, CSC, HEALTH = "Staffordshire Police", "Children's Services", "Health (Named Nurse)"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text + "T10:00:00").replace(tzinfo=UTC)


def _case(nominated, child, *, status="open", **more) -> dict:
    return {"status": status, "nominated": D(nominated), "child": {"name": CANARY, **child}, **more}


def build(store) -> None:
    """The store: cases C-0001..C-0007, meetings M-0001..M-0004, actions A-00001..A-00006."""
    with store.transaction("report fixture") as tx:
        c = [None]  # 1-based
        c.append(
            tx.create(
                "case",
                _case(
                    "2026-06-01",
                    {
                        "dob": D("2012-03-01"),
                        "gender": "Female",
                        "ethnicity": "White British",
                        "looked_after": True,
                    },
                    referring_agency=CSC,
                    exploitation_types=["sexual"],
                    missing=[{"start": _at("2026-09-10")}, {"start": _at("2026-08-01")}],
                ),
            )
        )
        c.append(
            tx.create(
                "case",
                _case(
                    "2026-05-01",
                    {"dob": D("2009-01-01"), "gender": "Male", "out_of_area": True},
                    status="closed",
                    closed=D("2026-09-15"),
                    closure_reason="Risk reduced",
                    referring_agency=CSC,
                    exploitation_types=["criminal"],
                ),
            )
        )
        c.append(  # nominated and closed inside the period; a repeat nomination
            tx.create(
                "case",
                _case(
                    "2026-09-05",
                    {"dob": D("2015-01-01"), "gender": "Female"},
                    status="closed",
                    closed=D("2026-10-20"),
                    closure_reason="Moved away with Quillonia",
                    referring_agency=POLICE,
                    repeat_of="C-0002",
                    exploitation_types=["sexual", "criminal"],
                    missing=[{"start": _at("2026-10-02"), "end": _at("2026-10-03")}],
                ),
            )
        )
        c.append(tx.create("case", _case("2026-10-01", {}, referring_agency=POLICE)))
        c.append(
            tx.create(
                "case",
                _case(
                    "2026-01-01",
                    {},
                    status="closed",
                    closed=D("2026-03-01"),
                    closure_reason="Old",
                    referring_agency=HEALTH,
                ),
            )
        )
        c.append(tx.create("case", _case("2026-11-05", {}, referring_agency=HEALTH)))
        c.append(  # turns 18 on the last day of the period
            tx.create(
                "case",
                _case(
                    "2026-04-01",
                    {"dob": D("2008-10-31"), "gender": "Male"},
                    referring_agency=HEALTH,
                    exploitation_types=["sexual"],
                ),
            )
        )
        for case, day, level in [
            (1, "2026-06-01", "Medium"),
            (1, "2026-10-01", "High"),
            (2, "2026-05-01", "High"),
            (3, "2026-09-05", "High"),
            (3, "2026-10-10", "Medium"),
            (7, "2026-07-01", "Medium"),
            (7, "2026-11-10", "High"),  # after the period: ignored
        ]:
            tx.create(
                "assessment",
                {
                    "case": c[case],
                    "tool": "rfm",
                    "date": D(day),
                    "assessor": "A Worker",
                    "agency": CSC,
                    "derived": level,
                    "agreed": level,
                },
            )

        def meeting(day, status, quorate, cases, attendance):
            data = {
                "date": D(day),
                "status": status,
                "cases": cases,
                "discussions": [{"case": x} for x in cases],
                "attendance": attendance,
            }
            if quorate is not None:
                data["quorate"] = quorate
            return tx.create("meeting", data)

        m1 = meeting(
            "2026-09-15",
            "held",
            True,
            [c[1], c[2]],
            [
                {"name": "Alice", "agency": POLICE, "status": "present"},
                {"name": "Bob", "agency": CSC, "status": "present"},
                {"name": "Carol", "agency": HEALTH, "status": "apologies"},
            ],
        )
        m2 = meeting(  # not quorate
            "2026-10-13",
            "held",
            False,
            [c[1], c[3]],
            [
                {"name": "Alice", "agency": POLICE, "status": "present"},
                {"name": "Dan", "agency": POLICE, "status": "deputy", "deputising_for": "Eve"},
            ],
        )
        meeting("2026-10-27", "cancelled", None, [], [])
        m4 = meeting("2026-11-10", "held", True, [c[1]], [{"name": "Alice", "agency": POLICE}])

        def action(agency, due, status, *, meeting=None, completed=None, created=None):
            data = {"description": "Do it", "agency": agency, "due": D(due), "status": status}
            if meeting:
                data["meeting"] = meeting
            if completed:
                data["completed"] = D(completed)
            if created:
                data["history"] = [{"at": _at(created), "by": "Sam", "change": "created"}]
            tx.create("action", data)

        action(POLICE, "2026-09-30", "done", meeting=m1, completed="2026-10-05")  # late
        action(CSC, "2026-10-10", "done", meeting=m1, completed="2026-10-01")
        action(POLICE, "2026-10-20", "open", meeting=m2)  # overdue
        action(HEALTH, "2026-12-01", "open", created="2026-09-20")
        action(POLICE, "2026-11-20", "open", meeting=m4)  # set after the period
        action(HEALTH, "2026-08-15", "done", completed="2026-11-02", created="2026-08-01")
        for kind, added in [
            ("person", "2026-09-10"),
            ("group", "2026-10-01"),
            ("person", "2026-08-01"),
        ]:
            tx.create("person", {"kind": kind, "names": ["X"], "added": D(added)})
        tx.create("location", {"kind": "hotspot", "name": "Park", "added": D("2026-09-20")})
        tx.create("location", {"kind": "hotspot", "name": "Shop"})
        for day in ("2026-10-05", "2026-07-01"):
            link = {"a": c[1], "b": "P-0001", "nature": "seen with", "source": "police"}
            tx.create("link", {**link, "date": D(day)})


@pytest.fixture
def built(store):
    build(store)
    return store


def _report(store, start=START, end=END, kind="bimonthly"):
    settings = reports.settings_of(store)
    return reports.compute(
        reports.gather(store, start, end),
        start,
        end,
        refresh_days=settings["refresh_days"],
        levels=settings["levels"],
        kind=kind,
        generated=date(2026, 11, 23),
        panel=settings["panel"],
    )


def test_every_figure_of_the_bimonthly_report(built):
    s = _report(built)["sections"]
    assert s["caseload"] == {
        "open_at_start": 3,
        "new_nominations": 2,
        "repeat_nominations": 1,
        "closures": 2,
        "open_at_end": 3,
        "reviews_held": 4,
        "cases_reviewed": 3,
        "children_on_panel": 5,
        "cases_erased": 0,
    }
    assert s["nominations_by_agency"] == {POLICE: 2}
    assert s["closure_reasons"] == {"Risk reduced": 1, "Moved away with [name]": 1}
    assert s["risk_at_nomination"] == {"High": 2, "Medium": 2}
    assert s["risk_latest"] == {"High": 2, "Medium": 2}
    assert s["risk_movement"] == {"increased": 1, "decreased": 1, "unchanged": 2, "not_assessed": 1}
    assert s["risk_matrix"] == {
        "High": {"High": 1, "Medium": 1},
        "Medium": {"High": 1, "Medium": 1},
    }
    assert s["exploitation_types"] == {"sexual": 3, "criminal": 2}
    assert s["age_bands"] == {
        "under 12": 1,
        "12-13": 0,
        "14-15": 1,
        "16-17": 1,
        "18+": 1,
        "not recorded": 1,
    }
    assert s["gender"] == {"Female": 2, "Male": 2, "not recorded": 1}
    assert s["ethnicity"] == {"not recorded": 4, "White British": 1}
    assert s["circumstances"] == {"children_on_panel": 5, "looked_after": 1, "out_of_area": 1}
    assert s["missing"] == {"episodes": 2, "children_missing": 2, "children_missing_on_panel": 1}
    assert s["intelligence"] == {
        "persons_added": 1,
        "groups_added": 1,
        "locations_added": 1,
        "links_made": 1,
    }
    assert s["actions"] == {"set": 4, "completed": 2, "completed_late": 1, "overdue": 2}
    assert s["actions_by_agency"] == {
        CSC: {"set": 1, "completed": 1, "completed_late": 0, "overdue": 0},
        HEALTH: {"set": 1, "completed": 0, "completed_late": 0, "overdue": 1},
        POLICE: {"set": 2, "completed": 1, "completed_late": 1, "overdue": 1},
    }
    assert s["meetings"] == {
        "held": 2,
        "quorate": 1,
        "not_quorate": 1,
        "quorum_not_recorded": 0,
        "cancelled": 1,
    }
    assert s["attendance_by_agency"] == {
        CSC: {"present": 1, "apologies": 0},
        HEALTH: {"present": 0, "apologies": 1},
        POLICE: {"present": 3, "apologies": 0},
    }
    assert s["assessment_compliance"] == {
        "open_cases": 3,
        "current": 1,
        "overdue_refresh": 1,
        "never_assessed": 1,
    }
    assert "trends" not in s


def test_annual_trends_by_month(built):
    report = _report(built, date(2026, 1, 1), date(2026, 12, 31), kind="annual")
    trends = report["sections"]["trends"]
    assert list(trends) == [f"2026-{m:02d}" for m in range(1, 13)]
    column = {k: [trends[m][k] for m in trends] for k in trends["2026-01"]}
    assert column["nominations"] == [1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0]
    assert column["closures"] == [0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert column["meetings"] == [0] * 8 + [1, 1, 1, 0]
    assert column["actions_set"] == [0] * 7 + [1, 3, 1, 1, 0]
    assert column["actions_completed"] == [0] * 9 + [2, 1, 0]
    assert report["sections"]["caseload"]["new_nominations"] == 7
    assert report["meta"]["report"] == "annual"


def test_json_and_csv_parse_back_and_never_hold_the_name(built, cli, coordinator):
    args = ("report", "bimonthly", "--period", "2026-09..2026-10", "--as-of", "2026-11-23")
    kw = {"store": built.root, "identity": coordinator.path}
    as_json = cli(*args, "--format", "json", **kw)
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["sections"]["caseload"]["open_at_end"] == 3
    assert data["meta"]["period"] == {"start": "2026-09-01", "end": "2026-10-31"}
    as_csv = cli(*args, "--format", "csv", **kw)
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["section", "item", "value"]
    assert ["actions", "completed_late", "1"] in rows
    assert ["risk_matrix", "Medium / High", "1"] in rows
    assert ["nominations_by_agency", POLICE, "2"] in rows
    texts = [as_json.output, as_csv.output]
    for fmt in ("md", "html"):
        texts.append(cli(*args, "--format", fmt, **kw).output)
    for text in texts:
        assert CANARY not in text
        assert "Quillonia" not in text and "Zabriskie" not in text


def test_default_period_and_html_is_marked_with_charts(built, cli, coordinator):
    result = cli(
        "report", "bimonthly", "--as-of", "2026-11-23", store=built.root, identity=coordinator.path
    )
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert html.count("OFFICIAL-SENSITIVE") >= 3  # title, page margins and fixed bars
    assert "<svg" in html and "<script" not in html.lower()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "1 Sep 2026 to 31 Oct 2026" in html


def test_suppress_small_and_out_file(built, cli, coordinator, tmp_path):
    out = tmp_path / "papers" / "annual.json"
    result = cli(
        "report",
        "annual",
        "--year",
        "2026",
        "--format",
        "json",
        "--suppress-small",
        "--out",
        str(out),
        store=built.root,
        identity=coordinator.path,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["meta"]["suppressed"] is True
    s = data["sections"]
    assert s["caseload"]["new_nominations"] == 7
    assert s["caseload"]["repeat_nominations"] == "<5"
    assert s["meetings"]["quorum_not_recorded"] == 0
    assert s["trends"]["2026-10"]["actions_completed"] == "<5"
    assert CANARY not in out.read_text()


# --- pure pieces ---------------------------------------------------------------------------


def test_suppress_small_keeps_zero_and_five():
    report = {"meta": {"suppressed": False}, "sections": {"x": {"a": 0, "b": 1, "c": 4, "d": 5}}}
    assert reports.suppress_small(report)["sections"]["x"] == {"a": 0, "b": "<5", "c": "<5", "d": 5}
    assert report["sections"]["x"]["b"] == 1  # the original is untouched


def test_compute_on_plain_data_without_a_store():
    data = {
        "cases": [
            {"id": "C-0001", "status": "open", "nominated": "2026-09-02", "dob": "2014-11-01"},
            {"id": "C-0002", "status": "closed", "nominated": "2026-09-03", "closed": "2026-09-04"},
        ],
        "meetings": [{"id": "M-0001", "date": "2026-09-10", "status": "held", "quorate": False}],
        "actions": [{"agency": "X", "set": "2026-09-10", "due": "2026-09-20", "status": "open"}],
    }
    s = reports.compute(data, START, END, refresh_days=42)["sections"]
    assert s["caseload"]["open_at_start"] == 0
    assert s["caseload"]["closures"] == 1 and s["caseload"]["open_at_end"] == 1
    assert s["age_bands"]["under 12"] == 1  # 11 on 31 October
    assert s["meetings"]["not_quorate"] == 1
    assert s["actions"]["overdue"] == 1
    assert s["assessment_compliance"]["never_assessed"] == 1


def test_periods():
    assert reports.default_bimonthly(date(2026, 11, 23)) == (START, END)
    assert reports.default_bimonthly(date(2026, 1, 5)) == (date(2025, 11, 1), date(2025, 12, 31))
    assert reports.parse_period("2026-09..2026-10") == (START, END)
    assert reports.parse_period("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    for bad in ("2026-10..2026-09", "Sept", "2026-13..2026-14"):
        with pytest.raises(InvalidInputError):
            reports.parse_period(bad)
    assert reports.age_band("2008-10-31", END) == "18+"
    assert reports.age_band("2008-11-01", END) == "16-17"


@pytest.mark.parametrize("fmt", ["json", "csv", "md", "html"])
def test_bimonthly_report_matches_its_golden_file(built, fmt):
    """Golden files: PANELCTL_REGENERATE_GOLDEN=1 rewrites them (see tests/golden/README.md)."""
    from test_papers import check_golden

    check_golden(f"report-bimonthly.{fmt}", reports.render_report(_report(built), fmt))
