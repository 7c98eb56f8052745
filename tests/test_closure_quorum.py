"""Issue 13, items 4, 5 and 7 (actions), through the CLI: closure as the seeds say (MACSE:
every core agency present agrees), a close with a reason and with the case's open actions
settled; a meeting without quorum loses nothing, adjourning and cancelling a meeting; an
action's completion on the day it really happened."""

from __future__ import annotations

import json

import pytest

from conftest import CANARY, git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.store.core import Store

POLICE, SOCIAL_CARE, HEALTH = "Dyfed-Powys Police", "Children's Social Care", "Health"
MEMBERS = (("Chris Chair", POLICE), ("Lou Council", SOCIAL_CARE), ("Nina Nurse", HEALTH))
MACSE_NOMINATION = (
    "--risk-level", "Significant", "--known-to", "police", "--known-to", "social care",
    "--not-first-referral",
)  # fmt: skip


def make_panel(tmp_path, cli, coordinator, profile: str, nomination=(), members=MEMBERS):
    """A store of ``profile`` with its seed agencies, three members and two children."""
    root = tmp_path / profile
    made = cli(
        "init", str(root), "--profile", profile, "--name", f"Test {profile}",
        "--agency", "Council", "--seed-agencies", identity=coordinator.path,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    for name, agency in members:
        added = cli(
            "member", "add", "--name", name, "--agency", agency, "--role", "core",
            store=root, identity=coordinator.path,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    for name, dob in ((CANARY, "14/03/2011"), ("Riley Ashdown", "02/07/2011")):
        result = cli(
            "nominate", "--name", name, "--dob", dob, "--referring-agency", members[0][1],
            "--lead-professional", "Jo Worker", *nomination, "--date", "02/11/2026",
            store=root, identity=coordinator.path,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def macse(tmp_path, cli, coordinator):
    return make_panel(tmp_path, cli, coordinator, "macse", MACSE_NOMINATION)


def reader(root, coordinator) -> Store:
    return Store(root, read_identity_file(coordinator.path).unlock())


def attendance(present=MEMBERS, apologies=()):
    return [
        *({"name": n, "agency": a, "status": "present"} for n, a in present),
        *({"name": n, "agency": a, "status": "apologies"} for n, a in apologies),
    ]


def write_script(tmp_path, cases: dict, present=MEMBERS, apologies=(), name="script.yaml"):
    script = tmp_path / name
    people = [n for n, _a in present]
    script.write_bytes(
        yamlio.dump(
            {
                "attendance": attendance(present, apologies),
                "confidentiality": {"signed": people},
                "cases": cases,
            }
        )
    )
    return script


def keep(action: bool = False) -> dict:
    answer = {"items": {"summary": "Update"}, "decision": "keep", "agreed_by": ["Chris Chair"]}
    if action:
        answer["actions"] = [
            {
                "description": "Share the safety plan with school",
                "agency": SOCIAL_CARE,
                "owner": "Jo Worker",
                "due": "2026-11-26",
            }
        ]
    return answer


def meeting_with_agenda(cli, root, who, on: str, as_of: str = "05/11/2026") -> str:
    scheduled = cli("meeting", "schedule", on, "--time", "10:00", store=root, identity=who.path)
    assert scheduled.exit_code == 0, scheduled.output
    meeting = scheduled.stdout.strip()
    built = cli("agenda", "build", meeting, "--as-of", as_of, store=root, identity=who.path)
    assert built.exit_code == 0, built.output
    return meeting


# --- 4. closure follows the seeds ---------------------------------------------------------


def test_macse_case_close_names_the_core_agencies_still_to_agree(macse, cli, coordinator):
    def close(*args):
        return cli(
            "case", "close", "C-0001", "--date", "20/11/2026", *args,
            store=macse, identity=coordinator.path,
        )  # fmt: skip

    no_reason = close("--reason", " ", "--agreed-by", POLICE)
    assert no_reason.exit_code == ExitCode.INVALID_INPUT
    assert "needs a reason" in no_reason.stderr and "--reason" in no_reason.stderr
    partly = close("--reason", "Risk reduced", "--agreed-by", POLICE, "--agreed-by", HEALTH)
    assert partly.exit_code == ExitCode.NOT_ALLOWED, partly.output
    message = partly.stderr
    assert "C-0001" in message and "every core agency" in message
    for missing in (SOCIAL_CARE, "Youth Justice Service", "Probation (NPS)", "Learning Services"):
        assert missing in message
    assert POLICE not in message.split("not yet agreed:")[1]
    assert CANARY not in message
    assert reader(macse, coordinator).read("C-0001")["status"] == "open"

    every = [
        "--agreed-by", POLICE, "--agreed-by", HEALTH, "--agreed-by", SOCIAL_CARE,
        "--agreed-by", "Youth Justice Service", "--agreed-by", "Probation (NPS)",
        "--agreed-by", "learning services",
    ]  # fmt: skip
    closed = close("--reason", "Risk reduced and normal management in place", *every)
    assert closed.exit_code == 0, closed.output
    assert closed.stderr.strip() == "C-0001 closed."
    case = reader(macse, coordinator).read("C-0001")
    assert case["status"] == "closed" and case["closure_reason"].startswith("Risk reduced")
    assert case["closed"].isoformat() == "2026-11-20"


def test_another_profile_closes_with_the_agencies_named(tmp_path, cli, coordinator):
    root = make_panel(
        tmp_path, cli, coordinator, "mace", ("--risk-level", "Medium"),
        (("Chris Chair", "Staffordshire Police"),),
    )  # fmt: skip
    nobody = cli(
        "case", "close", "C-0001", "--reason", "Risk reduced", store=root, identity=coordinator.path
    )
    assert nobody.exit_code == ExitCode.INVALID_INPUT and "--agreed-by" in nobody.stderr
    one = cli(
        "case", "close", "C-0001", "--reason", "Risk reduced", "--agreed-by",
        "Staffordshire Police", store=root, identity=coordinator.path,
    )  # fmt: skip
    assert one.exit_code == 0, one.output


def test_a_close_decision_names_the_core_agencies_present_that_did_not_agree(
    macse, cli, coordinator, tmp_path
):
    meeting = meeting_with_agenda(cli, macse, coordinator, "19/11/2026")
    closing = {
        "items": {"summary": "Risk reduced"},
        "decision": "close",
        "agreed_by": ["Chris Chair", "Lou Council"],
        "closure": {"reason": "Risk removed: moved out of the area with support"},
    }
    script = write_script(tmp_path, {"C-0001": keep(), "C-0002": closing})
    run = cli(
        "meeting", "run", meeting, "--script", str(script), store=macse, identity=coordinator.path
    )
    assert run.exit_code == ExitCode.NOT_ALLOWED, run.output
    assert "C-0002" in run.stderr and "not yet agreed: Health." in run.stderr
    assert "Learning Services" not in run.stderr  # not present: not asked
    store = reader(macse, coordinator)
    assert store.read("C-0002")["status"] == "open"
    assert store.read(meeting)["progress"][-1] == "case C-0001"  # C-0001 kept, C-0002 not saved

    no_reason = write_script(
        tmp_path,
        {
            "C-0001": keep(),
            "C-0002": {**closing, "agreed_by": [n for n, _a in MEMBERS], "closure": {}},
        },
        name="again.yaml",
    )
    refused = cli(
        "meeting",
        "run",
        meeting,
        "--script",
        str(no_reason),
        store=macse,
        identity=coordinator.path,
    )
    assert refused.exit_code == ExitCode.INVALID_INPUT
    assert "cases.C-0002.closure.reason" in refused.stderr

    fixed = write_script(
        tmp_path,
        {"C-0001": keep(), "C-0002": {**closing, "agreed_by": [n for n, _a in MEMBERS]}},
        name="fixed.yaml",
    )
    ran = cli(
        "meeting", "run", meeting, "--script", str(fixed), store=macse, identity=coordinator.path
    )
    assert ran.exit_code == 0, ran.output
    case = reader(macse, coordinator).read("C-0002")
    assert case["status"] == "closed"
    assert case["closure_reason"] == "Risk removed: moved out of the area with support"
    assert case["closure_agreed_by"] == sorted([POLICE, SOCIAL_CARE, HEALTH], key=str.casefold)


def test_open_actions_are_listed_and_closed_or_carried_with_a_reason(
    macse, cli, coordinator, tmp_path
):
    meeting = meeting_with_agenda(cli, macse, coordinator, "19/11/2026")
    script = write_script(tmp_path, {"C-0001": keep(action=True), "C-0002": keep(action=True)})
    ran = cli(
        "meeting", "run", meeting, "--script", str(script), store=macse, identity=coordinator.path
    )
    assert ran.exit_code == 0, ran.output
    agencies = [
        "--agreed-by", POLICE, "--agreed-by", HEALTH, "--agreed-by", SOCIAL_CARE,
        "--agreed-by", "Youth Justice Service", "--agreed-by", "Probation (NPS)",
        "--agreed-by", "Learning Services",
    ]  # fmt: skip

    def close(case_id, *args):
        return cli(
            "case", "close", case_id, "--reason", "Risk reduced", *agencies, "--date",
            "25/11/2026", *args, store=macse, identity=coordinator.path,
        )  # fmt: skip

    refused = close("C-0001")
    assert refused.exit_code == ExitCode.NOT_ALLOWED
    assert "A-00001" in refused.stderr and "--actions" in refused.stderr
    assert "A-00002" not in refused.stderr  # C-0002's
    no_reason = close("C-0001", "--actions", "carry")
    assert no_reason.exit_code == ExitCode.INVALID_INPUT and "--actions-reason" in no_reason.stderr
    wrong = close("C-0001", "--actions", "forget", "--actions-reason", "x")
    assert wrong.exit_code == ExitCode.INVALID_INPUT
    assert reader(macse, coordinator).read("C-0001")["status"] == "open"

    carried = close("C-0001", "--actions", "carry", "--actions-reason", "School support goes on")
    assert carried.exit_code == 0, carried.output
    assert "A-00001" in carried.stderr
    cancelled = close("C-0002", "--actions", "close", "--actions-reason", "No longer needed")
    assert cancelled.exit_code == 0, cancelled.output
    store = reader(macse, coordinator)
    first, second = store.read("A-00001"), store.read("A-00002")
    assert first["status"] == "open"
    assert first["history"][-1]["change"] == "carried on after case C-0001 closed"
    assert first["history"][-1]["note"] == "School support goes on"
    assert second["status"] == "cancelled"
    assert second["history"][-1]["change"] == "cancelled: case C-0002 closed"
    assert CANARY not in git(macse, "log", "--format=%s%n%b")


# --- 5. a meeting without quorum loses nothing ----------------------------------------------

MCSE_MEMBERS = (
    ("Chris Chair", "Devon and Cornwall Police"),
    ("Nina Nurse", "Plymouth Hospitals NHS Trust"),
)


@pytest.fixture
def mcse(tmp_path, cli, coordinator):
    return make_panel(tmp_path, cli, coordinator, "mcse", (), MCSE_MEMBERS)


def agenda_cases(cli, root, who, meeting, as_of) -> list[dict]:
    """Build the meeting's agenda; its case items as saved: [{case, why}]."""
    built = cli("agenda", "build", meeting, "--as-of", as_of, store=root, identity=who.path)
    assert built.exit_code == 0, built.output
    items = reader(root, who).read(meeting)["agenda"]
    return [{"case": i["case"], "why": i["reason"]} for i in items]


def test_the_cases_of_a_meeting_without_quorum_come_back_on_the_next_agenda(
    mcse, cli, coordinator, tmp_path
):
    def run(*args):
        return cli(*args, store=mcse, identity=coordinator.path)

    first = meeting_with_agenda(cli, mcse, coordinator, "19/11/2026")
    later = run("meeting", "schedule", "26/11/2026", "--time", "10:00").stdout.strip()
    script = write_script(
        tmp_path,
        {"C-0001": {"items": {"summary": "Missing twice"}}, "C-0002": {"items": {}}},
        present=MCSE_MEMBERS[:1],  # police only: MCSE needs local authority, health and police
    )
    ran = run("meeting", "run", first, "--script", str(script))
    assert ran.exit_code == 0, ran.output
    assert "not quorate" in ran.stderr.lower()
    minutes = run("minutes", "render", first).stdout
    assert "No decisions were made" in minutes and "stay due" in minutes

    # before: the inquorate discussion counted as a review, and the cases dropped off
    rows = agenda_cases(cli, mcse, coordinator, later, "20/11/2026")
    assert [r["case"] for r in rows] == ["C-0001", "C-0002"]
    assert {r["why"] for r in rows} == {f"carried from {first}, not quorate"}
    store = reader(mcse, coordinator)
    assert store.read(later)["cases"] == ["C-0001", "C-0002"]


def test_meeting_run_after_agenda_build_never_says_the_agenda_is_missing(
    mcse, cli, coordinator, tmp_path
):
    """Reproduced first: an agenda built when no case is due holds no case, and `meeting
    run` said "has no agenda yet; build it" (exit 11) right after `agenda build`."""
    for case_id in ("C-0001", "C-0002"):
        closed = cli(
            "case", "close", case_id, "--reason", "Moved away", "--agreed-by", "NSPCC",
            "--date", "03/11/2026", store=mcse, identity=coordinator.path,
        )  # fmt: skip
        assert closed.exit_code == 0, closed.output
    script = write_script(tmp_path, {}, present=MCSE_MEMBERS)
    unbuilt = cli(
        "meeting",
        "schedule",
        "12/11/2026",
        "--time",
        "10:00",
        store=mcse,
        identity=coordinator.path,
    )
    refused = cli(
        "meeting", "run", unbuilt.stdout.strip(), "--script", str(script),
        store=mcse, identity=coordinator.path,
    )  # fmt: skip
    assert "no agenda yet" in refused.stderr  # never built: it does say so
    meeting = meeting_with_agenda(cli, mcse, coordinator, "19/11/2026")
    assert reader(mcse, coordinator).read(meeting)["cases"] == []
    ran = cli(
        "meeting", "run", meeting, "--script", str(script), store=mcse, identity=coordinator.path
    )
    assert ran.exit_code == 0, ran.output
    assert "agenda" not in ran.stderr
    assert reader(mcse, coordinator).read(meeting)["status"] == "held"


def test_adjourn_moves_the_meeting_and_its_cases(macse, cli, coordinator):
    def run(*args):
        return cli(*args, store=macse, identity=coordinator.path)

    meeting = meeting_with_agenda(cli, macse, coordinator, "19/11/2026")
    earlier = run("meeting", "adjourn", meeting, "--to", "18/11/2026", "--date", "10/11/2026")
    assert earlier.exit_code == ExitCode.INVALID_INPUT and "--to" in earlier.stderr
    moved = run(
        "meeting", "adjourn", meeting, "--to", "26/11/2026", "--time", "14:00", "--date",
        "10/11/2026",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert moved.stderr.strip() == (
        f"{meeting} adjourned to 26 Nov 2026; its cases move with it: C-0001, C-0002."
    )
    store = reader(macse, coordinator)
    record = store.read(meeting)
    assert (record["date"].isoformat(), record["time"], record["status"]) == (
        "2026-11-26", "14:00", "planned",
    )  # fmt: skip
    assert record["cases"] == ["C-0001", "C-0002"]
    assert [(a["was"].isoformat(), a["to"].isoformat(), a["on"].isoformat())
            for a in record["adjournments"]] == [("2026-11-19", "2026-11-26", "2026-11-10")]  # fmt: skip
    assert record["papers_due"].isoformat() == "2026-11-20"  # MACSE: four days before, a Sunday: the Friday
    events = [e["event"] for e in store.read("C-0001")["history"]]
    assert f"Meeting {meeting} adjourned from 19 Nov 2026 to 26 Nov 2026" in events
    assert f"Adjourn {meeting} from 2026-11-19 to 2026-11-26" in git(
        macse, "log", "-1", "--format=%s"
    )


def test_cancel_sends_the_cases_back_to_the_next_agenda(mcse, cli, coordinator, tmp_path):
    def run(*args):
        return cli(*args, store=mcse, identity=coordinator.path)

    meeting = meeting_with_agenda(cli, mcse, coordinator, "19/11/2026")
    later = run("meeting", "schedule", "26/11/2026", "--time", "10:00").stdout.strip()
    no_reason = run("meeting", "cancel", meeting, "--reason", " ")
    assert no_reason.exit_code == ExitCode.INVALID_INPUT and "--reason" in no_reason.stderr
    cancelled = run(
        "meeting", "cancel", meeting, "--reason", "Chair unwell", "--date", "18/11/2026"
    )
    assert cancelled.exit_code == 0, cancelled.output
    assert "C-0001, C-0002" in cancelled.stderr
    record = reader(mcse, coordinator).read(meeting)
    assert record["status"] == "cancelled"
    assert (record["cancelled"]["reason"], record["cancelled"]["on"].isoformat()) == (
        "Chair unwell", "2026-11-18",
    )  # kept with the meeting, not only in its cases' histories  # fmt: skip
    again = run("meeting", "cancel", meeting, "--reason", "Twice")
    assert again.exit_code == ExitCode.NOT_ALLOWED and "is cancelled" in again.stderr
    script = write_script(tmp_path, {}, present=MCSE_MEMBERS)
    assert run("meeting", "run", meeting, "--script", str(script)).exit_code == ExitCode.NOT_ALLOWED
    rows = agenda_cases(cli, mcse, coordinator, later, "19/11/2026")
    assert [(r["case"], r["why"]) for r in rows] == [
        ("C-0001", f"carried from {meeting}, cancelled"),
        ("C-0002", f"carried from {meeting}, cancelled"),
    ]
    history = reader(mcse, coordinator).read("C-0002")["history"]
    assert "cancelled (Chair unwell)" in history[-1]["event"]
    shown = run("case", "show", "C-0002", "--format", "json")
    chronology = [(e["what"], e["ref"]) for e in json.loads(shown.stdout)["chronology"]]
    assert ("Discussed at panel", meeting) not in chronology  # on its agenda, never held
    assert "Chair unwell" not in git(mcse, "log", "--format=%s%n%b")


def test_a_held_or_running_meeting_cannot_be_adjourned(mcse, cli, coordinator, tmp_path):
    meeting = meeting_with_agenda(cli, mcse, coordinator, "19/11/2026")
    script = write_script(
        tmp_path, {"C-0001": {"items": {}}, "C-0002": {"items": {}}}, present=MCSE_MEMBERS[:1]
    )
    assert (
        cli(
            "meeting",
            "run",
            meeting,
            "--script",
            str(script),
            store=mcse,
            identity=coordinator.path,
        ).exit_code
        == 0
    )
    held = cli(
        "meeting", "adjourn", meeting, "--to", "26/12/2026", store=mcse, identity=coordinator.path
    )
    assert held.exit_code == ExitCode.NOT_ALLOWED and "has been held" in held.stderr


# --- 7. an action done on the day it was really done ----------------------------------------


def test_actions_take_the_day_they_really_happened(macse, cli, coordinator, tmp_path):
    def run(*args):
        return cli(*args, store=macse, identity=coordinator.path)

    meeting = meeting_with_agenda(cli, macse, coordinator, "19/11/2026")
    script = write_script(tmp_path, {"C-0001": keep(action=True), "C-0002": keep()})
    assert run("meeting", "run", meeting, "--script", str(script)).exit_code == 0
    first = reader(macse, coordinator).read("A-00001")["history"][0]
    assert first["change"] == f"set at {meeting}" and first["by"] == "Sam Coordinator"
    assert first["at"].isoformat() == "2026-11-19T10:00:00+00:00"  # the meeting's time, UK

    future = run("actions", "done", "A-00001", "--date", "01/01/2099")
    assert future.exit_code == ExitCode.INVALID_INPUT
    assert future.stderr == (
        "panelctl: The date 1 Jan 2099 for A-00001 is in the future; give the day it "
        "happened, today or before (--date).\n"
    )
    before = run("actions", "done", "A-00001", "--date", "18/11/2026")
    assert before.exit_code == ExitCode.INVALID_INPUT
    assert "A-00001" in before.stderr and "before the action was set (19 Nov 2026)" in before.stderr
    early_note = run("actions", "update", "A-00001", "--note", "Booked", "--date", "01/11/2026")
    assert early_note.exit_code == ExitCode.INVALID_INPUT and "A-00001" in early_note.stderr
    assert reader(macse, coordinator).read("A-00001")["status"] == "open"

    noted = run("actions", "update", "A-00001", "--note", "Visit booked", "--date", "20/11/2026")
    assert noted.exit_code == 0, noted.output
    done = run("actions", "done", "A-00001", "--date", "28/11/2026", "--note", "Plan shared")
    assert done.exit_code == 0, done.output
    assert done.stderr.strip() == "A-00001 is done, on 28 Nov 2026 (late)."
    action = reader(macse, coordinator).read("A-00001")
    assert action["completed"].isoformat() == "2026-11-28" and action["status"] == "done"
    assert [h["change"] for h in action["history"]] == [
        f"set at {meeting}",
        "note of 20 Nov 2026",
        "done on 28 Nov 2026",
    ]
    report = run("report", "bimonthly", "--period", "2026-11..2026-11", "--format", "json")
    assert report.exit_code == 0, report.output
    figures = json.loads(report.stdout)
    actions = next(v["actions"] for v in _mappings(figures) if "actions_by_agency" in v)
    # set at the meeting (before, an action set by `meeting run` had no day set), done late
    assert (actions["set"], actions["completed"], actions["completed_late"]) == (1, 1, 1)


def _mappings(value):
    """Every mapping inside a JSON value (the report's sections), outermost first."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _mappings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _mappings(inner)


def test_a_run_stopped_without_quorum_can_be_cancelled_not_adjourned(
    mcse, cli, coordinator, tmp_path
):
    def run(*args):
        return cli(*args, store=mcse, identity=coordinator.path)

    meeting = meeting_with_agenda(cli, mcse, coordinator, "19/11/2026")
    later = run("meeting", "schedule", "26/11/2026", "--time", "10:00").stdout.strip()
    script = write_script(tmp_path, {}, present=MCSE_MEMBERS[:1])  # no answers for the cases
    stopped = run("meeting", "run", meeting, "--script", str(script))
    assert stopped.exit_code == ExitCode.INVALID_INPUT  # stops at C-0001, after the quorum
    record = reader(mcse, coordinator).read(meeting)
    assert (record["status"], record["quorate"]) == ("in progress", False)
    adjourned = run("meeting", "adjourn", meeting, "--to", "26/12/2026")
    assert adjourned.exit_code == ExitCode.NOT_ALLOWED and "cancel it" in adjourned.stderr
    cancelled = run("meeting", "cancel", meeting, "--reason", "Not quorate", "--date", "19/11/2026")
    assert cancelled.exit_code == 0, cancelled.output
    record = reader(mcse, coordinator).read(meeting)
    assert record["status"] == "cancelled" and record["attendance"]  # what was recorded stays
    rows = agenda_cases(cli, mcse, coordinator, later, "20/11/2026")
    assert [r["case"] for r in rows] == ["C-0001", "C-0002"]


def test_a_core_agency_that_joined_remotely_is_asked_to_agree_a_closure(
    macse, cli, coordinator, tmp_path
):
    """Health's member joined the meeting remotely: Health is present, so under MACSE a
    closure without its agreement is refused, naming it."""
    meeting = meeting_with_agenda(cli, macse, coordinator, "19/11/2026")
    script = tmp_path / "remote.yaml"
    people = [n for n, _a in MEMBERS]
    script.write_bytes(yamlio.dump({
        "attendance": [
            {"name": "Chris Chair", "agency": POLICE, "status": "present"},
            {"name": "Lou Council", "agency": SOCIAL_CARE, "status": "present"},
            {"name": "Nina Nurse", "agency": HEALTH, "status": "virtual"},
        ],
        "confidentiality": {"signed": people},
        "cases": {
            "C-0001": keep(),
            "C-0002": {"items": {"summary": "Risk reduced"}, "decision": "close",
                       "agreed_by": ["Chris Chair", "Lou Council"],
                       "closure": {"reason": "Risk removed"}},
        },
    }))  # fmt: skip
    run = cli("meeting", "run", meeting, "--script", str(script), store=macse, identity=coordinator.path)
    assert run.exit_code == ExitCode.NOT_ALLOWED, run.output
    assert "not yet agreed: Health." in run.stderr
    assert reader(macse, coordinator).read("C-0002")["status"] == "open"
