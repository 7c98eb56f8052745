"""Shared fixtures: an isolated environment, identities, fresh stores and the sample store.

Every test runs with its own HOME, config folder and TMPDIR, no global or system git
config, and no PANELCTL_* variables from the outside, so tests cannot touch a real store
or a real identity, and temp files can be searched for leaks afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelctl.cli.main import app
from panelctl.crypto.identity import create_identity_file, read_identity_file
from panelctl.panel.access import add_reader
from panelctl.panel.demo import prepare_demo
from panelctl.panel.setup import create_store
from panelctl.store.core import Store, setup_clone

REPO = Path(__file__).resolve().parents[1]
SAMPLE_STORE = REPO / "sample-store"
#: A fictional child's name that must never appear outside ciphertext.
CANARY = "Quillonia Zabriskie-Featherstonehaugh"
TEST_LOG_N = 14  # the lowest scrypt work factor panelctl accepts, to keep tests quick


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("PANELCTL_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    tmp = tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):  # for the plain git commands tests run themselves
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Harness")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "harness@example.invalid")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp_path


@dataclass
class Person:
    path: Path
    recipient: str
    name: str
    passphrase: str | None = None

    def unlock(self):
        from panelctl.crypto.identity import read_identity_file

        return read_identity_file(self.path).unlock(lambda: self.passphrase)


@pytest.fixture
def make_person(tmp_path):
    def make(name: str, passphrase: str | None = None) -> Person:
        path = tmp_path / "identities" / f"{name.lower().replace(' ', '-')}.json"
        created = create_identity_file(
            path, name, f"{name.split()[0].lower()}@example.gov.uk", passphrase, log_n=TEST_LOG_N
        )
        return Person(path, created.recipient, name, passphrase)

    return make


@pytest.fixture
def coordinator(make_person) -> Person:
    return make_person("Sam Coordinator")


@pytest.fixture
def store(tmp_path, coordinator) -> Store:
    return create_store(tmp_path / "store", "mace", "Test MACE", coordinator.unlock(), "Test Council")


@pytest.fixture
def sample(tmp_path):
    """A git-initialised copy of sample-store/ and its demo identity."""
    return prepare_demo(SAMPLE_STORE, tmp_path / "demo")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli():
    """Run panelctl in-process through Typer's runner: cli("verify", store=..., identity=...)."""

    def invoke(
        *args: str,
        store: Path | None = None,
        identity: Path | None = None,
        input: str | None = None,
        env: dict | None = None,
    ) -> CliResult:
        prefix = []
        if store is not None:
            prefix += ["--store", str(store)]
        if identity is not None:
            prefix += ["--identity", str(identity)]
        result = CliRunner().invoke(
            app, [*prefix, *args], input=input, env=env, catch_exceptions=False
        )
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


def run_panelctl(
    *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False, **kwargs
) -> subprocess.CompletedProcess:
    """Run panelctl as a real process (as cron or a terminal would)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "panelctl", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=check,
        **kwargs,
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def all_commands():
    """Every command, the lazily built ones included, as (path, command)."""
    from typer.main import get_command

    from panelctl.cli.main import app

    root = get_command(app)

    def walk(command, path, ctx):
        if getattr(command, "hidden", False):
            return
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), [*path, name], ctx)
        else:
            yield path, command

    with root.make_context("panelctl", ["--help"], resilient_parsing=True) as ctx:
        return list(walk(root, [], ctx))


def store_state(root: Path) -> dict:
    """Everything a failed command must not change, as comparable values."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == ".git":
            continue
        files[str(relative)] = path.read_bytes() if path.is_file() else "folder"
    private = root / ".git" / "panelctl"
    return {
        "HEAD": git(root, "rev-parse", "HEAD"),
        "HEAD names": (root / ".git" / "HEAD").read_text(),
        "refs": git(root, "for-each-ref"),
        "git index": git(root, "ls-files", "--stage"),
        "status": git(root, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        "files": files,
        "journal": (private / "journal.json").exists(),
        "temp files": sorted(p.name for p in (private / "tmp").glob("*"))
        if (private / "tmp").exists()
        else [],
    }


def assert_unchanged(before: dict, after: dict) -> None:
    changed = [key for key in before if before[key] != after[key]]
    if "files" in changed:
        names = set(before["files"]) | set(after["files"])
        differ = sorted(n for n in names if before["files"].get(n) != after["files"].get(n))
        pytest.fail(f"the store changed: {changed}; files {differ}")
    assert not changed, f"the store changed: {changed}: {[after[k] for k in changed]}"


def add_members(store: Store, *names: str, agency: str = "Members' Agency") -> None:
    """Record these people as members of the panel (a meeting's attendance is checked
    against them), of one agency added for the purpose."""
    from panelctl.panel.directory import add_agency, add_member, list_agencies

    if not any(a["name"] == agency for a in list_agencies(store)):
        add_agency(store, agency, "local authority")
    for name in names:
        add_member(store, name, agency, "core")


def commit_settings(root: Path, identity_path: Path) -> None:
    """Commit edited settings as a coordinator does (`panelctl settings commit`): signed."""
    from panelctl.crypto.identity import read_identity_file
    from panelctl.panel.settings import commit_settings as commit

    assert commit(Store(root, read_identity_file(identity_path).unlock()))


def keys_repo(root: Path) -> Path:
    """Where a clone keeps its case-key table (store/casekeys.py)."""
    return root / ".git" / "panelctl" / "keys.git"


def share_case_keys(root: Path, remote: Path | str) -> None:
    """After `git clone --bare` made a shared remote of a store: put its case-key table
    there too (`panelctl sync` pushes it; git's clone copies branches and tags only)."""
    if keys_repo(root).exists() and git(keys_repo(root), "for-each-ref", "refs/panelctl/case-keys"):
        git(keys_repo(root), "push", "-q", str(Path(remote).resolve()),
            "+refs/panelctl/case-keys:refs/panelctl/case-keys")  # fmt: skip


def take_case_keys(root: Path, remote: str = "origin") -> None:
    """What `panelctl clone` (and `sync`) do that a plain `git clone` does not: fetch the
    case-key table, which is not in git's history (store/casekeys.py)."""
    from panelctl.store import casekeys

    url = git(root, "remote", "get-url", remote).strip()
    if (Path(url) / ".git" / "panelctl" / "keys.git").exists():  # cloned from a working clone
        url = str(Path(url) / ".git" / "panelctl" / "keys.git")
    if git(root, "ls-remote", url, "refs/panelctl/case-keys").strip():
        repo = casekeys.keys_repo(root, create=True)
        git(repo, "fetch", "-q", url, "+refs/panelctl/case-keys:refs/panelctl/case-keys")


def accept_history(root: Path, identity_path: Path, everything: bool = True) -> None:
    """`panelctl verify --all` as a coordinator runs it after moving HEAD by hand (a checkout,
    a reset, commits made with `signed_commit`); its history must hold no problem."""
    from panelctl.crypto.identity import read_identity_file
    from panelctl.store.verify import verify

    store = Store(root, read_identity_file(identity_path).unlock())
    report = verify(store, everything=everything)
    history = [p for p in report.problems if str(p).startswith("commit ") or not p.path]
    assert history == [], history


def signed_commit(root: Path, identity_path: Path, message: str) -> str:
    """Commit every change in the working tree as a reader would by hand, signed with their
    key (so the history stays verifiable), and mark it verified in this clone. For tests
    that need a damaged record committed by someone entitled to write."""
    from panelctl.crypto.identity import read_identity_file
    from panelctl.store import gitio

    identity = read_identity_file(identity_path).unlock()
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    new = gitio.write_signed_commit(
        root, tree, [parent], message, gitio.Author(identity.name, "x@example.invalid"), identity.sign
    )
    git(root, "update-ref", "HEAD", new, parent)
    accept_history(root, identity_path, everything=False)
    return new


# --- a panel of clones (issue 12) ---------------------------------------------------------


@dataclass
class Clone:
    root: Path
    identity: Path

    def store(self) -> Store:
        return Store(self.root, read_identity_file(self.identity).unlock())


@pytest.fixture
def team(store, coordinator, make_person, tmp_path, cli):
    """A bare remote and three clones of one store: coordinator, chair and cron."""
    chair, cron = make_person("Chris Chair"), make_person("Cron Server")
    add_reader(store, chair.recipient, chair.name, "Test Council", "chair")
    add_reader(store, cron.recipient, cron.name, "Test Council", "cron")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(store.root), str(remote))
    share_case_keys(store.root, remote)
    git(store.root, "remote", "add", "origin", str(remote))
    git(store.root, "fetch", "-q", "origin")
    git(store.root, "branch", "-q", "--set-upstream-to=origin/main")
    clones = {"coordinator": Clone(store.root, coordinator.path)}
    for role, person in (("chair", chair), ("cron", cron)):
        root = tmp_path / role
        git(tmp_path, "clone", "-q", str(remote), str(root))
        setup_clone(root)
        first = cli("verify", store=root, identity=person.path)  # trust on first use
        assert first.exit_code == 0, first.output
        clones[role] = Clone(root, person.path)
    return clones
