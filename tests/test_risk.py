"""Risk tools and assessments: levels at the edge of every band and count, overrides with
their reasons, a store's own tool, `panelctl rfm` on a store, and a case's current risk."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from conftest import CANARY, git
from panelctl.base.errors import ExitCode, InvalidInputError, NotFoundError
from panelctl.casework import assessments
from panelctl.model import risk
from panelctl.panel.settings import commit_settings

CASE = {"status": "open", "child": {"name": CANARY, "dob": date(2011, 4, 2)}}
TODAY = date(2026, 3, 20)


@pytest.fixture(scope="module")
def seraf():
    return risk.load_tool("seraf")


@pytest.fixture(scope="module")
def rfm():
    return risk.load_tool("rfm")


def with_points(tool, points):
    return [f["id"] for f in risk.factors(tool).values() if f["points"] == points]


def of_kind(tool, kind):
    return [f["id"] for f in risk.factors(tool).values() if f["level"] == kind]


# --- the packaged tools ------------------------------------------------------------------


def test_the_packaged_tools_load_and_list_levels_highest_first():
    assert {"rfm", "seraf", "judgement"} <= set(risk.names())
    assert risk.load_tool("rfm")["levels"] == ["High", "Medium", "Low"]
    assert risk.load_tool("seraf")["levels"] == ["Significant", "Moderate", "Mild", "Not at risk"]
    assert risk.load_tool("judgement")["sections"] == []


def test_each_profile_names_a_tool_that_exists():
    from panelctl.model import profiles

    for name in profiles.names():
        assert risk.load_tool(profiles.load(name)["risk_tool"])


@pytest.mark.parametrize(
    ("fives", "ones", "score", "level"),
    [
        (0, 0, 0, "Not at risk"),
        (0, 5, 5, "Not at risk"),
        (1, 0, 5, "Not at risk"),
        (0, 6, 6, "Mild"),
        (1, 1, 6, "Mild"),
        (0, 10, 10, "Mild"),
        (2, 0, 10, "Mild"),
        (0, 11, 11, "Moderate"),
        (2, 1, 11, "Moderate"),
        (3, 0, 15, "Moderate"),
        (0, 15, 15, "Moderate"),
        (3, 1, 16, "Significant"),
        (0, 16, 16, "Significant"),
        (7, 21, 56, "Significant"),
    ],
)
def test_seraf_levels_at_the_edges_of_every_band(seraf, fives, ones, score, level):
    chosen = with_points(seraf, 5)[:fives] + with_points(seraf, 1)[:ones]
    assert len(chosen) == fives + ones
    assert risk.derive(seraf, chosen) == (level, score)


def test_seraf_scores_vulnerabilities_and_moderate_indicators_one_and_significant_five(seraf):
    points = {
        s["id"]: {f["points"] for f in risk.factors(seraf).values() if f["section"] == s["id"]}
        for s in seraf["sections"]
    }
    assert points == {"vulnerabilities": {1}, "moderate": {1}, "significant": {5}}
    assert "0-5 Not at risk, 6-10 Mild, 11-15 Moderate, 16+ Significant" in risk.describe(seraf)


@pytest.mark.parametrize(
    ("high", "medium", "low", "level"),
    [
        (0, 0, 0, "Low"),
        (0, 0, 2, "Low"),
        (0, 0, 3, "Medium"),
        (0, 1, 0, "Medium"),
        (0, 2, 2, "Medium"),
        (0, 3, 0, "High"),
        (1, 0, 0, "High"),
        (1, 2, 5, "High"),
    ],
)
def test_rfm_levels_at_the_count_thresholds(rfm, high, medium, low, level):
    chosen = (
        of_kind(rfm, "high")[:high] + of_kind(rfm, "medium")[:medium] + of_kind(rfm, "low")[:low]
    )
    assert len(chosen) == high + medium + low
    assert risk.derive(rfm, chosen) == (level, None)


def test_a_factor_given_twice_counts_once_and_ids_are_forgiving(seraf, rfm):
    assert risk.derive(seraf, ["missing_overnight", "missing_overnight"]) == ("Not at risk", 5)
    assert risk.assess(rfm, ["Older-Associates", "older_associates"])["factors"] == [
        "older_associates"
    ]


def test_an_unknown_factor_is_refused_by_its_id(rfm):
    with pytest.raises(InvalidInputError, match=r"'missing_episode' for the rfm tool") as error:
        risk.assess(rfm, ["missing_episodes", "missing_episode"])
    assert "panelctl rfm factors rfm" in error.value.message


# --- agreed levels and overrides ---------------------------------------------------------


def test_the_agreed_level_is_the_derived_one_unless_the_panel_says_otherwise(rfm):
    result = risk.assess(rfm, ["missing_episodes"])
    assert result == {
        "tool": "rfm",
        "factors": ["missing_episodes"],
        "score": None,
        "derived": "Medium",
        "agreed": "Medium",
        "override": False,
        "override_reason": None,
    }
    assert risk.assess(rfm, ["missing_episodes"], agreed="medium")["agreed"] == "Medium"


def test_an_override_needs_a_reason_and_is_recorded_as_one(rfm):
    with pytest.raises(InvalidInputError, match="override needs the panel's reason"):
        risk.assess(rfm, ["missing_episodes"], agreed="High")
    with pytest.raises(InvalidInputError, match="override"):
        risk.assess(rfm, ["missing_episodes"], agreed="High", reason="   ")
    result = risk.assess(rfm, ["missing_episodes"], agreed="high", reason=" Police intelligence ")
    assert (result["derived"], result["agreed"], result["override"]) == ("Medium", "High", True)
    assert result["override_reason"] == "Police intelligence"


def test_a_reason_without_an_override_and_an_unknown_level_are_refused(rfm):
    with pytest.raises(InvalidInputError, match="only for an override"):
        risk.assess(rfm, ["missing_episodes"], reason="agreed by all")
    with pytest.raises(InvalidInputError, match="use one of: High, Medium, Low"):
        risk.assess(rfm, [], agreed="Severe", reason="x")


def test_the_judgement_tool_takes_the_panels_level():
    judgement = risk.load_tool("judgement")
    with pytest.raises(
        InvalidInputError, match=r"the level the panel agreed \(High/Medium/Low\)"
    ) as refused:
        risk.assess(judgement, [])
    assert refused.value.field == "agreed"
    result = risk.assess(judgement, [], agreed="medium")
    assert (result["derived"], result["agreed"], result["override"]) == ("Medium", "Medium", False)
    with pytest.raises(InvalidInputError, match="Unknown factor 'missing_episodes'"):
        risk.assess(judgement, ["missing_episodes"], agreed="Low")


# --- a store's own tools -----------------------------------------------------------------

OWN_TOOL = """\
name: {name}
title: Local matrix
levels: [Red, Amber, Green]
sections:
  - id: signs
    title: Signs
    points: 2
    factors:
      - {{id: seen_late, text: Seen out late}}
      - {{id: new_phone, text: New phone, points: 7}}
derive:
  method: bands
  bands: [{{min: 0, level: Green}}, {{min: 4, level: Amber}}, {{min: 9, level: Red}}]
"""


def write_tool(root, name, text):
    folder = root / ".panelctl" / "risktools"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    return folder / f"{name}.yaml"


def test_a_stores_own_tool_is_used_and_wins_over_the_packaged_one(tmp_path):
    write_tool(tmp_path, "local", OWN_TOOL.format(name="local"))
    write_tool(tmp_path, "rfm", OWN_TOOL.format(name="rfm"))
    assert {"local", "rfm", "seraf"} <= set(risk.names(tmp_path))
    local = risk.load_tool("local", tmp_path)
    assert risk.derive(local, ["seen_late"]) == ("Green", 2)
    assert risk.derive(local, ["seen_late", "new_phone"]) == ("Red", 9)
    assert risk.load_tool("rfm", tmp_path)["levels"] == ["Red", "Amber", "Green"]
    assert risk.source_of("rfm", tmp_path) == "store"
    assert risk.load_tool("rfm")["levels"] == ["High", "Medium", "Low"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("min: 0, level: Green", "min: 1, level: Green"), "needs a band with min 0"),
        (("    points: 2\n", ""), r"factors\[1\] has no points"),
        (("method: bands", "method: vibes"), "derive.method must be one of"),
        (("level: Amber", "level: Purple"), r"bands\[2\].level must be one of the levels"),
        (("id: seen_late", "id: Seen-Late"), "snake_case"),
        (("id: new_phone", "id: seen_late"), "seen_late is used twice"),
        (("title: Local matrix", "title: Local matrix\nshape: round"), "unknown keys shape"),
        (("name: local", "name: other"), "file is named local.yaml"),
        (("levels: [Red, Amber, Green]", "levels: [Red, Amber, Green"), "not valid YAML"),
    ],
)
def test_a_broken_tool_file_is_named_with_its_problem(tmp_path, change, problem):
    path = write_tool(tmp_path, "local", OWN_TOOL.format(name="local").replace(*change))
    with pytest.raises(InvalidInputError, match=problem) as error:
        risk.load_tool("local", tmp_path)
    assert str(path) in error.value.message


def test_tool_names_are_checked():
    with pytest.raises(InvalidInputError, match="lower-case letters"):
        risk.load_tool("../../etc/passwd")
    with pytest.raises(InvalidInputError, match="Unknown risk tool 'nope'; choose one of: "):
        risk.load_tool("nope")


# --- assessments in a store --------------------------------------------------------------


@pytest.fixture
def case_id(store):
    return store.create("case", CASE)


def add(store, case_id, on, factors=(), **options):
    return assessments.add_assessment(
        store, case_id, on, "Jo Lead", "Children's Services", list(factors), today=TODAY, **options
    ).id


def test_adding_an_assessment_is_one_commit_that_sets_the_cases_risk(store, case_id):
    before = git(store.root, "rev-list", "--count", "HEAD")
    assessment_id = add(store, case_id, date(2026, 3, 14), ["missing_episodes", "older_associates"])
    assert int(git(store.root, "rev-list", "--count", "HEAD")) == int(before) + 1
    assert git(store.root, "log", "-1", "--format=%s").strip() == (
        f"Record risk assessment {assessment_id} of case {case_id}"
    )
    record = store.read(assessment_id)
    assert record["case"] == case_id and record["tool"] == "rfm"  # the mace profile's tool
    assert (record["derived"], record["agreed"], record["date"]) == (
        "Medium",
        "Medium",
        date(2026, 3, 14),
    )
    assert "override_reason" not in record
    case = store.read(case_id)
    assert (case["risk"], case["risk_tool"], case["assessed"]) == (
        "Medium",
        "rfm",
        date(2026, 3, 14),
    )
    assert case["history"] == [
        {"date": date(2026, 3, 14), "event": f"Risk assessed (rfm, {assessment_id}): Medium"}
    ]


def test_the_current_risk_is_the_latest_agreed_level_by_date(store, case_id):
    newer = add(store, case_id, date(2026, 3, 14), ["missing_overnight"])
    older = add(store, case_id, date(2026, 2, 1), ["late_home"])
    case = store.read(case_id)
    assert (case["risk"], case["assessed"]) == ("High", date(2026, 3, 14))
    assert "current risk is unchanged" in case["history"][-1]["event"]
    rows = assessments.history(store, case_id)
    assert [(r["id"], r["date"], r["agreed"]) for r in rows] == [
        (older, date(2026, 2, 1), "Low"),
        (newer, date(2026, 3, 14), "High"),
    ]
    same_day = add(store, case_id, date(2026, 3, 14), [], agreed="Medium", reason="Risk reducing")
    assert store.read(case_id)["risk"] == "Medium"  # the same date: the one recorded last
    assert (
        assessments.history(store, case_id)[-1] | {"override": True}
        == assessments.history(store, case_id)[-1]
    )
    assert store.read(same_day)["override_reason"] == "Risk reducing"


def test_staging_several_assessments_in_one_transaction_keeps_the_latest(store, case_id):
    """As a bulk import does: one commit, the case updated in place by each assessment."""
    prepared = [
        assessments.prepare(store, case_id, on, "Jo", "Police", factors, today=TODAY)
        for on, factors in ((date(2026, 3, 1), ["sex_for_goods"]), (date(2026, 2, 1), []))
    ]
    assert prepared[0] == {
        "tool": "rfm",
        "date": date(2026, 3, 1),
        "assessor": "Jo",
        "agency": "Police",
        "factors": ["sex_for_goods"],
        "derived": "High",
        "agreed": "High",
    }
    head = git(store.root, "rev-parse", "HEAD").strip()
    with store.transaction() as tx:
        case = store.read(case_id)
        ids = [assessments.stage(tx, case, {**p, "score": None}) for p in prepared]
    assert git(store.root, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert [store.read(i)["agreed"] for i in ids] == ["High", "Low"]
    assert "score" not in store.read(ids[1])
    assert store.read(case_id)["risk"] == "High"


def test_a_refused_assessment_changes_nothing(store, case_id):
    head = git(store.root, "rev-parse", "HEAD")
    with pytest.raises(InvalidInputError, match=r"Unknown factor \(the 1st given\)"):
        add(store, case_id, date(2026, 3, 14), ["nonsense"])
    with pytest.raises(InvalidInputError, match="after today"):
        add(store, case_id, date(2026, 3, 21))
    with pytest.raises(InvalidInputError, match="needs its assessor") as refused:
        assessments.add_assessment(store, case_id, date(2026, 3, 1), " ", "Police", [], today=TODAY)
    assert refused.value.field == "assessor"
    with pytest.raises(NotFoundError, match="No case C-0099"):
        add(store, "C-0099", date(2026, 3, 14))
    with pytest.raises(InvalidInputError, match="not a case id"):
        add(store, "M-0001", date(2026, 3, 14))
    assert git(store.root, "rev-parse", "HEAD") == head


def test_a_closed_case_needs_allow_closed(store, case_id):
    case = store.read(case_id)
    store.update({**case, "status": "closed", "closed": date(2026, 3, 1)})
    with pytest.raises(InvalidInputError, match="is closed; reopen it first, or allow") as refused:
        add(store, case_id, date(2026, 3, 14))
    assert refused.value.field == "allow_closed"
    add(store, case_id, date(2026, 3, 14), allow_closed=True)
    assert store.read(case_id)["risk"] == "Low"


def test_another_tool_may_be_named(store, case_id):
    assessment_id = add(
        store, case_id, date(2026, 3, 14), with_points(risk.load_tool("seraf"), 5)[:2], tool="seraf"
    )
    record = store.read(assessment_id)
    assert (record["tool"], record["score"], record["agreed"]) == ("seraf", 10, "Mild")
    assert store.read(case_id)["risk_tool"] == "seraf"


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def rfm_cli(cli, store, coordinator):
    def run(*args):
        return cli("rfm", *args, store=store.root, identity=coordinator.path)

    return run


def test_rfm_add_and_list_on_the_command_line(rfm_cli, store, case_id):
    common = ["--assessor", "Jo Lead", "--agency", "Police"]
    result = rfm_cli(
        "add", case_id, "--date", "14/03/2026", *common, "--factor", "missing_episodes"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "RA-00001: rfm derived Medium; agreed Medium\n"
    result = rfm_cli(
        "add",
        case_id,
        "--date",
        "2026-01-10",
        *common,
        "--agreed",
        "high",
        "--reason",
        "Intelligence",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "RA-00002: rfm derived Low; agreed High (override)\n"
    assert f"{case_id} keeps its current risk (Medium)" in result.stderr
    rows = json.loads(rfm_cli("list", case_id, "--format", "json").stdout)
    assert [(r["id"], r["date"], r["derived"], r["agreed"], r["override"]) for r in rows] == [
        ("RA-00002", "2026-01-10", "Low", "High", True),
        ("RA-00001", "2026-03-14", "Medium", "Medium", False),
    ]
    table = list(csv.DictReader(io.StringIO(rfm_cli("list", case_id, "--format", "csv").stdout)))
    assert [r["id"] for r in table] == ["RA-00002", "RA-00001"]
    assert table[0]["assessor"] == "Jo Lead" and table[0]["tool"] == "rfm"
    shown = rfm_cli("list", case_id)
    assert shown.exit_code == 0 and "10 Jan" in shown.stdout and "Score" not in shown.stdout


def test_rfm_add_errors_name_the_option_or_factor(rfm_cli, store, case_id):
    head = git(store.root, "rev-parse", "HEAD")
    common = [case_id, "--assessor", "Jo Lead", "--agency", "Police"]
    bad_date = rfm_cli("add", *common, "--date", "31/02/2026")
    assert bad_date.exit_code == ExitCode.INVALID_INPUT and "--date" in bad_date.stderr
    unknown = rfm_cli("add", *common, "--date", "14/03/2026", "--factor", "mising_episodes")
    assert unknown.exit_code == ExitCode.INVALID_INPUT
    assert "'mising_episodes'" in unknown.stderr and "Traceback" not in unknown.output
    no_reason = rfm_cli("add", *common, "--date", "14/03/2026", "--agreed", "High")
    assert no_reason.exit_code == ExitCode.INVALID_INPUT and "--reason" in no_reason.stderr
    missing = rfm_cli("add", "C-0042", "--assessor", "A", "--agency", "B", "--date", "14/03/2026")
    assert missing.exit_code == ExitCode.NOT_FOUND
    dry = rfm_cli("add", *common, "--date", "14/03/2026", "--factor", "sex_for_goods", "--dry-run")
    assert dry.exit_code == 0 and "derived High" in dry.stdout
    assert git(store.root, "rev-parse", "HEAD") == head


def test_no_child_name_in_commit_messages_outputs_or_errors(rfm_cli, store, case_id):
    outputs = [
        rfm_cli("add", case_id, "--date", "14/03/2026", "--assessor", "Jo", "--agency", "Police"),
        rfm_cli("add", case_id, "--date", "13/03/2026", "--assessor", "Jo", "--agency", "Police"),
        rfm_cli(
            "add",
            case_id,
            "--date",
            "14/03/2026",
            "--assessor",
            "Jo",
            "--agency",
            "P",
            "--factor",
            "x",
        ),
        rfm_cli("list", case_id),
        rfm_cli("list", case_id, "--format", "json"),
    ]
    log = git(store.root, "log", "--format=%an %s %b")
    for text in [log, *(r.output for r in outputs)]:
        for part in CANARY.replace("-", " ").split():
            assert part not in text


def test_rfm_tools_and_factors(rfm_cli, cli, store, tmp_path, monkeypatch):
    write_tool(store.root, "local", OWN_TOOL.format(name="local"))
    unsigned = rfm_cli("tools")
    assert unsigned.exit_code == ExitCode.TAMPERED and "settings commit" in unsigned.stderr
    assert commit_settings(store) == [".panelctl/risktools/local.yaml"]
    tools = {t["name"]: t for t in json.loads(rfm_cli("tools", "--format", "json").stdout)}
    assert tools["rfm"]["default"] is True and tools["rfm"]["source"] == "packaged"
    assert tools["local"]["source"] == "store" and tools["local"]["levels"] == "Red / Amber / Green"
    factors = list(csv.DictReader(io.StringIO(rfm_cli("factors", "--format", "csv").stdout)))
    assert {"id": "missing_episodes", "indicator": "medium"}.items() <= factors[2].items()
    seraf = rfm_cli("factors", "seraf")
    assert seraf.exit_code == 0 and "16+ Significant" in seraf.stderr
    local = json.loads(rfm_cli("factors", "local", "--format", "json").stdout)
    assert [(f["id"], f["points"]) for f in local] == [("seen_late", 2), ("new_phone", 7)]
    monkeypatch.chdir(tmp_path)
    outside = cli("rfm", "factors")  # no store here: the tool must be named
    assert outside.exit_code == ExitCode.INVALID_INPUT and "name the tool" in outside.stderr
    assert cli("rfm", "factors", "seraf", "--format", "json").exit_code == 0
