"""Issue 13, items 4, 5 and 7 (actions), through the CLI: closure as the seeds say (MACSE:
every core agency present agrees), a close with a reason and with the case's open actions
settled; a meeting without quorum loses nothing, adjourning and cancelling a meeting; an
action's completion on the day it really happened."""

from __future__ import annotations

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
    run = cli("meeting", "run", meeting, "--script", str(script), store=macse, identity=coordinator.path)
    assert run.exit_code == ExitCode.NOT_ALLOWED, run.output
    assert "C-0002" in run.stderr and "not yet agreed: Health." in run.stderr
    assert "Learning Services" not in run.stderr  # not present: not asked
    store = reader(macse, coordinator)
    assert store.read("C-0002")["status"] == "open"
    assert store.read(meeting)["progress"][-1] == "case C-0001"  # C-0001 kept, C-0002 not saved

    no_reason = write_script(
        tmp_path,
        {"C-0001": keep(), "C-0002": {**closing, "agreed_by": [n for n, _a in MEMBERS], "closure": {}}},
        name="again.yaml",
    )
    refused = cli(
        "meeting", "run", meeting, "--script", str(no_reason), store=macse, identity=coordinator.path
    )
    assert refused.exit_code == ExitCode.INVALID_INPUT
    assert "cases.C-0002.closure.reason" in refused.stderr

    fixed = write_script(
        tmp_path,
        {"C-0001": keep(), "C-0002": {**closing, "agreed_by": [n for n, _a in MEMBERS]}},
        name="fixed.yaml",
    )
    ran = cli("meeting", "run", meeting, "--script", str(fixed), store=macse, identity=coordinator.path)
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
    ran = cli("meeting", "run", meeting, "--script", str(script), store=macse, identity=coordinator.path)
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
