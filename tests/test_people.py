"""`panelctl person`, `panelctl location` and `panelctl link`: the mapping's material.

A person of concern's names are as sensitive as a child's: they appear only in
`person show`, never in lists, commit messages, file names or error messages.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, timedelta

import pytest

from conftest import CANARY, git
from panelctl.base.errors import ExitCode, InvalidInputError, NotFoundError
from panelctl.casework import people

#: A fictional person of concern: must stay inside ciphertext like the child's name.
SUSPECT = "Dax Ferrowby-Quintrell"
NICKNAME = "Zorblax"


@pytest.fixture
def run(cli, store, coordinator):
    return lambda *args, **kw: cli(*args, store=store.root, identity=coordinator.path, **kw)


@pytest.fixture
def case(store):
    return store.create("case", {"status": "open", "child": {"name": CANARY}, "risk": "High"})


def add_suspect(run, *extra: str) -> str:
    result = run(
        "person",
        "add",
        "--kind",
        "person",
        "--name",
        SUSPECT,
        "--name",
        "D. Quintrell",
        "--nickname",
        NICKNAME,
        "--vehicle",
        "black Golf",
        "--phone",
        "07700 900123",
        "--username",
        "zorb_x",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


# --- persons -----------------------------------------------------------------------------


def test_person_add_show_and_list(run, store):
    person = add_suspect(run, "--police-only", "--description", "tall, tattoo on left hand")
    assert person == "P-0001"
    record = store.read(person)
    assert record["names"] == [SUSPECT, "D. Quintrell"]
    assert record["phones"] == ["07700 900123"] and record["police_only"] is True

    shown = run("person", "show", person)
    assert shown.exit_code == 0, shown.output
    assert SUSPECT in shown.stdout and "POLICE-ONLY" in shown.stdout
    as_json = json.loads(run("person", "show", person, "--format", "json").stdout)
    assert as_json["nicknames"] == [NICKNAME] and as_json["links"] == []

    listed = run("person", "list", "--format", "json")
    assert json.loads(listed.stdout) == [
        {
            "id": "P-0001",
            "kind": "person",
            "police_only": True,
            "links": 0,
            "added": people.today().isoformat(),
        }
    ]
    for fmt in ("table", "json", "csv"):
        out = run("person", "list", "--format", fmt).stdout
        assert SUSPECT.split()[0] not in out and NICKNAME not in out


def test_person_needs_something_to_know_them_by_and_a_valid_kind(run, store):
    result = run("person", "add", "--kind", "person", "--phone", "07700 900123")
    assert result.exit_code == ExitCode.INVALID_INPUT and "--name" in result.stderr
    result = run("person", "add", "--kind", "gang", "--name", SUSPECT)
    assert result.exit_code == ExitCode.INVALID_INPUT and "person, group" in result.stderr
    assert SUSPECT not in result.stderr
    group = run("person", "add", "--kind", "group", "--description", "county line")
    assert group.exit_code == 0 and group.stdout.strip() == "P-0001"
    assert git(store.root, "log", "--format=%s").splitlines()[0] == "Create person P-0001"


def test_person_show_refuses_another_type_of_id(run, store, case):
    result = run("person", "show", case)
    assert result.exit_code == ExitCode.INVALID_INPUT and "not a person id" in result.stderr
    assert run("person", "show", "P-0042").exit_code == ExitCode.NOT_FOUND


# --- locations ---------------------------------------------------------------------------


def test_location_add_list_and_show(run, store):
    result = run(
        "location",
        "add",
        "--kind",
        "safe-space",
        "--name",
        "Park shelter",
        "--area",
        "Hanley",
        "--address",
        "Central Forest Park",
    )
    assert result.exit_code == 0, result.output
    location = result.stdout.strip()
    assert location == "L-0001" and store.read(location)["kind"] == "safe space"
    rows = list(csv.DictReader(io.StringIO(run("location", "list", "--format", "csv").stdout)))
    assert rows == [
        {
            "id": "L-0001",
            "kind": "safe space",
            "area": "Hanley",
            "police_only": "False",
            "links": "0",
            "added": people.today().isoformat(),
        }
    ]
    shown = json.loads(run("location", "show", location, "--format", "json").stdout)
    assert shown["address"] == "Central Forest Park"
    bad = run("location", "add", "--kind", "nightclub", "--name", "X")
    assert bad.exit_code == ExitCode.INVALID_INPUT and "hotspot" in bad.stderr


# --- links -------------------------------------------------------------------------------


@pytest.fixture
def mapped(run, store, case):
    person = add_suspect(run)
    location = people.add_location(store, "hotspot", "Bus station", area="Hanley")
    return case, person, location


def test_link_records_nature_source_date_and_police_only(run, store, mapped):
    case, person, location = mapped
    result = run(
        "link",
        case,
        person,
        "--nature",
        "seen together",
        "--source",
        "police",
        "--date",
        "14/03/2026",
        "--police-only",
    )
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link == "K-00001"
    assert store.read(link) == {
        "id": link,
        "a": case,
        "b": person,
        "nature": "seen together",
        "source": "police",
        "date": date(2026, 3, 14),
        "police_only": True,
    }
    assert run("link", location, person, "--nature", "frequents", "--source", "CSE team").stdout

    shown = json.loads(run("person", "show", person, "--format", "json").stdout)
    assert [(x["id"], x["with"], x["police_only"]) for x in shown["links"]] == [
        ("K-00001", case, True),
        ("K-00002", location, False),
    ]
    assert [x["with"] for x in people.links_of(store, case)] == [person]
    counts = {
        r["id"]: r["links"] for r in json.loads(run("person", "list", "--format", "json").stdout)
    }
    assert counts == {person: 2}
    table = run("location", "show", location).stdout
    assert "Bus station" in table and "frequents" in table


def test_link_refuses_unknown_ids_and_wrong_types(run, store, mapped):
    case, person, _location = mapped
    before = git(store.root, "rev-parse", "HEAD")
    result = run("link", case, "P-0099", "--nature", "n", "--source", "s")
    assert result.exit_code == ExitCode.NOT_FOUND and "P-0099" in result.stderr
    result = run("link", "C-0099", person, "--nature", "n", "--source", "s")
    assert result.exit_code == ExitCode.NOT_FOUND and "C-0099" in result.stderr
    result = run("link", person, person, "--nature", "n", "--source", "s")
    assert result.exit_code == ExitCode.INVALID_INPUT and "two different" in result.stderr
    result = run("link", case, "AG-0001", "--nature", "n", "--source", "s")
    assert result.exit_code == ExitCode.INVALID_INPUT and "persons (P-)" in result.stderr
    result = run("link", case, "nonsense", "--nature", "n", "--source", "s")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert git(store.root, "rev-parse", "HEAD") == before


def test_link_refuses_a_duplicate_either_way_round(run, store, mapped):
    case, person, _location = mapped
    args = ("--nature", "seen together", "--source", "police")
    assert run("link", case, person, *args).exit_code == 0
    again = run("link", person, case, "--nature", "Seen  Together", "--source", "school")
    assert again.exit_code == ExitCode.INVALID_INPUT and "K-00001" in again.stderr
    other_nature = run("link", person, case, "--nature", "phone contact", "--source", "police")
    assert other_nature.exit_code == 0, other_nature.output


def test_link_dates_uk_or_iso_never_future_or_nonsense(run, store, mapped):
    case, person, location = mapped
    iso = run("link", case, person, "--nature", "a", "--source", "s", "--date", "2026-01-05")
    assert iso.exit_code == 0 and store.read("K-00001")["date"] == date(2026, 1, 5)
    default = run("link", case, location, "--nature", "a", "--source", "s")
    assert store.read(default.stdout.strip())["date"] == people.today()
    for bad in ("31/02/2026", "yesterday", "03/14/2026"):
        result = run("link", person, location, "--nature", "a", "--source", "s", "--date", bad)
        assert result.exit_code == ExitCode.INVALID_INPUT, bad
    with pytest.raises(InvalidInputError, match="in the future"):
        people.add_link(store, person, location, "a", "s", people.today() + timedelta(days=1))


def test_library_refuses_missing_ids_with_not_found(store, mapped):
    case, _person, _location = mapped
    with pytest.raises(NotFoundError, match="L-0099"):
        people.add_link(store, case, "L-0099", "seen at", "police")


# --- nothing sensitive outside ciphertext ------------------------------------------------


def test_person_names_never_reach_commit_messages_or_file_names(run, store, mapped):
    case, person, location = mapped
    run("link", case, person, "--nature", "seen together", "--source", "police")
    bad = run("person", "add", "--kind", "villain", "--name", SUSPECT, "--nickname", NICKNAME)
    assert bad.exit_code == ExitCode.INVALID_INPUT
    needles = [SUSPECT, *SUSPECT.replace("-", " ").split(), NICKNAME, CANARY]
    log = git(store.root, "log", "--format=%s%n%b%n%an")
    names = []
    for folder, dirs, files in os.walk(store.root):
        names += [os.path.join(folder, n) for n in dirs + files]
    for needle in needles:
        assert needle not in log
        assert not any(needle.lower() in name.lower() for name in names)
        assert needle not in bad.output
    for path in store.root.rglob("*.enc"):
        assert SUSPECT.encode() not in path.read_bytes()
