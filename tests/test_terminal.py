"""panelctl on a real terminal (a pseudo-terminal driven by pexpect), as a person uses it."""

from __future__ import annotations

import os
import subprocess
import sys

import pexpect
import pytest

from conftest import CANARY
from panelctl.panel.setup import create_store


@pytest.fixture
def marac(tmp_path, coordinator):
    return create_store(
        tmp_path / "marac", "cse-marac", "B&NES CSE MARAC", coordinator.unlock(), "Council"
    )


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "panelctl", *args],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=20,
    )


def test_nominate_asks_for_missing_details_on_a_terminal(marac, coordinator):
    child = spawn(
        "--store",
        str(marac.root),
        "--identity",
        str(coordinator.path),
        "nominate",
        "--protocol-followed",
    )
    answers = [
        ("Child's name", CANARY),
        ("Date of birth", "14/03/2011"),
        ("Referring agency", "Avon and Somerset Police"),
        ("Nature of the concern", "Seen with older males"),
        ("Exploitation type", "sexual"),
    ]
    for prompt, answer in answers:
        child.expect(prompt)
        child.sendline(answer)
    child.expect("C-0001")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    case = marac.read("C-0001")
    assert case["child"]["name"] == CANARY and case["exploitation_types"] == ["sexual"]


def test_passphrase_is_asked_on_the_terminal_and_never_echoed(tmp_path):
    config = tmp_path / "cfg"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "panelctl", "identity", "new", "--name", "Pat Person"],
        env={**os.environ, "PANELCTL_CONFIG_DIR": str(config)},
        encoding="utf-8",
        timeout=30,
    )
    child.expect("New passphrase: ")
    child.sendline("a secret long enough")
    child.expect("Same passphrase again: ")
    child.sendline("a secret long enough")
    child.expect("pcr2[a-z2-7]{109}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "a secret long enough" not in (child.before or "")
    assert (config / "identity.json").stat().st_mode & 0o777 == 0o600


def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(marac, coordinator):
    from conftest import git

    head = git(marac.root, "rev-parse", "HEAD")
    child = spawn("--store", str(marac.root), "--identity", str(coordinator.path), "nominate")
    child.expect("Child's name")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "interrupted" in child.before
    assert git(marac.root, "rev-parse", "HEAD") == head


def test_meeting_run_on_a_terminal_and_resume_after_the_terminal_is_lost(tmp_path, coordinator):
    """A coordinator answers `meeting run` on a terminal; the terminal dies during the first
    case; running it again resumes at that case with everything before it kept."""
    from datetime import date

    from panelctl.casework import cases
    from panelctl.meetings.agenda import build_agenda
    from panelctl.meetings.schedule import schedule
    from panelctl.panel.directory import seed_agencies

    store = create_store(
        tmp_path / "mcse", "mcse", "Plymouth MCSE", coordinator.unlock(), "Council"
    )
    seed_agencies(store)  # the quorum is worked out from the agencies' sectors
    from panelctl.panel.directory import add_member

    members = (
        ("Chris Chair", "Devon and Cornwall Police"),
        ("Nina Nurse", "Plymouth Hospitals NHS Trust"),
        ("Lou Council", "Public Health"),
    )
    for name, agency in members:
        add_member(store, name, agency, "core")
    for name in ("Aa Child", "Bb Child"):
        cases.nominate(store, {"child": {"name": name, "dob": "2011-01-01"}}, date(2026, 11, 2))
    schedule(store, date(2026, 11, 19), "14:00", None)
    build_agenda(store, "M-0001", date(2026, 11, 5))
    args = (
        "--store",
        str(store.root),
        "--identity",
        str(coordinator.path),
        "meeting",
        "run",
        "M-0001",
    )

    child = spawn(*args)
    for _name, _agency in members:
        child.expect(r"\[present/virtual/apologies/deputy/absent\]")
        child.sendline("")  # present, the default
    child.expect("Anyone else attending")
    child.sendline("Gill Visitor")
    child.expect("Agency")
    child.sendline("Plymouth City Council")
    child.expect("Anyone else attending")
    child.sendline("")
    child.expect("Who chaired")
    child.sendline("Chris Chair")
    # Plymouth has no confidentiality form: nobody is asked to sign (nothing is recorded)
    child.expect("declarations of interest")
    child.sendline("n")
    child.expect("Actions from the previous meeting")
    child.sendline("All three were done")
    child.expect("=== C-0001")
    child.expect("Summary")
    child.close(force=True)  # the battery dies
    saved = store.read("M-0001")["progress"]
    assert saved == ["attendance", "confidentiality", "declarations", "quorum", "standing items"]

    child = spawn(*args)
    child.expect("Resuming M-0001 at: case C-0001")
    for case_id in ("C-0001", "C-0002"):
        child.expect(f"=== {case_id}")
        for _item in range(4):  # the MCSE profile's case items
            child.expect(r"\?? ?:")
            child.sendline(f"Notes on {case_id}")
        child.expect("Risk level agreed")
        child.sendline("Medium")
        child.expect("Add an action")
        child.sendline("n")
        child.expect("Decision")
        child.sendline("keep")
        for _ in range(4):
            child.expect("Agreed by")
            child.sendline("y")
    child.expect("Key performance data")  # the profile's closing items
    child.sendline("Two referrals this quarter")
    child.expect("Action plans")
    child.sendline("")  # not discussed: nothing recorded
    child.expect("is finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    meeting = store.read("M-0001")
    assert meeting["status"] == "held" and meeting["quorate"] is True
    assert [(a["name"], bool(a.get("guest"))) for a in meeting["attendance"]] == [
        ("Chris Chair", False),
        ("Nina Nurse", False),
        ("Lou Council", False),
        ("Gill Visitor", True),
    ]
    assert [d["risk_agreed"] for d in meeting["discussions"]] == ["Medium", "Medium"]
    assert meeting["chair"] == "Chris Chair" and "confidentiality" not in meeting
    assert meeting["standing_items"] == {"actions from the previous meeting": "All three were done"}
    assert meeting["closing_items"] == {"key performance data": "Two referrals this quarter"}


#: An editor a person drives on the terminal: it shows the problem panelctl put at the top
#: of the file, asks for a status and a team, and writes them into the record.
TERMINAL_EDITOR = """\
import sys
from pathlib import Path

path = Path(sys.argv[-1])  # the file comes last, after the command's own arguments
with open(sys.argv[1], "a") as log:
    log.write(str(path) + "\\n")
lines = path.read_text().splitlines()
if lines[0].startswith("# panelctl"):
    print("PROBLEM:", lines[0])
status = input("status? ")
team = input("team? ")
lines = [f"status: {status}" if x.startswith("status:") else x for x in lines if not x.startswith("team:")]
path.write_text("\\n".join(lines) + f"\\nteam: {team}\\n")
"""


def spawn_editing(store, coordinator, tmp_path, record_id="C-0001"):
    from datetime import date

    from panelctl.casework import cases

    nomination = {"child": {"name": CANARY, "dob": "2011-03-14"}, "assessment": {"level": "High"}}
    cases.nominate(store, nomination, date(2026, 11, 2))
    script = tmp_path / "term-editor.py"
    script.write_text(TERMINAL_EDITOR)
    log = tmp_path / "paths.log"
    command = f"{sys.executable} {script} {log}"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "panelctl", "--store", str(store.root), "--identity", str(coordinator.path)]
        + ["record", "edit", record_id],
        env={**os.environ, "VISUAL": command},
        encoding="utf-8",
        timeout=20,
    )
    return child, log


def test_record_edit_on_a_terminal_reopens_on_a_problem_then_saves(store, coordinator, tmp_path):
    child, log = spawn_editing(store, coordinator, tmp_path)
    child.expect("status\\? ")
    child.sendline("maybe")
    child.expect("team\\? ")
    child.sendline("Hub")
    child.expect(
        "PROBLEM: # panelctl could not save this: case C-0001: field status must be one of"
    )
    child.expect("status\\? ")
    child.sendline("open")
    child.expect("team\\? ")
    child.sendline("Hub")
    child.expect("Saved C-0001")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert store.read("C-0001")["team"] == "Hub"
    paths = set(log.read_text().split())
    assert len(paths) == 1 and not os.path.exists(os.path.dirname(paths.pop()))


def test_ctrl_c_in_the_editor_saves_nothing_and_removes_the_plaintext(store, coordinator, tmp_path):
    from conftest import git

    child, log = spawn_editing(store, coordinator, tmp_path)
    head = git(store.root, "rev-parse", "HEAD")
    child.expect("status\\? ")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and "interrupted" in child.before
    assert git(store.root, "rev-parse", "HEAD") == head
    (path,) = log.read_text().split()
    assert not os.path.exists(os.path.dirname(path))


def test_an_empty_list_says_so_on_a_terminal_and_prints_nothing_into_a_pipe(marac, coordinator):
    child = spawn("--store", str(marac.root), "--identity", str(coordinator.path), "case", "list")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert child.before.strip() == "Nothing to list."
    piped = subprocess.run(
        [sys.executable, "-m", "panelctl", "case", "list"],
        env={**os.environ, "PANELCTL_STORE": str(marac.root),
             "PANELCTL_IDENTITY": str(coordinator.path)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "", "")
    as_json = subprocess.run(
        [sys.executable, "-m", "panelctl", "case", "list", "--format", "json"],
        env={**os.environ, "PANELCTL_STORE": str(marac.root),
             "PANELCTL_IDENTITY": str(coordinator.path)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert as_json.stdout == "[]\n"
