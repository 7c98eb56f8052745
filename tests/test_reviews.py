"""Reviews due, assessments due for refresh, and who is behind on assessments.

The conftest store uses the Stoke MACE profile: reviews every 2 months, the Risk Factor
Matrix refreshed at least every 42 days.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from conftest import CANARY, git
from panelctl.base.errors import ExitCode
from panelctl.crypto import envelope
from panelctl.followup import reviews
from panelctl.panel.setup import create_store

POLICE, SOCIAL = "Staffordshire Police", "Children's Services"


def case(nominated, agency, professional, assessed=None, **more):
    record = {
        "status": "open",
        "child": {"name": CANARY},
        "nominated": nominated,
        "lead_agency": agency,
        "lead_professional": professional,
        **more,
    }
    if assessed:
        record["assessed"] = assessed
    return record


@pytest.fixture
def panel(store):
    """C-0001 never discussed; C-0002 discussed at M-0001; C-0003 with a chair's review
    date and never assessed; C-0004 closed long ago."""
    with store.transaction() as tx:
        tx.create("case", case(date(2026, 9, 1), POLICE, "Dana Whitfield", date(2026, 10, 1)))
        tx.create("case", case(date(2026, 9, 1), POLICE, "Owen Pryce", date(2026, 11, 20)))
        tx.create(
            "case",
            case(date(2026, 10, 1), SOCIAL, "Dana Whitfield", review_due=date(2026, 11, 20)),
        )
        closed = case(date(2026, 1, 1), SOCIAL, "Owen Pryce", status="closed")
        tx.create("case", {**closed, "closed": date(2026, 3, 1)})
        tx.create(
            "meeting",
            {
                "date": date(2026, 10, 15),
                "status": "held",
                "discussions": [{"case": "C-0002"}, {"case": "C-0003"}],
            },
        )
    return store


def run(cli, store, coordinator, *args):
    result = cli(*args, store=store.root, identity=coordinator.path)
    assert CANARY not in result.output
    return result


def due(cli, store, coordinator, *args):
    result = run(cli, store, coordinator, "review", "due", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [(r["case"], r["what"], r["due"], r["days_overdue"]) for r in json.loads(result.stdout)]


# --- review due ---------------------------------------------------------------------------


def test_reviews_and_refreshes_due_most_overdue_first(cli, panel, coordinator):
    assert due(cli, panel, coordinator, "--as-of", "15/11/2026") == [
        ("C-0003", "first assessment", "2026-10-01", 45),
        ("C-0001", "review", "2026-11-01", 14),
        ("C-0001", "assessment refresh", "2026-11-12", 3),
    ]


def test_within_adds_what_falls_due_soon_with_days_left(cli, panel, coordinator):
    soon = due(cli, panel, coordinator, "--as-of", "2026-11-15", "--within", "5")
    assert soon[-1] == ("C-0003", "review", "2026-11-20", -5)
    month = due(cli, panel, coordinator, "--as-of", "2026-11-15", "--within", "30")
    assert month[-1] == ("C-0002", "review", "2026-12-15", -30)  # 2 months after M-0001
    assert "C-0004" not in {row[0] for row in month}  # closed


def test_the_chairs_date_gives_way_once_the_case_is_discussed(cli, panel, coordinator):
    with panel.transaction() as tx:
        tx.create(
            "meeting",
            {"date": date(2026, 11, 25), "status": "held", "discussions": [{"case": "C-0003"}]},
        )
    rows = due(cli, panel, coordinator, "--as-of", "2027-01-25")
    assert ("C-0003", "review", "2027-01-25", 0) in rows


def test_review_due_check_exit_codes_and_formats(cli, panel, coordinator):
    found = run(cli, panel, coordinator, "review", "due", "--as-of", "2026-11-15", "--check")
    assert found.exit_code == ExitCode.PROBLEMS_FOUND and "C-0001" in found.stdout
    clear = run(cli, panel, coordinator, "review", "due", "--as-of", "2026-09-01", "--check")
    assert (clear.exit_code, clear.stdout, clear.stderr) == (0, "", "")
    as_csv = run(
        cli, panel, coordinator, "review", "due", "--as-of", "2026-11-15", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0]) == [
        "case",
        "what",
        "due",
        "days_overdue",
        "lead_professional",
        "lead_agency",
    ]
    assert rows[0] == {
        "case": "C-0003",
        "what": "first assessment",
        "due": "2026-10-01",
        "days_overdue": "45",
        "lead_professional": "Dana Whitfield",
        "lead_agency": SOCIAL,
    }
    bad = run(cli, panel, coordinator, "review", "due", "--within", "-1")
    assert bad.exit_code == ExitCode.USAGE


def test_review_due_reads_only_the_index(cli, panel, coordinator, monkeypatch):
    real = envelope.decrypt

    def guarded(keys, store_id, path, blob):
        assert not str(path).startswith(("cases/", "meetings/")), f"decrypted {path}"
        return real(keys, store_id, path, blob)

    monkeypatch.setattr(envelope, "decrypt", guarded)
    assert due(cli, panel, coordinator, "--as-of", "2026-11-15")
    assert run(cli, panel, coordinator, "rfm", "compliance", "--as-of", "2026-11-15").stdout


def test_a_panel_without_cadence_or_refresh_rules_has_nothing_due(tmp_path, coordinator, cli):
    marac = create_store(
        tmp_path / "marac", "cse-marac", "B&NES CSE MARAC", coordinator.unlock(), "Council"
    )
    with marac.transaction() as tx:
        tx.create("case", case(date(2020, 1, 1), POLICE, "Dana Whitfield"))
    assert due(cli, marac, coordinator, "--as-of", "2026-11-15") == []
    for args in (["review", "due"], ["rfm", "compliance"], ["rfm", "compliance", "--list"]):
        result = run(cli, marac, coordinator, *args, "--check")
        assert (result.exit_code, result.output) == (0, "")


# --- rfm compliance -----------------------------------------------------------------------


def compliance(cli, store, coordinator, *args):
    result = run(cli, store, coordinator, "rfm", "compliance", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_compliance_counts_per_agency_and_practitioner(cli, panel, coordinator):
    counts = [
        (r["level"], r["lead_agency"], r["lead_professional"])
        + (r["open_cases"], r["overdue_refreshes"], r["never_assessed"])
        for r in compliance(cli, panel, coordinator, "--as-of", "15/11/2026")
    ]
    assert counts == [
        ("agency", SOCIAL, "", 1, 0, 1),
        ("professional", SOCIAL, "Dana Whitfield", 1, 0, 1),
        ("agency", POLICE, "", 2, 1, 0),
        ("professional", POLICE, "Dana Whitfield", 1, 1, 0),
    ]
    everyone = compliance(cli, panel, coordinator, "--as-of", "15/11/2026", "--all")
    assert ("professional", POLICE, "Owen Pryce", 1, 0, 0) in [tuple(r.values()) for r in everyone]


def test_compliance_list_names_the_cases(cli, panel, coordinator):
    rows = compliance(cli, panel, coordinator, "--as-of", "2026-11-15", "--list")
    assert [(r["case"], r["state"], r["assessed"], r["days_overdue"]) for r in rows] == [
        ("C-0003", "never assessed", None, 45),
        ("C-0001", "overdue", "2026-10-01", 3),
    ]
    as_csv = run(
        cli,
        panel,
        coordinator,
        "rfm",
        "compliance",
        "--as-of",
        "2026-11-15",
        "--list",
        "--format",
        "csv",
    ).stdout
    assert [r["case"] for r in csv.DictReader(io.StringIO(as_csv))] == ["C-0003", "C-0001"]


def test_compliance_check_exit_codes(cli, panel, coordinator):
    behind = run(cli, panel, coordinator, "rfm", "compliance", "--as-of", "2026-11-15", "--check")
    assert behind.exit_code == ExitCode.PROBLEMS_FOUND and POLICE in behind.stdout
    with panel.transaction() as tx:  # assess the two cases behind
        for case_id in ("C-0001", "C-0003"):
            record = panel.read(case_id)
            record["assessed"] = date(2026, 11, 14)
            tx.put(record)
    for args in ([], ["--list"]):
        clear = run(
            cli, panel, coordinator, "rfm", "compliance", "--as-of", "2026-11-15", "--check", *args
        )
        assert (clear.exit_code, clear.stdout, clear.stderr) == (0, "", "")
    messages = git(panel.root, "log", "--format=%s%n%b")
    assert CANARY not in messages


# --- the pure rules -----------------------------------------------------------------------


def test_due_items_for_one_case():
    fields = {"nominated": date(2026, 1, 31), "assessed": date(2026, 2, 1), "review_due": None}
    assert reviews.due_items(fields, None, 1, 42) == [
        ("review", date(2026, 2, 28)),  # a month after 31 January
        ("assessment refresh", date(2026, 3, 15)),
    ]
    assert reviews.due_items(fields, None, None, None) == []
    never = {"nominated": date(2026, 1, 31)}
    assert reviews.due_items(never, date(2026, 3, 1), 2, 42) == [
        ("review", date(2026, 5, 1)),
        ("first assessment", date(2026, 1, 31)),
    ]


# --- cron ---------------------------------------------------------------------------------


def test_cron_runs_have_no_colour_and_nothing_on_stderr(panel, coordinator):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    base = [sys.executable, "-m", "panelctl", "--store", str(panel.root)]
    base += ["--identity", str(coordinator.path)]
    for args, code in [
        (["review", "due", "--as-of", "2026-11-15"], 0),
        (["review", "due", "--as-of", "2026-11-15", "--check"], 1),
        (["review", "due", "--as-of", "2026-09-01", "--check"], 0),
        (["rfm", "compliance", "--as-of", "2026-11-15"], 0),
        (["rfm", "compliance", "--as-of", "2026-11-15", "--list", "--check"], 1),
    ]:
        result = subprocess.run(
            [*base, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
        )
        assert result.returncode == code, result.stderr
        assert result.stderr == ""
        assert "\x1b" not in result.stdout and CANARY not in result.stdout
        assert bool(result.stdout) == (args[-1] != "--check" or code == 1)
