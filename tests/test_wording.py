"""What a reader of the minutes and papers sees, sentence by sentence (issue 13, small
things: one date style, sentences that start with a capital)."""

from __future__ import annotations

import pytest
from test_meetings import panel as _panel  # noqa: F401  (the fixture, found by its name)
from test_meetings import run

from panelctl.meetings.minutes import quorum_sentence


@pytest.mark.parametrize(
    ("note", "shown"),
    [
        ("quorate: police and health present", "Police and health present."),
        ("not quorate: no health representative present", "No health representative present."),
        ("no quorum rule", "The panel has no quorum rule."),
        ("", ""),
        (None, ""),
    ],
)
def test_the_quorum_note_reads_as_a_sentence_after_quorate(note, shown):
    assert quorum_sentence(note) == shown


@pytest.mark.parametrize("_panel", ["cse-panel"], indirect=True)
def test_a_case_paper_names_its_risk_tool_and_dates_in_words(_panel, cli, coordinator, tmp_path):  # noqa: F811
    _profile, root, _chair = _panel
    assert run(cli, root, coordinator, "meeting", "schedule", "19/11/2026", "--time", "09:30").exit_code == 0
    out = tmp_path / "papers"
    built = run(cli, root, coordinator, "agenda", "build", "M-0001", "--out", str(out),
                "--as-of", "05/11/2026", "--formats", "md")  # fmt: skip
    assert built.exit_code == 0, built.output
    paper = (out / "paper-M-0001-C-0001.md").read_text()
    assert "(rfm)" not in paper
    assert "Risk Factor Matrix" in paper
    assert "14/03/2011" not in paper and "14 Mar 2011" in paper
