"""Files people write by hand: read as YAML 1.2 through the real commands, and every example
in the README's "Files you write by hand" loaded through the command it documents, so the
documentation cannot rot."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from conftest import CANARY, REPO, add_members, git
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode, InvalidInputError
from panelctl.casework import cases
from panelctl.meetings.agenda import build_agenda
from panelctl.meetings.schedule import schedule
from panelctl.model import risk
from panelctl.panel.directory import seed_agencies
from panelctl.panel.setup import create_store

EXAMPLE = re.compile(r"<!-- example: ([a-z ]+) -->\n```yaml\n(.*?)```", re.DOTALL)


def readme_example(name: str) -> str:
    found = dict(EXAMPLE.findall((REPO / "README.md").read_text()))
    return found[name]


def test_the_readme_documents_every_hand_written_file():
    names = [name for name, _text in EXAMPLE.findall((REPO / "README.md").read_text())]
    assert names == ["nomination", "meeting script", "import mapping", "import rows", "profile"]


def run(cli, store, coordinator, *args):
    return cli(*args, store=store.root, identity=coordinator.path)


# --- the README's examples, through the real commands ------------------------------------


def test_readme_nomination_example(cli, store, coordinator, tmp_path):
    seed_agencies(store)  # the conftest store is a Stoke MACE
    path = tmp_path / "nomination.yaml"
    path.write_text(readme_example("nomination"))
    result = run(cli, store, coordinator, "nominate", "--from", str(path), "--date", "02/11/2026")
    assert result.exit_code == 0, result.output
    assert result.stdout == "C-0001\n"
    case = store.read("C-0001")
    assert case["child"]["dob"] == date(2011, 3, 14)
    assert case["child"]["looked_after"] is False and case["child"]["out_of_area"] is False
    assert case["first_referral"] is True and case["protocol_followed"] is True
    assert case["known_to"] == ["police", "local authority"]
    assert case["lead_agency"] == "Children's Services (Adolescent Services)"
    assert (case["risk"], case["risk_tool"]) == ("Medium", "rfm")


def test_readme_meeting_script_example(cli, tmp_path, coordinator):
    store = create_store(
        tmp_path / "mcse", "mcse", "Plymouth MCSE", coordinator.unlock(), "Council"
    )
    seed_agencies(store)
    add_members(store, "Chris Chair", "Nina Nurse", "Lee Manager", "Alex Advocate")
    for name in ("Aa Child", "Bb Child"):
        cases.nominate(store, {"child": {"name": name, "dob": "2011-01-01"}}, date(2026, 11, 2))
    schedule(store, date(2026, 11, 19), "14:00", None)
    build_agenda(store, "M-0001", date(2026, 11, 5))
    path = tmp_path / "answers.yaml"
    path.write_text(readme_example("meeting script"))
    result = run(cli, store, coordinator, "meeting", "run", "M-0001", "--script", str(path))
    assert result.exit_code == 0, result.output
    meeting = store.read("M-0001")
    assert meeting["status"] == "held" and meeting["quorate"] is True
    assert [a["status"] for a in meeting["attendance"]] == [
        "present",
        "present",
        "deputy",
        "apologies",
        "present",
    ]
    assert [bool(a.get("guest")) for a in meeting["attendance"]] == [False] * 4 + [True]
    assert meeting["declarations"][0]["excluded_cases"] == ["C-0002"]
    first, second = meeting["discussions"]
    assert (first["risk_agreed"], first["decision"]) == ("Medium", "keep")
    (action_id,) = first["actions"]
    assert store.read(action_id)["due"] == date(2027, 1, 10)
    assert second["decision"] == "close" and store.read("C-0002")["status"] == "closed"
    minutes = run(cli, store, coordinator, "minutes", "render", "M-0001", "--format", "md")
    assert minutes.exit_code == 0, minutes.output
    assert "| Gill Visitor | Plymouth City Council | Guest (not a panel member) |" in minutes.stdout


def test_readme_import_mapping_example(cli, store, coordinator, tmp_path):
    from openpyxl import Workbook

    seed_agencies(store)
    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    rows = book.create_sheet("RFM export")
    rows.append(
        [
            "Young person",
            "DOB",
            "Date completed",
            "Completed by",
            "Agency",
            "Overall risk",
            "Looked after",
        ]
    )
    rows.append(
        [
            "Jordan Fellowes",
            date(2011, 5, 6),
            date(2026, 11, 1),
            "Jo Worker",
            "Staffordshire Police",
            "H",
            "N",
        ]
    )
    book.save(tmp_path / "rfms.xlsx")
    mapping = tmp_path / "our-columns.yaml"
    mapping.write_text(readme_example("import mapping"))
    result = run(
        cli,
        store,
        coordinator,
        "rfm",
        "import",
        str(tmp_path / "rfms.xlsx"),
        "--mapping",
        str(mapping),
    )
    assert result.exit_code == 0, result.output
    case = store.read("C-0001")
    assert case["risk"] == "High" and case["child"]["looked_after"] is False
    assert case["child"]["dob"] == date(2011, 5, 6)


def test_readme_import_rows_example(cli, store, coordinator, tmp_path):
    seed_agencies(store)
    path = tmp_path / "rows.yaml"
    path.write_text(readme_example("import rows"))
    result = run(cli, store, coordinator, "rfm", "import", str(path))
    assert result.exit_code == 0, result.output
    first, second = store.read("C-0001"), store.read("C-0002")
    assert first["risk"] == "High" and first["child"]["looked_after"] is False
    assert second["risk"] == "High" and second["child"]["dob"] == date(2012, 1, 30)


def test_readme_profile_example(cli, tmp_path, coordinator):
    path = tmp_path / "ours.yaml"
    path.write_text(readme_example("profile"))
    result = cli(
        "--identity",
        str(coordinator.path),
        "init",
        str(tmp_path / "fenbridge"),
        "--profile",
        str(path),
        "--name",
        "Fenbridge MACE",
        "--agency",
        "Fenbridge Council",
        "--seed-agencies",
    )
    assert result.exit_code == 0, result.output
    from panelctl.store.core import Store

    profile = Store(tmp_path / "fenbridge", coordinator.unlock()).profile
    assert profile["meetings"]["start_time"] == "10:00"  # YAML 1.1 would read 600
    assert profile["meetings"]["confidentiality_form"] is True  # yes, a flag
    assert profile["reviews"]["review_perpetrators"] is False
    assert all(agency["core"] is True for agency in profile["seed_agencies"])
    listed = cli(
        "agency", "list", "--format", "csv",
        store=tmp_path / "fenbridge", identity=coordinator.path,
    )  # fmt: skip
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 4  # a heading and 3 agencies
    planned = cli(
        "meeting", "schedule", "16/12/2026", "--time", "10:00",
        store=tmp_path / "fenbridge", identity=coordinator.path,
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output


# --- YAML 1.2 and its refusals, through the commands -----------------------------------


def test_a_nomination_flag_must_be_yes_or_no(cli, store, coordinator, tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(f"child: {{name: {CANARY}, looked_after: maybe}}\n")
    result = run(cli, store, coordinator, "nominate", "--from", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "child.looked_after must be yes or no" in result.stderr and CANARY not in result.output


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            f"child: {{name: &n {CANARY}}}\nconcern: *n\n",
            "line 1, column 15: anchors and aliases",
        ),
        (f"child:\n  name: {CANARY}\n  name: {CANARY}\n", "line 3, column 3: a key is given twice"),
        (f"child: {{name: {CANARY}\n", "line 2, column 1"),
        (
            f"{CANARY}: yes\nchild: {{name: x}}\n",
            "Unknown nomination fields: (a key that is not a field)",
        ),
    ],
)
def test_a_broken_nomination_file_is_named_by_line_and_column(
    cli, store, coordinator, tmp_path, text, said
):
    head = git(store.root, "rev-parse", "HEAD")
    path = tmp_path / "n.yaml"
    path.write_text(text)
    result = run(cli, store, coordinator, "nominate", "--from", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert said in result.stderr and CANARY not in result.output
    assert git(store.root, "rev-parse", "HEAD") == head


def test_an_alias_bomb_in_a_meeting_script_is_refused_quickly(cli, store, coordinator, tmp_path):
    schedule(store, date(2026, 11, 19), "14:00", None)
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [
        f"{x}: &{x} [{', '.join([f'*{p}'] * 9)}]"
        for p, x in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    result = run(cli, store, coordinator, "meeting", "run", "M-0001", "--script", str(path))
    assert time.perf_counter() - started < 5
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"The meeting script {path} is not valid YAML: line 1, column 4" in result.stderr


def test_a_huge_import_file_is_refused_before_it_is_read(cli, store, coordinator, tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as out:
        out.truncate(10 * 1024 * 1024 + 1)
    result = run(cli, store, coordinator, "rfm", "import", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT and "larger than 10 MB" in result.stderr


def test_a_mapping_value_table_matches_cells_as_text(cli, store, coordinator, tmp_path):
    (tmp_path / "rows.csv").write_text(
        "name,dob,assessment_date,assessor,assessor_agency,level\n"
        "Riley Ashdown,02/07/2011,01/11/2026,Jo Worker,Police,1\n"
    )
    (tmp_path / "map.yaml").write_text("values: {level: {1: High, 2: Medium}}\n")
    result = run(
        cli, store, coordinator, "rfm", "import", str(tmp_path / "rows.csv"),
        "--mapping", str(tmp_path / "map.yaml"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert store.read("C-0001")["risk"] == "High"


def test_a_store_risk_tool_is_hand_written(tmp_path):
    folder = tmp_path / ".panelctl" / "risktools"
    folder.mkdir(parents=True)
    (folder / "local.yaml").write_text("name: local\ntitle: &t Local\nlevels: [*t]\n")
    with pytest.raises(InvalidInputError, match=r"local.yaml is not valid YAML: line 2, column 8"):
        risk.load_tool("local", tmp_path)


def test_a_profile_flag_that_is_not_a_flag_is_named(tmp_path):
    from panelctl.model import profiles

    text = readme_example("profile").replace(
        "review_perpetrators: no", "review_perpetrators: often"
    )
    (tmp_path / "ours.yaml").write_text(text)
    with pytest.raises(
        InvalidInputError, match="reviews.review_perpetrators must be true or false"
    ):
        profiles.load(str(tmp_path / "ours.yaml"))


@pytest.mark.parametrize("name", ["cse-marac", "mace", "cse-panel", "mcse", "macse"])
def test_profile_show_output_is_a_profile_file_that_means_the_same(cli, tmp_path, name):
    """The README says to start a new area's profile from `profile show NAME > ours.yaml`."""
    from panelctl.model import profiles

    shown = cli("profile", "show", name)
    assert shown.exit_code == 0, shown.output
    (tmp_path / "ours.yaml").write_text(shown.stdout)
    assert profiles.load(str(tmp_path / "ours.yaml")) == profiles.load(name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"settings": {"meetings": {"slot_minutes": "thirty"}}},
         "meetings.slot_minutes must be a whole number, not text"),
        ({"settings": {"meetngs": {"slot_minutes": 30}}},
         "meetngs is not a setting panelctl knows"),
        ({"settings": {"quorum": {"rule": "sectors", "each_of": ["polis"]}}},
         "quorum.each_of[1] is not one of the values allowed here"),
        ({"profile": "PROFILE_FILE"}, "name a profile panelctl does not ship"),
    ],  # fmt: skip
    ids=["wrong type", "misspelt", "unknown sector", "a path for the profile"],
)
def test_a_hand_edited_settings_file_is_checked(cli, store, coordinator, tmp_path, change, message):
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_bytes((REPO / "src/panelctl/model/profiles/mace.yaml").read_bytes())
    path = store.root / "panelctl.yaml"
    data = yamlio.load(path.read_bytes())
    for key, value in change.items():
        data[key] = str(elsewhere) if value == "PROFILE_FILE" else value
    path.write_bytes(yamlio.dump(data))
    unsigned = run(cli, store, coordinator, "review", "due")
    assert unsigned.exit_code == ExitCode.TAMPERED and "not committed" in unsigned.stderr
    head = git(store.root, "rev-parse", "HEAD")
    result = run(cli, store, coordinator, "settings", "commit")
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert git(store.root, "rev-parse", "HEAD") == head
