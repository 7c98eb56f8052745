"""The action log between meetings: lists for cron, and changes kept with who and when."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import CANARY, git
from panelctl.base.dates import LONDON
from panelctl.base.errors import ExitCode, InvalidInputError, NotAllowedError
from panelctl.crypto import envelope
from panelctl.followup import actions

POLICE, SOCIAL = "Staffordshire Police", "Children's Services"


@pytest.fixture
def log(store):
    """A case whose child is the canary, a meeting and three actions (one names the child)."""
    with store.transaction() as tx:
        tx.create(
            "case",
            {
                "status": "open",
                "child": {"name": CANARY},
                "nominated": date(2026, 9, 1),
                "lead_agency": POLICE,
            },
        )
        tx.create("meeting", {"date": date(2026, 10, 1), "status": "held"})
        for description, agency, owner, due, status in [
            (f"Visit {CANARY} at home", POLICE, "Jo Worker", date(2026, 11, 1), "open"),
            (f"Refer {CANARY} to the NRM", SOCIAL, "Sam Nurse", date(2026, 12, 1), "open"),
            ("Share the chronology", SOCIAL, "Sam Nurse", date(2026, 10, 15), "done"),
        ]:
            action = {
                "description": description,
                "case": "C-0001",
                "meeting": "M-0001",
                "agency": agency,
                "owner": owner,
                "due": due,
                "status": status,
            }
            if status == "done":
                action["completed"] = date(2026, 10, 10)
            tx.create("action", action)
    return store


def run(cli, store, coordinator, *args):
    result = cli(*args, store=store.root, identity=coordinator.path)
    assert CANARY not in result.output
    return result


def ids(result) -> list[str]:
    return [row["id"] for row in json.loads(result.stdout)]


# --- lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,expected",
    [
        ([], ["A-00003", "A-00001", "A-00002"]),
        (["--agency", "staffordshire police"], ["A-00001"]),
        (["--owner", "Sam Nurse"], ["A-00003", "A-00002"]),
        # the one name rule (names.fold), as `remind` uses: case and spacing do not matter
        (["--owner", " sam   NURSE "], ["A-00003", "A-00002"]),
        (["--case", "c-0001", "--meeting", "M-0001"], ["A-00003", "A-00001", "A-00002"]),
        (["--case", "C-0002"], []),
        (["--status", "open"], ["A-00001", "A-00002"]),
        (["--due-before", "01/11/2026"], ["A-00003"]),
        (["--due-after", "2026-11-01"], ["A-00002"]),
        (["--due-after", "14/10/2026", "--due-before", "2026-12-01"], ["A-00003", "A-00001"]),
    ],
)
def test_list_filters(cli, log, coordinator, args, expected):
    result = run(cli, log, coordinator, "actions", "list", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert ids(result) == expected


def test_list_formats_parse_back_and_hold_no_description(cli, log, coordinator):
    as_json = json.loads(run(cli, log, coordinator, "actions", "list", "--format", "json").stdout)
    assert as_json[1] == {
        "id": "A-00001",
        "case": "C-0001",
        "meeting": "M-0001",
        "agency": POLICE,
        "owner": "Jo Worker",
        "owner_email": None,
        "due": "2026-11-01",
        "status": "open",
        "completed": None,
    }
    as_csv = run(cli, log, coordinator, "actions", "list", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["id"] for r in rows] == ["A-00003", "A-00001", "A-00002"]
    assert rows[0]["completed"] == "2026-10-10" and rows[1]["completed"] == ""
    table = run(cli, log, coordinator, "actions", "list").stdout
    assert "1 Nov 2026" in table and "Visit" not in table and "\x1b" not in table


def test_list_with_an_unknown_status_is_refused(cli, log, coordinator):
    result = run(cli, log, coordinator, "actions", "list", "--status", "finished")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "open, done, cancelled" in result.stderr


def test_overdue_as_of_a_day_with_days_overdue(cli, log, coordinator):
    on_due_day = run(cli, log, coordinator, "actions", "overdue", "--as-of", "01/11/2026")
    assert (on_due_day.exit_code, on_due_day.stdout, on_due_day.stderr) == (0, "", "")
    later = run(
        cli, log, coordinator, "actions", "overdue", "--as-of", "2026-12-03", "--format", "json"
    )
    rows = json.loads(later.stdout)
    assert [(r["id"], r["days_overdue"]) for r in rows] == [("A-00001", 32), ("A-00002", 2)]
    as_csv = run(
        cli, log, coordinator, "actions", "overdue", "--as-of", "2026-12-03", "--format", "csv"
    )
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["id"], r["days_overdue"]) for r in parsed] == [("A-00001", "32"), ("A-00002", "2")]


def test_overdue_check_exit_codes(cli, log, coordinator):
    found = run(cli, log, coordinator, "actions", "overdue", "--as-of", "02/11/2026", "--check")
    assert found.exit_code == ExitCode.PROBLEMS_FOUND == 1
    assert "A-00001" in found.stdout and found.stderr == ""
    clear = run(cli, log, coordinator, "actions", "overdue", "--as-of", "01/10/2026", "--check")
    assert (clear.exit_code, clear.stdout, clear.stderr) == (0, "", "")
    empty_json = run(
        cli, log, coordinator, "actions", "overdue", "--as-of", "01/10/2026", "--format", "json"
    )
    assert json.loads(empty_json.stdout) == []
    empty_csv = run(
        cli, log, coordinator, "actions", "overdue", "--as-of", "01/10/2026", "--format", "csv"
    )
    assert empty_csv.stdout.splitlines() == [
        "id,case,meeting,agency,owner,owner_email,due,days_overdue"
    ]
    listed = run(cli, log, coordinator, "actions", "list", "--status", "open", "--check")
    assert listed.exit_code == ExitCode.PROBLEMS_FOUND


def test_overdue_decrypts_no_action_record(cli, log, coordinator, monkeypatch):
    real = envelope.decrypt

    def guarded(keys, store_id, path, blob):
        assert not str(path).startswith("actions/"), f"decrypted {path}"
        return real(keys, store_id, path, blob)

    monkeypatch.setattr(envelope, "decrypt", guarded)
    result = run(cli, log, coordinator, "actions", "overdue", "--as-of", "2027-01-01")
    assert result.exit_code == 0, result.output
    assert "A-00001" in result.stdout and "A-00002" in result.stdout


# --- changes ------------------------------------------------------------------------------


def commits(store) -> int:
    return int(git(store.root, "rev-list", "--count", "HEAD"))


def test_every_change_is_one_commit_kept_with_who_and_when(cli, log, coordinator):
    before = commits(log)
    steps = [
        ("actions", "update", "A-00001", "--note", "Home visit booked"),
        ("actions", "extend", "A-00001", "--due", "10/01/2099", "--reason", "Family away"),
        ("actions", "reassign", "a-00001", "--agency", SOCIAL, "--owner", "Sam Nurse"),
        ("actions", "done", "A-00001", "--note", "Visited"),
    ]
    for number, step in enumerate(steps, start=1):
        result = run(cli, log, coordinator, *step)
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert commits(log) == before + number
    messages = git(log.root, "log", "--format=%s%n%b", "-4")
    assert messages.count("Update action A-00001") == 4 and CANARY not in messages
    action = log.read("A-00001")
    assert action["status"] == "done" and action["completed"] == datetime.now(LONDON).date()
    assert (action["agency"], action["owner"], action["due"]) == (
        SOCIAL,
        "Sam Nurse",
        date(2099, 1, 10),
    )
    history = action["history"]
    assert [(h["change"], h.get("note")) for h in history] == [
        ("note", "Home visit booked"),
        ("due extended from 1 Nov 2026 to 10 Jan 2099", "Family away"),
        (f"reassigned from {POLICE} / Jo Worker to {SOCIAL} / Sam Nurse", None),
        ("done", "Visited"),
    ]
    now = datetime.now(UTC)
    for item in history:
        assert item["by"] == "Sam Coordinator"
        assert item["at"].second == 0 and item["at"].microsecond == 0
        assert now - timedelta(minutes=2) <= item["at"] <= now


def test_show_lists_the_history(cli, log, coordinator):
    run(cli, log, coordinator, "actions", "update", "A-00002", "--note", "Referral drafted")
    shown = cli("actions", "show", "A-00002", store=log.root, identity=coordinator.path)
    assert shown.exit_code == 0, shown.output
    assert "Sam Coordinator" in shown.stdout and "Referral drafted" in shown.stdout
    assert "1 Dec 2026" in shown.stdout and shown.stderr == ""
    as_json = json.loads(
        cli(
            "actions",
            "show",
            "A-00002",
            "--format",
            "json",
            store=log.root,
            identity=coordinator.path,
        ).stdout
    )
    assert as_json["history"][0]["by"] == "Sam Coordinator" and as_json["due"] == "2026-12-01"
    as_csv = cli(
        "actions", "show", "A-00002", "--format", "csv", store=log.root, identity=coordinator.path
    ).stdout
    (row,) = csv.DictReader(io.StringIO(as_csv))
    assert (row["change"], row["note"]) == ("note", "Referral drafted")


def test_reassign_keeps_the_new_email_and_drops_the_old_one(cli, log, coordinator):
    first = run(
        cli,
        log,
        coordinator,
        "actions",
        "reassign",
        "A-00002",
        "--agency",
        POLICE,
        "--owner",
        "Jo Worker",
        "--email",
        "jo.worker@police.example.uk",
    )
    assert first.exit_code == 0, first.output
    assert log.read("A-00002")["owner_email"] == "jo.worker@police.example.uk"
    listed = run(
        cli, log, coordinator, "actions", "list", "--owner", "jo worker", "--format", "json"
    )
    assert [r["owner_email"] for r in json.loads(listed.stdout)] == [
        None,
        "jo.worker@police.example.uk",
    ]
    back = run(
        cli, log, coordinator, "actions", "reassign", "A-00002", "--agency", SOCIAL, "--owner", "Al"
    )
    assert back.exit_code == 0 and "owner_email" not in log.read("A-00002")


@pytest.mark.parametrize(
    "args,code,words",
    [
        (
            ["done", "A-00003"],
            ExitCode.NOT_ALLOWED,
            "A-00003 is already done (completed 10 Oct 2026)",
        ),
        (
            ["extend", "A-00001", "--due", "01/01/2020", "--reason", "r"],
            ExitCode.INVALID_INPUT,
            "before today",
        ),
        (
            ["extend", "A-00001", "--due", "2026-10-01", "--reason", "r"],
            ExitCode.INVALID_INPUT,
            "before today",
        ),
        (
            ["extend", "A-00002", "--due", "30/02/2099", "--reason", "r"],
            ExitCode.INVALID_INPUT,
            "--due",
        ),
        (
            ["extend", "A-00002", "--due", "2099-01-01", "--reason", " "],
            ExitCode.INVALID_INPUT,
            "--reason",
        ),
        (
            ["extend", "A-00003", "--due", "2099-01-01", "--reason", "r"],
            ExitCode.NOT_ALLOWED,
            "A-00003 is done",
        ),
        (
            ["reassign", "A-00003", "--agency", POLICE, "--owner", "X"],
            ExitCode.NOT_ALLOWED,
            "only an open action",
        ),
        (
            ["reassign", "A-00001", "--agency", POLICE, "--owner", "jo worker"],
            ExitCode.INVALID_INPUT,
            "already with",
        ),
        (
            ["reassign", "A-00001", "--agency", POLICE, "--owner", "X", "--email", "x"],
            ExitCode.INVALID_INPUT,
            "--email",
        ),
        (["update", "A-00001", "--note", ""], ExitCode.INVALID_INPUT, "--note"),
        (["done", "A-09999"], ExitCode.NOT_FOUND, "No action A-09999"),
        (["show", "A-09999"], ExitCode.NOT_FOUND, "No action A-09999"),
        (["update", "C-0001", "--note", "n"], ExitCode.INVALID_INPUT, "not an action id"),
        (["update", "nonsense", "--note", "n"], ExitCode.INVALID_INPUT, "not a record id"),
    ],
)
def test_errors_name_the_action_and_change_nothing(cli, log, coordinator, args, code, words):
    head = git(log.root, "rev-parse", "HEAD")
    result = run(cli, log, coordinator, "actions", *args)
    assert result.exit_code == code, result.output
    assert words in result.stderr and result.stdout == ""
    assert "Visit" not in result.output and "Refer" not in result.output
    assert git(log.root, "rev-parse", "HEAD") == head


def test_extending_needs_a_later_date_than_the_current_one(cli, log, coordinator):
    later = (datetime.now(LONDON).date() + timedelta(days=400)).isoformat()
    ok = run(cli, log, coordinator, "actions", "extend", "A-00001", "--due", later, "--reason", "r")
    assert ok.exit_code == 0, ok.output
    again = run(
        cli, log, coordinator, "actions", "extend", "A-00001", "--due", later, "--reason", "r"
    )
    assert again.exit_code == ExitCode.INVALID_INPUT and "not after its current" in again.stderr


def test_reassigning_to_an_unknown_agency_is_refused_once_agencies_are_listed(
    cli, log, coordinator
):
    added = cli(
        "agency",
        "add",
        "--name",
        POLICE,
        "--sector",
        "police",
        store=log.root,
        identity=coordinator.path,
    )
    assert added.exit_code == 0, added.output
    result = run(
        cli,
        log,
        coordinator,
        "actions",
        "reassign",
        "A-00001",
        "--agency",
        "Nowhere",
        "--owner",
        "X",
    )
    assert result.exit_code == ExitCode.INVALID_INPUT and "Unknown agency" in result.stderr


# --- the pure changes ---------------------------------------------------------------------


ACTION = {
    "id": "A-00007",
    "description": f"Visit {CANARY}",
    "agency": POLICE,
    "owner": "Jo Worker",
    "owner_email": "jo@police.example.uk",
    "due": date(2026, 7, 1),
    "status": "open",
}
SUMMER = datetime(2026, 7, 1, 11, 30, 45, 123, tzinfo=UTC)  # 12:30:45 in London (BST)


def test_history_is_stamped_in_uk_time_to_the_minute():
    done = actions.mark_done(ACTION, "Ann Chair", SUMMER, note="Visited")
    assert done["status"] == "done" and done["completed"] == date(2026, 7, 1)
    (item,) = done["history"]
    assert item == {
        "at": datetime(2026, 7, 1, 12, 30, tzinfo=LONDON),
        "by": "Ann Chair",
        "change": "done",
        "note": "Visited",
    }
    assert str(item["at"].utcoffset()) == "1:00:00"
    assert "history" not in ACTION  # the record given is left as it was


def test_the_pure_changes_refuse_what_makes_no_sense():
    done = actions.mark_done(ACTION, "Ann Chair", SUMMER)
    with pytest.raises(NotAllowedError, match="already done"):
        actions.mark_done(done, "Ann Chair", SUMMER)
    with pytest.raises(InvalidInputError, match="before today") as error:
        actions.extended(ACTION, date(2026, 6, 30), "late", "Ann Chair", SUMMER)
    assert CANARY not in str(error.value)
    today = actions.extended(ACTION, date(2026, 7, 2), "r", "Ann Chair", SUMMER)
    assert today["history"][-1]["change"] == "due extended from 1 Jul 2026 to 2 Jul 2026"
    moved = actions.reassigned(ACTION, SOCIAL, "Sam Nurse", None, "Ann Chair", SUMMER)
    assert "owner_email" not in moved
    assert moved["history"][-1]["change"] == (
        f"reassigned from {POLICE} / Jo Worker to {SOCIAL} / Sam Nurse"
    )


# --- cron -----------------------------------------------------------------------------------


def test_a_cron_run_has_no_colour_no_prompt_and_nothing_on_stderr(log, coordinator):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    base = [sys.executable, "-m", "panelctl", "--store", str(log.root)]
    base += ["--identity", str(coordinator.path), "actions"]
    for args, code in [
        (["overdue", "--as-of", "2026-12-03"], 0),
        (["overdue", "--as-of", "2026-12-03", "--check"], 1),
        (["overdue", "--as-of", "2026-10-01", "--check"], 0),
        (["list"], 0),
    ]:
        result = subprocess.run(
            [*base, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
        )
        assert result.returncode == code, result.stderr
        assert result.stderr == ""
        assert "\x1b" not in result.stdout and CANARY not in result.stdout
    assert (
        "A-00001"
        in subprocess.run(
            [*base, "list"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
        ).stdout
    )
