"""`panelctl rfm import`: CSV, Excel, YAML and JSON; all or nothing; safe to repeat."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest

from conftest import CANARY, git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode

HEADER = [
    "case_id",
    "name",
    "dob",
    "school",
    "referring_agency",
    "assessment_date",
    "assessor",
    "assessor_agency",
    "factors",
    "level",
    "override_reason",
]


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def row(**values):
    base = {
        "assessment_date": "01/11/2026",
        "assessor": "Jo Worker",
        "assessor_agency": "Police",
        "level": "High",
    }
    return {**base, **values}


def commits(store):
    return git(store.root, "log", "--format=%s").splitlines()


def run_import(cli, store, coordinator, *args):
    return cli(
        "rfm", "import", *args, "--date", "23/11/2026", store=store.root, identity=coordinator.path
    )


def test_good_rows_create_cases_and_assessments_in_one_commit(cli, store, coordinator, tmp_path):
    path = write_csv(
        tmp_path / "rfms.csv",
        [
            row(name=CANARY, dob="14/03/2011", level="High"),
            row(name="Riley Ashdown", dob="2011-07-02", level="Medium"),
            row(name="riley ASHDOWN", dob="02/07/2011", assessment_date="15/11/2026", level="High"),
        ],
    )
    before = len(commits(store))
    result = run_import(cli, store, coordinator, str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)
    assert [(s["row"], s["action"], s["case"]) for s in steps] == [
        (2, "create case", "C-0001"),
        (3, "create case", "C-0002"),
        (4, "add assessment", "C-0002"),
    ]
    assert len(commits(store)) == before + 1
    assert commits(store)[0] == "Import risk matrices: 2 cases created, 3 assessments recorded"
    assert store.read("C-0002")["risk"] == "High"  # the latest by date
    assert len(list(store.index().rows("assessment"))) == 3
    assert CANARY not in result.output


def test_importing_the_same_file_twice_changes_nothing(cli, store, coordinator, tmp_path):
    path = write_csv(tmp_path / "rfms.csv", [row(name="Kasey Brightwater", dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(path)).exit_code == 0
    head = git(store.root, "rev-parse", "HEAD")
    again = run_import(cli, store, coordinator, str(path), "--format", "csv")
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.stdout and "Nothing to import" in again.stderr
    assert git(store.root, "rev-parse", "HEAD") == head


def test_one_bad_row_means_nothing_is_written_and_every_bad_row_is_named(
    cli, store, coordinator, tmp_path
):
    store.create("case", {"status": "closed", "child": {"name": "Closed Child"}})
    path = write_csv(
        tmp_path / "rfms.csv",
        [
            row(name="Good Child", dob="01/01/2012"),
            row(name=CANARY, dob="31/02/2011"),
            row(name="Another Child", dob="01/01/2012", assessment_date="", level="Huge"),
            row(case_id="C-0099"),
            row(case_id="C-0001"),
            row(name="Low Child", dob="01/01/2012", level="Low"),
            row(name="Factor Child", dob="01/02/2012", factors="not_a_factor", level=""),
            row(name="No Birthday"),
        ],
    )
    head = git(store.root, "rev-parse", "HEAD")
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    message = result.stderr
    assert "bad rows; nothing was imported" in message
    for expected in [
        "row 3, column dob: the value is not a real date",
        "row 4, column assessment_date: is empty",
        "row 4, column level:",
        "row 5, column case_id: there is no case C-0099",
        "row 6, column case_id: case C-0001 is closed",
        "row 7: a new case would be refused",
        "row 8, column factors:",
        "row 9, column dob: is empty",
    ]:
        assert expected in message, expected
    assert "row 2" not in message
    assert CANARY not in result.output and "Low Child" not in result.output
    assert git(store.root, "rev-parse", "HEAD") == head
    assert git(store.root, "status", "--porcelain") == ""


def test_dry_run_shows_the_plan_and_writes_nothing(cli, store, coordinator, tmp_path):
    path = write_csv(tmp_path / "rfms.csv", [row(name="Kasey Brightwater", dob="14/03/2011")])
    head = git(store.root, "rev-parse", "HEAD")
    result = run_import(cli, store, coordinator, str(path), "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["action"] == "create case"
    assert "Nothing was written" in result.stderr
    assert git(store.root, "rev-parse", "HEAD") == head


def test_excel_file_with_an_areas_own_layout(cli, store, coordinator, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "RFM export"
    sheet.append(
        ["Young person", "DOB", "Date completed", "Completed by", "Agency", "Overall risk"]
    )
    sheet.append(
        ["Morgan Tealby", date(2012, 1, 30), date(2026, 11, 1), "Jo Worker", "Police", "H"]
    )
    sheet.append(["Casey Oakridge", "08/09/2010", "02/11/2026", "Jo Worker", "Police", "M"])
    book.save(tmp_path / "export.xlsx")
    mapping = tmp_path / "map.yaml"
    mapping.write_bytes(
        yamlio.dump(
            {
                "sheet": "RFM export",
                "columns": {
                    "name": "Young person",
                    "dob": "DOB",
                    "assessment_date": "Date completed",
                    "assessor": "Completed by",
                    "assessor_agency": "Agency",
                    "level": "Overall risk",
                },
                "values": {"level": {"H": "High", "M": "Medium", "L": "Low"}},
            }
        )
    )
    result = run_import(
        cli, store, coordinator, str(tmp_path / "export.xlsx"), "--mapping", str(mapping)
    )
    assert result.exit_code == 0, result.output
    assert store.read("C-0001")["risk"] == "High" and store.read("C-0002")["risk"] == "Medium"
    assert store.read("C-0001")["child"]["dob"] == date(2012, 1, 30)


def test_mapping_naming_a_missing_column_is_refused(cli, store, coordinator, tmp_path):
    path = write_csv(tmp_path / "rfms.csv", [row(name="A Child", dob="01/01/2012")])
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  name: Young person\n")
    result = run_import(cli, store, coordinator, str(path), "--mapping", str(mapping))
    assert result.exit_code == ExitCode.INVALID_INPUT and "Young person" in result.stderr


def test_yaml_and_json_rows(cli, store, coordinator, tmp_path):
    rows = [
        row(
            name="Jordan Fenwick-Hale",
            dob="2009-11-23",
            factors="missing_episodes;older_associates",
        )
    ]
    rows[0].pop("level")
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    result = run_import(cli, store, coordinator, str(tmp_path / "rows.json"))
    assert result.exit_code == 0, result.output
    assessment = next(iter(store.index().rows("assessment")))[1]
    assert assessment["case"] == "C-0001" and assessment["derived"] == assessment["agreed"]
    (tmp_path / "rows.yaml").write_bytes(yamlio.dump(rows))
    again = run_import(cli, store, coordinator, str(tmp_path / "rows.yaml"))
    assert "Nothing to import" in again.stderr


def test_a_thousand_rows_import_in_one_commit(cli, store, coordinator, tmp_path):
    rows = [
        # a date of birth each: made-up names a letter apart with one date of birth would be
        # "similar", and refused (see test_names_import.py)
        row(name=f"Child {letters(n)}", dob=(date(2011, 1, 1) + timedelta(days=n)).isoformat())
        for n in range(1000)
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    before = len(commits(store))
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == 0, result.output
    assert len(commits(store)) == before + 1
    assert len(store.ids(store_type("case"))) == 1000
    again = run_import(cli, store, coordinator, str(path))
    assert again.exit_code == 0 and len(commits(store)) == before + 1


def letters(n: int) -> str:
    """A distinct made-up surname for each number."""
    return "".join("bcdfghjklm"[int(d)] for d in f"{n:04d}").capitalize() + "son"


def store_type(name):
    from panelctl.model.records import record_type

    return record_type(name)


def test_a_name_typed_into_another_column_never_reaches_the_error(
    cli, store, coordinator, tmp_path
):
    path = write_csv(tmp_path / "shifted.csv", [row(name="01/01/2012", dob=CANARY, level=CANARY)])
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "row 2, column dob: the value is not a real date" in result.stderr
    assert CANARY not in result.output and CANARY.split()[0] not in result.output


def test_implausible_dates_are_row_errors_naming_the_column_not_the_date(
    cli, store, coordinator, tmp_path
):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "name,dob,assessment_date,assessor,assessor_agency,level\n"
        f"{CANARY},01/01/9999,01/11/2026,Jo Lead,Police,Medium\n"
        "Sam Otherchild,14/03/1850,01/11/2026,Jo Lead,Police,Medium\n"
        "Kit Lateborn,14/03/2011,01/01/2001,Jo Lead,Police,Medium\n"
    )
    head = git(store.root, "rev-parse", "HEAD")
    result = cli(
        "rfm",
        "import",
        str(rows),
        "--date",
        "01/12/2026",
        store=store.root,
        identity=coordinator.path,
    )
    assert result.exit_code == 15
    assert "row 2, column dob: is in the future" in result.stderr
    assert "row 3, column dob: is before 1900" in result.stderr
    assert "row 4, column assessment_date: is before the child's date of birth" in result.stderr
    assert CANARY not in result.output and "9999" not in result.output
    assert git(store.root, "rev-parse", "HEAD") == head
