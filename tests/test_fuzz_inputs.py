"""Every file a user hands panelctl, fuzzed: a documented exit code and one sentence every
time, never exit 70 or a traceback, and (when refused) the store exactly as it was."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import SAMPLE_STORE, assert_unchanged, store_state
from panelctl.base.errors import ExitCode
from panelctl.cli.main import app
from panelctl.panel.demo import prepare_demo

DOCUMENTED = {int(code) for code in ExitCode} - {int(ExitCode.INTERNAL)}

FIELDS = [
    "child",
    "name",
    "dob",
    "gender",
    "looked_after",
    "out_of_area",
    "referring_agency",
    "lead_agency",
    "involved_agencies",
    "known_to",
    "first_referral",
    "protocol_followed",
    "concern",
    "exploitation_types",
    "assessment",
    "tool",
    "level",
    "date",
    "factors",
    "assessor",
    "agency",
    "reason",
    "attendance",
    "status",
    "deputising_for",
    "confidentiality",
    "declarations",
    "excluded_cases",
    "cases",
    "C-0001",
    "C-0002",
    "risk",
    "decision",
    "agreed_by",
    "actions",
    "description",
    "owner",
    "due",
    "items",
    "columns",
    "values",
    "header_row",
    "sheet",
    "case_id",
    "assessment_date",
    "assessor_agency",
    "name",
    "title",
    "area",
    "risk_tool",
    "entry_rules",
    "meetings",
    "agenda",
    "nation",
    "settings",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2026-03-14", "14/03/2026", "31/02/2026", "High", "open", "10:00", "No"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6) | values
csv_text = st.lists(
    st.lists(st.text(alphabet=string.printable + "é—", max_size=12), max_size=6), max_size=6
).map(lambda rows: "\n".join(",".join(cells) for cells in rows))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PANELCTL_")]:
            patch.delenv(name)
        patch.setenv("HOME", str(base))
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        demo = prepare_demo(SAMPLE_STORE, base / "demo")
        yield demo, base, patch


def run(world, *args: str):
    demo, _base, _patch = world
    result = CliRunner().invoke(
        app,
        ["--store", str(demo.store), "--identity", str(demo.identity), *args],
        catch_exceptions=False,
    )
    return result


def check(world, result, may_change: bool = False, before=None) -> None:
    assert result.exit_code in DOCUMENTED, result.output
    assert "Traceback" not in result.output
    if result.exit_code not in (0, 1) and not may_change:
        lines = [line for line in result.stderr.splitlines() if line.startswith("panelctl:")]
        assert lines, result.output
        assert_unchanged(before, store_state(world[0].store))


def write(world, name: str, data) -> str:
    path = Path(world[1]) / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data, default=str))
    return str(path)


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@FUZZ
@given(doc=documents)
def test_a_nomination_file(world, doc):
    before = store_state(world[0].store)
    result = run(world, "nominate", "--from", write(world, "nomination.yaml", doc))
    check(world, result, before=before)


@FUZZ
@given(doc=documents, ext=st.sampled_from(["yaml", "json"]))
def test_an_import_file(world, doc, ext):
    before = store_state(world[0].store)
    result = run(world, "rfm", "import", write(world, f"rows.{ext}", doc), "--dry-run")
    check(world, result, before=before)


@FUZZ
@given(text=csv_text, mapping=documents)
def test_a_csv_import_and_its_mapping(world, text, mapping):
    before = store_state(world[0].store)
    rows = write(world, "rows.csv", text)
    result = run(
        world, "rfm", "import", rows, "--mapping", write(world, "map.yaml", mapping), "--dry-run"
    )
    check(world, result, before=before)
    result = run(world, "rfm", "import", rows, "--dry-run")
    check(world, result, before=before)


@FUZZ
@given(blob=st.binary(max_size=200), ext=st.sampled_from(["xlsx", "csv", "yaml", "json"]))
def test_garbage_in_any_import_file(world, blob, ext):
    before = store_state(world[0].store)
    result = run(world, "rfm", "import", write(world, f"junk.{ext}", blob), "--dry-run")
    check(world, result, before=before)


@FUZZ
@given(doc=documents)
def test_a_meeting_script(world, doc):
    # a script's earlier steps are kept by design (the run resumes), so only the exit code
    # and the message are held here; tests/test_contracts.py holds the rest
    result = run(world, "meeting", "run", "M-0002", "--script", write(world, "script.yaml", doc))
    check(world, result, may_change=True)


@FUZZ
@given(doc=documents)
def test_a_profile_file(world, doc):
    demo, base, _patch = world
    target = Path(base) / "new-store"
    if target.exists():
        import shutil

        shutil.rmtree(target)
    result = CliRunner().invoke(
        app,
        [
            "--identity",
            str(demo.identity),
            "init",
            str(target),
            "--profile",
            write(world, "profile.yaml", doc),
            "--name",
            "Fuzz",
            "--agency",
            "Council",
        ],
        catch_exceptions=False,
    )
    check(world, result, may_change=True)


SETTINGS_COMMANDS = [
    ["case", "list"],
    ["review", "due", "--as-of", "20/11/2026"],
    ["remind", "--dry-run", "--as-of", "20/11/2026"],
    ["agenda", "build", "M-0002", "--dry-run", "--as-of", "10/11/2026"],
    ["report", "bimonthly", "--format", "json", "--as-of", "20/11/2026"],
]


@FUZZ
@given(
    settings_doc=documents,
    top=st.dictionaries(
        st.sampled_from(["panelctl_store", "store_id", "name", "profile", "created", "settings"]),
        values,
        max_size=2,
    ),
    command=st.sampled_from(SETTINGS_COMMANDS),
)
def test_a_settings_file(world, settings_doc, top, command):
    """The store's panelctl.yaml, hand-edited into anything: every command that reads it
    gives a documented exit code and one sentence."""
    from panelctl.base import yamlio

    demo = world[0]
    path = Path(demo.store) / "panelctl.yaml"
    original = path.read_bytes()
    try:
        data = yamlio.load(original)
        data["settings"] = settings_doc
        data.update(top)
        path.write_bytes(yamlio.dump(data))
        before = store_state(demo.store)
        result = run(world, *command)
        check(world, result, before=before)
    finally:
        path.write_bytes(original)
