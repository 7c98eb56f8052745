"""The five panels' own rules (issue 13, items 8 and 10-13), through the CLI and as pure
rules: perpetrator referrals (MACSE), who is a child here (Stoke), chairs from the
profile's sector, paper deadlines on working days, and the panel's own annual period."""

from __future__ import annotations

import pytest

from conftest import CANARY
from panelctl.base.errors import ExitCode
from panelctl.panel.directory import seed_agencies
from panelctl.panel.setup import create_store

SUSPECT = "Dax Ferrowby-Quintrell"


def make_store(tmp_path, coordinator, profile: str):
    """A new store under ``profile`` with the profile's agencies, as `panelctl init` makes."""
    store = create_store(
        tmp_path / profile, profile, f"Test {profile}", coordinator.unlock(), "Test Council"
    )
    seed_agencies(store)
    return store


@pytest.fixture
def macse(tmp_path, coordinator):
    return make_store(tmp_path, coordinator, "macse")


def runner(cli, store, coordinator):
    return lambda *args, **kw: cli(*args, store=store.root, identity=coordinator.path, **kw)


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def nominate_macse(run, name: str = CANARY, on: str = "02/11/2026") -> str:
    return ok(
        run(
            "nominate", "--name", name, "--dob", "14/03/2011",
            "--referring-agency", "Children's Social Care",
            "--known-to", "police", "--known-to", "local authority", "--not-first-referral",
            "--risk-level", "Significant", "--date", on,
        )
    )


# --- 8. perpetrator referrals (MACSE) ----------------------------------------------------


def test_a_perpetrator_referral_is_led_by_police_heard_last_and_never_reviewed(
    cli, macse, coordinator, tmp_path
):
    run = runner(cli, macse, coordinator)
    person = ok(run("person", "add", "--kind", "person", "--name", SUSPECT, "--police-only"))
    refused = run("person", "refer", person, "--lead-agency", "Health", "--date", "02/11/2026")
    assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
    assert "led by the police" in refused.stderr and SUSPECT not in refused.output
    referral = ok(
        run(
            "person", "refer", person, "--lead-agency", "Dyfed-Powys Police",
            "--concern", "links to open cases", "--date", "01/11/2026",
        )
    )
    again = run("person", "refer", person, "--lead-agency", "Dyfed-Powys Police")
    assert again.exit_code == ExitCode.NOT_ALLOWED and referral in again.stderr
    victim = nominate_macse(run)
    record = macse.read(referral)
    assert record["kind"] == "perpetrator" and record["person"] == person
    assert "child" not in record and record["lead_agency"] == "Dyfed-Powys Police"

    meeting = ok(run("meeting", "schedule", "19/11/2026", "--time", "10:00"))
    out = tmp_path / "papers"
    built = run("agenda", "build", meeting, "--as-of", "05/11/2026", "--out", str(out))
    assert built.exit_code == 0, built.output
    agenda = macse.read(meeting)["agenda"]
    # referred first, yet heard after the victim's case
    assert [(i["case"], i["kind"]) for i in agenda] == [
        (victim, "victim"),
        (referral, "perpetrator"),
    ]
    paper = (out / f"paper-{meeting}-{referral}.md").read_text()
    assert "Perpetrator referral" in paper and person in paper and SUSPECT not in paper
    text = (out / f"agenda-{meeting}.md").read_text()
    assert text.index(victim) < text.index(referral)

    # never in `review due` as a child's case: no review, no risk assessment to refresh
    due = run("review", "due", "--as-of", "30/06/2027", "--format", "csv")
    assert due.exit_code == 0, due.output
    assert victim in due.stdout and referral not in due.stdout
    # nor counted among the children in the panel's figures
    figures = run("report", "annual", "--year", "2026", "--as-of", "01/01/2027", "--format", "json")
    assert figures.exit_code == 0, figures.output
    assert '"children_on_panel": 1' in figures.stdout


def test_a_referral_refuses_an_id_that_is_not_a_person(cli, macse, coordinator):
    run = runner(cli, macse, coordinator)
    victim = nominate_macse(run)
    result = run("person", "refer", victim, "--lead-agency", "Dyfed-Powys Police")
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    missing = run("person", "refer", "P-0042", "--lead-agency", "Dyfed-Powys Police")
    assert missing.exit_code == ExitCode.NOT_FOUND, missing.output


def test_a_referral_shows_and_refuses_child_changes(cli, macse, coordinator):
    run = runner(cli, macse, coordinator)
    person = ok(run("person", "add", "--kind", "group", "--description", "a county line"))
    referral = ok(run("person", "refer", person, "--lead-agency", "Dyfed-Powys Police"))
    shown = run("case", "show", referral)
    assert shown.exit_code == 0 and f"Perpetrator referral of {person}" in shown.stdout
    changed = run("case", "update", referral, "--school", "Ashgrove Academy")
    assert changed.exit_code == ExitCode.INVALID_INPUT, changed.output
    assert "no child" in changed.stderr


def test_a_referral_is_written_at_format_3_and_a_childs_case_stays_at_1(cli, macse, coordinator):
    run = runner(cli, macse, coordinator)
    person = ok(run("person", "add", "--kind", "person", "--name", SUSPECT))
    referral = ok(run("person", "refer", person, "--lead-agency", "Dyfed-Powys Police"))
    victim = nominate_macse(run)

    def stored(record_id: str) -> bytes:
        path = macse.path_of(record_id)
        return macse.decrypt(path, (macse.root / path).read_bytes())

    assert stored(referral).startswith(b"format: 3  # panelctl 0.3.0 or newer\n")
    assert stored(victim).startswith(b"format: 1\n")


# --- 10. who is a child here -------------------------------------------------------------


@pytest.fixture
def cse_panel(tmp_path, coordinator):
    return make_store(tmp_path, coordinator, "cse-panel")


def nominate_stoke(run, dob: str, *extra: str):
    return run(
        "nominate", "--name", CANARY, "--dob", dob, "--school", "Northfield Academy",
        "--referring-agency", "Staffordshire Police", "--risk-level", "Medium",
        "--date", "02/11/2026", *extra,
    )


def test_a_young_adult_needs_a_recorded_reason_shown_on_the_case_paper(
    cli, cse_panel, coordinator, tmp_path
):
    run = runner(cli, cse_panel, coordinator)
    # 18 on 2 November 2026 (born 2 November 2008): refused without a reason
    refused = nominate_stoke(run, "02/11/2008")
    assert refused.exit_code == ExitCode.NOT_ALLOWED, refused.output
    assert "18 or over" in refused.stderr and "age_reason" in refused.stderr
    assert CANARY not in refused.output and "2008" not in refused.output
    assert not list(cse_panel.index().rows("case"))
    # a day younger is still a child
    child = ok(nominate_stoke(run, "03/11/2008"))
    reason = "Associates with younger children at the Hanley hotspot"
    adult = ok(
        run(
            "nominate", "--name", "Morgan Tealby", "--dob", "01/06/2007",
            "--school", "Stoke College", "--referring-agency", "Staffordshire Police",
            "--risk-level", "High", "--date", "02/11/2026", "--age-reason", reason,
        )
    )
    assert cse_panel.read(adult)["age_reason"] == reason
    assert "age_reason" not in cse_panel.read(child)
    meeting = ok(run("meeting", "schedule", "19/11/2026", "--time", "10:00"))
    out = tmp_path / "papers"
    built = run("agenda", "build", meeting, "--as-of", "05/11/2026", "--out", str(out))
    assert built.exit_code == 0, built.output
    paper = (out / f"paper-{meeting}-{adult}.md").read_text()
    assert f"| Why a young adult is nominated | {reason} |" in paper
    html = (out / f"paper-{meeting}-{adult}.html").read_text()
    assert reason in html
    assert "Why a young adult" not in (out / f"paper-{meeting}-{child}.md").read_text()


def test_a_date_of_birth_after_the_nomination_date_is_refused(cli, cse_panel, coordinator):
    run = runner(cli, cse_panel, coordinator)
    result = nominate_stoke(run, "10/11/2026")  # after --date 02/11/2026, before today
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert "after the nomination date" in result.stderr and "2026" not in result.stderr


def test_a_profile_without_ages_has_no_age_rule_and_refuse_refuses(tmp_path):
    from panelctl.model import profiles

    profile = profiles.load("mace")
    del profile["ages"]
    assert "ages" not in profiles.effective(profile, {})  # custom profiles keep working
    with pytest.raises(Exception, match="ages.older"):
        profiles.effective(profile, {"ages": {"under": 18, "older": "sometimes"}})


def test_the_age_rule_is_a_pure_rule():
    from datetime import date

    from panelctl.rules.ages import age_refusal

    stoke = {"under": 18, "older": "reason"}
    on = date(2026, 11, 2)
    assert age_refusal(date(2008, 11, 3), on, stoke, None) is None  # 17 for one more day
    assert "age_reason" in age_refusal(date(2008, 11, 2), on, stoke, None)
    assert age_refusal(date(2008, 11, 2), on, stoke, "associates with younger children") is None
    assert age_refusal(date(2008, 11, 2), on, stoke, "   ") is not None
    assert "under 18" in age_refusal(date(2000, 1, 1), on, {"under": 18, "older": "refuse"}, "x")
    assert age_refusal(date(2000, 1, 1), on, {"under": 18, "older": "allow"}, None) is None
    assert age_refusal(date(2000, 1, 1), on, None, None) is None
    assert age_refusal(None, on, stoke, None) is None
    # born 29 February: 18 on 1 March in a year without one
    assert age_refusal(date(2008, 2, 29), date(2026, 2, 28), stoke, None) is None
    assert age_refusal(date(2008, 2, 29), date(2026, 3, 1), stoke, None) is not None


# --- 11. chairs as the seeds describe them -----------------------------------------------


@pytest.fixture
def marac(tmp_path, coordinator):
    return make_store(tmp_path, coordinator, "cse-marac")


def test_a_chair_from_another_sector_is_warned_about_and_there_is_one_chair(
    cli, marac, coordinator, make_person
):
    run = runner(cli, marac, coordinator)
    # B&NES: "chaired by the police", Children and Young People's Services as vice-chair
    fine = run("member", "add", "--name", "Alex Inspector", "--agency", "Avon and Somerset Police",
               "--role", "chair")
    assert fine.exit_code == 0 and "Warning" not in fine.stderr, fine.output
    second = run("member", "add", "--name", "Jo Nurse", "--agency", "CAMHS", "--role", "chair")
    assert second.exit_code == ExitCode.NOT_ALLOWED, second.output
    assert fine.stdout.strip() in second.stderr and "one at a time" in second.stderr
    run("member", "remove", fine.stdout.strip())
    warned = run("member", "add", "--name", "Jo Nurse", "--agency", "CAMHS", "--role", "chair")
    assert warned.exit_code == 0, warned.output
    assert "Warning: The profile says the chair comes from the police sector" in warned.stderr
    assert "CAMHS is a health agency" in warned.stderr and "Jo Nurse" not in warned.stderr
    vice = run("member", "add", "--name", "Sam Vice", "--agency", "Avon and Somerset Police",
               "--role", "vice-chair")
    assert "vice chair comes from the local authority sector" in vice.stderr

    chair = make_person("Robin Chair")
    added = run("access", "add", chair.recipient, "--name", "Robin Chair", "--agency", "CAMHS",
                "--role", "chair")
    assert added.exit_code == 0, added.output
    assert "CAMHS is a health agency" in added.stderr
    other = make_person("Kit Chair")
    twice = run("access", "add", other.recipient, "--name", "Kit Chair", "--agency",
                "Avon and Somerset Police", "--role", "chair")
    assert twice.exit_code == 0, twice.output
    assert "Another reader also has the chair role" in twice.stderr
    assert "health agency" not in twice.stderr


def test_the_chair_rule_is_a_pure_rule():
    from panelctl.rules.chairs import sector_warning

    plymouth = {"sectors": ["health", "police", "local authority"]}
    assert sector_warning(plymouth, "chair", "NSPCC", "voluntary").endswith(
        "NSPCC is a voluntary agency"
    )
    assert "health or police or local authority" in sector_warning(plymouth, "chair", "X", "other")
    assert sector_warning(plymouth, "chair", "Devon and Cornwall Police", "police") is None
    assert sector_warning(plymouth, "vice-chair", "NSPCC", "voluntary") is None  # no setting
    assert sector_warning(None, "chair", "NSPCC", "voluntary") is None
    assert sector_warning(plymouth, "core", "NSPCC", "voluntary") is None
    assert "not one of the store's agencies" in sector_warning(plymouth, "chair", "Nowhere", None)


# --- 12. dates that land on a working day ------------------------------------------------


def test_a_paper_deadline_in_calendar_days_moves_off_a_weekend_and_bank_holiday():
    from datetime import date

    from panelctl.rules.meetingrules import not_a_working_day, papers_due

    four = {"days": 4, "count": "calendar"}
    # MACSE, Thursday 19 November 2026: four days before is Sunday 15th -> Friday 13th
    assert papers_due(date(2026, 11, 19), four, "wales") == date(2026, 11, 13)
    # Wednesday 18 November: Saturday 14th -> Friday 13th
    assert papers_due(date(2026, 11, 18), four, "wales") == date(2026, 11, 13)
    # Friday 1 January 2027: Monday 28 December 2026 is the Boxing Day bank holiday, and
    # Christmas Day on the Friday before: Thursday 24 December
    assert papers_due(date(2027, 1, 1), four, "wales") == date(2026, 12, 24)
    # a working day stays as it is
    assert papers_due(date(2026, 11, 20), four, "wales") == date(2026, 11, 16)
    assert not_a_working_day(date(2026, 11, 14), "england") == "a Saturday"
    assert not_a_working_day(date(2026, 12, 28), "england") == "a bank holiday"
    assert not_a_working_day(date(2026, 11, 30), "scotland") == "a bank holiday"  # St Andrew's
    assert not_a_working_day(date(2026, 11, 30), "england") is None


def test_agenda_build_says_the_deadline_moved_off_the_weekend(cli, macse, coordinator):
    run = runner(cli, macse, coordinator)
    nominate_macse(run)
    meeting = ok(run("meeting", "schedule", "19/11/2026", "--time", "10:00"))
    built = run("agenda", "build", meeting, "--as-of", "05/11/2026")
    assert built.exit_code == 0, built.output
    assert "Papers must go out by 13 Nov 2026." in built.stderr
    assert str(macse.read(meeting)["papers_due"]) == "2026-11-13"


def test_meeting_schedule_warns_about_a_weekend_or_a_bank_holiday(cli, macse, coordinator):
    run = runner(cli, macse, coordinator)
    weekday = run("meeting", "schedule", "19/11/2026", "--time", "10:00")
    assert weekday.exit_code == 0 and weekday.stderr == "", weekday.output
    saturday = run("meeting", "schedule", "21/11/2026", "--time", "10:00")
    assert saturday.exit_code == 0, saturday.output
    assert saturday.stderr == "Warning: 21 Nov 2026 is a Saturday; check the date.\n"
    holiday = run("meeting", "schedule", "28/12/2026", "--time", "10:00")
    assert holiday.exit_code == 0, holiday.output
    assert "28 Dec 2026 is a bank holiday in England and Wales" in holiday.stderr
    assert len(macse.index().table("meeting").columns()[0]) == 3  # still scheduled


# --- 13. periods the panels use ------------------------------------------------------------


def test_the_annual_review_takes_the_panels_own_year_and_says_when_it_is_not_over(
    cli, cse_panel, coordinator
):
    run = runner(cli, cse_panel, coordinator)
    ok(nominate_stoke(run, "03/11/2010"))
    # the older Stoke panel is reviewed each November: its year runs December to November
    done = run("report", "annual", "--as-of", "05/12/2026", "--format", "json")
    assert done.exit_code == 0 and done.stderr == "", done.output
    import json

    meta = json.loads(done.stdout)["meta"]
    assert meta["period"] == {"start": "2025-12-01", "end": "2026-11-30"}
    assert meta["title"] == "Annual review" and meta["unfinished"] is False
    assert json.loads(done.stdout)["sections"]["caseload"]["new_nominations"] == 1

    early = run("report", "annual", "--year", "2026", "--as-of", "20/11/2026", "--format", "md")
    assert early.exit_code == 0, early.output
    assert early.stderr == (
        "Warning: the period 1 Dec 2025 to 30 Nov 2026 is not over yet; the review shows "
        "figures to 20 Nov 2026 and says it is interim.\n"
    )
    assert early.stdout.splitlines()[2] == (
        "# Annual review (interim: the period is not over; figures to 20 Nov 2026): "
        "1 Dec 2025 to 30 Nov 2026"
    )
    own = run("report", "annual", "--from", "01/04/2026", "--to", "31/03/2027",
              "--as-of", "20/11/2026", "--format", "json")
    assert own.exit_code == 0 and "not over yet" in own.stderr, own.output
    assert json.loads(own.stdout)["meta"]["period"] == {"start": "2026-04-01", "end": "2027-03-31"}
    half = run("report", "annual", "--from", "01/04/2026", "--format", "json")
    assert half.exit_code == ExitCode.INVALID_INPUT and "--to" in half.stderr, half.output
    both = run("report", "annual", "--year", "2026", "--from", "01/04/2026", "--to", "31/03/2027")
    assert both.exit_code == ExitCode.INVALID_INPUT, both.output


def test_the_panels_year_is_a_pure_rule():
    from datetime import date

    from panelctl.outputs.reports import annual_period, last_year, year_period

    assert year_period(2026) == (date(2026, 1, 1), date(2026, 12, 31))
    assert year_period(2026, 12) == (date(2025, 12, 1), date(2026, 11, 30))
    assert year_period(2026, 4) == (date(2025, 4, 1), date(2026, 3, 31))
    assert year_period(2024, 3) == (date(2023, 3, 1), date(2024, 2, 29))
    assert last_year(date(2026, 11, 30), 12) == (date(2024, 12, 1), date(2025, 11, 30))
    assert last_year(date(2026, 12, 1), 12) == (date(2025, 12, 1), date(2026, 11, 30))
    assert last_year(date(2026, 6, 1)) == (date(2025, 1, 1), date(2025, 12, 31))
    assert last_year(date(2026, 1, 1)) == (date(2025, 1, 1), date(2025, 12, 31))
    today = date(2026, 6, 1)
    assert annual_period(None, date(2026, 4, 1), date(2026, 5, 31), today) == (
        date(2026, 4, 1),
        date(2026, 5, 31),
    )
    with pytest.raises(Exception, match="ends before it starts"):
        annual_period(None, date(2026, 5, 1), date(2026, 4, 1), today)


def test_a_case_has_its_child_or_is_a_referral_with_its_person():
    from panelctl.base.errors import InvalidRecordError
    from panelctl.model import records

    with pytest.raises(InvalidRecordError, match=r"C-0001: field child is required\.$"):
        records.validate(records.CASE, {"id": "C-0001", "status": "open"})
    with pytest.raises(InvalidRecordError, match="field person is required"):
        records.validate(records.CASE, {"id": "C-0001", "status": "open", "kind": "perpetrator"})
    referral = {"id": "C-0001", "status": "open", "kind": "perpetrator", "person": "P-0001"}
    assert records.validate(records.CASE, referral) == referral


def test_a_meeting_hears_the_referral_last_and_its_minutes_render(
    cli, macse, coordinator, tmp_path
):
    run = runner(cli, macse, coordinator)
    person = ok(run("person", "add", "--kind", "person", "--name", SUSPECT))
    referral = ok(run("person", "refer", person, "--lead-agency", "Dyfed-Powys Police",
                      "--date", "01/11/2026"))
    victim = nominate_macse(run)
    ok(run("member", "add", "--name", "Chris Chair", "--agency", "Children's Social Care",
           "--role", "chair"))
    ok(run("member", "add", "--name", "Pat Constable", "--agency", "Dyfed-Powys Police",
           "--role", "core"))
    meeting = ok(run("meeting", "schedule", "19/11/2026", "--time", "10:00"))
    ok(run("agenda", "build", meeting, "--as-of", "05/11/2026"))
    script = tmp_path / "script.yaml"
    script.write_text(
        "attendance:\n  - {name: Chris Chair, agency: Children's Social Care}\n"
        "  - {name: Pat Constable, agency: Dyfed-Powys Police}\n"
        "confidentiality: {signed: [Chris Chair, Pat Constable]}\n"
        f"cases:\n  {victim}:\n    items: {{police information: Seen with older males}}\n"
        f"  {referral}:\n    items: {{police information: Linked to two addresses}}\n"
    )
    held = run("meeting", "run", meeting, "--script", str(script))
    assert held.exit_code == 0, held.output
    minutes = run("minutes", "render", meeting, "--format", "md")
    assert minutes.exit_code == 0, minutes.output
    text = minutes.stdout
    assert text.index(victim) < text.index(referral) and SUSPECT not in text
