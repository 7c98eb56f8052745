"""panelctl on a real terminal (a pseudo-terminal driven by pexpect), as a person uses it."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

from conftest import CANARY
from panelctl.store import init_store


@pytest.fixture
def marac(tmp_path, coordinator):
    return init_store(
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
    child.expect("pcr1[a-z2-7]{58}")
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
