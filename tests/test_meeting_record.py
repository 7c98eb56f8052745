"""The meeting record is honest (issue 13): nothing recorded that nobody said, nothing said
silently dropped, who agreed checked and shown, the panel's agreed risk kept apart from risk
assessments, and the meeting's own time for its clocks. Each scenario runs through the CLI
for every profile it applies to, and reads the minutes as a chair would."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import test_meetings
from test_meetings import LEVELS, run

from conftest import assert_unchanged, store_state
from panelctl.base import yamlio
from panelctl.base.dates import LONDON
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.model import profiles
from panelctl.store.core import Store

panel = test_meetings.panel  # the fixture: a store per profile, two children nominated

PROFILES = ["cse-marac", "mace", "cse-panel", "mcse", "macse"]


def _profile(name: str) -> dict:
    return profiles.load(name)


def _schedule_and_build(cli, root, coordinator, on="19/11/2026", time="09:30"):
    scheduled = run(cli, root, coordinator, "meeting", "schedule", on, "--time", time)
    assert scheduled.exit_code == 0, scheduled.output
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--as-of", "05/11/2026")
    assert built.exit_code == 0, built.output


def _attendance():
    return [
        {"name": "Chris Chair", "agency": "Police", "sector": "police", "status": "present"},
        {"name": "Lou Council", "agency": "Council", "sector": "local authority"},
        {"name": "Nina Nurse", "agency": "NHS", "sector": "health", "status": "present"},
        {"name": "Sam Absent", "agency": "Youth Service", "status": "apologies"},
    ]


def _script(profile: str, **changes) -> dict:
    """A meeting where the confidentiality form was not recorded, C-0001 was decided and
    C-0002 only discussed (no decision, nobody agreeing): what was said, and no more."""
    prof = _profile(profile)
    levels = LEVELS.get(profile, ("Medium", "Low"))
    first_item = prof["agenda"]["case_items"][0]
    case_one = {
        "items": {first_item: "The lead professional gave an update."},
        "risk": levels[0],
        "decision": "keep",
        "agreed_by": ["Chris Chair", "Nina Nurse"],
        "actions": [
            {
                "description": "Share the safety plan with school",
                "agency": "Council",
                "owner": "Jo Worker",
                "due": "2026-12-01",
            }
        ],
    }
    if "resources" in prof["decision_sheet"]:
        case_one["resources"] = "Two extra youth worker sessions a week"
    closing = prof["agenda"]["closing"]
    script = {
        "attendance": _attendance(),
        "chair": "Chris Chair",
        "declarations": [
            {"name": "Lou Council", "interest": "Knows the family", "excluded_cases": ["C-0002"]}
        ],
        "previous_actions": "All three actions from the last meeting were done.",
        "cases": {"C-0001": case_one, "C-0002": {"items": {first_item: "Brief update."}}},
        "closing": {closing[0]: "Two new addresses near the station were reported."},
    }
    script.update(changes)
    return script


def _write(tmp_path, script: dict):
    path = tmp_path / "script.yaml"
    path.write_bytes(yamlio.dump(script))
    return str(path)


def _store(root, who) -> Store:
    return Store(root, read_identity_file(who.path).unlock())


@pytest.mark.parametrize("panel", PROFILES, indirect=True)
def test_the_minutes_say_what_was_said_and_no_more(panel, cli, coordinator, tmp_path):
    profile, root, chair = panel
    prof = _profile(profile)
    _schedule_and_build(cli, root, coordinator)
    assessments_before = sorted(_store(root, coordinator).index().rows("assessment"))
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, _script(profile)))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    store = _store(root, coordinator)
    meeting = store.read("M-0001")
    assert "confidentiality" not in meeting  # nobody said who signed: nothing stored
    assert meeting["chair"] == "Chris Chair"
    second = meeting["discussions"][1]
    assert "decision" not in second and "agreed_by" not in second  # no default "keep"

    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    if prof["meetings"]["confidentiality_form"]:  # MACE, MACSE: the form is signed
        assert "## Confidentiality declaration" in minutes
        assert "Not recorded: who signed the confidentiality form was not recorded" in minutes
        assert "| Yes |" not in minutes
    else:
        assert "Confidentiality declaration" not in minutes
    assert "**Chair:** Chris Chair" in minutes
    one, two = minutes.split("### Case C-0002")
    assert "**Agreed by:** Chris Chair; Nina Nurse" in one
    assert "**Decision:** Not recorded" in two and "**Agreed by:** not recorded" in two
    assert "**Left for this item:** Lou Council (declared an interest: Knows the family)." in two
    assert "Left for this item" not in one
    for title in prof["agenda"]["case_items"][1:]:  # asked for, not answered
        assert f"#### {title[0].upper()}{title[1:]}\n\nNot discussed." in one
    assert "All three actions from the last meeting were done." in minutes
    assert "Two new addresses near the station were reported." in minutes
    for title in prof["agenda"]["closing"][1:]:
        assert f"## {title[0].upper()}{title[1:]}\n\nNot discussed." in minutes
    if "resources" in prof["decision_sheet"]:  # B&NES: resources / cost implications
        assert "**Resources / cost implications:** Two extra youth worker sessions a week" in one
        assert "**Resources / cost implications:** Not discussed" in two
    else:
        assert "Resources" not in minutes

    decisions = json.loads(
        run(cli, root, coordinator, "decision", "list", "--format", "json").stdout
    )
    assert [d["case"] for d in decisions] == ["C-0001"]  # no decision made on C-0002

    # The panel's agreed level is the case's risk, but not a risk assessment.
    levels = LEVELS.get(profile, ("Medium", "Low"))
    assert store.read("C-0001")["risk"] == levels[0]
    assert sorted(store.index().rows("assessment")) == assessments_before
    assert any("not a risk assessment" in h["event"] for h in store.read("C-0001")["history"])

    approved = run(cli, root, chair, "minutes", "approve", "M-0001")
    assert approved.exit_code == 0, approved.output
    final = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "Approved by Chris Chair on" in final and "deputising" not in final


@pytest.mark.parametrize("panel", ["mace", "cse-panel"], indirect=True)
def test_the_panels_agreed_risk_does_not_reset_the_assessment_refresh(
    panel, cli, coordinator, tmp_path
):
    """Stoke (RFM every 6 weeks): the nomination's RFM of 2 Nov is due again by 14 Dec,
    whatever the panel agreed on 19 Nov."""
    _profile_name, root, _chair = panel
    _schedule_and_build(cli, root, coordinator)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, _script(_profile_name)))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    due = json.loads(
        run(cli, root, coordinator, "review", "due", "--as-of", "20/12/2026", "--format",
            "json").stdout
    )  # fmt: skip
    refresh = [r for r in due if r["case"] == "C-0001" and r["what"] == "assessment refresh"]
    assert refresh and refresh[0]["due"] == "2026-12-14", due
    # The next meeting's paper shows the panel's level beside the latest real assessment.
    assert run(cli, root, coordinator, "meeting", "schedule", "21/01/2027", "--time", "09:30"
               ).exit_code == 0  # fmt: skip
    out = tmp_path / "papers"
    built = run(cli, root, coordinator, "agenda", "build", "M-0002", "--as-of", "05/01/2027",
                "--out", str(out))  # fmt: skip
    assert built.exit_code == 0, built.output
    paper = (out / "paper-M-0002-C-0001.md").read_text()
    latest = paper.split("## Latest risk assessment")[1]
    assert "| Date | 2 Nov 2026 |" in latest
    assert (
        "**Risk level agreed by the panel:** Medium (meeting M-0001, 19 Nov 2026). This is the "
        "panel's level, not a risk assessment." in latest
    )


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_a_vice_chair_approving_is_shown_deputising(panel, cli, coordinator, tmp_path, make_person):
    _profile_name, root, _chair = panel
    vice = make_person("Val Vice")
    added = run(cli, root, coordinator, "access", "add", vice.recipient, "--name", vice.name,
                "--agency", "Council", "--role", "vice-chair")  # fmt: skip
    assert added.exit_code == 0, added.output
    _schedule_and_build(cli, root, coordinator, time="14:00")
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, _script("mcse")))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert run(cli, root, vice, "minutes", "approve", "M-0001").exit_code == 0
    final = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "Approved by Val Vice on" in final
    assert "(vice-chair, deputising for the chair)." in final


@pytest.mark.parametrize("panel", ["macse", "mace"], indirect=True)
def test_signatures_given_are_shown_each_with_yes_or_no(panel, cli, coordinator, tmp_path):
    profile, root, _chair = panel
    _schedule_and_build(cli, root, coordinator)
    script = _script(profile, confidentiality={"signed": ["Chris Chair", "Nina Nurse"]})
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, script))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "| Chris Chair | Yes |" in minutes and "| Lou Council | **No** |" in minutes
    assert "**Not signed:** Lou Council." in minutes


# --- refusals: nothing saved --------------------------------------------------------------

REFUSED = {
    "agreed by someone who sent apologies": (
        {"C-0001": {"agreed_by": ["Chris Chair", "Sam Absent"]}},
        "cases.C-0001.agreed_by: Sam Absent sent apologies",
    ),
    "agreed by someone who left the item": (
        {"C-0002": {"decision": "keep", "agreed_by": ["Lou Council"]}},
        "Lou Council declared an interest and left the item for C-0002",
    ),
    "agreed by someone not at the meeting": (
        {"C-0001": {"agreed_by": ["Zed Stranger"]}},
        "cases.C-0001.agreed_by: entry 1 is not recorded in the attendance",
    ),
    "a note the run does not keep": (
        {"C-0001": {"note": "Talked about the family"}},
        "cases.C-0001: unknown key note in the meeting script",
    ),
}


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
@pytest.mark.parametrize("what", sorted(REFUSED))
def test_a_wrong_script_is_refused_by_name_before_anything_is_saved(
    panel, cli, coordinator, tmp_path, what
):
    _profile_name, root, _chair = panel
    _schedule_and_build(cli, root, coordinator, time="14:00")
    cases, words = REFUSED[what]
    script = _script("mcse")
    for case_id, answers in cases.items():
        script["cases"][case_id] = {**script["cases"][case_id], **answers}
    before = store_state(root)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, script))  # fmt: skip
    assert ran.exit_code == ExitCode.INVALID_INPUT, ran.output
    assert words in " ".join(ran.stderr.split()), ran.stderr
    assert "Zed Stranger" not in ran.stderr  # a name typed in the wrong place is not echoed
    assert_unchanged(before, store_state(root))


@pytest.mark.parametrize("panel", ["mace", "cse-marac"], indirect=True)
def test_resources_are_an_answer_only_where_the_decision_sheet_asks(
    panel, cli, coordinator, tmp_path
):
    profile, root, _chair = panel
    _schedule_and_build(cli, root, coordinator)
    script = _script(profile)
    script["cases"]["C-0002"]["resources"] = "A taxi to college"
    script["note"] = "Anything else"
    before = store_state(root)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, script))  # fmt: skip
    assert ran.exit_code == ExitCode.INVALID_INPUT
    assert "unknown key note" in ran.stderr  # the top level is checked first
    assert_unchanged(before, store_state(root))
    del script["note"]
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, script))  # fmt: skip
    if profile == "cse-marac":
        assert ran.exit_code == 0, ran.output
        minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
        assert "**Resources / cost implications:** A taxi to college" in minutes
    else:
        assert ran.exit_code == ExitCode.INVALID_INPUT
        assert "cases.C-0002: unknown key resources" in ran.stderr
        assert_unchanged(before, store_state(root))


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_a_chair_who_sent_apologies_is_refused(panel, cli, coordinator, tmp_path):
    _profile_name, root, _chair = panel
    _schedule_and_build(cli, root, coordinator, time="14:00")
    before = store_state(root)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, _script("mcse", chair="Sam Absent")))  # fmt: skip
    assert ran.exit_code == ExitCode.INVALID_INPUT
    assert "chair: Sam Absent sent apologies" in ran.stderr
    assert_unchanged(before, store_state(root))


# --- the meeting's own time -----------------------------------------------------------------


@pytest.mark.parametrize("panel", ["cse-marac"], indirect=True)
def test_the_48_hour_clock_runs_from_the_meeting(panel, cli, coordinator, tmp_path):
    """B&NES: written decisions within 48 hours of the meeting (19 Nov 2026 09:30), however
    long after it the coordinator typed the run in."""
    _profile_name, root, _chair = panel
    _schedule_and_build(cli, root, coordinator)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, _script("cse-marac")))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    decision = _store(root, coordinator).read("D-00001")
    assert decision["due"] == datetime(2026, 11, 21, 9, 30, tzinfo=LONDON)
    table = run(cli, root, coordinator, "decision", "list", "--as-of", "20/11/2026").stdout
    assert "21 Nov 2026 09:30" in table
    on_time = run(cli, root, coordinator, "decision", "list", "--overdue", "--check",
                  "--as-of", "20/11/2026")  # fmt: skip
    assert on_time.exit_code == 0, on_time.output
    late = run(cli, root, coordinator, "decision", "list", "--overdue", "--check",
               "--as-of", "21/11/2026", "--format", "json")  # fmt: skip
    assert late.exit_code == 1 and [d["id"] for d in json.loads(late.stdout)] == ["D-00001"]


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_a_meeting_in_the_future_cannot_be_run(panel, cli, coordinator, tmp_path):
    _profile_name, root, _chair = panel
    ahead = date.today() + timedelta(days=40)
    on = ahead.strftime("%d/%m/%Y")
    assert run(cli, root, coordinator, "meeting", "schedule", on, "--time", "14:00").exit_code == 0
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--as-of",
                (ahead - timedelta(days=30)).strftime("%d/%m/%Y"))  # fmt: skip
    assert built.exit_code == 0, built.output
    script = _script("mcse")
    script["cases"]["C-0001"]["actions"][0]["due"] = (ahead + timedelta(days=14)).isoformat()
    before = store_state(root)
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
              _write(tmp_path, script))  # fmt: skip
    assert ran.exit_code == ExitCode.NOT_ALLOWED, ran.output
    assert "has not come yet" in ran.stderr
    assert_unchanged(before, store_state(root))


@pytest.mark.parametrize("panel", ["mace"], indirect=True)
def test_a_panel_level_saved_as_an_assessment_by_an_older_panelctl_does_not_count(
    panel, cli, coordinator
):
    """Stores from before 0.3.0 hold the panel's agreed level as an RFM by "Panel (chair)":
    review due and compliance still count from the last real assessment (2 Nov 2026)."""
    from panelctl.casework.assessments import stage
    from panelctl.followup import reviews

    _profile_name, root, _chair = panel
    store = _store(root, coordinator)
    with store.transaction() as tx:  # as panelctl 0.2.0's meeting run saved it
        case = store.read("C-0001")
        stage(tx, case, {"tool": "rfm", "date": date(2026, 11, 19), "assessor": "Panel (chair)",
                         "agency": "Test mace", "factors": [], "derived": "Medium",
                         "agreed": "Medium", "source": "panel M-0001"})  # fmt: skip
    assert _store(root, coordinator).read("C-0001")["assessed"] == date(2026, 11, 19)
    due = json.loads(
        run(cli, root, coordinator, "review", "due", "--as-of", "20/12/2026", "--format",
            "json").stdout
    )  # fmt: skip
    refresh = [r for r in due if r["case"] == "C-0001" and r["what"] == "assessment refresh"]
    assert refresh and refresh[0]["due"] == "2026-12-14", due
    behind = reviews.behind_on_assessments(_store(root, coordinator), date(2026, 12, 20))
    assert [r["case"] for r in behind if r["state"] == "overdue"] == ["C-0001", "C-0002"]


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_minutes_of_a_meeting_in_the_future_cannot_be_approved(panel, cli, coordinator):
    """A meeting recorded as held before its day (a record edited by hand, a clock wrong
    when it was run): its minutes wait for the day."""
    _profile_name, root, chair = panel
    ahead = date.today() + timedelta(days=10)
    on = ahead.strftime("%d/%m/%Y")
    assert run(cli, root, coordinator, "meeting", "schedule", on, "--time", "14:00").exit_code == 0
    store = _store(root, coordinator)
    meeting = store.read("M-0001")
    meeting.update(status="held", minutes={"status": "draft"})
    store.update(meeting)
    before = store_state(root)
    refused = run(cli, root, chair, "minutes", "approve", "M-0001")
    assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
    assert "has not come yet" in refused.stderr
    assert_unchanged(before, store_state(root))
