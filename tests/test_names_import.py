"""`rfm import` and names: a row joins a case only when the child is exactly the same
(name_key and date of birth) or it says case_id; a near match is an error naming the row
and the case (or row), never a silent merge; no value that could be a name is quoted."""

from __future__ import annotations

import pytest
from test_import import commits, row, run_import, store_type, write_csv

from conftest import CANARY, git
from panelctl.base.errors import ExitCode


def case_names(store):
    return sorted(store.read(i)["child"]["name"] for i in store.ids(store_type("case")))


def unchanged(store):
    """A check that the store is exactly as it was when this was called."""
    head, tree = git(store.root, "rev-parse", "HEAD"), git(store.root, "ls-tree", "-r", "HEAD")

    def check():
        assert git(store.root, "rev-parse", "HEAD") == head
        assert git(store.root, "ls-tree", "-r", "HEAD") == tree
        assert git(store.root, "status", "--porcelain") == ""

    return check


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Андрій Шевченко", "Богдан Коваленко"),  # two Ukrainian children
        ("王小明", "李华"),  # two Chinese names
        ("Child 1", "Child 2"),  # digits count
    ],
)
def test_two_children_with_one_date_of_birth_are_two_cases(
    cli, store, coordinator, tmp_path, first, second
):
    path = write_csv(
        tmp_path / "two.csv",
        [
            row(name=first, dob="14/03/2011", level="High"),
            row(name=second, dob="14/03/2011", level="Medium", factors=""),
        ],
    )
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == 0, result.output
    ids = sorted(store.ids(store_type("case")))
    assert len(ids) == 2
    by_name = {store.read(i)["child"]["name"]: store.read(i) for i in ids}
    assert set(by_name) == {first, second}
    # each child has its own assessment and risk: nothing dropped as "unchanged"
    assert by_name[first]["risk"] == "High" and by_name[second]["risk"] == "Medium"
    again = run_import(cli, store, coordinator, str(path))
    assert again.exit_code == 0 and len(store.ids(store_type("case"))) == 2


def test_the_same_child_written_differently_joins_its_case(cli, store, coordinator, tmp_path):
    first = write_csv(tmp_path / "a.csv", [row(name="Олександр Петренко", dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(first)).exit_code == 0
    later = write_csv(
        tmp_path / "b.csv",
        [row(name="  ОЛЕКСАНДР   петренко ", dob="2011-03-14", assessment_date="02/11/2026")],
    )
    result = run_import(cli, store, coordinator, str(later))
    assert result.exit_code == 0, result.output
    assert store.ids(store_type("case")) == ["C-0001"]
    assert len(store.ids(store_type("assessment"))) == 2


def test_a_near_match_with_a_case_is_an_error_naming_row_and_case(
    cli, store, coordinator, tmp_path
):
    known = write_csv(tmp_path / "known.csv", [row(name="Kasey Brightwater", dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(known)).exit_code == 0
    check = unchanged(store)
    near = [
        row(name="Ruby Ashford", dob="01/01/2012"),
        row(name="Casey Bright-Water", dob="14/03/2011", assessment_date="02/11/2026"),
    ]
    result = run_import(cli, store, coordinator, str(write_csv(tmp_path / "near.csv", near)))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "row 3, column name: the child has the same date of birth as case C-0001" in (
        result.stderr
    )
    assert "case_id" in result.stderr and "Casey" not in result.output
    assert "Kasey" not in result.output
    check()
    # the row says which child it is: that case ...
    near[1]["case_id"] = "C-0001"
    joined = run_import(cli, store, coordinator, str(write_csv(tmp_path / "join.csv", near)))
    assert joined.exit_code == 0, joined.output
    assert case_names(store) == ["Kasey Brightwater", "Ruby Ashford"]
    assert [store.read(i)["case"] for i in store.ids(store_type("assessment"))].count(
        "C-0001"
    ) == 2


def test_case_id_new_says_a_near_match_is_another_child(cli, store, coordinator, tmp_path):
    known = write_csv(tmp_path / "known.csv", [row(name="Ava Smith", dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(known)).exit_code == 0
    twin = [row(name="Eva Smith", dob="14/03/2011")]
    refused = run_import(cli, store, coordinator, str(write_csv(tmp_path / "t.csv", twin)))
    assert refused.exit_code == ExitCode.INVALID_INPUT and "C-0001" in refused.stderr
    twin[0]["case_id"] = "new"
    result = run_import(cli, store, coordinator, str(write_csv(tmp_path / "t2.csv", twin)))
    assert result.exit_code == 0, result.output
    assert case_names(store) == ["Ava Smith", "Eva Smith"]
    # "new" for the very same child is refused: it has a case
    check = unchanged(store)
    same = [row(name="AVA SMITH", dob="14/03/2011", case_id="new", assessment_date="03/11/2026")]
    again = run_import(cli, store, coordinator, str(write_csv(tmp_path / "t3.csv", same)))
    assert again.exit_code == ExitCode.INVALID_INPUT
    assert "row 2, column case_id: says new, but the child is case C-0001 already" in again.stderr
    check()


def test_a_near_match_within_the_file_names_the_earlier_row(cli, store, coordinator, tmp_path):
    check = unchanged(store)
    before = len(commits(store))
    rows = [
        row(name="Олександр Петренко", dob="14/03/2011"),
        row(name="Ruby Ashford", dob="14/03/2011"),
        row(name="Олена Петренко", dob="14/03/2011"),
        row(name="Oleksandr Petrenko", dob="14/03/2011"),  # another script: still near
    ]
    result = run_import(cli, store, coordinator, str(write_csv(tmp_path / "in.csv", rows)))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "row 4, column name: the child has the same date of birth as the child of row 2" in (
        result.stderr
    )
    assert "row 5, column name: the child has the same date of birth as the child of row 2" in (
        result.stderr
    )
    assert "row 3" not in result.stderr
    assert "Олен" not in result.output and "Petrenko" not in result.output
    assert len(commits(store)) == before
    check()


def test_no_value_in_any_column_reaches_an_import_error(cli, store, coordinator, tmp_path):
    """CANARY (a made-up child's name) typed into every column that is checked, and as a
    near match of a known child: every error names row and column, never the value."""
    known = write_csv(tmp_path / "known.csv", [row(name=CANARY, dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(known)).exit_code == 0
    added = cli(
        "agency", "add", "--name", "Police", "--sector", "police",
        store=store.root, identity=coordinator.path,
    )
    assert added.exit_code == 0, added.output
    check = unchanged(store)
    short = CANARY.split()[0][:3]  # a short name, which the old rule let through
    rows = [
        row(name="Ruby Ashford", dob="01/01/2012", level=CANARY),
        row(name="Ruby Ashford", dob="01/01/2012", level=short),
        row(name="Ruby Ashford", dob="01/01/2012", level=short.lower()),
        row(name="Ruby Ashford", dob="01/01/2012", factors=f"{CANARY};{short}", level=""),
        row(name="Ruby Ashford", dob=CANARY),
        row(name="Ruby Ashford", dob=short),
        row(name="Ruby Ashford", dob="01/01/2012", assessment_date=short.lower()),
        row(case_id=short),
        row(case_id=CANARY),
        row(name="Leo Marchetti", dob="02/01/2012", referring_agency=CANARY),
        row(name=CANARY.replace("Q", "K"), dob="14/03/2011"),  # near the known child
        row(name="--", dob="14/03/2011"),  # no letter: never matched to another "--"
    ]
    path = write_csv(tmp_path / "canary.csv", rows)
    result = run_import(cli, store, coordinator, str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    for number in range(2, 14):
        assert f"row {number}" in result.stderr, number
    assert "row 12, column name: the child has the same date of birth as case C-0001" in (
        result.stderr
    )
    assert "row 13, column name: has no letter or digit in it" in result.stderr
    output = result.output.casefold()
    for part in [*CANARY.replace("-", " ").split(), short]:
        assert part.casefold() not in output, part
    check()


def test_an_error_names_the_files_own_heading_and_the_field(cli, store, coordinator, tmp_path):
    known = write_csv(tmp_path / "known.csv", [row(name="Kasey Brightwater", dob="14/03/2011")])
    assert run_import(cli, store, coordinator, str(known)).exit_code == 0
    check = unchanged(store)
    path = tmp_path / "theirs.csv"
    path.write_text(
        "Young person,D.O.B,Date completed,Completed by,Agency,Overall risk\n"
        "Casey Brightwater,14/03/2011,02/11/2026,Jo Worker,Police,High\n"
        f"Ruby Ashford,{CANARY},02/11/2026,Jo Worker,Police,High\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns:\n  name: Young person\n  dob: D.O.B\n  assessment_date: Date completed\n"
        "  assessor: Completed by\n  assessor_agency: Agency\n  level: Overall risk\n"
    )
    result = run_import(cli, store, coordinator, str(path), "--mapping", str(mapping))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert (
        "row 2, column Young person (field name): the child has the same date of birth as "
        "case C-0001" in result.stderr
    )
    assert "row 3, column D.O.B (field dob): the value is not a real date" in result.stderr
    assert "Casey" not in result.output and CANARY.split()[0] not in result.output
    check()
