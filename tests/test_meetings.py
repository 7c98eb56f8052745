"""Meetings end to end for each of the five panels: nomination, agenda and papers, the
meeting run from a script, minutes and their approval; quorum; resuming a run."""

from __future__ import annotations

import json
import stat
from datetime import date, datetime

import pytest

from conftest import CANARY, add_members, git
from panelctl.base import yamlio
from panelctl.base.dates import LONDON
from panelctl.base.errors import ExitCode, InvalidInputError
from panelctl.crypto.identity import read_identity_file
from panelctl.meetings import run as meetingrun
from panelctl.panel.setup import create_store
from panelctl.store.core import Store

NOMINATION = {
    "cse-marac": ["--protocol-followed", "--exploitation-type", "sexual"],
    "mace": ["--risk-level", "Medium"],
    "cse-panel": ["--risk-level", "Low", "--school", "Demo Academy"],
    "mcse": [],
    "macse": [
        "--risk-level",
        "Significant",
        "--known-to",
        "police",
        "--known-to",
        "social care",
        "--not-first-referral",
    ],
}
LEVELS = {"macse": ("Moderate", "Mild")}  # SERAF; the others use High / Medium / Low
POLICE = {
    "cse-marac": "Avon and Somerset Police",
    "mace": "Staffordshire Police",
    "cse-panel": "Staffordshire Police",
    "mcse": "Devon and Cornwall Police",
    "macse": "Dyfed-Powys Police",
}


@pytest.fixture
def panel(request, tmp_path, coordinator, make_person, cli):
    """A store for the profile named by the test's parameter, with its seed agencies, a chair
    and two nominated children."""
    profile = request.param
    root = tmp_path / profile
    made = cli(
        "init",
        str(root),
        "--profile",
        profile,
        "--name",
        f"Test {profile}",
        "--agency",
        "Council",
        "--seed-agencies",
        identity=coordinator.path,
    )
    assert made.exit_code == 0, made.output
    chair = make_person("Chris Chair")
    cli(
        "access",
        "add",
        chair.recipient,
        "--name",
        chair.name,
        "--agency",
        POLICE[profile],
        "--role",
        "chair",
        store=root,
        identity=coordinator.path,
    )
    for name in SCRIPT_PEOPLE:
        added = cli(
            "member", "add", "--name", name, "--agency", POLICE[profile], "--role", "core",
            store=root, identity=coordinator.path,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    for name, dob in ((CANARY, "14/03/2011"), ("Riley Ashdown", "02/07/2011")):
        result = cli(
            "nominate",
            "--name",
            name,
            "--dob",
            dob,
            "--referring-agency",
            POLICE[profile],
            "--lead-professional",
            "Jo Worker",
            *NOMINATION[profile],
            "--date",
            "02/11/2026",
            store=root,
            identity=coordinator.path,
        )
        assert result.exit_code == 0, result.output
    return profile, root, chair


def run(cli, root, who, *args):
    return cli(*args, store=root, identity=who.path)


SCRIPT_PEOPLE = ("Chris Chair", "Lou Council", "Nina Nurse", "Sam Absent")  # the members


def script_for(cases, quorate=True, levels=("Medium", "Low")):
    return {
        "attendance": [
            {"name": "Chris Chair", "agency": "Police", "sector": "police", "status": "present"},
            {
                "name": "Lou Council",
                "agency": "Council",
                "sector": "local authority",
                "status": "present",
            },
            *(
                [{"name": "Nina Nurse", "agency": "NHS", "sector": "health", "status": "present"}]
                if quorate
                else []
            ),
            {
                "name": "Sam Absent",
                "agency": "Youth Service",
                "sector": "local authority",
                "status": "apologies",
            },
        ],
        "confidentiality": {
            "signed": ["Chris Chair", "Lou Council", *(["Nina Nurse"] if quorate else [])]
        },
        "declarations": [
            {
                "name": "Lou Council",
                "interest": "Related to a foster carer",
                "excluded_cases": cases[1:2],
            }
        ],
        "cases": {
            case: {
                "items": {"summary": f"Update on {case}"},
                "risk": levels[0] if n == 0 else levels[1],
                "actions": [
                    {
                        "description": "Share the safety plan with school",
                        "agency": "Council",
                        "owner": "Jo Worker",
                        "due": "2026-12-01",
                    }
                ],
                "decision": "keep" if n == 0 else "close",
                "agreed_by": ["Chris Chair"],
                # a close needs a reason (issue 13): before, none was asked for
                **({"closure": {"reason": "Risk reduced"}} if n else {}),
            }
            for n, case in enumerate(cases)
        },
    }


@pytest.mark.parametrize(
    "panel", ["cse-marac", "mace", "cse-panel", "mcse", "macse"], indirect=True
)
def test_a_meeting_from_nomination_to_approved_minutes(panel, cli, coordinator, tmp_path):
    profile, root, chair = panel
    scheduled = run(
        cli,
        root,
        coordinator,
        "meeting",
        "schedule",
        "19/11/2026",
        "--time",
        "09:30",
        "--venue",
        "Room 2",
    )
    assert scheduled.stdout.strip() == "M-0001", scheduled.output
    out = tmp_path / "papers"
    built = run(
        cli,
        root,
        coordinator,
        "agenda",
        "build",
        "M-0001",
        "--out",
        str(out),
        "--as-of",
        "05/11/2026",
    )
    assert built.exit_code == 0, built.output
    assert "C-0001" in built.stdout and "C-0002" in built.stdout
    assert "NOT encrypted" in built.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "agenda-M-0001.md" in names and "agenda-M-0001.html" in names
    assert "paper-M-0001-C-0001.html" in names and "action-log-M-0001.md" in names
    assert "invite-M-0001-C-0001.ics" in names
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    assert all(CANARY not in n for n in names)
    assert "OFFICIAL-SENSITIVE" in (out / "agenda-M-0001.html").read_text()
    assert CANARY in (out / "paper-M-0001-C-0001.md").read_text()
    assert CANARY not in (out / "invite-M-0001-C-0001.ics").read_text()

    script = tmp_path / "script.yaml"
    levels = LEVELS.get(profile, ("Medium", "Low"))
    script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"], levels=levels)))
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script))
    assert ran.exit_code == 0, ran.output
    store = Store(root, read_identity_file(coordinator.path).unlock())
    meeting = store.read("M-0001")
    assert meeting["status"] == "held" and meeting["quorate"] is True
    assert [d["case"] for d in meeting["discussions"]] == ["C-0001", "C-0002"]
    assert store.read("C-0002")["status"] == "closed"
    assert store.read("C-0001")["risk"] == levels[0]
    actions = dict(store.index().rows("action"))
    assert len(actions) == 2 and {a["meeting"] for a in actions.values()} == {"M-0001"}

    draft = run(cli, root, coordinator, "minutes", "render", "M-0001")
    assert draft.exit_code == 0, draft.output
    assert "DRAFT" in draft.stdout
    refused = run(cli, root, coordinator, "minutes", "approve", "M-0001")
    assert refused.exit_code == ExitCode.NOT_ALLOWED  # the coordinator is not the chair
    approved = run(cli, root, chair, "minutes", "approve", "M-0001")
    assert approved.exit_code == 0, approved.output
    final = run(cli, root, coordinator, "minutes", "render", "M-0001")
    assert "DRAFT" not in final.stdout and "Chris Chair" in final.stdout
    again = run(cli, root, chair, "minutes", "approve", "M-0001")
    assert again.exit_code == ExitCode.NOT_ALLOWED and "already approved" in again.stderr
    assert CANARY not in git(root, "log", "--format=%s%n%b")

    decisions = json.loads(
        run(cli, root, coordinator, "decision", "list", "--format", "json").stdout
    )
    assert [d["case"] for d in decisions] == ["C-0001", "C-0002"]
    if profile == "cse-marac":  # B&NES: written decisions to team managers within 48 hours
        assert all(d["due"] for d in decisions)


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_a_meeting_without_quorum_makes_no_decisions(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "14:00")
    assert (
        run(cli, root, coordinator, "agenda", "build", "M-0001", "--as-of", "05/11/2026").exit_code
        == 0
    )
    script = tmp_path / "script.yaml"
    script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"], quorate=False)))
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script))
    assert ran.exit_code == 0, ran.output
    assert "not quorate" in ran.stderr.lower() and "health" in ran.stderr
    store = Store(root, read_identity_file(coordinator.path).unlock())
    meeting = store.read("M-0001")
    assert meeting["quorate"] is False
    assert all(
        "decision" not in d and d["note"].startswith("No decisions") for d in meeting["discussions"]
    )
    assert store.read("C-0002")["status"] == "open"
    assert list(store.index().rows("action")) == [] and list(store.index().rows("decision")) == []
    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "not quorate" in minutes.lower()


class Interrupting:
    """Script answers that raise KeyboardInterrupt at the n-th question (a lost terminal)."""

    def __init__(self, script: dict, at: int):
        self.inner = meetingrun.ScriptAnswers(script)
        self.left = at

    def __getattr__(self, name):
        method = getattr(self.inner, name)
        if name in ("note", "check"):  # not a question: the script read before the first step
            return method

        def ask(*args):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            return method(*args)

        return ask


def comparable(store: Store) -> dict:
    meeting = store.read("M-0001")
    for key in ("started", "finished"):
        meeting.pop(key)
    cases = [store.read(c) for c in ("C-0001", "C-0002")]
    return {"meeting": meeting, "cases": cases, "actions": sorted(store.index().rows("action"))}


#: the questions in order (attendance, chair, confidentiality, declarations, previous
#: actions, case 1, case 2, closing items) and how many steps other than the quorum are
#: saved before each (the chair is asked within the attendance step)
SAVED_BEFORE = (0, 0, 1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("interrupt_at", range(len(SAVED_BEFORE)))
def test_resume_after_an_interruption_at_every_step(tmp_path, coordinator, interrupt_at):
    def prepared(name):
        store = create_store(
            tmp_path / name, "mcse", "Resume test", coordinator.unlock(), "Council"
        )
        from panelctl.casework import cases
        from panelctl.meetings.agenda import build_agenda
        from panelctl.meetings.schedule import schedule

        for child in ("Aa Child", "Bb Child"):
            cases.nominate(
                store, {"child": {"name": child, "dob": "2011-01-01"}}, date(2026, 11, 2)
            )
        schedule(store, date(2026, 11, 19), "14:00", None)
        build_agenda(store, "M-0001", date(2026, 11, 5))
        add_members(store, *SCRIPT_PEOPLE)
        return store

    now = datetime(2026, 11, 19, 14, 0, tzinfo=LONDON)
    script = script_for(["C-0001", "C-0002"])
    straight = prepared("straight")
    meetingrun.run_meeting(straight, "M-0001", meetingrun.ScriptAnswers(script), now)

    broken = prepared("broken")
    with pytest.raises(KeyboardInterrupt):
        meetingrun.run_meeting(broken, "M-0001", Interrupting(script, interrupt_at), now)
    saved = broken.read("M-0001").get("progress") or []
    assert len([s for s in saved if s != "quorum"]) == SAVED_BEFORE[interrupt_at]
    result = meetingrun.run_meeting(
        Store(broken.root, coordinator.unlock()), "M-0001", meetingrun.ScriptAnswers(script), now
    )
    assert result.resumed_at is not None or SAVED_BEFORE[interrupt_at] == 0
    assert comparable(broken) == comparable(straight)


@pytest.mark.parametrize("panel", ["mace"], indirect=True)
def test_agenda_dry_run_saves_nothing_and_late_papers_are_warned(panel, cli, coordinator):
    _profile, root, _chair = panel
    run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30")
    head = git(root, "rev-parse", "HEAD")
    dry = run(
        cli, root, coordinator, "agenda", "build", "M-0001", "--dry-run", "--as-of", "16/11/2026"
    )
    assert dry.exit_code == 0, dry.output
    assert "Papers must go out by 12 Nov 2026" in dry.stderr  # MACE: one week before
    assert "has passed" in dry.stderr
    assert git(root, "rev-parse", "HEAD") == head


def test_script_errors_name_the_step_and_keep_what_was_saved(tmp_path, coordinator):
    from panelctl.casework import cases
    from panelctl.meetings.agenda import build_agenda
    from panelctl.meetings.schedule import schedule

    store = create_store(tmp_path / "s", "mcse", "Script test", coordinator.unlock(), "Council")
    add_members(store, *SCRIPT_PEOPLE)
    cases.nominate(store, {"child": {"name": "Aa Child"}}, date(2026, 11, 2))
    schedule(store, date(2026, 11, 19), "14:00", None)
    build_agenda(store, "M-0001", date(2026, 11, 5))
    script = script_for(["C-0001"])
    del script["cases"]
    now = datetime(2026, 11, 19, 14, 0, tzinfo=LONDON)
    with pytest.raises(InvalidInputError, match="no answers for case C-0001"):
        meetingrun.run_meeting(store, "M-0001", meetingrun.ScriptAnswers(script), now)
    assert store.read("M-0001")["progress"] == [
        "attendance",
        "confidentiality",
        "declarations",
        "quorum",
        "standing items",
    ]


def _one_case_meeting(tmp_path, coordinator, *members):
    from panelctl.casework import cases
    from panelctl.meetings.agenda import build_agenda
    from panelctl.meetings.schedule import schedule

    store = create_store(tmp_path / "s", "mcse", "Guests", coordinator.unlock(), "Council")
    add_members(store, *members)
    cases.nominate(store, {"child": {"name": "Aa Child"}}, date(2026, 11, 2))
    schedule(store, date(2026, 11, 19), "14:00", None)
    build_agenda(store, "M-0001", date(2026, 11, 5))
    return store


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ({"name": "Chris Chiar"}, "Attendance entry 1 is not a member of this panel"),
        (
            {"name": "Dee Puty", "status": "deputy", "deputising_for": "Nobody Known"},
            "deputises for someone who is not a member",
        ),
        ({"name": "Gill Visitor", "guest": "yes"}, "attendance.1.guest must be true or false"),
    ],
    ids=["misspelt member", "deputy for a stranger", "guest not a boolean"],
)
def test_an_attendee_must_be_a_member_a_deputy_or_a_guest(
    tmp_path, coordinator, cli, person, message
):
    store = _one_case_meeting(tmp_path, coordinator, "Chris Chair")
    path = tmp_path / "script.yaml"
    path.write_bytes(yamlio.dump({"attendance": [person], "cases": {}}))
    head = git(store.root, "rev-parse", "HEAD")
    result = run(cli, store.root, coordinator, "meeting", "run", "M-0001", "--script", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert message in result.stderr
    assert git(store.root, "rev-parse", "HEAD") == head
    assert "attendance" not in store.read("M-0001")


def test_a_member_may_be_named_in_any_case_and_a_guest_does_not_make_a_quorum(
    tmp_path, coordinator
):
    store = _one_case_meeting(tmp_path, coordinator, "Chris Chair", "Nina Nurse")
    script = {
        "attendance": [
            {"name": "chris  CHAIR", "agency": "Police", "sector": "police"},
            {"name": "Nina Nurse", "agency": "NHS", "sector": "health"},
            {"name": "Gill Visitor", "agency": "Council", "sector": "local authority",
             "guest": True},
        ],  # fmt: skip
        "cases": {"C-0001": {"items": {"summary": "Discussed"}}},
    }
    now = datetime(2026, 11, 19, 14, 0, tzinfo=LONDON)
    meetingrun.run_meeting(store, "M-0001", meetingrun.ScriptAnswers(script), now)
    meeting = store.read("M-0001")
    assert meeting["quorate"] is False  # MCSE: the local authority came only as a guest
    assert "no local authority" in meeting["quorum_note"]
    assert [a.get("guest") for a in meeting["attendance"]] == [None, None, True]


def test_a_panel_with_no_members_cannot_run_a_meeting(tmp_path, coordinator, cli):
    store = _one_case_meeting(tmp_path, coordinator)
    path = tmp_path / "script.yaml"
    path.write_bytes(yamlio.dump(script_for(["C-0001"])))
    head = git(store.root, "rev-parse", "HEAD")
    result = run(cli, store.root, coordinator, "meeting", "run", "M-0001", "--script", str(path))
    assert result.exit_code == ExitCode.NOT_ALLOWED
    assert "no members recorded" in result.stderr and "member add" in result.stderr
    assert git(store.root, "rev-parse", "HEAD") == head
