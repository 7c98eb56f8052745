"""Real processes: a write killed with SIGKILL at each point of a commit is rolled back, two
writers at once both land, a writer waits for the lock, and a short lock timeout fails
with a clear sentence.

Child processes are `python -c` scripts using the library. They pause at a chosen point by
monkeypatching (writing a marker file, then sleeping), so the parent can SIGKILL them at an
exact moment rather than after a guessed delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import git, run_panelctl
from panelctl.base.errors import ExitCode, LockedError, NotAReaderError
from panelctl.model.records import record_type
from panelctl.panel.access import add_reader, remove_reader
from panelctl.store.core import Store

CASE = {"status": "open", "child": {"name": "Test Child"}, "risk": "High"}
N_CASES = 300

PRELUDE = """
import os, sys, time
from pathlib import Path
from panelctl.crypto.identity import read_identity_file
from panelctl.model.records import record_type
from panelctl.store.core import Store

root, identity, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def pause(what):
    marker.write_text(what)
    time.sleep(120)
    os._exit(99)  # never reached in a passing test: the parent kills us first
"""

# Each writes a marker and stalls at one point inside Transaction.commit.
STALL_AT = {
    # after a few record files were renamed into place, the rest still in temp files
    "renames": """
import panelctl.base.fsutil
real_replace = os.replace
renamed = 0
def replace(src, dst, *args, **kwargs):
    global renamed
    real_replace(src, dst, *args, **kwargs)
    if "/cases/" in str(dst):
        renamed += 1
        if renamed == 5:
            pause("renames")
panelctl.base.fsutil.os.replace = replace
""",
    # every file renamed and deleted, nothing staged or committed
    "before-commit": """
import panelctl.store.gitio
panelctl.store.gitio.commit = lambda *args, **kwargs: pause("before-commit")
""",
    # the commit's tree is built (its blobs are in git's object store), the commit not made
    "git-commit": """
import panelctl.store.gitio
def signed(*args, **kwargs):
    pause("git-commit")
panelctl.store.gitio.write_signed_commit = signed
""",
}

BIG_WRITE = """
store = Store(root, read_identity_file(identity).unlock())
cases = store.ids(record_type("case"))
with store.transaction() as tx:
    for record_id in cases[:-1]:
        record = store.read(record_id)
        record["risk"] = "Low"
        tx.put(record)
    tx.delete(cases[-1])
    for _ in range(5):
        tx.create("case", {"status": "closed", "child": {"name": "New Child"}})
marker.write_text("finished")  # must not happen
"""


def spawn(script: str, *args: str | Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(marker: Path, proc: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return marker.read_text()
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child exited {proc.returncode} early:\n{out}\n{err}")
        time.sleep(0.01)
    pytest.fail(f"child never reached {marker.name}")


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def files_under(root: Path, folder: str) -> dict[str, bytes]:
    directory = root / folder
    if not directory.is_dir():
        return {}
    return {f"{folder}/{p.name}": p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def big_store(store):
    with store.transaction() as tx:
        for _ in range(N_CASES):
            tx.create("case", CASE)
    return store


# --- killed halfway ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "phase,recover_by",
    [
        ("renames", "lock"),
        ("before-commit", "library write"),
        ("renames", "cli write"),
        ("git-commit", "lock"),
    ],
)
def test_write_killed_halfway_is_rolled_back(
    big_store, coordinator, make_person, cli, tmp_path, phase, recover_by
):
    store = big_store
    root = store.root
    before_head = head(root)
    before = files_under(root, "cases")
    assert len(before) == N_CASES
    marker = tmp_path / "marker"

    child = spawn(PRELUDE + STALL_AT[phase] + BIG_WRITE, root, coordinator.path, marker)
    try:
        assert wait_for(marker, child) == phase
    finally:
        kill(child)
    assert child.returncode == -signal.SIGKILL

    # The write really was half done: a journal, changed files, HEAD not moved.
    private = store.private
    assert (private / "journal.json").exists()
    assert head(root) == before_head
    during = files_under(root, "cases")
    changed = {p for p in before if during.get(p) != before[p]}
    if phase == "renames":
        assert len(changed) == 6  # C-0300 deleted, then five renamed before the pause
        assert any(private.joinpath("tmp").iterdir())  # the rest still staged as temp files
    else:
        assert len(changed) == N_CASES and len(during) == N_CASES - 1 + 5
    if phase == "git-commit":  # the commit is built in a temporary index: git's own is untouched
        assert git(root, "diff", "--cached", "--name-only").strip() == ""
    # verify (which takes no lock) sees the uncommitted change rather than calling it clean
    dirty = cli("verify", store=root, identity=coordinator.path)
    assert dirty.exit_code == ExitCode.PROBLEMS_FOUND and "never committed" in dirty.stdout

    fresh = Store(root, coordinator.unlock())
    if recover_by == "lock":
        with fresh.lock():
            pass
        expected_head = before_head
    elif recover_by == "library write":
        assert fresh.create("case", CASE) == f"C-{N_CASES + 1:04d}"
        assert git(root, "rev-parse", "HEAD~1").strip() == before_head
        expected_head = head(root)
    else:
        newcomer = make_person("New Comer")
        result = cli(
            "access",
            "add",
            newcomer.recipient,
            "--name",
            "New Comer",
            "--agency",
            "Police",
            "--role",
            "member",
            store=root,
            identity=coordinator.path,
        )
        assert result.exit_code == 0, result.output
        assert git(root, "rev-parse", "HEAD~1").strip() == before_head
        expected_head = head(root)

    assert head(root) == expected_head
    assert not (private / "journal.json").exists()
    assert not list(private.glob("index-*"))
    assert not (private / "tmp").exists() or not any((private / "tmp").iterdir())
    assert not (root / ".git" / "index.lock").exists()
    after = files_under(root, "cases")
    if recover_by == "library write":
        after.pop(f"cases/C-{N_CASES + 1:04d}.enc")
    assert after == before  # every record byte-identical to its last committed version
    clean = cli("verify", store=root, identity=coordinator.path)
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "diff", "--cached", "--name-only") == ""
    rows = dict(Store(root, coordinator.unlock()).index().rows("case"))
    assert {rows[f"C-{n:04d}"]["risk"] for n in range(1, N_CASES + 1)} == {"High"}
    assert Store(root, coordinator.unlock()).read(f"C-{N_CASES:04d}")["risk"] == "High"


def test_reader_process_killed_holding_the_lock_does_not_block_the_next_write(
    store, coordinator, tmp_path
):
    marker = tmp_path / "marker"
    holder = spawn(
        PRELUDE
        + """
store = Store(root, read_identity_file(identity).unlock())
with store.lock():
    pause("locked")
""",
        store.root,
        coordinator.path,
        marker,
    )
    try:
        wait_for(marker, holder)
        with pytest.raises(LockedError):
            with Store(store.root, coordinator.unlock()).lock(timeout=0.1):
                pass
    finally:
        kill(holder)
    started = time.monotonic()
    assert Store(store.root, coordinator.unlock()).create("case", CASE) == "C-0001"
    assert time.monotonic() - started < 5


# --- concurrent writers -----------------------------------------------------------------

WRITER = """
go = marker.with_suffix(".go")
store = Store(root, read_identity_file(identity).unlock())
marker.write_text("ready")
while not go.exists():
    time.sleep(0.005)
for _ in range(20):
    print(store.create("case", {"status": "open", "child": {"name": "Test Child"}}), flush=True)
"""


def test_two_processes_writing_at_once_both_land(store, coordinator, cli, tmp_path):
    root = store.root
    commits_before = int(git(root, "rev-list", "--count", "HEAD"))
    markers = [tmp_path / "one", tmp_path / "two"]
    writers = [spawn(PRELUDE + WRITER, root, coordinator.path, m) for m in markers]
    try:
        for marker, writer in zip(markers, writers, strict=True):
            wait_for(marker, writer)
        tmp_path.joinpath("one.go").touch()
        tmp_path.joinpath("two.go").touch()
        results = [w.communicate(timeout=120) for w in writers]
    finally:
        for writer in writers:
            kill(writer)
    for writer, (_out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
    made = [out.split() for out, _err in results]
    assert len(made[0]) == len(made[1]) == 20
    assert set(made[0]).isdisjoint(made[1])
    expected = {f"C-{n:04d}" for n in range(1, 41)}
    assert set(made[0]) | set(made[1]) == expected
    assert set(Store(root, coordinator.unlock()).ids(record_type("case"))) == expected

    assert int(git(root, "rev-list", "--count", "HEAD")) == commits_before + 40
    subjects = git(root, "log", f"-{40}", "--format=%s").splitlines()
    assert sorted(subjects) == sorted(f"Create case {i}" for i in expected)
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    clean = cli("verify", store=root, identity=coordinator.path)
    assert (clean.exit_code, clean.stdout) == (0, "")
    listed = dict(Store(root, coordinator.unlock()).index().rows("case"))
    assert set(listed) == expected


WAITER = """
store = Store(root, read_identity_file(identity).unlock())
store.keyring  # unlock before signalling, so only the lock is left to wait for
marker.write_text("ready")
started = time.monotonic()
record_id = store.create("case", {"status": "open", "child": {"name": "Test Child"}})
print(record_id, round(time.monotonic() - started, 3))
"""


def test_a_writer_waits_for_the_lock_then_lands(store, coordinator, tmp_path):
    root = store.root
    before = head(root)
    marker = tmp_path / "marker"
    with store.lock():
        waiter = spawn(PRELUDE + WAITER, root, coordinator.path, marker)
        try:
            wait_for(marker, waiter)
            time.sleep(0.5)
            assert waiter.poll() is None, "the writer did not wait for the lock"
            assert head(root) == before
        except BaseException:
            kill(waiter)
            raise
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    record_id, waited = out.split()
    assert record_id == "C-0001" and float(waited) >= 0.4
    assert git(root, "rev-parse", "HEAD~1").strip() == before
    assert git(root, "log", "-1", "--format=%s").strip() == "Create case C-0001"


def test_short_lock_timeout_fails_with_exit_12_naming_the_store(
    store, coordinator, make_person, tmp_path, monkeypatch
):
    root = store.root
    before = head(root)
    newcomer = make_person("New Comer")
    marker = tmp_path / "marker"
    holder = spawn(
        PRELUDE
        + """
store = Store(root, read_identity_file(identity).unlock())
with store.lock():
    pause("locked")
""",
        root,
        coordinator.path,
        marker,
    )
    try:
        wait_for(marker, holder)
        started = time.monotonic()
        result = run_panelctl(
            "--store",
            str(root),
            "--identity",
            str(coordinator.path),
            "access",
            "add",
            newcomer.recipient,
            "--name",
            "New Comer",
            "--agency",
            "Police",
            "--role",
            "member",
            env={"PANELCTL_LOCK_TIMEOUT": "0.2"},
        )
        elapsed = time.monotonic() - started
        assert result.returncode == ExitCode.LOCKED == 12, result.stderr
        assert str(root) in result.stderr and "busy" in result.stderr
        assert "PANELCTL_LOCK_TIMEOUT" in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert elapsed < 10
        monkeypatch.setenv("PANELCTL_LOCK_TIMEOUT", "0.2")
        with pytest.raises(LockedError) as caught:
            Store(root, coordinator.unlock()).create("case", CASE)
        assert caught.value.exit_code == ExitCode.LOCKED
    finally:
        kill(holder)
    assert head(root) == before
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


# --- a keyring changed by another process while this one waited ---------------------------


def test_write_after_another_process_removed_a_reader_uses_the_new_keyring(
    store, coordinator, make_person
):
    leaver = make_person("Lee Leaver")
    add_reader(store, leaver.recipient, "Lee Leaver", "Police", "member")
    store.create("case", CASE)
    waiting = Store(store.root, coordinator.unlock())
    waiting.require_role("coordinator")  # what `access add` / any command does first
    remove_reader(Store(store.root, coordinator.unlock()), "Lee Leaver")  # "another process"
    new_id = waiting.create("case", CASE)
    fresh = Store(store.root, coordinator.unlock())
    assert fresh.keyring.epoch == 2
    assert fresh.read(new_id)["risk"] == "High"


def test_access_add_after_another_process_removed_a_reader_keeps_the_removal(
    store, coordinator, make_person
):
    leaver = make_person("Lee Leaver")
    newcomer = make_person("New Comer")
    add_reader(store, leaver.recipient, "Lee Leaver", "Police", "member")
    waiting = Store(store.root, coordinator.unlock())
    waiting.require_role("coordinator")
    remove_reader(Store(store.root, coordinator.unlock()), "Lee Leaver")
    try:
        add_reader(waiting, newcomer.recipient, "New Comer", "Police", "member")
    except NotAReaderError:
        pytest.fail("refused with a misleading error instead of using the new keyring")
    with pytest.raises(NotAReaderError):
        Store(store.root, leaver.unlock()).keyring  # noqa: B018
