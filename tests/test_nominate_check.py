"""The duplicate-child warning comes before the case is saved (issue 13, small things):
`nominate --dry-run` checks and warns and saves nothing; on a terminal the coordinator is
asked whether to go on, and saying no saves nothing."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest
from test_cases import MARAC_OK, nominate

from conftest import git
from panelctl.panel.setup import create_store


@pytest.fixture
def marac(tmp_path, coordinator):
    store = create_store(
        tmp_path / "marac", "cse-marac", "B&NES CSE MARAC", coordinator.unlock(), "B&NES Council"
    )
    return store


def first_child(cli, marac, coordinator):
    done = nominate(cli, marac, coordinator, "--name", "Kasey Brightwater", "--dob", "14/03/2011",
                    *MARAC_OK, "--date", "01/01/2026")  # fmt: skip
    assert done.stdout == "C-0001\n", done.output


def test_a_dry_run_warns_and_saves_nothing(cli, marac, coordinator):
    first_child(cli, marac, coordinator)
    head = git(marac.root, "rev-parse", "HEAD")
    dry = nominate(cli, marac, coordinator, "--name", "Casey Bright-Water", "--dob", "14/03/2011",
                   *MARAC_OK, "--date", "01/02/2026", "--dry-run")  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ""
    assert "C-0001 is an open case with the same date of birth and a similar name" in dry.stderr
    assert "would be C-0002; nothing was saved" in dry.stderr
    assert "Casey" not in dry.stderr
    assert git(marac.root, "rev-parse", "HEAD") == head
    refused = nominate(cli, marac, coordinator, "--name", "Riley Ashdown", "--dob", "02/07/2031",
                       *MARAC_OK, "--date", "01/02/2026", "--dry-run")  # fmt: skip
    assert refused.exit_code != 0  # the checks are the real ones: a birth after nomination


def spawn_nominate(marac, coordinator, name: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "panelctl", "--store", str(marac.root), "--identity", str(coordinator.path),
         "nominate", "--name", name, "--dob", "14/03/2011", *MARAC_OK, "--date", "01/02/2026",
         "--concern", "Seen with older males"],
        env=dict(os.environ), encoding="utf-8", timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize("answer", ["n", "y"])
def test_on_a_terminal_the_warning_comes_first_and_no_saves_nothing(cli, marac, coordinator, answer):
    first_child(cli, marac, coordinator)
    head = git(marac.root, "rev-parse", "HEAD")
    child = spawn_nominate(marac, coordinator, "Casey Bright-Water")
    child.expect("C-0001 is an open case with the same date of birth and a similar name")
    child.expect("Nominate this child as a new case all the same")
    assert git(marac.root, "rev-parse", "HEAD") == head  # nothing saved while it asks
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    if answer == "n":
        assert "Not nominated: nothing was saved." in child.before
        assert git(marac.root, "rev-parse", "HEAD") == head
    else:
        assert "C-0002" in child.before
        assert git(marac.root, "rev-parse", "HEAD") != head
