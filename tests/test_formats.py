"""Record format versions across panelctl versions (issue 12, point 7): real stores, real
encryption and git.

The code under test is panelctl as it is (cases at format 1, its newest format
:data:`KNOWN`). A *newer* panelctl is simulated in-process by :func:`newer_panelctl`: it
registers a pretend format :data:`NEWER` (the next one up), made by a pretend panelctl
:data:`NEWER_VERSION`, in which a case gains an optional ``safety_plan`` field, with an
upgrade step from format 1. Leaving the ``with`` block puts this panelctl back: the *older*
one. The numbers are worked out from this panelctl's table, so a release that adds a format
needs no change here.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Annotated, ClassVar

import pytest
from msgspec import Meta

from conftest import (
    CANARY,
    accept_history,
    assert_unchanged,
    git,
    signed_commit,
    store_state,
    take_case_keys,
)
from panelctl import __version__
from panelctl.base import yamlio
from panelctl.base.errors import ExitCode, InvalidRecordError, NeedsNewerError
from panelctl.crypto import envelope
from panelctl.crypto.identity import read_identity_file
from panelctl.model import formats, records, types
from panelctl.panel import sync
from panelctl.store.core import Store
from panelctl.store.migrate import migrate

KNOWN = formats.known()  # this panelctl's newest format
KNOWN_VERSION = formats.FORMATS[KNOWN]
NEWER = KNOWN + 1  # the pretend newer panelctl's
_major, _minor = __version__.split(".")[:2]
NEWER_VERSION = f"{_major}.{int(_minor) + 1}.0"


#: the newest format this panelctl reads a case at (what a refused case's message names)
CASE_READS_UP_TO = formats.reads_up_to("case", records.CASE.format)


def newer_line(key: str = "format") -> bytes:
    return f"{key}: {NEWER}  # panelctl {NEWER_VERSION} or newer\n".encode()


CASE = {
    "status": "open",
    "child": {"name": CANARY, "dob": date(2011, 4, 2)},
    "nominated": date(2026, 11, 1),
    "risk": "High",
    "lead_agency": "Police",
}


class CaseV2(types.Case, kw_only=True):
    """A case at the pretend newer format: a safety plan may be recorded."""

    FORMAT: ClassVar[int] = NEWER
    safety_plan: Annotated[str | None, Meta(description="The agreed safety plan")] = None


def _case_v2_from_1(record: dict) -> dict:
    """The pretend upgrade step: a case from before it says it had no safety plan."""
    return {**record, "safety_plan": record.get("safety_plan", "not recorded")}


@contextmanager
def newer_panelctl():
    """panelctl as a pretend newer version would be: format NEWER, with cases changed."""
    saved = (records.CASE.struct, dict(formats.FORMATS), dict(formats.UPGRADES))
    object.__setattr__(records.CASE, "struct", CaseV2)  # RecordType is frozen
    formats.FORMATS[NEWER] = NEWER_VERSION
    formats.UPGRADES["case"] = {NEWER: _case_v2_from_1}
    try:
        yield
    finally:
        object.__setattr__(records.CASE, "struct", saved[0])
        formats.FORMATS.clear()
        formats.FORMATS.update(saved[1])
        formats.UPGRADES.clear()
        formats.UPGRADES.update(saved[2])


def stored(store: Store, record_id: str) -> bytes:
    path = store.path_of(record_id)
    return store.decrypt(path, (store.root / path).read_bytes())


def without_format_line(store: Store, record_id: str, identity_path) -> None:
    """Rewrite a record as panelctl wrote it before records had a format line, committed."""
    path = store.path_of(record_id)
    text = stored(store, record_id)
    assert text.startswith(b"format: 1\n")
    keyring = store.keyring
    (store.root / path).write_bytes(
        envelope.encrypt(
            keyring.key, keyring.epoch, store.store_id, path, text.removeprefix(b"format: 1\n")
        )
    )
    signed_commit(store.root, identity_path, f"Rewrite {record_id} as an older panelctl did")


def one_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("panelctl: "), result.stderr
    assert "Traceback" not in result.output and CANARY not in result.output
    return lines[0]


# --- this panelctl -------------------------------------------------------------------------


def test_every_record_written_starts_with_its_format(store):
    case = store.create("case", CASE)
    assert stored(store, case).startswith(b"format: 1\nid: C-0001\n")
    assert "format" not in store.read(case)  # the number is the store's business, not a field
    assert (store.root / "panelctl.yaml").read_bytes().startswith(
        f"panelctl_store: {KNOWN}  # panelctl {KNOWN_VERSION} or newer\n".encode()
    )


def test_a_record_without_a_format_line_reads_and_gets_one_when_it_changes(store, coordinator):
    case = store.create("case", CASE)
    without_format_line(store, case, coordinator.path)
    store = Store(store.root, coordinator.unlock())
    record = store.read(case)
    assert record["risk"] == "High"
    head = git(store.root, "rev-parse", "HEAD")
    assert not store.update(record)  # unchanged, and at this panelctl's format: no commit
    assert git(store.root, "rev-parse", "HEAD") == head
    record["risk"] = "Medium"
    assert store.update(record)
    assert stored(store, case).startswith(b"format: 1\nid: C-0001\n")


def sealed_counts(store: Store) -> dict[str, int]:
    """Record type -> how many of its records are about a child (format 4 seals them under
    case keys), in the order migrate counts them."""
    counts: dict[str, int] = {}
    for rtype in records.TYPES.values():
        n = sum(1 for i in store.ids(rtype) if records.case_scope(rtype, store.read(i)))
        if n:
            counts[rtype.name] = n
    return counts


def test_the_sample_stores_records_are_at_this_panelctls_format(sample, cli):
    """Only its meetings would be written again (format 3 added optional meeting fields, so
    they need no upgrade step, only the new format line; format 2 adds nothing a record
    without conflicts holds), and the store's own number would rise."""
    from panelctl.store.migrate import migrate

    before = store_state(sample.store)
    store = Store(sample.store, read_identity_file(sample.identity).unlock())
    meetings = len(store.ids(records.MEETING))
    plan = migrate(store, dry_run=True)
    # and, to format 4, every record about a child, to be sealed under its case key
    assert plan.changed == {**sealed_counts(store), "meeting": meetings}
    assert (plan.store_from, plan.store_to) == (1, KNOWN)
    assert_unchanged(before, store_state(sample.store))


@pytest.mark.parametrize("value", ["2", 0, -1, True, 1.5])
def test_a_format_that_is_not_a_whole_number_from_1_is_an_invalid_record(store, value):
    text = yamlio.dump({"format": value, "id": "C-0001", **CASE})
    with pytest.raises(InvalidRecordError) as raised:
        records.parse(records.CASE, text, "C-0001")
    assert raised.value.exit_code == ExitCode.INVALID_RECORD
    assert raised.value.message == "case C-0001: field format must be a whole number from 1."


# --- a newer panelctl and older records --------------------------------------------------


def test_a_newer_panelctl_upgrades_an_older_record_when_it_writes_it(sample, cli):
    identity = read_identity_file(sample.identity).unlock()
    old = stored(Store(sample.store, identity), "C-0001")
    assert not old.startswith(b"format:")  # the sample store is in its first format
    with newer_panelctl():
        store = Store(sample.store, identity)
        record = store.read("C-0001")
        assert record["safety_plan"] == "not recorded"  # upgraded as it was read...
        assert stored(store, "C-0001") == old  # ...and not written
        result = cli(
            "case",
            "update",
            "C-0001",
            "--team",
            "Hanley Team",
            store=sample.store,
            identity=sample.identity,
        )
        assert result.exit_code == 0, result.output
        text = stored(store, "C-0001")
        assert text.startswith(newer_line() + b"id: C-0001\n")
        assert yamlio.load(text)["safety_plan"] == "not recorded"
        assert stored(store, "C-0002") == stored(Store(sample.store, identity), "C-0002")
        assert cli("verify", "--all", store=sample.store, identity=sample.identity).exit_code == 0


def test_migrate_upgrades_every_older_record_in_one_signed_commit(sample, cli):
    identity = read_identity_file(sample.identity).unlock()
    cases = Store(sample.store, identity).ids(records.CASE)
    meetings = len(Store(sample.store, identity).ids(records.MEETING))
    assert len(cases) > 1
    counts = {**sealed_counts(Store(sample.store, identity)), "meeting": meetings}
    order = [t for t in records.TYPES if t in counts]
    listed = ", ".join(f"{counts[t]} {t} records" for t in order)
    with newer_panelctl():
        before = store_state(sample.store)
        dry = cli("migrate", "--dry-run", store=sample.store, identity=sample.identity)
        assert dry.exit_code == 0, dry.output
        assert dry.stderr == (
            f"Would upgrade {listed}, the store's format from 1 to {NEWER}. Nothing was "
            "written.\n"
        )
        assert_unchanged(before, store_state(sample.store))

        done = cli("migrate", store=sample.store, identity=sample.identity)
        assert done.exit_code == 0, done.output
        assert done.stderr == (
            f"Upgraded {listed}, the store's format from 1 to {NEWER} (one signed commit).\n"
        )
        log = git(sample.store, "log", "--format=%s", f"{before['HEAD'].strip()}..HEAD")
        assert log.splitlines() == [
            f"Migrate the store to format {NEWER}: upgrade "
            + ", ".join(f"{counts[t]} {t}" for t in order)
        ]
        store = Store(sample.store, identity)
        for case in cases:
            assert stored(store, case).startswith(newer_line())
        settings = (sample.store / "panelctl.yaml").read_bytes()
        assert settings.startswith(newer_line("panelctl_store"))
        assert store.settings.format == NEWER
        # only the format line of the settings changed
        old_settings = before["files"]["panelctl.yaml"].split(b"\n", 1)[1]
        assert settings.split(b"\n", 1)[1] == old_settings
        # signed by the coordinator and within the rules: verify checks every commit
        result = cli("verify", "--all", store=sample.store, identity=sample.identity)
        assert result.exit_code == 0, result.output

        after = store_state(sample.store)
        again = cli("migrate", store=sample.store, identity=sample.identity)
        assert again.exit_code == 0, again.output
        assert again.stderr == (
            f"The store and every record are at this panelctl's format ({NEWER}); nothing to do.\n"
        )
        assert_unchanged(after, store_state(sample.store))


def test_migrate_is_for_coordinators(store, coordinator, make_person):
    from panelctl.base.errors import NotAllowedError
    from panelctl.panel.access import add_reader

    member = make_person("Mo Member")
    add_reader(store, member.recipient, member.name, "Police", "member")
    with newer_panelctl():
        before = store_state(store.root)
        with pytest.raises(NotAllowedError, match="Only a coordinator"):
            migrate(Store(store.root, member.unlock()))
        assert_unchanged(before, store_state(store.root))


# --- an older panelctl and a newer store ---------------------------------------------------


def test_an_older_panelctl_facing_a_migrated_store_says_which_version_it_needs(sample, cli):
    with newer_panelctl():
        assert cli("migrate", store=sample.store, identity=sample.identity).exit_code == 0
    # this panelctl again: it reads up to format KNOWN
    before = store_state(sample.store)
    for args in (["case", "list"], ["case", "update", "C-0001", "--team", "T"], ["verify"]):
        result = cli(*args, store=sample.store, identity=sample.identity)
        assert result.exit_code == ExitCode.NEEDS_NEWER == 21, result.output
        assert one_line(result) == (
            f"panelctl: This store needs panelctl {NEWER_VERSION} or newer (panelctl.yaml has "
            f"format {NEWER}; this panelctl, {__version__}, reads up to format {KNOWN}); install "
            "that version to work with this store: nothing was read or written."
        )
        assert_unchanged(before, store_state(sample.store))


def test_a_field_added_in_a_newer_format_never_makes_an_older_clone_say_invalid(
    store, coordinator, cli, tmp_path
):
    """A newer panelctl, in its own clone, records a case's safety plan (a field this
    panelctl does not know). After a pull, this panelctl refuses that record with exit 21
    naming the version, for reading and writing alike, rather than exit 9 (an unknown
    field), or showing or saving the case without the plan."""
    case = store.create("case", CASE)
    other = store.create("case", CASE)
    newer_clone = tmp_path / "newer"
    git(tmp_path, "clone", "-q", str(store.root), str(newer_clone))
    take_case_keys(newer_clone)  # (what `panelctl clone` does)
    accept_history(newer_clone, coordinator.path)
    with newer_panelctl():
        newer = Store(newer_clone, coordinator.unlock())
        record = newer.read(case)
        record["safety_plan"] = "Agreed with the school; reviewed weekly"
        newer.update(record)
        assert newer.read(case)["safety_plan"].startswith("Agreed")
    git(store.root, "pull", "-q", "--ff-only", str(newer_clone), "main")
    accept_history(store.root, coordinator.path, everything=False)

    needs = (
        f"This store needs panelctl {NEWER_VERSION} or newer (case {case} has format {NEWER}; "
        f"this panelctl, {__version__}, reads up to format {CASE_READS_UP_TO})"
    )
    before = store_state(store.root)
    for args in (
        ["case", "show", case],
        ["case", "update", case, "--team", "Hanley Team"],
        ["record", "show", case],
        ["case", "list"],  # the index reads the pulled record: refused as a whole
    ):
        result = cli(*args, store=store.root, identity=coordinator.path)
        assert result.exit_code == ExitCode.NEEDS_NEWER, (args, result.output)
        assert needs in one_line(result), args
        assert_unchanged(before, store_state(store.root))
    # records of the older format are still read (the refusal names only the newer one)
    assert Store(store.root, coordinator.unlock()).read(other)["risk"] == "High"
    # the library refuses to write it back too, whatever the caller built
    older = Store(store.root, coordinator.unlock())
    with pytest.raises(NeedsNewerError, match=f"case {case} has format {NEWER}"):
        older.update({"id": case, **CASE})
    assert_unchanged(before, store_state(store.root))

    # verify names the record as a problem (exit 1), on one line by its path
    result = cli("verify", "--all", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND, result.output
    assert f"cases/{case}.enc: {needs}" in result.stdout
    assert "Traceback" not in result.output

    # without the format number, the same record would be refused as invalid: what the
    # number is there to prevent
    path = store.root / store.path_of(case)
    text = older.decrypt(store.path_of(case), path.read_bytes()).split(b"\n", 1)[1]
    with pytest.raises(InvalidRecordError) as raised:
        records.parse(records.CASE, text, case)
    assert raised.value.exit_code == ExitCode.INVALID_RECORD
    assert "unknown field safety_plan" in raised.value.message


def test_a_newer_record_names_a_version_this_panelctls_table_does_not_have(store):
    text = b"format: 7  # panelctl 3.1.4 or newer\n" + yamlio.dump({"id": "C-0001", **CASE})
    with pytest.raises(NeedsNewerError) as raised:
        records.parse(records.CASE, text, "C-0001")
    assert raised.value.message.startswith(
        "This store needs panelctl 3.1.4 or newer (case C-0001 has format 7;"
    )
    bare = b"format: 7\n" + yamlio.dump({"id": "C-0001", **CASE, "new_field": 1})
    with pytest.raises(NeedsNewerError, match=f"needs a panelctl newer than {__version__}"):
        records.parse(records.CASE, bare, "C-0001")


def test_upgrade_steps_run_in_order_and_skip_formats_that_did_not_change_a_type(monkeypatch):
    monkeypatch.setitem(formats.FORMATS, 2, "0.2.0")
    monkeypatch.setitem(formats.FORMATS, 3, "0.3.0")
    monkeypatch.setitem(formats.FORMATS, 4, "0.4.0")
    steps = {
        2: lambda r: {**r, "seen": [*r.get("seen", []), 2]},
        4: lambda r: {**r, "seen": [*r["seen"], 4]},
    }
    monkeypatch.setitem(formats.UPGRADES, "case", steps)
    assert formats.upgrade("case", {"id": "C-0001"}, 1, 4) == {"id": "C-0001", "seen": [2, 4]}
    assert formats.upgrade("case", {"id": "C-0001", "seen": [2]}, 2, 4)["seen"] == [2, 4]
    assert formats.current("case", "case C-0001", {"format": 4, "id": "C-0001"}, 4) == {
        "id": "C-0001"
    }
    assert formats.known() == 4


def test_the_format_table_agrees_with_the_record_types_and_this_version():
    from panelctl import __version__

    def version(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    assert sorted(formats.FORMATS) == list(range(1, formats.known() + 1))
    introduced = [version(formats.FORMATS[n]) for n in sorted(formats.FORMATS)]
    assert introduced == sorted(introduced) and introduced[-1] <= version(__version__)
    for rtype in records.TYPES.values():
        assert rtype.format in formats.FORMATS, rtype.name
        assert all(step <= rtype.format for step in formats.UPGRADES.get(rtype.name, {}))


def test_a_version_in_a_comment_is_named_only_when_it_looks_like_a_version():
    assert formats.needs_version(9, b"format: 9  # panelctl 1.2.3rc1 or newer\n") == (
        "panelctl 1.2.3rc1 or newer"
    )
    named = formats.needs_version(9, f"format: 9  # panelctl {CANARY} or newer\n".encode())
    assert named == f"a panelctl newer than {__version__}"


def test_a_format_upgrade_alone_is_not_a_change_to_approved_minutes(monkeypatch):
    """`migrate` may rewrite a meeting whose minutes the chair approved (which otherwise
    never changes again): the rules compare its versions at one format."""
    from types import SimpleNamespace

    from panelctl.store import chain

    class MeetingV2(types.Meeting, kw_only=True):
        FORMAT: ClassVar[int] = 2
        room: str | None = None

    object.__setattr__(records.MEETING, "struct", MeetingV2)
    try:
        monkeypatch.setitem(formats.FORMATS, 2, "0.2.0")
        monkeypatch.setitem(
            formats.UPGRADES, "meeting", {2: lambda m: {**m, "room": m.get("room", "unknown")}}
        )
        approved = {"id": "M-0001", "date": date(2026, 11, 3), "minutes": {"status": "approved"}}
        coordinator = SimpleNamespace(name="Sam", role="coordinator")
        keyring = SimpleNamespace(epoch=1)

        def findings(new: dict) -> list:
            return chain.check_change(
                "",
                coordinator,
                keyring,
                keyring,
                [chain.Change("M", "meetings/M-0001.enc")],
                lambda _path: 1,
                lambda _path: (approved, new),
            )

        upgraded = {"format": 2, **approved, "room": "unknown"}
        assert findings(upgraded) == []
        changed = {**upgraded, "room": "Room 4"}
        assert [f.message for f in findings(changed)] == [
            "changes a meeting whose minutes the chair approved"
        ]
    finally:
        object.__setattr__(records.MEETING, "struct", types.Meeting)


def test_a_record_with_conflicts_is_format_2_and_an_older_clone_names_the_version(
    store, monkeypatch
):
    """`conflicts` (format 2) is the first field added since format numbers exist: only a
    record holding conflicts is written at format 2, and a clone on 0.1.0 (which reads up to
    format 1) refuses it as needing 0.2.0, never as invalid; every other record it reads."""
    case = store.create("case", CASE)
    plain = store.create("case", CASE)
    record = store.read(case)
    record["conflicts"] = [
        {"field": "risk", "base": "High", "ours": "Low", "theirs": "High",
         "recorded": "2026-12-03T10:00:00+00:00"}
    ]  # fmt: skip
    store.update(record)
    assert stored(store, case).startswith(b"format: 2  # panelctl 0.2.0 or newer\n")
    assert stored(store, plain).startswith(b"format: 1\n")
    monkeypatch.setattr(formats, "FORMATS", {1: "0.1.0"})  # panelctl 0.1.0's table
    monkeypatch.setattr(formats, "CONFLICTS_FORMAT", 1)
    monkeypatch.setattr(formats, "FIELD_FORMATS", {})  # 0.1.0 knew no later optional field
    with pytest.raises(NeedsNewerError, match=f"needs panelctl 0.2.0 or newer \\(case {case} "):
        records.parse(records.CASE, stored(store, case), case)
    assert records.parse(records.CASE, stored(store, plain), plain)["risk"] == "High"


# --- a remote migrated by a newer panelctl -------------------------------------------------


def test_sync_takes_nothing_from_a_remote_a_newer_panelctl_migrated(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    coordinator.store().create("case", CASE)
    with newer_panelctl():
        store = coordinator.store()
        migrate(store)  # the store's format is now NEWER, which this panelctl does not read
        sync.sync(store)  # pushed by the newer panelctl
    head = git(chair.root, "rev-parse", "HEAD")
    done = cli("sync", store=chair.root, identity=chair.identity)
    assert done.exit_code == 21, done.output
    assert f"needs panelctl {NEWER_VERSION} or newer" in one_line(done)
    assert git(chair.root, "rev-parse", "HEAD") == head  # nothing taken: still readable
    assert cli("case", "list", store=chair.root, identity=chair.identity).exit_code == 0
