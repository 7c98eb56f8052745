"""`case show`: each discussion of a case listed once, and only for meetings that held it
(issue 13, small things), with dates in the UK style."""

from __future__ import annotations

import json

import pytest
from test_meetings import LEVELS, run, script_for
from test_meetings import panel as _panel  # noqa: F401  (the fixture, found by its name)

from conftest import CANARY
from panelctl.base import yamlio


def discussions(cli, root, coordinator) -> list[dict]:
    shown = run(cli, root, coordinator, "case", "show", "C-0001", "--format", "json")
    assert shown.exit_code == 0, shown.output
    return [e for e in json.loads(shown.stdout)["chronology"] if "Discussed" in e["what"]]


@pytest.mark.parametrize("_panel", ["mace"], indirect=True)
def test_a_discussion_is_listed_once_and_only_once_held(_panel, cli, coordinator, tmp_path):  # noqa: F811
    profile, root, _chair = _panel
    for day in ("19/11/2026", "03/12/2026"):
        assert run(cli, root, coordinator, "meeting", "schedule", day, "--time", "09:30").exit_code == 0
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--out",
                str(tmp_path / "papers"), "--as-of", "05/11/2026")  # fmt: skip
    assert built.exit_code == 0, built.output
    assert discussions(cli, root, coordinator) == []  # on an agenda is not discussed
    script = tmp_path / "script.yaml"
    script.write_bytes(
        yamlio.dump(script_for(["C-0001", "C-0002"], levels=LEVELS.get(profile, ("Medium", "Low"))))
    )
    ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script))
    assert ran.exit_code == 0, ran.output
    held = discussions(cli, root, coordinator)
    assert [(e["ref"], e["what"]) for e in held] == [("C-0001", "Discussed at panel M-0001")]
    table = run(cli, root, coordinator, "case", "show", "C-0001")
    assert table.stdout.count("Discussed at panel") == 1
    assert "19 Nov 2026" in table.stdout and "2026-11-19" not in table.stdout
    assert CANARY in table.stdout  # the case's own page names the child


@pytest.mark.parametrize("_panel", ["mace"], indirect=True)
def test_each_change_says_one_line_and_never_a_value(_panel, cli, coordinator):  # noqa: F811
    _profile, root, _chair = _panel
    said = {
        ("case", "update", "C-0001", "--team", "Adolescent Team"): "C-0001 updated: team.",
        ("case", "flag", "C-0001", "--flag", "Older associates", "--owner", "Jo Worker",
         "--review", "01/04/2027"): "Flag added to C-0001.",
        ("case", "missing", "C-0001", "--from", "14/11/2026 18:30", "--to", "15/11/2026 09:10"):
            "Missing episode recorded on C-0001.",
    }  # fmt: skip
    for args, line in said.items():
        done = run(cli, root, coordinator, *args)
        assert done.exit_code == 0, done.output
        assert done.stderr.strip().splitlines() == [line], args
        assert "Adolescent" not in done.stderr and "Jo Worker" not in done.stderr


@pytest.mark.parametrize("_panel", ["mace"], indirect=True)
def test_the_agenda_on_screen_names_each_item(_panel, cli, coordinator):  # noqa: F811
    _profile, root, _chair = _panel
    assert run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30").exit_code == 0
    dry = run(cli, root, coordinator, "agenda", "build", "M-0001", "--dry-run", "--as-of", "05/11/2026")
    assert dry.exit_code == 0, dry.output
    rows = [line for line in dry.stdout.splitlines() if line[:2].isdigit()]
    assert rows and all(". " in row for row in rows)  # "3. Case discussion", not "3"
    assert any("Case discussion" in row and "C-0001" in row and "New nomination" in row for row in rows)
    assert any("1. " in row and "Case" not in row for row in rows)  # a standing item, named


@pytest.mark.parametrize("_panel", ["mace"], indirect=True)
def test_case_show_gives_the_panels_level_beside_the_last_assessment(_panel, cli, coordinator, tmp_path):  # noqa: F811
    profile, root, _chair = _panel
    assert run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30").exit_code == 0
    assert run(cli, root, coordinator, "agenda", "build", "M-0001", "--dry-run", "--as-of", "05/11/2026").exit_code == 0
    assert run(cli, root, coordinator, "agenda", "build", "M-0001", "--out", str(tmp_path / "p"),
               "--as-of", "05/11/2026").exit_code == 0  # fmt: skip
    script = tmp_path / "script.yaml"
    levels = LEVELS.get(profile, ("Medium", "Low"))
    script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"], levels=levels)))
    assert run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script)).exit_code == 0
    shown = run(cli, root, coordinator, "case", "show", "C-0001").stdout
    assert f"Risk agreed by the panel: {levels[0]} (M-0001, 19 Nov 2026)" in shown
