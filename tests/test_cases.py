"""Nominations and the case lifecycle through the command line, on real stores."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from conftest import CANARY, git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.panel.setup import create_store


@pytest.fixture
def marac(tmp_path, coordinator):
    """A B&NES CSE MARAC store: no assessment needed to nominate."""
    return create_store(
        tmp_path / "marac", "cse-marac", "B&NES CSE MARAC", coordinator.unlock(), "B&NES Council"
    )


@pytest.fixture
def mace(store):
    return store  # the conftest store uses the Stoke MACE profile


def nominate(cli, store, coordinator, *args):
    return cli("nominate", *args, store=store.root, identity=coordinator.path)


MARAC_OK = [
    "--protocol-followed",
    "--exploitation-type",
    "sexual",
    "--referring-agency",
    "Avon and Somerset Police",
]


def test_nominate_prints_the_case_id_and_commits_without_the_name(cli, marac, coordinator):
    result = nominate(
        cli,
        marac,
        coordinator,
        "--name",
        CANARY,
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "01/11/2026",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "C-0001\n"
    case = marac.read("C-0001")
    assert case["child"]["name"] == CANARY and case["nominated"].isoformat() == "2026-11-01"
    assert case["status"] == "open" and case["lead_agency"] == "Avon and Somerset Police"
    messages = git(marac.root, "log", "--format=%s%n%b")
    assert CANARY not in messages and "C-0001" in messages


def test_refused_nomination_names_the_reason_and_writes_nothing(cli, marac, coordinator):
    head = git(marac.root, "rev-parse", "HEAD")
    result = nominate(cli, marac, coordinator, "--name", CANARY, "--exploitation-type", "criminal")
    assert result.exit_code == ExitCode.NOT_ALLOWED
    assert "multi-agency CSE protocol" in result.stderr and "sexual, trafficking" in result.stderr
    assert CANARY not in result.output
    assert git(marac.root, "rev-parse", "HEAD") == head


def test_mace_nomination_with_rfm_level_creates_case_and_assessment(cli, mace, coordinator):
    result = nominate(
        cli,
        mace,
        coordinator,
        "--name",
        "Riley Ashdown",
        "--dob",
        "02/07/2011",
        "--risk-level",
        "Medium",
        "--referring-agency",
        "Staffordshire Police",
        "--date",
        "2026-11-02",
    )
    assert result.exit_code == 0, result.output
    case = mace.read("C-0001")
    assert (case["risk"], case["risk_tool"]) == ("Medium", "rfm")
    ((assessment_id, fields),) = mace.index().rows("assessment")
    assert fields["case"] == "C-0001" and fields["agreed"] == "Medium"
    assert git(mace.root, "log", "-1", "--format=%s").strip().count("C-0001") >= 1
    low = nominate(cli, mace, coordinator, "--name", "Other Child", "--risk-level", "Low")
    assert low.exit_code == ExitCode.NOT_ALLOWED and "High or Medium" in low.stderr


def test_nominate_from_a_yaml_or_json_file(cli, marac, coordinator, tmp_path):
    nomination = {
        "child": {
            "name": "Morgan Tealby",
            "dob": "2012-01-30",
            "school": "Demo Academy",
            "looked_after": True,
        },
        "referring_agency": "Avon and Somerset Police",
        "involved_agencies": ["CAMHS"],
        "protocol_followed": True,
        "exploitation_types": ["sexual"],
        "concern": "Seen with older males",
        "consequences": "Escalating harm",
        "child_views": "Wants to stay at school",
    }
    as_json = tmp_path / "n.json"
    as_json.write_text(json.dumps(nomination))
    assert nominate(cli, marac, coordinator, "--from", str(as_json)).stdout == "C-0001\n"
    as_yaml = tmp_path / "n.yaml"
    as_yaml.write_bytes(
        yamlio.dump(
            {
                **nomination,
                "child": {**nomination["child"], "name": "Casey Oakridge", "dob": "2010-09-08"},
            }
        )
    )
    assert nominate(cli, marac, coordinator, "--from", str(as_yaml)).stdout == "C-0002\n"
    assert marac.read("C-0001")["child"]["looked_after"] is True
    broken = tmp_path / "bad.yaml"
    broken.write_text(f"child: [{CANARY}\n")
    result = nominate(cli, marac, coordinator, "--from", str(broken))
    assert (
        result.exit_code == ExitCode.INVALID_INPUT
        and CANARY not in result.output
        and "line" in result.stderr
    )


@pytest.mark.parametrize(
    "args,words",
    [
        (["--dob", "31/02/2011"], "child.dob"),
        (["--dob", "2011-13-01"], "child.dob"),
    ],
)
def test_bad_dates_are_named(cli, marac, coordinator, args, words):
    result = nominate(cli, marac, coordinator, "--name", CANARY, *MARAC_OK, *args)
    assert result.exit_code == ExitCode.INVALID_INPUT and words in result.stderr
    assert CANARY not in result.output


def test_duplicate_and_repeat_nomination_warnings(cli, marac, coordinator):
    first = nominate(
        cli,
        marac,
        coordinator,
        "--name",
        "Kasey Brightwater",
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "01/01/2026",
    )
    assert first.stdout == "C-0001\n"
    again = nominate(
        cli,
        marac,
        coordinator,
        "--name",
        "Casey Bright-Water",
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "01/02/2026",
    )
    assert again.exit_code == 0 and again.stdout == "C-0002\n"
    assert "C-0001 is an open case with the same date of birth and a similar name" in again.stderr
    assert "Kasey" not in again.stderr and "Casey" not in again.stderr
    other_dob = nominate(
        cli, marac, coordinator, "--name", "Kasey Brightwater", "--dob", "15/03/2011", *MARAC_OK
    )
    assert "Warning" not in other_dob.stderr
    assert (
        cli(
            "case",
            "close",
            "C-0001",
            "--reason",
            "Risk reduced",
            "--agreed-by",
            "Police",
            "--date",
            "01/03/2026",
            store=marac.root,
            identity=coordinator.path,
        ).exit_code
        == 0
    )
    assert (
        cli(
            "case",
            "close",
            "C-0002",
            "--reason",
            "Duplicate",
            "--agreed-by",
            "Police",
            "--date",
            "01/03/2026",
            store=marac.root,
            identity=coordinator.path,
        ).exit_code
        == 0
    )
    repeat = nominate(
        cli,
        marac,
        coordinator,
        "--name",
        "Kasey Brightwater",
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "01/11/2026",
    )
    assert "repeat nomination" in repeat.stderr and "C-0001" in repeat.stderr
    new_id = repeat.stdout.strip()
    assert marac.read(new_id)["repeat_of"] == "C-0001"
    long_after = nominate(
        cli,
        marac,
        coordinator,
        "--name",
        "Casey Brightwater",
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "02/03/2027",
    )
    assert long_after.exit_code == 0
    assert "repeat" not in long_after.stderr.replace(
        new_id, ""
    )  # C-0001 closed over 12 months before
    assert f"{new_id} is an open case" in long_after.stderr


def test_nominating_a_child_whose_case_is_open_is_refused_naming_the_case(
    cli, marac, coordinator
):
    """Exactly the same child (name as name_key compares it, and date of birth) with an open
    case: refused, store unchanged. A closed case's child may be nominated again."""
    first = nominate(cli, marac, coordinator, "--name", CANARY, "--dob", "14/03/2011", *MARAC_OK)
    assert first.stdout == "C-0001\n"
    head = git(marac.root, "rev-parse", "HEAD")
    same = CANARY.upper().replace("-", " ")  # case, hyphens and spacing aside: the same child
    again = nominate(cli, marac, coordinator, "--name", same, "--dob", "14/03/2011", *MARAC_OK)
    assert again.exit_code == ExitCode.NOT_ALLOWED
    assert "C-0001 is already an open case for this child" in again.stderr
    assert CANARY.split()[0].casefold() not in again.output.casefold()
    assert git(marac.root, "rev-parse", "HEAD") == head
    other = nominate(cli, marac, coordinator, "--name", same, "--dob", "15/03/2011", *MARAC_OK)
    assert other.exit_code == 0 and other.stdout == "C-0002\n"


def test_case_list_filters_and_formats_parse_back(cli, marac, coordinator):
    for name, kind in [("A Child", "sexual"), ("B Child", "trafficking"), ("C Child", "sexual")]:
        nominate(
            cli,
            marac,
            coordinator,
            "--name",
            name,
            "--protocol-followed",
            "--exploitation-type",
            kind,
        )
    cli(
        "case",
        "close",
        "C-0002",
        "--reason",
        "Moved away",
        "--agreed-by",
        "Police",
        store=marac.root,
        identity=coordinator.path,
    )
    as_json = cli(
        "case",
        "list",
        "--status",
        "open",
        "--format",
        "json",
        store=marac.root,
        identity=coordinator.path,
    )
    rows = json.loads(as_json.stdout)
    assert [r["id"] for r in rows] == ["C-0001", "C-0003"]
    assert all("name" not in r for r in rows)
    as_csv = cli(
        "case",
        "list",
        "--type",
        "trafficking",
        "--format",
        "csv",
        store=marac.root,
        identity=coordinator.path,
    )
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["id"], r["status"]) for r in parsed] == [("C-0002", "closed")]
    table = cli("case", "list", store=marac.root, identity=coordinator.path)
    assert "C-0003" in table.stdout and "A Child" not in table.stdout


def test_case_lifecycle_show_update_close_reopen_missing_flag(cli, marac, coordinator):
    nominate(
        cli,
        marac,
        coordinator,
        "--name",
        CANARY,
        "--dob",
        "14/03/2011",
        *MARAC_OK,
        "--date",
        "01/11/2026",
    )
    run = lambda *a: cli(*a, store=marac.root, identity=coordinator.path)  # noqa: E731
    assert (
        run(
            "case",
            "update",
            "C-0001",
            "--lead-professional",
            "Jo Worker",
            "--team",
            "Adolescent Team",
        ).exit_code
        == 0
    )
    unchanged = run("case", "update", "C-0001", "--team", "Adolescent Team")
    assert unchanged.exit_code == 0 and "nothing changed" in unchanged.stderr
    assert (
        run(
            "case", "missing", "C-0001", "--from", "14/11/2026 18:30", "--to", "15/11/2026 09:10"
        ).exit_code
        == 0
    )
    backwards = run(
        "case", "missing", "C-0001", "--from", "15/11/2026 18:30", "--to", "14/11/2026 09:10"
    )
    assert backwards.exit_code == ExitCode.INVALID_INPUT and "before" in backwards.stderr
    assert (
        run(
            "case",
            "flag",
            "C-0001",
            "--flag",
            "Older associates",
            "--owner",
            "Jo Worker",
            "--review",
            "01/12/2026",
            "--date",
            "20/11/2026",
        ).exit_code
        == 0
    )
    past_review = run(
        "case", "flag", "C-0001", "--flag", "Hotspot", "--owner", "Jo Worker",
        "--review", "19/11/2026", "--date", "20/11/2026",
    )  # fmt: skip
    assert past_review.exit_code == ExitCode.INVALID_INPUT
    assert "review is in the past" in past_review.stderr and "19" not in past_review.stderr
    past_due = run(
        "case", "update", "C-0001", "--review-due", "01/11/2026", "--date", "20/11/2026"
    )
    assert past_due.exit_code == ExitCode.INVALID_INPUT
    assert "review_due is in the past" in past_due.stderr
    no_reason = run("case", "close", "C-0001", "--reason", " ", "--agreed-by", "Police")
    assert no_reason.exit_code == ExitCode.INVALID_INPUT
    assert (
        run(
            "case",
            "close",
            "C-0001",
            "--reason",
            "Risk reduced",
            "--agreed-by",
            "Police",
            "--agreed-by",
            "CAMHS",
            "--date",
            "20/11/2026",
        ).exit_code
        == 0
    )
    twice = run("case", "close", "C-0001", "--reason", "Again", "--agreed-by", "Police")
    assert twice.exit_code == ExitCode.NOT_ALLOWED
    case = marac.read("C-0001")
    assert (
        case["closure_agreed_by"] == ["Police", "CAMHS"]
        and case["closed"].isoformat() == "2026-11-20"
    )
    assert run("case", "reopen", "C-0001", "--date", "21/11/2026").exit_code == 0
    shown = run("case", "show", "C-0001", "--format", "json")
    events = [e["what"] for e in json.loads(shown.stdout)["chronology"]]
    assert events[0] == "Nominated"
    assert events.index("Closed") < events.index("Reopened")
    assert any(e.startswith("Missing from 14/11/2026 18:30 to 15/11/2026 09:10") for e in events)
    assert any(e.startswith("Flag: Older associates") for e in events)
    table = run("case", "show", "C-0001")
    assert "Chronology" in table.stdout and "14 Nov 2026" in table.stdout
    messages = git(marac.root, "log", "--format=%s")
    assert CANARY not in messages and "Jo Worker" not in messages


def test_unknown_case_and_wrong_kind_of_id(cli, marac, coordinator):
    missing = cli("case", "show", "C-0404", store=marac.root, identity=coordinator.path)
    assert missing.exit_code == ExitCode.NOT_FOUND and "C-0404" in missing.stderr
    wrong = cli("case", "show", "A-00001", store=marac.root, identity=coordinator.path)
    assert wrong.exit_code == ExitCode.INVALID_INPUT


def test_nominate_without_a_name_and_no_terminal_fails_clearly(cli, marac, coordinator):
    result = nominate(cli, marac, coordinator, *MARAC_OK)
    assert result.exit_code == ExitCode.INVALID_INPUT and "child's name" in result.stderr


# --- profiles ------------------------------------------------------------------------


def test_profile_list_and_show(cli):
    listed = json.loads(cli("profile", "list", "--format", "json").stdout)
    assert [p["name"] for p in listed] == ["cse-marac", "cse-panel", "mace", "macse", "mcse"]
    shown = yamlio.load(cli("profile", "show", "macse").stdout)
    assert shown["risk_tool"] == "seraf" and shown["meetings"]["papers"] == {
        "days": 4,
        "count": "calendar",
    }
    assert shown["nation"] == "wales"


def test_store_settings_override_the_profile(cli, marac, coordinator):
    settings = marac.root / "panelctl.yaml"
    data = yamlio.load(settings.read_bytes())
    data["settings"] = {"meetings": {"slot_minutes": 20}, "entry_rules": []}
    settings.write_bytes(yamlio.dump(data))
    unsigned = cli("profile", "show", store=marac.root, identity=coordinator.path)
    assert unsigned.exit_code == ExitCode.TAMPERED and "not committed" in unsigned.stderr
    assert cli("settings", "commit", store=marac.root, identity=coordinator.path).exit_code == 0
    effective = yamlio.load(cli("profile", "show", store=marac.root).stdout)
    assert effective["meetings"]["slot_minutes"] == 20
    assert effective["meetings"]["papers"] == {
        "days": 3,
        "count": "working",
    }  # merged, not replaced
    result = nominate(cli, marac, coordinator, "--name", "Any Child")  # no entry rules now
    assert result.exit_code == 0, result.output


def test_a_sixth_area_is_a_new_file_not_new_code(cli, coordinator, tmp_path):
    from panelctl.model import profiles

    sixth = profiles.load("mace")
    sixth.update(
        name="north-demo",
        title="North Demo MACE",
        area="North Demo",
        entry_rules=[
            {"rule": "required_fields", "fields": ["child.name", "child.dob", "child.area"]}
        ],
    )
    path = tmp_path / "north-demo.yaml"
    path.write_bytes(yamlio.dump(sixth))
    made = cli(
        "init",
        str(tmp_path / "north"),
        "--profile",
        str(path),
        "--name",
        "North Demo",
        "--agency",
        "Council",
        identity=coordinator.path,
    )
    assert made.exit_code == 0, made.output
    root = tmp_path / "north"
    shown = yamlio.load(cli("profile", "show", store=root).stdout)
    assert shown["name"] == "north-demo"
    refused = cli(
        "nominate",
        "--name",
        "Any Child",
        "--dob",
        "01/01/2012",
        store=root,
        identity=coordinator.path,
    )
    assert refused.exit_code == ExitCode.NOT_ALLOWED and "child.area" in refused.stderr


def test_a_text_field_and_a_record_have_a_size_limit(cli, marac, coordinator, tmp_path):
    from panelctl.model import records

    head = git(marac.root, "rev-parse", "HEAD")
    long = "x" * (records.MAX_TEXT + 1)
    result = nominate(
        cli, marac, coordinator, "--name", CANARY, "--dob", "14/03/2011", "--concern", long,
        *MARAC_OK,
    )  # fmt: skip
    assert result.exit_code in (ExitCode.INVALID_INPUT, ExitCode.INVALID_RECORD), result.output
    assert "concern is longer than 20,000 characters" in result.stderr
    assert git(marac.root, "rev-parse", "HEAD") == head
    assert long[:100] not in result.output
    ok = nominate(cli, marac, coordinator, "--name", CANARY, "--dob", "14/03/2011", *MARAC_OK)
    assert ok.exit_code == 0, ok.output
    # many fields, each within the limit, still cannot make one record over 1 MB
    from panelctl.base.errors import InvalidRecordError

    head = git(marac.root, "rev-parse", "HEAD")
    case = marac.read("C-0001")
    case["flags"] = [
        {"flag": "f" * 19_000, "owner": "Jo Worker", "review": date(2027, 1, 1)}
        for _ in range(60)
    ]
    with pytest.raises(InvalidRecordError, match="case C-0001 would be larger than 1 MB"):
        with marac.transaction() as tx:
            tx.put(case)
    assert git(marac.root, "rev-parse", "HEAD") == head
