"""Attendance as panels really do it (issue 13, item 9): core and virtual members and
attendance that joined remotely (MACE), a lead worker's written or e-mail update instead of
attending (Stoke CSE panel), and the core agencies expected but not represented, in the
minutes and the data report (MACSE: the chair reports them to CYSUR). Through the CLI, with
the minutes' text read as a chair would."""

from __future__ import annotations

import json

import pytest
import test_meetings
from test_meetings import run

from conftest import CANARY, assert_unchanged, store_state
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode
from panelctl.crypto.identity import read_identity_file
from panelctl.store.core import Store

panel = test_meetings.panel  # the fixture: a store per profile, seed agencies, two children


def _store(root, who) -> Store:
    return Store(root, read_identity_file(who.path).unlock())


def _ready(cli, root, coordinator) -> None:
    scheduled = run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "10:00")
    assert scheduled.exit_code == 0, scheduled.output
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--as-of", "05/11/2026")
    assert built.exit_code == 0, built.output


def _member(cli, root, coordinator, name, agency, role) -> None:
    added = run(cli, root, coordinator, "member", "add", "--name", name, "--agency", agency,
                "--role", role)  # fmt: skip
    assert added.exit_code == 0, added.output


def _write(tmp_path, script: dict, name="script.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(yamlio.dump(script))
    return str(path)


def _meeting_run(cli, root, coordinator, tmp_path, script, name="script.yaml"):
    return run(cli, root, coordinator, "meeting", "run", "M-0001", "--script",
               _write(tmp_path, script, name))  # fmt: skip


# --- MACE: core and virtual members, attendance that joined remotely ----------------------


@pytest.mark.parametrize("panel", ["mace"], indirect=True)
def test_a_mace_member_who_joins_remotely_is_present(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    _member(cli, root, coordinator, "Vic Remote", "Health (Named Nurse)", "virtual")
    listed = run(cli, root, coordinator, "member", "list", "--role", "virtual", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [m["name"] for m in json.loads(listed.stdout)] == ["Vic Remote"]
    _ready(cli, root, coordinator)
    script = {
        "attendance": [
            {"name": "Chris Chair", "agency": "Staffordshire Police"},
            {"name": "Vic Remote", "status": "virtual"},  # the agency is the member's
            {"name": "Sam Absent", "status": "apologies"},
        ],
        "chair": "Chris Chair",
        "cases": {
            "C-0001": {"decision": "keep", "agreed_by": ["Chris Chair", "Vic Remote"]},
            "C-0002": {},
        },
    }
    ran = _meeting_run(cli, root, coordinator, tmp_path, script)
    assert ran.exit_code == 0, ran.output
    meeting = _store(root, coordinator).read("M-0001")
    remote = meeting["attendance"][1]
    assert remote == {"name": "Vic Remote", "agency": "Health (Named Nurse)", "status": "virtual"}
    assert meeting["quorate"] is True  # MACE sets no quorum rule
    assert meeting["discussions"][0]["agreed_by"] == ["Chris Chair", "Vic Remote"]
    # represented by someone who joined remotely: not among the agencies missing
    assert "Health (Named Nurse)" not in meeting["unrepresented"]
    assert "Staffordshire Police" not in meeting["unrepresented"]
    assert "Schools and Education" in meeting["unrepresented"]

    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "| Vic Remote | Health (Named Nurse) | Joined remotely |" in minutes
    assert "Apologies: Sam Absent" in minutes
    assert "**Agreed by:** Chris Chair; Vic Remote" in minutes
    assert "**Core agencies not represented:** Children's Services (Adolescent Services);" in minutes
    assert "To be reported to" not in minutes  # MACE names nobody to report them to
    html = run(cli, root, coordinator, "minutes", "render", "M-0001", "--format", "html").stdout
    assert "Joined remotely" in html


@pytest.mark.parametrize("panel", ["mcse"], indirect=True)
def test_remote_attendance_counts_towards_the_quorum(panel, cli, coordinator, tmp_path):
    """Plymouth: quorate only with local authority, health and police in attendance; the
    only health representative joined remotely, and that is attendance."""
    _profile, root, _chair = panel
    _member(cli, root, coordinator, "Nina Remote", "Plymouth Hospitals NHS Trust", "core")
    _member(cli, root, coordinator, "Lou Health", "Public Health", "core")
    _ready(cli, root, coordinator)
    script = {
        "attendance": [
            {"name": "Chris Chair", "agency": "Devon and Cornwall Police"},
            {"name": "Lou Council", "agency": "Plymouth City Council", "sector": "local authority"},
            {"name": "Nina Remote", "status": "virtual"},
        ],
        "cases": {"C-0001": {}, "C-0002": {}},
    }
    ran = _meeting_run(cli, root, coordinator, tmp_path, script)
    assert ran.exit_code == 0, ran.output
    meeting = _store(root, coordinator).read("M-0001")
    assert meeting["quorate"] is True, meeting["quorum_note"]
    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "The meeting was quorate." in minutes


# --- Stoke CSE panel: the lead worker's update instead of attending ------------------------


@pytest.mark.parametrize("panel", ["cse-panel"], indirect=True)
def test_a_lead_workers_email_update_is_in_the_minutes(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    _ready(cli, root, coordinator)
    attendance = [
        {"name": "Chris Chair", "agency": "Staffordshire Police"},
        {"name": "Lou Council", "agency": "Vulnerable Children and Corporate Parenting"},
    ]
    update = {"name": "Jo Worker", "agency": "Brighter Futures", "by": "email"}
    script = {
        "attendance": attendance,
        "chair": "Chris Chair",
        "cases": {
            "C-0001": {
                "items": {"update from the lead worker": "Attending school every day now."},
                "lead_update": update,
            },
            "C-0002": {"items": {"agency information": "Nothing new."}},
        },
    }

    # refused before anything is saved: a key the update does not take, named with the case
    before = store_state(root)
    wrong = {**script, "cases": {**script["cases"], "C-0001": {
        "lead_update": {**update, "text": "Settled"}}}}  # fmt: skip
    refused = _meeting_run(cli, root, coordinator, tmp_path, wrong, "wrong.yaml")
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "cases.C-0001.lead_update: unknown key text" in refused.output
    # an update "instead of attending" from someone recorded as attending
    there = {**script, "cases": {**script["cases"], "C-0001": {
        "lead_update": {"name": "Lou Council", "by": "written"}}}}  # fmt: skip
    refused = _meeting_run(cli, root, coordinator, tmp_path, there, "there.yaml")
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "cases.C-0001.lead_update.name is recorded as attending M-0001" in refused.output
    # how it came: written or e-mail, nothing else
    how = {**script, "cases": {**script["cases"], "C-0001": {
        "lead_update": {"name": "Jo Worker", "by": "phone"}}}}  # fmt: skip
    refused = _meeting_run(cli, root, coordinator, tmp_path, how, "how.yaml")
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "cases.C-0001.lead_update.by must be one of: written, e-mail" in refused.output
    assert CANARY not in refused.output
    assert_unchanged(before, store_state(root))

    ran = _meeting_run(cli, root, coordinator, tmp_path, script)
    assert ran.exit_code == 0, ran.output
    meeting = _store(root, coordinator).read("M-0001")
    one, two = meeting["discussions"]
    assert one["lead_update"] == {"name": "Jo Worker", "agency": "Brighter Futures", "by": "e-mail"}
    assert "lead_update" not in two  # nobody said one came: nothing recorded

    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    first, second = minutes.split("### Case C-0002")
    assert (
        "**Lead worker's update:** by e-mail from Jo Worker (Brighter Futures), instead of "
        "attending." in first
    )
    assert "Attending school every day now." in first
    assert "Lead worker's update" not in second
    html = run(cli, root, coordinator, "minutes", "render", "M-0001", "--format", "html").stdout
    assert "by e-mail from Jo Worker (Brighter Futures), instead of attending." in html


@pytest.mark.parametrize("panel", ["mace"], indirect=True)
def test_a_panel_that_takes_no_lead_updates_refuses_the_key(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    _ready(cli, root, coordinator)
    before = store_state(root)
    script = {
        "attendance": [{"name": "Chris Chair", "agency": "Staffordshire Police"}],
        "cases": {"C-0002": {"lead_update": {"name": "Jo Worker", "by": "written"}}},
    }
    refused = _meeting_run(cli, root, coordinator, tmp_path, script)
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "cases.C-0002: unknown key lead_update in the meeting script" in refused.output
    assert_unchanged(before, store_state(root))


# --- MACSE: core agencies not represented, reported to CYSUR ------------------------------


@pytest.mark.parametrize("panel", ["macse"], indirect=True)
def test_a_core_agency_that_sent_nobody_is_listed_and_reported(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    _member(cli, root, coordinator, "Pat Probation", "Probation (NPS)", "core")
    _member(cli, root, coordinator, "Yan Justice", "Youth Justice Service", "core")
    _ready(cli, root, coordinator)
    script = {
        "attendance": [
            {"name": "Chris Chair", "agency": "Dyfed-Powys Police"},
            {"name": "Lou Council", "agency": "Children's Social Care"},
            {"name": "Nina Nurse", "agency": "Health", "status": "virtual"},
            # a deputy for the Probation member stands in for Probation
            {"name": "Dee Deputy", "status": "deputy", "deputising_for": "Pat Probation"},
            {"name": "Yan Justice", "status": "apologies"},  # apologies: not represented
            # a guest from Learning Services is not its representative at the panel
            {"name": "Gill Visitor", "agency": "Learning Services", "guest": True},
        ],
        "chair": "Chris Chair",
        "cases": {"C-0001": {}, "C-0002": {}},
    }
    ran = _meeting_run(cli, root, coordinator, tmp_path, script)
    assert ran.exit_code == 0, ran.output
    meeting = _store(root, coordinator).read("M-0001")
    assert meeting["unrepresented"] == ["Learning Services", "Youth Justice Service"]
    assert "Core agencies not represented: Learning Services; Youth Justice Service." in ran.output

    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert (
        "**Core agencies not represented:** Learning Services; Youth Justice Service. "
        "To be reported to CYSUR by the chair." in minutes
    )
    html = run(cli, root, coordinator, "minutes", "render", "M-0001", "--format", "html").stdout
    assert "To be reported to CYSUR by the chair." in html

    report = run(cli, root, coordinator, "report", "bimonthly", "--period", "2026-11..2026-11",
                 "--format", "json")  # fmt: skip
    assert report.exit_code == 0, report.output
    rows = json.loads(report.stdout)["sections"]["attendance_by_agency"]
    assert rows["Learning Services"] == {
        "present": 1, "virtual": 0, "apologies": 0, "not_represented": 1}  # the guest  # fmt: skip
    assert rows["Youth Justice Service"]["not_represented"] == 1
    assert rows["Youth Justice Service"]["apologies"] == 1
    assert rows["Health"] == {"present": 1, "virtual": 1, "apologies": 0, "not_represented": 0}
    # the deputy, named without an agency, stands in for the member's: Probation's
    assert rows["Probation (NPS)"] == {"present": 1, "virtual": 0, "apologies": 0,
                                       "not_represented": 0}  # fmt: skip
    assert meeting["attendance"][3]["agency"] == "Probation (NPS)"
    md = run(cli, root, coordinator, "report", "bimonthly", "--period", "2026-11..2026-11",
             "--format", "md").stdout  # fmt: skip
    assert "Core agency not represented" in md and "Of those present, joined remotely" in md


@pytest.mark.parametrize("panel", ["macse"], indirect=True)
def test_every_core_agency_represented_is_said(panel, cli, coordinator, tmp_path):
    _profile, root, _chair = panel
    _ready(cli, root, coordinator)
    agencies = ["Children's Social Care", "Youth Justice Service", "Probation (NPS)",
                "Dyfed-Powys Police", "Health", "Learning Services"]  # fmt: skip
    attendance = [
        {"name": "Chris Chair", "agency": agencies[3]},
        {"name": "Lou Council", "agency": agencies[0]},
        {"name": "Nina Nurse", "agency": agencies[1], "status": "virtual"},
        {"name": "Sam Absent", "agency": agencies[2]},
        {"name": "Dee Deputy", "agency": agencies[5], "status": "deputy",
         "deputising_for": "Sam Absent"},
        {"name": "Eve Health", "agency": agencies[4], "status": "deputy",
         "deputising_for": "Nina Nurse"},
    ]  # fmt: skip
    ran = _meeting_run(cli, root, coordinator, tmp_path, {"attendance": attendance, "cases": {"C-0001": {}, "C-0002": {}}})
    assert ran.exit_code == 0, ran.output
    assert _store(root, coordinator).read("M-0001")["unrepresented"] == []
    minutes = run(cli, root, coordinator, "minutes", "render", "M-0001").stdout
    assert "Every core agency was represented." in minutes
    assert "Core agencies not represented" not in minutes


# --- on a terminal ------------------------------------------------------------------------


@pytest.mark.parametrize("panel", ["cse-panel"], indirect=True)
def test_remote_attendance_and_a_lead_update_on_a_terminal(panel, cli, coordinator):
    """`meeting run` asks for virtual attendance and, on the Stoke CSE panel, for each case
    whether the lead worker sent an update instead of attending; blank records nothing."""
    import pexpect
    from test_terminal import spawn

    _profile, root, _chair = panel
    _ready(cli, root, coordinator)
    child = spawn("--store", str(root), "--identity", str(coordinator.path),
                  "meeting", "run", "M-0001")  # fmt: skip
    member = r"\n?([A-Z][a-z]+ [A-Z][a-z]+) \([^)]*\) \[present/virtual/apologies/deputy/absent\]"
    while child.expect([member, "Anyone else attending"]) == 0:
        child.sendline("virtual" if child.match.group(1) == "Nina Nurse" else "")
    child.sendline("")
    child.expect("Who chaired")
    child.sendline("Chris Chair")
    child.expect("declarations of interest")
    child.sendline("n")
    child.expect("Actions from the previous meeting")
    child.sendline("")
    child.expect("=== C-0001")
    for answers, then in (
        ([("", "e-mail"), ("Sent by", "Jo Worker"), ("Their agency", "Brighter Futures")],
         "=== C-0002"),
        ([("", "")], "Offenders and locations"),  # blank: no update came, nothing recorded
    ):
        for _item in range(4):  # the Stoke CSE panel's case items
            child.expect(r"\?? ?:")
            child.sendline("")
        child.expect("Did the lead worker send an update instead of attending")
        for prompt, answer in answers:
            if prompt:
                child.expect(prompt)
            child.sendline(answer)
        child.expect("Risk level agreed")
        child.sendline("")
        child.expect("Add an action")
        child.sendline("n")
        child.expect("Decision")
        child.sendline("")
        while child.expect(["Agreed by", then]) == 0:
            child.sendline("n")
    child.sendline("")  # the closing item: not discussed
    child.expect("is finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    meeting = _store(root, coordinator).read("M-0001")
    statuses = {a["name"]: a["status"] for a in meeting["attendance"]}
    assert statuses["Nina Nurse"] == "virtual" and statuses["Chris Chair"] == "present"
    one, two = meeting["discussions"]
    assert one["lead_update"] == {"name": "Jo Worker", "agency": "Brighter Futures", "by": "e-mail"}
    assert "lead_update" not in two
