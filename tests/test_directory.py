"""`panelctl agency` and `panelctl member`, and the profile's agencies offered at `init`.

Exit codes: a value that is not usable (a sector, a role, an e-mail address, a duplicate
agency, an ambiguous name) is INVALID_INPUT (15); naming an agency or member that does not
exist is NOT_FOUND (10), like any other missing record.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import git
from panelctl.base.errors import ExitCode, InvalidInputError, NotFoundError
from panelctl.model import profiles
from panelctl.model.records import SECTORS
from panelctl.panel import directory


@pytest.fixture
def run(cli, store, coordinator):
    """panelctl against the test store, as its coordinator."""
    return lambda *args, **kw: cli(*args, store=store.root, identity=coordinator.path, **kw)


def subjects(store) -> list[str]:
    return git(store.root, "log", "--format=%s").splitlines()


# --- agencies ----------------------------------------------------------------------------


def test_agency_add_prints_its_id_and_lists_as_json_and_csv(run, store):
    result = run("agency", "add", "--name", "Staffordshire Police", "--sector", "police")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "AG-0001"
    assert run("agency", "add", "--name", "YOS", "--sector", "youth-justice", "--virtual").stdout
    assert subjects(store)[:2] == ["Create agency AG-0002", "Create agency AG-0001"]

    listed = json.loads(run("agency", "list", "--format", "json").stdout)
    assert listed == [
        {"id": "AG-0001", "name": "Staffordshire Police", "sector": "police", "core": True},
        {"id": "AG-0002", "name": "YOS", "sector": "youth justice", "core": False},
    ]
    rows = list(csv.DictReader(io.StringIO(run("agency", "list", "--format", "csv").stdout)))
    assert [(r["id"], r["sector"], r["core"]) for r in rows] == [
        ("AG-0001", "police", "True"),
        ("AG-0002", "youth justice", "False"),
    ]


def test_agency_sector_must_be_one_of_the_sectors(run, store):
    result = run("agency", "add", "--name", "Met", "--sector", "cops")
    assert result.exit_code == ExitCode.INVALID_INPUT
    for sector in SECTORS:
        assert sector in result.stderr
    assert subjects(store) == ["Create store"]
    for given in ("Local Authority", "local-authority", "local_authority"):
        assert directory.check_sector(given) == "local authority"


def test_agency_names_are_unique_whatever_their_case(run, store):
    assert run("agency", "add", "--name", "CAMHS", "--sector", "health").exit_code == 0
    result = run("agency", "add", "--name", "  camhs ", "--sector", "health")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "AG-0001" in result.stderr
    assert len(directory.list_agencies(store)) == 1


def test_find_agency_by_name_or_id_and_a_helpful_not_found(store):
    added = directory.add_agency(store, "Brighter Futures", "voluntary")
    assert directory.find_agency(store, "brighter futures")["id"] == added
    assert directory.find_agency(store, added)["name"] == "Brighter Futures"
    with pytest.raises(NotFoundError, match="No agency named 'Barnardos'; see panelctl agency"):
        directory.find_agency(store, "Barnardos")


# --- members -----------------------------------------------------------------------------


@pytest.fixture
def agencies(store):
    return (
        directory.add_agency(store, "Staffordshire Police", "police"),
        directory.add_agency(store, "Children's Services", "local authority"),
    )


def test_member_add_and_list_with_filters(run, store, agencies):
    added = run(
        "member",
        "add",
        "--name",
        "Alex Vice-Chair",
        "--agency",
        "staffordshire police",
        "--role",
        "vice-chair",
        "--email",
        "alex@police.gov.uk",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "MB-0001"
    directory.add_member(store, "Kim Social Worker", "Children's Services", "core")
    directory.add_member(store, "Lee Officer", "Staffordshire Police", "core")
    assert "Create member MB-0001" in subjects(store)

    record = store.read("MB-0001")
    assert record["agency"] == "Staffordshire Police"  # as spelled in the agency record
    assert record["active"] is True

    by_agency = json.loads(
        run("member", "list", "--agency", "Staffordshire Police", "--format", "json").stdout
    )
    assert [m["id"] for m in by_agency] == ["MB-0001", "MB-0003"]
    by_role = json.loads(run("member", "list", "--role", "core", "--format", "json").stdout)
    assert [m["id"] for m in by_role] == ["MB-0002", "MB-0003"]
    rows = list(csv.DictReader(io.StringIO(run("member", "list", "--format", "csv").stdout)))
    assert {r["email"] for r in rows} == {"alex@police.gov.uk", ""}


def test_member_of_an_unknown_agency_is_refused_naming_it(run, store, agencies):
    before = subjects(store)
    result = run("member", "add", "--name", "Jo", "--agency", "Nowhere Trust", "--role", "core")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "Unknown agency 'Nowhere Trust'" in result.stderr
    assert "panelctl agency add" in result.stderr
    assert subjects(store) == before
    assert run("member", "list", "--agency", "Nowhere Trust").exit_code == ExitCode.NOT_FOUND


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--role", "boss", "chair, vice-chair, coordinator, core, virtual"),
        ("--email", "alex at police", "does not look like an e-mail address"),
        ("--email", "alex@police", "does not look like an e-mail address"),
    ],
)
def test_member_role_and_email_are_checked(run, store, agencies, option, value, expected):
    args = {"--name": "Alex", "--agency": "Staffordshire Police", "--role": "core", option: value}
    result = run("member", "add", *[x for pair in args.items() for x in pair])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert expected in result.stderr
    assert directory.list_members(store) == []


def test_the_same_member_twice_is_refused(store, agencies):
    directory.add_member(store, "Lee Officer", "Staffordshire Police", "core")
    with pytest.raises(InvalidInputError, match="already member MB-0001"):
        directory.add_member(store, "lee officer", "staffordshire police", "virtual")


def test_member_remove_keeps_the_record_inactive(run, store, agencies):
    member = directory.add_member(store, "Lee Officer", "Staffordshire Police", "core", "l@p.uk")
    result = run("member", "remove", "lee officer")
    assert result.exit_code == 0, result.output
    assert member in result.stderr
    assert subjects(store)[0] == f"Update member {member}"
    assert (store.root / "members" / f"{member}.enc").exists()
    assert store.read(member)["active"] is False

    assert json.loads(run("member", "list", "--format", "json").stdout) == []
    everyone = json.loads(run("member", "list", "--all", "--format", "json").stdout)
    assert [(m["id"], m["active"]) for m in everyone] == [(member, False)]

    again = run("member", "remove", member)
    assert again.exit_code == ExitCode.INVALID_INPUT and "already removed" in again.stderr
    by_name = run("member", "remove", "Lee Officer")
    assert by_name.exit_code == ExitCode.NOT_FOUND
    assert run("member", "remove", "MB-0099").exit_code == ExitCode.NOT_FOUND


def test_member_remove_refuses_an_ambiguous_name(run, store, agencies):
    directory.add_member(store, "Sam Jones", "Staffordshire Police", "core")
    directory.add_member(store, "Sam Jones", "Children's Services", "core")
    result = run("member", "remove", "Sam Jones")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "MB-0001, MB-0002" in result.stderr and "Sam Jones" not in result.stderr
    assert run("member", "remove", "MB-0002").exit_code == 0
    assert run("member", "remove", "Sam Jones").exit_code == 0  # now only one is active
    assert [m["active"] for m in directory.list_members(store, include_inactive=True)] == [
        False,
        False,
    ]


# --- the profile's agencies at init ------------------------------------------------------


def init_args(target, profile="cse-marac"):
    return ["init", str(target), "--profile", profile, "--name", "Panel", "--agency", "Council"]


@pytest.mark.parametrize("profile", profiles.names())
def test_init_with_seed_agencies_adds_the_profiles_agencies_in_one_commit(
    cli, coordinator, tmp_path, profile
):
    from panelctl.store.core import Store

    target = tmp_path / profile
    result = cli(*init_args(target, profile), "--seed-agencies", identity=coordinator.path)
    assert result.exit_code == 0, result.output
    seeds = profiles.load(profile)["seed_agencies"]
    assert f"Added {len(seeds)} agencies" in result.stderr
    listed = directory.list_agencies(Store(target, coordinator.unlock()))
    assert sorted(a["name"] for a in listed) == sorted(s["name"] for s in seeds)
    assert {a["name"]: a["sector"] for a in listed} == {s["name"]: s["sector"] for s in seeds}
    assert len(git(target, "log", "--format=%s").splitlines()) == 2


def test_init_without_seed_agencies_adds_none(cli, coordinator, tmp_path):
    for flag in (["--no-seed-agencies"], []):  # no flag and no terminal: no, and no prompt
        target = tmp_path / f"store{len(flag)}"
        result = cli(*init_args(target), *flag, identity=coordinator.path)
        assert result.exit_code == 0, result.output
        assert "Add the" not in result.output and "agencies" not in result.stderr
        assert git(target, "log", "--format=%s").splitlines() == ["Create store"]


@pytest.mark.parametrize("answer, expected", [("\n", 6), ("y\n", 6), ("n\n", 0)])
def test_init_asks_on_a_terminal(cli, coordinator, tmp_path, monkeypatch, answer, expected):
    from panelctl.cli import directory as directory_cli
    from panelctl.store.core import Store

    monkeypatch.setattr(directory_cli, "_interactive", lambda: True)
    target = tmp_path / "store"
    result = cli(*init_args(target), identity=coordinator.path, input=answer)
    assert result.exit_code == 0, result.output
    assert "Add the 6 agencies of the CSE MARAC profile? [Y/n]" in result.output
    assert len(directory.list_agencies(Store(target, coordinator.unlock()))) == expected


def test_seed_agencies_skips_those_present_and_is_safe_to_repeat(store):
    directory.add_agency(store, "staffordshire police", "police")
    seeds = store.profile["seed_agencies"]
    added = directory.seed_agencies(store)
    assert len(added) == len(seeds) - 1
    assert git(store.root, "log", "--format=%s").splitlines()[0].startswith("Change records")
    head = git(store.root, "rev-parse", "HEAD")
    assert directory.seed_agencies(store) == []
    assert git(store.root, "rev-parse", "HEAD") == head  # no empty commit
