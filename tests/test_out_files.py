"""Every command that writes papers or a report with `--out` treats a file already there the
same way: refused (exit 11), saying so and naming `--overwrite`, with nothing written and
the store as it was; replaced with `--overwrite`."""

from __future__ import annotations

import pytest
import test_meetings
from test_meetings import run, script_for

from conftest import git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode

#: test_meetings' `panel` fixture, under a name of its own here.
meetings_panel = test_meetings.panel


@pytest.mark.parametrize("meetings_panel", ["cse-panel"], indirect=True)
def test_out_refuses_to_overwrite_unless_asked_in_every_command(
    meetings_panel, cli, coordinator, tmp_path
):
    _profile, root, _chair = meetings_panel
    made = run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30")
    assert made.exit_code == 0, made.output
    papers, minutes = tmp_path / "papers", tmp_path / "minutes"
    report, mapped = tmp_path / "report.html", tmp_path / "map.html"
    commands = {
        "agenda build": (
            ["agenda", "build", "M-0001", "--out", str(papers), "--as-of", "05/11/2026"],
            papers / "agenda-M-0001.md",
        ),
        "minutes render": (
            ["minutes", "render", "M-0001", "--format", "html", "--out", str(minutes)],
            minutes / "minutes-M-0001.html",
        ),
        "report": (
            ["report", "bimonthly", "--period", "2026-09..2026-10", "--out", str(report)],
            report,
        ),
        "map": (["map", "--out", str(mapped)], mapped),
    }
    for name, (args, written) in commands.items():
        if name == "minutes render":
            script = tmp_path / "script.yaml"
            script.write_bytes(yamlio.dump(script_for(["C-0001", "C-0002"])))
            ran = run(cli, root, coordinator, "meeting", "run", "M-0001", "--script", str(script))
            assert ran.exit_code == 0, ran.output
        first = run(cli, root, coordinator, *args)
        assert first.exit_code == 0, (name, first.output)
        written.write_text("kept\n")
        head = git(root, "rev-parse", "HEAD")
        again = run(cli, root, coordinator, *args)
        assert again.exit_code == ExitCode.NOT_ALLOWED, (name, again.output)
        assert "already holds" in again.stderr and "nothing was written" in again.stderr, name
        assert "(--overwrite)" in again.stderr, (name, again.stderr)
        assert written.read_text() == "kept\n", name
        assert git(root, "rev-parse", "HEAD") == head, name
        replaced = run(cli, root, coordinator, *args, "--overwrite")
        assert replaced.exit_code == 0, (name, replaced.output)
        assert written.read_text() != "kept\n", name
