"""`panelctl record edit`: a record changed in an editor (a scripted one here; a real terminal
in test_terminal.py), saved in one commit, with its plaintext only in a private file that is
gone afterwards."""

from __future__ import annotations

import json
import os
import shlex
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import CANARY, git
from panelctl.base.errors import ExitCode, InvalidRecordError, NotAllowedError
from panelctl.casework import cases
from panelctl.store import edit

#: An editor a test scripts: each run applies the next step of $EDIT_STEPS to the file
#: (a list of [old, new] replacements, "empty", or "fail") and logs what it saw (never
#: the text: the log must not hold the child's name).
EDITOR_SCRIPT = """\
import json, os, sys
from pathlib import Path

path = Path(sys.argv[1])
log = Path(os.environ["EDIT_LOG"])
runs = len(log.read_text().splitlines()) if log.exists() else 0
steps = json.loads(os.environ["EDIT_STEPS"])
step = steps[min(runs, len(steps) - 1)]
text = path.read_text()
first = text.splitlines()[0] if text else ""
seen = {
    "path": str(path),
    "mode": path.stat().st_mode & 0o777,
    "folder_mode": path.parent.stat().st_mode & 0o777,
    "problem": first if first.startswith("# panelctl") else None,
}
with log.open("a") as out:
    out.write(json.dumps(seen) + "\\n")
(path.parent / (path.name + ".swp")).write_text(text)  # as vi leaves a swap file
if step == "fail":
    sys.exit(3)
if step == "empty":
    text = ""
else:
    for old, new in step:
        assert old in text, old
        text = text.replace(old, new, 1)
path.write_text(text)
"""


@pytest.fixture
def scripted(tmp_path, monkeypatch):
    """Set up the scripted editor; returns (command, set_steps, runs)."""
    script = tmp_path / "editor.py"
    script.write_text(EDITOR_SCRIPT)
    log = tmp_path / "editor-log.jsonl"
    monkeypatch.setenv("EDIT_LOG", str(log))
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    monkeypatch.setenv("VISUAL", command)
    monkeypatch.setenv("EDITOR", command)

    def steps(*planned):
        monkeypatch.setenv("EDIT_STEPS", json.dumps(list(planned)))

    def runs() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return command, steps, runs


@pytest.fixture
def case_store(store):
    nomination = {"child": {"name": CANARY, "dob": "2011-03-14"}, "assessment": {"level": "High"}}
    cases.nominate(store, nomination, date(2026, 11, 2))
    return store


def edit_cli(cli, store, coordinator, record_id="C-0001"):
    return cli("record", "edit", record_id, store=store.root, identity=coordinator.path)


def commits(store) -> int:
    return int(git(store.root, "rev-list", "--count", "HEAD"))


def assert_no_plaintext_left(tmp_path: Path, runs: list[dict]) -> None:
    for seen in runs:
        assert not Path(seen["path"]).parent.exists()  # the private folder, swap file and all
    for folder, _dirs, files in os.walk(tmp_path):
        for name in files:
            assert CANARY.encode() not in (Path(folder) / name).read_bytes(), name


def test_an_edit_is_saved_in_one_commit_and_leaves_no_plaintext(
    cli, case_store, coordinator, scripted, tmp_path
):
    _command, steps, runs = scripted
    steps([["status: open\n", "status: open\nteam: Adolescent Hub  # agreed\n"]])
    before = commits(case_store)
    result = edit_cli(cli, case_store, coordinator)
    assert result.exit_code == 0, result.output
    assert "Saved C-0001" in result.stderr and CANARY not in result.output
    case = case_store.read("C-0001")
    assert case["team"] == "Adolescent Hub" and case["id"] == "C-0001"
    assert case["child"]["name"] == CANARY
    assert commits(case_store) == before + 1
    assert git(case_store.root, "log", "-1", "--format=%s").strip() == "Edit case C-0001 by hand"
    (seen,) = runs()
    assert seen["mode"] == 0o600 and seen["folder_mode"] == 0o700
    if edit.SHM.is_dir():
        assert seen["path"].startswith(str(edit.SHM) + "/")
    assert_no_plaintext_left(tmp_path, runs())


def test_an_invalid_edit_reopens_the_editor_with_the_problem_on_top(case_store, scripted, tmp_path):
    command, steps, runs = scripted
    steps(
        [["status: open", "status: maybe  # my note\nteam: Hub"]],
        [["status: maybe  # my note", "status: open  # my note"]],
    )
    before = commits(case_store)
    shm = tmp_path / "shm"
    shm.mkdir()
    edited = edit.edit_record(
        case_store, "C-0001", edit.run_editor(command), interactive=True, folder=shm
    )
    assert edited.saved and case_store.read("C-0001")["team"] == "Hub"
    first, second = runs()
    assert first["problem"] is None
    assert second["problem"] == (
        "# panelctl could not save this: case C-0001: field status must be one of: open, closed."
    )
    assert first["path"] == second["path"]  # the same private file, re-opened
    assert commits(case_store) == before + 1
    assert list(shm.iterdir()) == []
    assert_no_plaintext_left(tmp_path, runs())


def test_the_buffer_keeps_comments_and_order_when_it_reopens(case_store, tmp_path):
    texts = []

    def editor(path: Path) -> int:
        texts.append(path.read_text())
        if len(texts) == 1:
            path.write_text(
                "# my note\n" + path.read_text().replace("status: open", "status: shut")
            )
        else:
            path.write_text(path.read_text().replace("status: shut", "status: open\nteam: Hub"))
        return 0

    edited = edit.edit_record(case_store, "C-0001", editor, interactive=True, folder=tmp_path)
    assert edited.saved
    reopened = texts[1].splitlines()
    assert reopened[0].startswith("# panelctl could not save this: case C-0001: field status")
    assert reopened[1] == "# Correct it and save, or empty the file to give up."
    assert reopened[2] == "# my note" and reopened[3] == "id: C-0001"
    assert "status: shut" in texts[1]


def test_without_a_terminal_an_invalid_edit_fails_and_saves_nothing(
    cli, case_store, coordinator, scripted, tmp_path
):
    _command, steps, runs = scripted
    steps([["status: open", "status: maybe"]])
    before = commits(case_store)
    result = edit_cli(cli, case_store, coordinator)
    assert result.exit_code == ExitCode.INVALID_RECORD
    assert "field status must be one of" in result.stderr and CANARY not in result.output
    assert commits(case_store) == before and len(runs()) == 1
    assert_no_plaintext_left(tmp_path, runs())


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ([], "No change to C-0001"),
        ([["status: open", "status: open   # only a comment"]], "No change to C-0001"),
        ("empty", "The file was emptied"),
    ],
)
def test_an_unchanged_or_emptied_buffer_saves_nothing(
    cli, case_store, coordinator, scripted, tmp_path, step, said
):
    _command, steps, runs = scripted
    steps(step)
    before = commits(case_store)
    result = edit_cli(cli, case_store, coordinator)
    assert result.exit_code == 0, result.output
    assert said in result.stderr and commits(case_store) == before
    assert not git(case_store.root, "status", "--porcelain")
    assert_no_plaintext_left(tmp_path, runs())


@pytest.mark.parametrize(
    ("step", "code", "said"),
    [
        ([["id: C-0001", "id: C-0009"]], ExitCode.INVALID_RECORD, "the id field must stay C-0001"),
        ([["status: open", "status: [open"]], ExitCode.INVALID_RECORD, "is not valid YAML: line "),
        ([["status: open", "status: &a open\nteam: *a"]], ExitCode.INVALID_RECORD, "aliases"),
        ("fail", ExitCode.INVALID_INPUT, "The editor stopped with status 3"),
    ],
)
def test_a_failed_edit_says_why_and_saves_nothing(
    cli, case_store, coordinator, scripted, tmp_path, step, code, said
):
    _command, steps, runs = scripted
    steps(step)
    before = commits(case_store)
    result = edit_cli(cli, case_store, coordinator)
    assert result.exit_code == code, result.output
    assert said in result.stderr and CANARY not in result.output
    assert commits(case_store) == before
    assert_no_plaintext_left(tmp_path, runs())


def test_an_editor_that_is_not_installed_is_named(cli, case_store, coordinator, monkeypatch):
    monkeypatch.setenv("VISUAL", "no-such-editor-here")
    result = edit_cli(cli, case_store, coordinator)
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "'no-such-editor-here' was not found" in result.stderr


def test_an_unknown_record_is_not_found(cli, case_store, coordinator, scripted):
    _command, steps, runs = scripted
    steps([])
    result = edit_cli(cli, case_store, coordinator, "C-0042")
    assert result.exit_code == ExitCode.NOT_FOUND and runs() == []


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_the_buffer_is_removed_when_the_edit_is_interrupted(case_store, tmp_path, stop):
    def editor(path: Path) -> int:
        (path.parent / "backup~").write_text(path.read_text())
        raise stop

    with pytest.raises(stop):
        edit.edit_record(case_store, "C-0001", editor, interactive=True, folder=tmp_path)
    assert [p for p in tmp_path.iterdir() if p.name.startswith("panelctl-edit-")] == []


def test_a_record_changed_by_another_write_during_the_edit_is_not_overwritten(case_store, tmp_path):
    def editor(path: Path) -> int:
        other = case_store.read("C-0001")
        case_store.update({**other, "team_manager": "Pat Manager"})  # someone else, meanwhile
        path.write_text(path.read_text() + "team: Hub\n")
        return 0

    with pytest.raises(NotAllowedError, match="changed by another write"):
        edit.edit_record(case_store, "C-0001", editor, interactive=False, folder=tmp_path)
    case = case_store.read("C-0001")
    assert case["team_manager"] == "Pat Manager" and "team" not in case


def test_every_record_type_round_trips_unchanged_through_the_buffer(sample, tmp_path):
    """The buffer is YAML 1.2: whatever a record holds reads back as the same record."""
    from panelctl.crypto.identity import read_identity_file
    from panelctl.model import records
    from panelctl.store.core import Store

    store = Store(sample.store, read_identity_file(sample.identity).unlock(lambda: None))
    for rtype in records.TYPES.values():
        for record_id in store.ids(rtype)[:5]:
            edited = edit.edit_record(
                store, record_id, lambda path: 0, interactive=False, folder=tmp_path
            )
            assert edited.outcome == "unchanged", record_id


def test_invalid_record_errors_never_quote_the_buffer(case_store, tmp_path):
    def editor(path: Path) -> int:
        path.write_text(path.read_text().replace("status: open", f"status: {CANARY}"))
        return 0

    with pytest.raises(InvalidRecordError) as caught:
        edit.edit_record(case_store, "C-0001", editor, interactive=False, folder=tmp_path)
    assert CANARY not in caught.value.message
