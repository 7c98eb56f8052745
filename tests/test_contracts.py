"""The README's promise, held for every command that writes: an error exits with its
documented code, says one sentence on stderr without a traceback, and leaves the store
exactly as it was (HEAD and every ref, git's index, the working tree byte for byte, and no
journal of a half-made change).

Each writing command is driven into at least one failure (a bad option value, an unknown
id, the wrong role, a bad input file...), and every class of the error catalogue
(`panelctl.base.errors`) is reached through at least one command. A new command, or a new
error class, makes a test here fail until it is given a case.
"""

from __future__ import annotations

import os
import resource
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from conftest import (
    CANARY,
    SAMPLE_STORE,
    TEST_LOG_N,
    all_commands,
    assert_unchanged,
    commit_settings,
    git,
    share_case_keys,
    store_state,
)
from panelctl.base import errors, yamlio
from panelctl.base.errors import ExitCode
from panelctl.crypto import envelope
from panelctl.crypto.identity import create_identity_file, read_identity_file
from panelctl.panel.access import add_reader
from panelctl.panel.demo import prepare_demo
from panelctl.store.core import Store

# --- the state an error must leave alone ------------------------------------------------


# --- the world the cases run in ---------------------------------------------------------


@dataclass
class World:
    """A copy of the sample store with a member, a chair, a passphrase-protected reader and
    a stranger; mail settings for `remind`; the files cases need."""

    root: Path
    tmp: Path
    identities: dict[str, Path]
    env: dict = field(default_factory=dict)

    def store(self) -> Store:
        return Store(self.root, read_identity_file(self.identities["coordinator"]).unlock())

    def commit(self, message: str) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message, "--no-verify")

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)


def _forged_remote(w: World) -> None:
    """The panel's shared repository, with a commit pushed there with plain git (unsigned)."""
    remote, other = w.tmp / "remote.git", w.tmp / "other"
    git(w.tmp, "clone", "-q", "--bare", str(w.root), str(remote))
    share_case_keys(w.root, remote)
    git(w.root, "remote", "add", "origin", str(remote))
    git(w.tmp, "clone", "-q", str(remote), str(other))
    (other / "notes.txt").write_text("pushed by someone without a key\n")
    git(other, "add", "notes.txt")
    git(other, "-c", "user.name=M", "-c", "user.email=m@x.invalid", "commit", "-qm", "notes")
    git(other, "push", "-q", "origin", "HEAD")


PASSPHRASE = "a long enough passphrase"
READERS = {  # name: (role in the store, passphrase)
    "member": ("member", None),
    "chair": ("chair", None),
    "protected": ("member", PASSPHRASE),
}


@pytest.fixture(scope="module")
def world_template(tmp_path_factory) -> Path:
    """Built once per module (identities cost an scrypt each): the sample store with its
    readers, and the identities, under one folder that each test copies."""
    base = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as patch:  # the isolation conftest gives each test
        for name in [n for n in os.environ if n.startswith("PANELCTL_")]:
            patch.delenv(name)
        patch.setenv("HOME", str(base))
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        demo = prepare_demo(SAMPLE_STORE, base / "demo")
        store = Store(demo.store, read_identity_file(demo.identity).unlock())
        for name, (role, passphrase) in READERS.items():
            created = create_identity_file(
                base / f"{name}.json", f"{name.title()} Reader", "", passphrase, log_n=TEST_LOG_N
            )
            add_reader(store, created.recipient, created.name, "Staffordshire Police", role)
        create_identity_file(base / "stranger.json", "Stan Stranger", "", None, log_n=TEST_LOG_N)
    return base


@pytest.fixture
def world(world_template, tmp_path) -> World:
    base = tmp_path / "world"
    shutil.copytree(world_template, base, symlinks=True)
    files = tmp_path / "files"
    files.mkdir()
    identities = {name: base / f"{name}.json" for name in [*READERS, "stranger"]}
    identities["coordinator"] = base / "demo" / "identity.json"
    identities["missing"] = tmp_path / "no-such-identity.json"
    return World(base / "demo" / "store", files, identities)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def set_mail(world: World, **mail) -> None:
    settings = yamlio.load((world.root / "panelctl.yaml").read_bytes())
    settings["settings"] = {**(settings.get("settings") or {}), "mail": mail}
    (world.root / "panelctl.yaml").write_bytes(yamlio.dump(settings))
    commit_settings(world.root, world.identities["coordinator"])


def mail_to_owner(world: World, email: str) -> None:
    """A member who owns the sample store's overdue actions, and a mail server nobody runs."""
    with world.store().transaction() as tx:
        tx.create(
            "member",
            {"name": "Demo Social Worker", "agency": "Police", "role": "core", "email": email},
        )
    mail = {"host": "127.0.0.1", "port": free_port(), "security": "none"}
    set_mail(world, **mail, **{"from": "mace@stoke.gov.uk"})


def rewrite(world: World, record_id: str, blob_of: Callable[[World, bytes], bytes]) -> None:
    path = world.root / world.store().path_of(record_id)
    path.write_bytes(blob_of(world, path.read_bytes()))  # damaged on disk, after verifying


def newer_format(world: World, blob: bytes) -> bytes:
    """C-0002 as a panelctl 9.0.0 would write it: format 9, with a field this one lacks."""
    store = world.store()
    keyring, path = store.keyring, "cases/C-0002.enc"
    text = b"format: 9  # panelctl 9.0.0 or newer\n" + store.decrypt(path, blob)
    text += b"safety_plan: agreed\n"
    return envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, text)


def bad_yaml(world: World, _blob: bytes) -> bytes:
    keyring = world.store().keyring
    text = f"id: C-0002\nchild: [{CANARY}\n".encode()
    return envelope.encrypt(
        keyring.key, keyring.epoch, world.store().store_id, "cases/C-0002.enc", text
    )


# --- the cases --------------------------------------------------------------------------


@dataclass
class Case:
    args: list[str]
    code: ExitCode
    words: str  # the sentence names this (an id, a field, an option, a path)
    who: str = "coordinator"
    setup: Callable[[World], None] | None = None
    files: dict[str, str] = field(default_factory=dict)  # {file name: content}; "{name}" in args
    env: dict = field(default_factory=dict)
    #: remind's warnings and refusals come first, each its own "panelctl: " line (by design)
    notes_before: bool = False
    #: an import names each bad row on its own line after the sentence (by design)
    details_after: bool = False
    #: a file size limit (RLIMIT_FSIZE) while the command runs: a disk with no space left
    file_size_limit: int | None = None


IMPORT_HEADER = "case_id,name,dob,referring_agency,assessment_date,assessor,assessor_agency,level\n"
SCRIPT = "attendance: []\n"
ROW = ",{child},14/03/2011,Staffordshire Police,{day},Jo Lead,Staffordshire Police,{level}\n"

CASES: dict[str, Case] = {
    # nominate
    "nominate bad dob": Case(
        [
            "nominate",
            "--name",
            CANARY,
            "--dob",
            "31/02/2011",
            "--referring-agency",
            "Staffordshire Police",
            "--risk-level",
            "Medium",
        ],
        ExitCode.INVALID_INPUT,
        "date",
    ),
    "nominate unreadable file": Case(
        ["nominate", "--from", "{missing}"], ExitCode.INVALID_INPUT, "Cannot read"
    ),
    "nominate bad yaml": Case(
        ["nominate", "--from", "{nomination.yaml}"],
        ExitCode.INVALID_INPUT,
        "line",
        files={"nomination.yaml": f"child: [{CANARY}\n"},
    ),
    "nominate refused by the entry rules": Case(
        [
            "nominate",
            "--name",
            CANARY,
            "--dob",
            "14/03/2011",
            "--referring-agency",
            "Staffordshire Police",
        ],
        ExitCode.NOT_ALLOWED,
        "mace profile",
    ),
    "nominate a child whose case is open": Case(
        [
            "nominate",
            "--name",
            "ALEXIS nearmatch",
            "--dob",
            "14/03/2011",
            "--referring-agency",
            "Staffordshire Police",
            "--risk-level",
            "Medium",
        ],
        ExitCode.NOT_ALLOWED,
        "is already an open case for this child",
        setup=lambda w: _imported(w, "Alexis Nearmatch"),
    ),
    "nominate dob in the future": Case(
        [
            "nominate",
            "--name",
            CANARY,
            "--dob",
            "01/01/9999",
            "--referring-agency",
            "Staffordshire Police",
            "--risk-level",
            "Medium",
        ],
        ExitCode.INVALID_INPUT,
        "check the date of birth (--dob)",
    ),
    "nominate dob before 1900": Case(
        [
            "nominate",
            "--name",
            CANARY,
            "--dob",
            "14/03/1850",
            "--referring-agency",
            "Staffordshire Police",
            "--risk-level",
            "Medium",
        ],
        ExitCode.INVALID_INPUT,
        "child.dob is before 1900",
    ),
    "nominate assessment dated 2099": Case(
        ["nominate", "--from", "{nomination.yaml}"],
        ExitCode.INVALID_INPUT,
        "assessment.date is in the future",
        files={
            "nomination.yaml": f"child: {{name: {CANARY}, dob: 2011-03-14}}\n"
            "referring_agency: Staffordshire Police\n"
            "assessment: {level: Medium, date: 2099-01-01}\n"
        },
    ),
    "nominate assessment before birth": Case(
        ["nominate", "--from", "{nomination.yaml}"],
        ExitCode.INVALID_INPUT,
        "assessment.date is before the child's date of birth",
        files={
            "nomination.yaml": f"child: {{name: {CANARY}, dob: 2011-03-14}}\n"
            "referring_agency: Staffordshire Police\n"
            "assessment: {level: Medium, date: 2010-01-01}\n"
        },
    ),
    "nominate child as a list": Case(
        ["nominate", "--from", "{nomination.yaml}"],
        ExitCode.INVALID_INPUT,
        "child must be a mapping",
        files={"nomination.yaml": f"child: [{CANARY}]\nreferring_agency: Staffordshire Police\n"},
    ),
    "nominate factors as a mapping": Case(
        ["nominate", "--from", "{nomination.yaml}"],
        ExitCode.INVALID_INPUT,
        "assessment.factors must be a list",
        files={
            "nomination.yaml": f"child: {{name: {CANARY}, dob: 2011-03-14}}\n"
            "referring_agency: Staffordshire Police\n"
            "assessment: {factors: {missing_overnight: yes}}\n"
        },
    ),
    "case missing in the future": Case(
        ["case", "missing", "C-0001", "--from", "14/03/2099 18:30"],
        ExitCode.INVALID_INPUT,
        "give the day it happened (--from)",
    ),
    "case missing before the child was born": Case(
        ["case", "missing", "C-0001", "--from", "14/03/1901 18:30"],
        ExitCode.INVALID_INPUT,
        "start is before the child's date of birth (--from)",
    ),
    # case
    "case update unknown case": Case(
        ["case", "update", "C-0099", "--team", "Adolescent Team"], ExitCode.NOT_FOUND, "C-0099"
    ),
    "case update bad review date": Case(
        ["case", "update", "C-0001", "--team", "New Team", "--review-due", "2026-13-01"],
        ExitCode.INVALID_INPUT,
        "--review-due",
    ),
    "case update bad date": Case(
        ["case", "update", "C-0001", "--team", "New Team", "--date", "yesterday"],
        ExitCode.INVALID_INPUT,
        "--date",
    ),
    "case close bad date": Case(
        [
            "case",
            "close",
            "C-0001",
            "--reason",
            "Risk reduced",
            "--agreed-by",
            "Staffordshire Police",
            "--date",
            "32/01/2027",
        ],
        ExitCode.INVALID_INPUT,
        "--date",
    ),
    "case close closed case": Case(
        ["case", "close", "C-0003", "--reason", "Again", "--agreed-by", "Staffordshire Police"],
        ExitCode.NOT_ALLOWED,
        "C-0003",
        setup=lambda w: _close(w, "C-0003"),
    ),
    "case reopen open case": Case(["case", "reopen", "C-0001"], ExitCode.NOT_ALLOWED, "C-0001"),
    "case missing bad time": Case(
        ["case", "missing", "C-0001", "--from", "half past six"], ExitCode.INVALID_INPUT, "from"
    ),
    "case missing back before gone": Case(
        ["case", "missing", "C-0001", "--from", "14/03/2026 18:30", "--to", "13/03/2026 09:00"],
        ExitCode.INVALID_INPUT,
        "--to",
    ),
    "case flag bad review date": Case(
        [
            "case",
            "flag",
            "C-0001",
            "--flag",
            "Older associates",
            "--owner",
            "Jo Worker",
            "--review",
            "soon",
        ],
        ExitCode.INVALID_INPUT,
        "review",
    ),
    # rfm
    "rfm add bad date": Case(
        [
            "rfm",
            "add",
            "C-0001",
            "--date",
            "2026-02-30",
            "--assessor",
            "Jo Lead",
            "--agency",
            "Staffordshire Police",
        ],
        ExitCode.INVALID_INPUT,
        "--date",
    ),
    "rfm add unknown factor": Case(
        [
            "rfm",
            "add",
            "C-0001",
            "--date",
            "01/12/2026",
            "--assessor",
            "Jo Lead",
            "--agency",
            "Staffordshire Police",
            "--factor",
            "no_such_factor",
        ],
        ExitCode.INVALID_INPUT,
        "no_such_factor",
    ),
    "rfm add before the child was born": Case(
        [
            "rfm",
            "add",
            "C-0001",
            "--date",
            "01/01/1901",
            "--assessor",
            "Jo Lead",
            "--agency",
            "Staffordshire Police",
            "--agreed",
            "Low",
        ],
        ExitCode.INVALID_INPUT,
        "date is before the child's date of birth",
    ),
    "rfm add unknown case": Case(
        [
            "rfm",
            "add",
            "C-0099",
            "--date",
            "01/12/2026",
            "--assessor",
            "Jo Lead",
            "--agency",
            "Staffordshire Police",
        ],
        ExitCode.NOT_FOUND,
        "C-0099",
    ),
    "rfm import one bad row": Case(
        ["rfm", "import", "{rows.csv}", "--date", "01/12/2026"],
        ExitCode.INVALID_INPUT,
        "1 bad row",
        details_after=True,
        files={
            "rows.csv": IMPORT_HEADER
            + ROW.format(child="Alex Newchild", day="01/11/2026", level="Medium")
            + ROW.format(child="Sam Otherchild", day="31/11/2026", level="Medium"),
        },
    ),
    "rfm import near match": Case(
        ["rfm", "import", "{rows.csv}", "--date", "01/12/2026"],
        ExitCode.INVALID_INPUT,
        "1 bad row",
        details_after=True,
        setup=lambda w: _imported(w, "Alexis Nearmatch"),
        files={
            "rows.csv": IMPORT_HEADER
            + ROW.format(child="Alexys Near-Match", day="02/11/2026", level="Medium"),
        },
    ),
    "rfm import implausible dates": Case(
        ["rfm", "import", "{rows.csv}", "--date", "01/12/2026"],
        ExitCode.INVALID_INPUT,
        "2 bad rows",
        details_after=True,
        files={
            "rows.csv": IMPORT_HEADER
            + f",{CANARY},01/01/9999,Staffordshire Police,01/11/2026,Jo Lead,Staffordshire Police,Medium\n"
            + ROW.format(child="Sam Otherchild", day="01/01/2001", level="Medium"),
        },
    ),
    "rfm import missing mapping": Case(
        ["rfm", "import", "{rows.csv}", "--mapping", "{missing}"],
        ExitCode.INVALID_INPUT,
        "mapping",
        files={"rows.csv": IMPORT_HEADER + ROW.format(child="Alex", day="01/11/2026", level="Low")},
    ),
    # people and links
    "person refer a case id": Case(
        ["person", "refer", "C-0001", "--lead-agency", "Staffordshire Police"],
        ExitCode.INVALID_INPUT,
        "C-0001",
    ),
    "person add bad kind": Case(
        ["person", "add", "--kind", "alien", "--name", "Dax Ferrowby"],
        ExitCode.INVALID_INPUT,
        "alien",
    ),
    "location add bad kind": Case(
        ["location", "add", "--kind", "castle", "--name", "The keep"],
        ExitCode.INVALID_INPUT,
        "castle",
    ),
    "link unknown record": Case(
        ["link", "C-0001", "P-0099", "--nature", "seen together", "--source", "police"],
        ExitCode.NOT_FOUND,
        "P-0099",
    ),
    "link bad date": Case(
        [
            "link",
            "C-0001",
            "P-0001",
            "--nature",
            "seen together",
            "--source",
            "police",
            "--date",
            "31/04/2026",
        ],
        ExitCode.INVALID_INPUT,
        "--date",
    ),
    # agencies and members
    "agency add bad sector": Case(
        ["agency", "add", "--name", "Fire Service", "--sector", "fire"],
        ExitCode.INVALID_INPUT,
        "fire",
    ),
    "member add bad role": Case(
        [
            "member",
            "add",
            "--name",
            "Alex Vice",
            "--agency",
            "Staffordshire Police",
            "--role",
            "emperor",
        ],
        ExitCode.INVALID_INPUT,
        "emperor",
    ),
    "member remove unknown": Case(["member", "remove", "MB-0099"], ExitCode.NOT_FOUND, "MB-0099"),
    "record edit unknown": Case(["record", "edit", "C-0099"], ExitCode.NOT_FOUND, "C-0099"),
    # meetings
    "meeting schedule bad date": Case(
        ["meeting", "schedule", "31/02/2027", "--time", "09:30"], ExitCode.INVALID_INPUT, "date"
    ),
    "meeting schedule bad time": Case(
        ["meeting", "schedule", "03/02/2027", "--time", "25:61"], ExitCode.INVALID_INPUT, "--time"
    ),
    "meeting adjourn held meeting": Case(
        ["meeting", "adjourn", "M-0001", "--to", "01/02/2030"], ExitCode.NOT_ALLOWED, "M-0001"
    ),
    "meeting adjourn to the past": Case(
        ["meeting", "adjourn", "M-0002", "--to", "01/02/2020"], ExitCode.INVALID_INPUT, "--to"
    ),
    "meeting cancel without a reason": Case(
        ["meeting", "cancel", "M-0002", "--reason", " "], ExitCode.INVALID_INPUT, "--reason"
    ),
    "meeting cancel held meeting": Case(
        ["meeting", "cancel", "M-0001", "--reason", "Snow"], ExitCode.NOT_ALLOWED, "M-0001"
    ),
    "agenda build bad formats": Case(
        ["agenda", "build", "M-0002", "--out", "{folder}", "--formats", "docx"],
        ExitCode.INVALID_INPUT,
        "--formats",
    ),
    "agenda build into a file": Case(
        ["agenda", "build", "M-0002", "--out", "{notes.txt}"],
        ExitCode.INVALID_INPUT,
        "not a folder",
        files={"notes.txt": "my notes\n"},
    ),
    "agenda build over earlier papers": Case(
        ["agenda", "build", "M-0002", "--out", "{folder}"],
        ExitCode.NOT_ALLOWED,
        "agenda-M-0002.html",
        setup=lambda w: _earlier_papers(w),
    ),
    "agenda build held meeting": Case(
        ["agenda", "build", "M-0001"], ExitCode.NOT_ALLOWED, "M-0001"
    ),
    "agenda build bad as-of": Case(
        ["agenda", "build", "M-0002", "--as-of", "someday"], ExitCode.INVALID_INPUT, "--as-of"
    ),
    "minutes render not held": Case(
        ["minutes", "render", "M-0002"], ExitCode.NOT_ALLOWED, "M-0002"
    ),
    "report bimonthly over an earlier report": Case(
        ["report", "bimonthly", "--period", "2026-09..2026-10", "--out", "{r.md}"],
        ExitCode.NOT_ALLOWED,
        "r.md",
        files={"r.md": "an earlier copy\n"},
    ),
    "report annual bad from": Case(
        ["report", "annual", "--from", "someday", "--to", "30/11/2026"],
        ExitCode.INVALID_INPUT,
        "--from",
    ),
    "meeting run without a terminal": Case(
        ["meeting", "run", "M-0002"], ExitCode.USAGE, "--script"
    ),
    "meeting run unreadable script": Case(
        ["meeting", "run", "M-0002", "--script", "{missing}"], ExitCode.INVALID_INPUT, "script"
    ),
    "meeting run bad yaml": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "line",
        files={"script.yaml": "attendance: [\n"},
    ),
    "meeting run unknown meeting": Case(
        ["meeting", "run", "M-0099", "--script", "{script.yaml}"],
        ExitCode.NOT_FOUND,
        "M-0099",
        files={"script.yaml": SCRIPT},
    ),
    "meeting run script without attendance": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "attendance",
        files={"script.yaml": "cases: {}\n"},
        setup=lambda w: _agenda(w, "M-0002"),
    ),
    "meeting run agreed_by as a string": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "agreed_by must be a list",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ncases:\n  {case}: {decision: keep, agreed_by: Chris Chair}\n",
        ),
    ),
    "meeting run case not on the agenda": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "not a case on the agenda",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ncases:\n  C-0999: {decision: keep}\n",
        ),
    ),
    "meeting run unknown key": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "unknown key decison",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ncases:\n  {case}: {decison: keep}\n",
        ),
    ),
    "meeting run unknown top-level key": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "unknown key atendance",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\natendance: []\n",
        ),
    ),
    "meeting run declarations as strings": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "declarations.1 must be a mapping",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ndeclarations: [Chris Chair knows the family]\n",
        ),
    ),
    "meeting run attendance as a string": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "attendance must be a list",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(w, "M-0002", "attendance: Chris Chair\n"),
    ),
    "meeting run action due before the meeting": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "due is before the meeting",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ncases:\n  {case}:\n    actions:\n      - {description: Share the plan, agency: Police, owner: Chris Chair, due: {before}}\n",
        ),
    ),
    "meeting run items as a list": Case(
        ["meeting", "run", "M-0002", "--script", "{script.yaml}"],
        ExitCode.INVALID_INPUT,
        "items must be a mapping",
        files={"script.yaml": ""},
        setup=lambda w: _script_on_agenda(
            w,
            "M-0002",
            "attendance: [{name: Chris Chair, agency: Devon and Cornwall Police}]\ncases:\n  {case}: {items: [summary]}\n",
        ),
    ),
    "minutes approve not chair": Case(
        ["minutes", "approve", "M-0001"], ExitCode.NOT_ALLOWED, "chair"
    ),
    "minutes approve not held": Case(
        ["minutes", "approve", "M-0002"], ExitCode.NOT_ALLOWED, "M-0002", who="chair"
    ),
    "decision confirm unknown": Case(
        ["decision", "confirm", "D-00099"], ExitCode.NOT_FOUND, "D-00099"
    ),
    "decision confirm twice": Case(
        ["decision", "confirm", "D-00001"],
        ExitCode.NOT_ALLOWED,
        "D-00001",
        setup=lambda w: _confirm(w, "D-00001"),
    ),
    # actions
    "actions update unknown": Case(
        ["actions", "update", "A-00099", "--note", "Booked"], ExitCode.NOT_FOUND, "A-00099"
    ),
    "actions update empty note": Case(
        ["actions", "update", "A-00001", "--note", "  "], ExitCode.INVALID_INPUT, "note"
    ),
    "actions done twice": Case(
        ["actions", "done", "A-00002"],
        ExitCode.NOT_ALLOWED,
        "A-00002",
        setup=lambda w: _done(w, "A-00002"),
    ),
    "actions reassign bad email": Case(
        [
            "actions",
            "reassign",
            "A-00001",
            "--agency",
            "Staffordshire Police",
            "--owner",
            "Jo Worker",
            "--email",
            "not an address",
        ],
        ExitCode.INVALID_INPUT,
        "A-00001",
    ),
    "actions extend earlier": Case(
        ["actions", "extend", "A-00001", "--due", "01/01/2026", "--reason", "More time"],
        ExitCode.INVALID_INPUT,
        "A-00001",
    ),
    "actions extend bad date": Case(
        ["actions", "extend", "A-00001", "--due", "whenever", "--reason", "More time"],
        ExitCode.INVALID_INPUT,
        "due",
    ),
    # access
    "access add bad recipient": Case(
        [
            "access",
            "add",
            "pcr1nonsense",
            "--name",
            "Alex",
            "--agency",
            "Police",
            "--role",
            "member",
        ],
        ExitCode.INVALID_INPUT,
        "Recipient",
    ),
    "access add bad role": Case(
        [
            "access",
            "add",
            "{recipient}",
            "--name",
            "Alex",
            "--agency",
            "Police",
            "--role",
            "emperor",
        ],
        ExitCode.INVALID_INPUT,
        "emperor",
    ),
    "access add by a member": Case(
        [
            "access",
            "add",
            "{recipient}",
            "--name",
            "Alex",
            "--agency",
            "Police",
            "--role",
            "member",
        ],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
    ),
    "access remove last coordinator": Case(
        ["access", "remove", "Demo Coordinator"], ExitCode.NOT_ALLOWED, "last coordinator"
    ),
    "access remove unknown": Case(
        ["access", "remove", "Nobody Known"], ExitCode.NOT_FOUND, "access list"
    ),
    # restricted groups and items
    "access group add by a member": Case(
        ["access", "group", "add", "police", "Chair Reader"],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
    ),
    "access group add bad name": Case(
        ["access", "group", "add", "Police Team", "Member Reader"],
        ExitCode.INVALID_INPUT,
        "group's name",
    ),
    "access group remove no such group": Case(
        ["access", "group", "remove", "police", "Member Reader"], ExitCode.NOT_FOUND, "police"
    ),
    "restricted add no such group": Case(
        ["restricted", "add", "C-0001", "--group", "police", "--text", "A note"],
        ExitCode.NOT_FOUND,
        "police",
    ),
    "restricted add empty text": Case(
        ["restricted", "add", "C-0001", "--group", "police", "--text", " "],
        ExitCode.INVALID_INPUT,
        "text",
    ),
    # remind
    "remind bad as-of": Case(["remind", "--as-of", "tomorrow"], ExitCode.INVALID_INPUT, "--as-of"),
    "remind bad mail settings": Case(
        ["remind", "--as-of", "01/12/2026"],
        ExitCode.INVALID_INPUT,
        "settings.mail.host",
        setup=lambda w: set_mail(w, port=25, security="none"),
    ),
    "remind server down": Case(
        ["remind", "--as-of", "01/12/2026"],
        ExitCode.MAIL,
        "127.0.0.1",
        setup=lambda w: mail_to_owner(w, "demo.sw@stoke.gov.uk"),
        notes_before=True,
    ),
    "remind outside the allowlist": Case(
        ["remind", "--as-of", "01/12/2026"],
        ExitCode.MAIL_REFUSED,
        "not sent",
        setup=lambda w: mail_to_owner(w, "demo.sw@example.com"),
        notes_before=True,
    ),
    # store set-up commands, refused on an existing store
    "init over a store": Case(
        ["init", "{root}", "--profile", "mace", "--name", "Again", "--agency", "Council"],
        ExitCode.INVALID_INPUT,
        "not empty",
    ),
    "setup outside a store": Case(
        ["--store", "{folder}", "setup"], ExitCode.NOT_A_STORE, "not a panelctl store"
    ),
    "clone into a folder in use": Case(
        ["clone", "{root}", "{root}"], ExitCode.INVALID_INPUT, "not empty"
    ),
    # the rest of the error catalogue, through writing commands
    "not a store": Case(
        ["--store", "{folder}", "case", "update", "C-0001", "--team", "T"],
        ExitCode.NOT_A_STORE,
        "not a panelctl store",
    ),
    "identity missing": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.IDENTITY,
        "identity",
        who="missing",
    ),
    "wrong passphrase": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.WRONG_PASSPHRASE,
        "passphrase",
        who="protected",
        files={"passphrase.txt": "not it\n"},
        env={"PANELCTL_PASSPHRASE_FILE": "{passphrase.txt}"},
    ),
    "passphrase without a terminal": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.NO_TERMINAL,
        "PANELCTL_PASSPHRASE_FILE",
        who="protected",
    ),
    "not a reader": Case(
        ["actions", "done", "A-00001"], ExitCode.NOT_A_READER, "not a reader", who="stranger"
    ),
    "tampered record": Case(
        ["case", "update", "C-0002", "--team", "T"],
        ExitCode.TAMPERED,
        "cases/C-0002.enc",
        setup=lambda w: rewrite(w, "C-0002", lambda _w, blob: blob[:-3]),
    ),
    "misplaced record": Case(
        ["case", "update", "C-0002", "--team", "T"],
        ExitCode.MISPLACED,
        "cases/C-0001.enc",
        setup=lambda w: rewrite(
            w, "C-0002", lambda w, _blob: (w.root / "cases/C-0001.enc").read_bytes()
        ),
    ),
    "invalid record": Case(
        ["case", "update", "C-0002", "--team", "T"],
        ExitCode.INVALID_RECORD,
        "C-0002",
        setup=lambda w: rewrite(w, "C-0002", bad_yaml),
    ),
    "a record of a newer format": Case(
        ["case", "update", "C-0002", "--team", "T"],
        ExitCode.NEEDS_NEWER,
        "needs panelctl 9.0.0 or newer (case C-0002 has format 9",
        setup=lambda w: rewrite(w, "C-0002", newer_format),
    ),
    "migrate by a member": Case(["migrate"], ExitCode.NOT_ALLOWED, "coordinator", who="member"),
    "subject access export by a member": Case(
        ["export", "subject", "C-0001", "--out", "sar-out", "--formats", "json"],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
    ),
    "erase by a member": Case(
        ["erase", "C-0001", "--reason", "retention period ended", "--yes"],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
    ),
    "erase in a store without case keys": Case(
        ["erase", "C-0001", "--reason", "retention period ended", "--yes"],
        ExitCode.ERASED,
        "panelctl migrate",
    ),
    "store locked": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.LOCKED,
        "busy",
        env={"PANELCTL_LOCK_TIMEOUT": "0.2"},
    ),
    "settings commit by a member": Case(
        ["settings", "commit"],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
        setup=lambda w: (
            (w.root / "templates").mkdir() or (w.root / "templates" / "x.j2").write_text("x")
        ),
    ),
    "settings commit of a bad setting": Case(
        ["settings", "commit"],
        ExitCode.INVALID_INPUT,
        "meetings.slot_minutes",
        setup=lambda w: (w.root / "panelctl.yaml").write_text(
            (w.root / "panelctl.yaml")
            .read_text()
            .replace("settings: {}", "settings: {meetings: {slot_minutes: x}}")
        ),
    ),
    "an unverified commit": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.UNVERIFIED,
        "panelctl verify",
        setup=lambda w: (
            (w.root / "notes.txt").write_text("pushed by someone without a key\n"),
            w.commit("innocent-looking"),
        ),
    ),
    "sync: the remote has a forged commit": Case(
        ["sync"],
        ExitCode.SYNC_REFUSED,
        "do not verify",
        setup=lambda w: _forged_remote(w),
    ),
    "a sync under way": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.MID_SYNC,
        "panelctl sync",
        setup=lambda w: (w.root / ".git" / "panelctl" / "sync.json").write_text("{}"),
    ),
    "git refuses the commit": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.GIT,
        "git",
        setup=lambda w: (w.root / ".git" / "refs" / "heads" / "main.lock").write_text(""),
    ),
    "git index locked": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.GIT,
        "git",
        setup=lambda w: (w.root / ".git" / "index.lock").write_text(""),
    ),
    "no space left": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.NO_SPACE,
        "No space is left",
        file_size_limit=0,
    ),
    "read-only store folder": Case(
        ["case", "update", "C-0001", "--team", "T"],
        ExitCode.WRITE_FAILED,
        "read-only",
        setup=lambda w: os.chmod(w.root, 0o500),  # refused by its mode, even for root
    ),
    "read-only record folder": Case(
        ["actions", "done", "A-00002"],
        ExitCode.WRITE_FAILED,
        "actions is read-only",
        setup=lambda w: os.chmod(w.root / "actions", 0o500),
    ),
    # resolve (a conflict left by merging clones)
    "resolve a field without a conflict": Case(
        ["resolve", "C-0001", "risk", "--take", "ours"], ExitCode.INVALID_INPUT, "field risk"
    ),
    "resolve an unknown record": Case(
        ["resolve", "C-0099", "risk", "--take", "ours"], ExitCode.NOT_FOUND, "C-0099"
    ),
    "resolve with a value of the wrong type": Case(
        ["resolve", "C-0001", "risk", "--take", "[High, Low]"],
        ExitCode.INVALID_RECORD,
        "risk",
        setup=lambda w: _with_conflict(w, "C-0001", "risk"),
    ),
    "resolve a deletion as a member": Case(
        ["resolve", "C-0002", "(record)", "--take", "ours"],
        ExitCode.NOT_ALLOWED,
        "coordinator",
        who="member",
        setup=lambda w: _with_conflict(w, "C-0002", "(record)"),
    ),
}


def _with_conflict(world: World, record_id: str, field: str) -> None:
    """A conflict recorded in a record, as `sync` records one."""
    store = world.store()
    record = store.read(record_id)
    sides = ("deleted", "changed") if field == "(record)" else ("High", "Low")
    record["conflicts"] = [
        {
            "field": field,
            "base": None,
            "ours": sides[0],
            "theirs": sides[1],
            "recorded": "2026-03-14T10:02:00+00:00",
        }
    ]
    store.update(record)


def _close(world: World, case_id: str) -> None:
    from panelctl.casework import cases

    cases.close_case(
        world.store(),
        case_id,
        cases.Closure("Risk reduced", ["Staffordshire Police"], "carry", "Support continues"),
        date(2026, 11, 30),
    )


def _agenda(world: World, meeting_id: str) -> None:
    from panelctl.meetings.agenda import build_agenda

    build_agenda(world.store(), meeting_id, date(2026, 12, 1))


def _script_on_agenda(world: World, meeting_id: str, text: str) -> None:
    """Build the meeting's agenda, then write script.yaml with {case} (the first case on
    the agenda) and {before} (the day before the meeting) filled in."""
    from datetime import timedelta

    _agenda(world, meeting_id)
    meeting = world.store().read(meeting_id)
    world.file(
        "script.yaml",
        text.replace("{case}", meeting["cases"][0]).replace(
            "{before}", str(meeting["date"] - timedelta(days=1))
        ),
    )


def _confirm(world: World, decision_id: str) -> None:
    from panelctl.base.dates import now
    from panelctl.meetings.minutes import confirm_decision

    confirm_decision(world.store(), decision_id, now())


def _done(world: World, action_id: str) -> None:
    from panelctl.base.dates import now
    from panelctl.followup import actions

    actions.complete(world.store(), action_id, now())


def _earlier_papers(world: World) -> None:
    folder = world.tmp / "folder"
    folder.mkdir()
    (folder / "agenda-M-0002.html").write_text("an earlier agenda\n")


# --- the tests ---------------------------------------------------------------------------


def _fill(text: str, world: World, case: Case) -> str:
    recipient = read_identity_file(world.identities["stranger"]).recipient
    values = {
        "missing": str(world.tmp / "missing.yaml"),
        "folder": str(world.tmp / "folder"),
        "root": str(world.root),
        "recipient": recipient,
        **{name: str(world.tmp / name) for name in case.files},
    }
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def _imported(world: World, child: str) -> None:
    """A case for `child` (born 14/03/2011), made by an import."""
    from panelctl.casework import importer

    path = world.file(
        "setup.csv", IMPORT_HEADER + ROW.format(child=child, day="01/11/2026", level="Medium")
    )
    importer.run_import(world.store(), Path(path), today=date(2026, 12, 1))


@pytest.mark.parametrize("name", list(CASES))
def test_an_error_leaves_the_store_exactly_as_it_was(world, cli, name):
    case = CASES[name]
    for name, content in case.files.items():
        world.file(name, content)
    if case.setup:
        case.setup(world)
    args = [_fill(a, world, case) for a in case.args]
    env = {k: _fill(v, world, case) for k, v in case.env.items()}
    before = store_state(world.root)
    holder = world.store().lock() if case.code is ExitCode.LOCKED else None
    if holder:
        holder.__enter__()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    if case.file_size_limit is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (case.file_size_limit, limits[1]))
    try:
        result = cli(
            *args,
            store=None if "--store" in args else world.root,
            identity=world.identities[case.who],
            env=env,
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        if holder:
            holder.__exit__(None, None, None)
    assert result.exit_code == case.code, result.output
    lines = result.stderr.splitlines(keepends=True)
    if case.notes_before:
        assert all(line.startswith("panelctl: ") for line in lines), result.stderr
        lines = lines[-1:]
    if case.details_after:
        assert all(line.startswith("  row ") for line in lines[1:]), result.stderr
        lines = lines[:1]
    assert len(lines) == 1 and lines[0].startswith("panelctl: "), result.stderr
    assert lines[0].rstrip().endswith((".", ":")), result.stderr
    assert case.words in lines[0], result.stderr
    assert "Traceback" not in result.output and CANARY not in result.output
    assert_unchanged(before, store_state(world.root))


WRITING = {
    "settings commit",
    "nominate",
    "case update",
    "case close",
    "case reopen",
    "case missing",
    "case flag",
    "rfm add",
    "rfm import",
    "person add",
    "person refer",
    "location add",
    "link",
    "agency add",
    "member add",
    "member remove",
    "meeting schedule",
    "agenda build",
    "meeting run",
    "meeting adjourn",
    "meeting cancel",
    "minutes approve",
    "decision confirm",
    "actions update",
    "actions done",
    "actions reassign",
    "actions extend",
    "access add",
    "access remove",
    "access group add",
    "access group remove",
    "restricted add",
    "remind",
    "sync",
    "init",
    "setup",
    "clone",
    "record edit",
    "migrate",
    "resolve",
    "erase",
    "export subject",  # a disclosure is logged, as for the papers below
    # a disclosure is logged (a commit) for what they write out (see test_disclosures.py)
    "minutes render",
    "report bimonthly",
    "report annual",
}
#: Commands that change no store (they read it, or write only outside it).
NOT_WRITING = {
    "identity new",
    "identity show",
    "verify",
    "log",
    "access list",
    "access group list",
    "restricted list",
    "restricted show",
    "record list",
    "record show",
    "demo",
    "case list",
    "case show",
    "rfm list",
    "rfm tools",
    "rfm factors",
    "rfm compliance",
    "person list",
    "person show",
    "location list",
    "location show",
    "agency list",
    "member list",
    "profile list",
    "profile show",
    "meeting list",
    "meeting plan",
    "decision list",
    "actions list",
    "actions overdue",
    "actions show",
    "review due",
    "retention due",
    "map",
    "conflicts",
    "disclosures",
}


def test_every_command_is_known_to_write_or_not():
    commands = {" ".join(path) for path, _command in all_commands()}
    assert commands - WRITING - NOT_WRITING == set(), "classify the new command here"
    assert (WRITING | NOT_WRITING) - commands == set(), "a command here no longer exists"


def test_every_writing_command_has_a_failing_case():
    covered = set()
    for case in CASES.values():
        words = [a for a in case.args if not a.startswith("-") and "{" not in a]
        for size in (3, 2, 1):  # (3: `access group add`)
            if " ".join(words[:size]) in WRITING:
                covered.add(" ".join(words[:size]))
                break
    assert WRITING - covered == set()


def _error_classes(base=errors.PanelctlError) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        if sub.__module__ == errors.__name__:
            found += [sub, *_error_classes(sub)]
    return found


@pytest.mark.parametrize("error", _error_classes(), ids=lambda e: e.__name__)
def test_every_error_class_is_reached_through_a_writing_command(error):
    reaching = [name for name, case in CASES.items() if case.code == error.exit_code]
    assert reaching, f"no case here reaches {error.__name__} (exit {int(error.exit_code)})"


def test_exit_codes_of_the_catalogue_are_distinct():
    """A case's exit code names its error class only while no two classes share a code."""
    codes = [error.exit_code for error in _error_classes()]
    assert len(codes) == len(set(codes))


# --- the library refuses before it opens a transaction -----------------------------------


def test_build_agenda_refuses_papers_it_cannot_write_before_saving_the_agenda(world):
    from panelctl.base.errors import InvalidInputError, NotAllowedError
    from panelctl.meetings.agenda import build_agenda

    store, today, out = world.store(), date(2026, 12, 1), world.tmp / "papers"
    before = store_state(world.root)
    with pytest.raises(InvalidInputError, match="Paper formats are md, html and pdf, not docx"):
        build_agenda(store, "M-0002", today, papers_to=out, formats=("docx",))
    with pytest.raises(InvalidInputError, match="no password"):  # a PDF is always encrypted
        build_agenda(store, "M-0002", today, papers_to=out, formats=("pdf",))
    out.mkdir()
    (out / "action-log-M-0002.md").write_text("an earlier action log\n")
    with pytest.raises(NotAllowedError, match="action-log-M-0002.md"):
        build_agenda(store, "M-0002", today, papers_to=out, formats=("md",))
    assert_unchanged(before, store_state(world.root))
    assert [p.name for p in out.iterdir()] == ["action-log-M-0002.md"]

    (out / "action-log-M-0002.md").unlink()
    agenda = build_agenda(store, "M-0002", today, papers_to=out, formats=("md",))
    assert {p.name for p in agenda.written} == {p.name for p in out.iterdir()}
    assert all(p.suffix in (".md", ".ics") for p in agenda.written)
    assert git(world.root, "rev-parse", "HEAD") != before["HEAD"]


@pytest.mark.parametrize(
    "stop, code",
    [(KeyboardInterrupt, ExitCode.INTERRUPTED), (RuntimeError, ExitCode.INTERNAL)],
    ids=["ctrl-c", "a bug"],
)
def test_a_write_stopped_at_its_commit_is_rolled_back(world, cli, monkeypatch, stop, code):
    """Ctrl-C, or a bug, with the record files already written: one line, nothing kept."""
    from panelctl.store import gitio

    def stopped(*_args, **_kwargs):
        raise stop

    monkeypatch.setattr(gitio, "commit", stopped)
    before = store_state(world.root)
    args = ["case", "update", "C-0001", "--team", "New Team"]
    result = cli(*args, store=world.root, identity=world.identities["coordinator"])
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and CANARY not in result.output
    assert_unchanged(before, store_state(world.root))


def _head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")


def test_a_corrupt_git_index_refuses_the_write_before_it_is_committed(world, cli):
    """A corrupt .git/index used to let `nominate` commit and then exit 14, so that a retry
    made a second child: it is now read before anything is written."""
    garbage = b"DIRC not really an index" + os.urandom(64)
    (world.root / ".git" / "index").write_bytes(garbage)
    before = _head(world.root), git(world.root, "ls-tree", "-r", "HEAD")
    args = [
        *("nominate", "--name", CANARY, "--dob", "14/03/2011", "--protocol-followed"),
        *("--referring-agency", "Staffordshire Police", "--risk-level", "Medium"),
    ]
    cases_before = len(list((world.root / "cases").iterdir()))
    result = cli(*args, store=world.root, identity=world.identities["coordinator"])
    assert result.exit_code == ExitCode.GIT, result.output
    assert result.stderr.startswith("panelctl: ") and result.stderr.count("\n") == 1
    assert "unreadable" in result.stderr and "git reset" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.output
    assert (_head(world.root), git(world.root, "ls-tree", "-r", "HEAD")) == before
    assert (world.root / ".git" / "index").read_bytes() == garbage
    assert not (world.root / ".git" / "panelctl" / "journal.json").exists()
    # the advice works: the same command then succeeds, once
    (world.root / ".git" / "index").unlink()
    git(world.root, "reset", "-q")
    again = cli(*args, store=world.root, identity=world.identities["coordinator"])
    assert again.exit_code == 0, again.output
    assert git(world.root, "rev-list", "--count", f"{before[0].strip()}..HEAD").strip() == "1"
    assert len(list((world.root / "cases").iterdir())) == cases_before + 1  # one child, once


def test_git_index_failing_after_the_commit_is_a_warning_not_an_error(world, cli, monkeypatch):
    """If git's own index cannot follow a commit that has landed, the write succeeded: exit 0
    and a warning with the fix, never an error that invites a retry (and a duplicate)."""
    from panelctl.store import gitio

    real = gitio.run
    seen = []

    def run(root, args, **kwargs):
        if args[0] == "update-index" and "env" not in kwargs and seen:
            raise errors.GitError("git update-index failed: index file corrupt")
        if args[0] == "update-ref":
            seen.append(args)
        return real(root, args, **kwargs)

    monkeypatch.setattr(gitio, "run", run)
    head = _head(world.root)
    args = ["case", "update", "C-0001", "--team", "New Team"]
    result = cli(*args, store=world.root, identity=world.identities["coordinator"])
    assert result.exit_code == 0, result.output
    assert "warning: the change was saved" in result.stderr and "git reset" in result.stderr
    assert git(world.root, "rev-list", "--count", f"{head.strip()}..HEAD").strip() == "1"
    assert not (world.root / ".git" / "panelctl" / "journal.json").exists()
    assert world.store().read("C-0001")["team"] == "New Team"


# --- --out: every command that writes files out, refused the same way ---------------------

#: command args before --out; whether --out is a folder; the file it writes there
OUT_COMMANDS = {
    "agenda build": (["agenda", "build", "M-0002", "--formats", "md"], True, "agenda-M-0002.md"),
    "minutes render": (["minutes", "render", "M-0001"], True, "minutes-M-0001.md"),
    "report annual": (["report", "annual", "--year", "2025", "--format", "md"], False, "r.md"),
    "report bimonthly": (
        ["report", "bimonthly", "--period", "2026-09..2026-10", "--format", "md"],
        False,
        "r.md",
    ),
    "map": (["map", "--format", "json"], False, "r.md"),
}


def _listing(folder: Path) -> dict:
    """What a refusal must leave alone outside the store: each entry, its kind and bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        kind = oct(info.st_mode)
        found[str(path.relative_to(folder))] = (
            kind,
            path.read_bytes() if path.is_file() and not path.is_symlink() else None,
        )
    return found


def _out_place(world, folder_command, name, how):
    """Make the hostile place; return (the --out argument, the folder to watch)."""
    outside = world.tmp / "outside"
    outside.mkdir()
    if how == "the store":
        target = world.root / "cases"
        return str(target if folder_command else target / name), world.tmp
    if how == "a FIFO":
        os.mkfifo(outside / name)
    elif how == "a socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(outside / name))
        sock.close()
    elif how == "a symlinked folder":
        real = world.tmp / "real"
        real.mkdir()
        os.symlink(real, outside / "link")
        return str(outside / "link" if folder_command else outside / "link" / name), world.tmp
    elif how == "a symlinked file":
        (world.tmp / "elsewhere.md").write_text("not yours to replace\n")
        os.symlink(world.tmp / "elsewhere.md", outside / name)
    elif how in ("an existing file", "an existing file, --overwrite"):
        (outside / name).write_text("an earlier copy\n")
        os.chmod(outside / name, 0o644)
    elif how == "a read-only folder":
        os.chmod(outside, 0o500)
    elif how == "a folder for a file":
        (outside / name).mkdir()
    return str(outside if folder_command else outside / name), world.tmp


REFUSALS = {
    "the store": (ExitCode.INVALID_INPUT, "inside the store"),
    "a FIFO": (ExitCode.INVALID_INPUT, "a FIFO"),
    "a socket": (ExitCode.INVALID_INPUT, "a socket"),
    "a symlinked folder": (ExitCode.INVALID_INPUT, "symbolic link"),
    "a symlinked file": (ExitCode.INVALID_INPUT, "a symbolic link"),
    "an existing file": (ExitCode.NOT_ALLOWED, "(--overwrite)"),
    "a read-only folder": (ExitCode.INVALID_INPUT, "read-only"),
    "a folder for a file": (ExitCode.INVALID_INPUT, "folder"),
}


@pytest.mark.parametrize("how", REFUSALS)
@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_refuses_unsafe_places_and_writes_nothing(world, cli, command, how):
    args, folder_command, name = OUT_COMMANDS[command]
    out, watch = _out_place(world, folder_command, name, how)
    before, outside_before = store_state(world.root), _listing(watch)
    result = cli(*args, "--out", out, store=world.root, identity=world.identities["coordinator"])
    outside_after = _listing(watch)
    os.chmod(world.tmp / "outside", 0o700)  # for the clean-up
    code, words = REFUSALS[how]
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("panelctl: "), result.stderr
    assert words in lines[0] and lines[0].endswith("."), result.stderr
    assert "Traceback" not in result.output and CANARY not in result.output
    assert result.stdout == "" or command == "agenda build"
    assert_unchanged(before, store_state(world.root))
    assert outside_after == outside_before  # nothing written, nothing replaced


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_replaces_a_file_only_with_overwrite(world, cli, command):
    args, folder_command, name = OUT_COMMANDS[command]
    out, _watch = _out_place(world, folder_command, name, "an existing file, --overwrite")
    target = world.tmp / "outside" / name
    result = cli(
        *args,
        "--out",
        out,
        "--overwrite",
        store=world.root,
        identity=world.identities["coordinator"],
    )
    assert result.exit_code == 0, result.output
    assert target.read_text() != "an earlier copy\n" and target.stat().st_size > 0
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp-")]
