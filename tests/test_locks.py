"""Lock files and the truth of a write's exit code.

- A write killed inside a git step leaves git's lock file (panelctl's commit-index.lock,
  HEAD.lock and the branch's lock from update-ref, git's own index.lock); the next write
  removes it, knowing it for its own and stale, with no manual step.
- A lock that is not provably panelctl's (held open by a running program, older than the
  dead write, or with no write of panelctl's under way) is kept and named in the error.
- git's index.lock taken by another program at any moment of a write never ends in a
  commit and a non-zero exit (a retried `nominate` would make a second case).

Child processes use the library and stall at a chosen git step (as in
test_crash_and_concurrency), having made the lock file git makes at that step, so that the
parent's SIGKILL lands while the lock exists, as it would if git itself were killed there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import CANARY, git, run_panelctl
from panelctl.base.errors import ExitCode
from panelctl.panel.setup import create_store

MARAC = [
    *("--dob", "14/03/2011", "--protocol-followed", "--exploitation-type", "sexual"),
    *("--referring-agency", "Avon and Somerset Police", "--date", "01/11/2026"),
]

STALL = """
import os, sys, time
from pathlib import Path
import panelctl.store.gitio as gitio
from panelctl.crypto.identity import read_identity_file
from panelctl.store.core import Store

root, identity, marker, step = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
git_dir = root / ".git"
real_run = gitio.run
landed = []

def run(where, args, **kwargs):
    private = "env" in kwargs  # panelctl's own index (GIT_INDEX_FILE)
    if step == "commit-index" and args[0] == "update-index" and private:
        locks = [git_dir / "panelctl" / "commit-index.lock"]
    elif step == "update-ref" and args[0] == "update-ref" and "refs/panelctl/case-keys" not in args:
        locks = [git_dir / "HEAD.lock", git_dir / "refs" / "heads" / "main.lock"]
    elif step == "git-index" and args[0] == "update-index" and not private and landed:
        locks = [git_dir / "index.lock"]
    else:
        out = real_run(where, args, **kwargs)
        if args[0] == "update-ref" and "refs/panelctl/case-keys" not in args:
            landed.append(True)
        return out
    for lock in locks:
        lock.write_text("")  # what git makes at this step, then dies with us
    marker.write_text(step)
    time.sleep(120)
    os._exit(99)

gitio.run = run
store = Store(root, read_identity_file(identity).unlock())
store.create("case", {"status": "open", "child": {"name": "Killed Child"}})
"""


@pytest.fixture
def marac(tmp_path, coordinator):
    return create_store(
        tmp_path / "marac", "cse-marac", "Lock MARAC", coordinator.unlock(), "B&NES Council"
    )


def stall(root: Path, identity: Path, marker: Path, step: str) -> None:
    """Run a write that stalls at ``step`` with git's lock made, then SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STALL), str(root), str(identity), str(marker), step],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text() == step):
            if child.poll() is not None:
                pytest.fail(f"child ended early: {child.communicate()}")
            assert time.monotonic() < deadline, "child never stalled"
            time.sleep(0.01)
    finally:
        child.kill()
        child.communicate(timeout=30)


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def nominate(cli, store, person, name: str = CANARY):
    return cli("nominate", "--name", name, *MARAC, store=store.root, identity=person.path)


@pytest.mark.parametrize(
    "step, locks, lands",
    [
        ("commit-index", ["panelctl/commit-index.lock"], False),
        ("update-ref", ["HEAD.lock", "refs/heads/main.lock"], False),
        ("git-index", ["index.lock"], True),
    ],
)
def test_locks_left_by_a_killed_write_are_removed_by_the_next(
    marac, coordinator, cli, tmp_path, step, locks, lands
):
    root = marac.root
    before = commits(root)
    stall(root, coordinator.path, tmp_path / "marker", step)
    assert all((root / ".git" / lock).exists() for lock in locks)
    assert (root / ".git" / "panelctl" / "journal.json").exists()

    result = nominate(cli, marac, coordinator)
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    assert not any((root / ".git" / lock).exists() for lock in locks)
    assert commits(root) == before + 1 + lands  # the killed write's commit, if it landed
    assert len(list((root / "cases").iterdir())) == 1 + lands
    clean = cli("verify", store=root, identity=coordinator.path)
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


HOLDER = """
import sys, time
from pathlib import Path
lock = Path(sys.argv[1])
handle = open(lock, "x")  # as git holds its lock: created, and open
Path(sys.argv[2]).write_text("held")
time.sleep(120)
"""


def test_an_index_lock_another_program_holds_is_kept_and_named(marac, coordinator, cli, tmp_path):
    """A write of panelctl's died (its journal is there), then someone's git took
    index.lock: the lock is not the dead write's, so it is kept and the error names it."""
    root = marac.root
    stall(root, coordinator.path, tmp_path / "marker", "commit-index")
    lock = root / ".git" / "index.lock"
    ready = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), str(ready)])
    try:
        while not ready.exists():
            assert holder.poll() is None
            time.sleep(0.01)
        before = git(root, "rev-parse", "HEAD")
        result = nominate(cli, marac, coordinator)
        assert result.exit_code == ExitCode.GIT, result.output
        assert result.stderr.count("panelctl: ") == 1 or "warning" in result.stderr
        error = result.stderr.strip().splitlines()[-1]
        assert str(lock) in error and "remove that file" in error and "nothing was changed" in error
        assert lock.exists() and git(root, "rev-parse", "HEAD") == before
        assert not list((root / "cases").iterdir())
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone, but its lock was never panelctl's: still named, not removed.
    again = nominate(cli, marac, coordinator)
    assert again.exit_code == ExitCode.GIT and str(lock) in again.stderr
    lock.unlink()  # the fix the message gives
    assert nominate(cli, marac, coordinator).exit_code == 0
    assert len(list((root / "cases").iterdir())) == 1


def test_a_lock_older_than_the_dead_write_is_not_taken_for_its_own(
    marac, coordinator, cli, tmp_path
):
    root = marac.root
    stall(root, coordinator.path, tmp_path / "marker", "commit-index")
    lock = root / ".git" / "HEAD.lock"
    lock.write_text("")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    result = nominate(cli, marac, coordinator)
    assert result.exit_code == ExitCode.GIT, result.output
    assert str(lock) in result.stderr and lock.exists()


def test_a_stale_lock_with_no_write_of_panelctl_under_way_is_named_not_removed(
    marac, coordinator, cli
):
    lock = marac.root / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    result = nominate(cli, marac, coordinator)
    assert result.exit_code == ExitCode.GIT, result.output
    assert result.stderr.count("\n") == 1
    assert str(lock) in result.stderr and "remove that file" in result.stderr
    assert lock.exists()


# --- git's index locked by another program, at any moment of a write --------------------


def test_index_lock_taken_at_any_git_step_never_commits_with_a_failure(
    marac, coordinator, cli, monkeypatch
):
    """Take .git/index.lock just before each git command of a `nominate` in turn: either the
    write fails and nothing was committed, or it was committed and the exit is 0."""
    from panelctl.store import gitio

    root = marac.root
    lock = root / ".git" / "index.lock"
    real = gitio.run
    outcomes = []
    step = 0
    while True:
        calls = []

        def run(where, args, _at=step, _calls=calls, **kwargs):
            if len(_calls) == _at:
                lock.write_text("")
            _calls.append(args[0])
            return real(where, args, **kwargs)

        monkeypatch.setattr(gitio, "run", run)
        before, files = commits(root), len(list((root / "cases").glob("*.enc")))
        result = nominate(cli, marac, coordinator, name=f"Child {step}")
        monkeypatch.setattr(gitio, "run", real)
        made = commits(root) - before
        if result.exit_code == 0:
            assert made == 1, (step, calls)
            assert len(list((root / "cases").glob("*.enc"))) == files + 1
        else:
            assert made == 0, (step, calls, result.output)
            assert result.exit_code == ExitCode.GIT and str(lock) in result.stderr
            assert len(list((root / "cases").glob("*.enc"))) == files
            assert git(root, "status", "--porcelain", "--untracked-files=all") == "", (step, calls)
        outcomes.append((step, result.exit_code, calls[step] if step < len(calls) else None))
        lock.unlink(missing_ok=True)
        if result.exit_code == 0 and "git reset" in result.stderr:
            git(root, "reset", "-q")  # what the warning asks: git's index follows the commit
        if step >= len(calls):
            break
        step += 1
    codes = {code for _step, code, _command in outcomes}
    assert codes == {0, ExitCode.GIT}, outcomes  # both kinds of moment were met
    warned = [command for _step, code, command in outcomes if code == 0 and command]
    assert "update-index" in warned, outcomes


TOGGLER = """
import os, random, sys, time
from pathlib import Path
lock, stop = Path(sys.argv[1]), Path(sys.argv[2])
rng = random.Random(7)
while not stop.exists():
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        time.sleep(0.001)
        continue
    time.sleep(rng.uniform(0.001, 0.03))
    os.close(fd)
    os.unlink(lock)
    time.sleep(rng.uniform(0.001, 0.03))
"""


def test_a_program_taking_index_lock_over_and_over_never_gets_a_retried_duplicate(
    marac, coordinator, tmp_path
):
    """Real processes: another program takes and drops .git/index.lock every few ms while
    `nominate` runs 12 times. Each run either fails with nothing committed, or succeeds."""
    root = marac.root
    lock, stop = root / ".git" / "index.lock", tmp_path / "stop"
    toggler = subprocess.Popen([sys.executable, "-c", TOGGLER, str(lock), str(stop)])
    results = []
    try:
        for n in range(12):
            before = commits(root)
            done = run_panelctl(
                "--store", str(root), "--identity", str(coordinator.path),
                "nominate", "--name", f"Toggled {n}", *MARAC,
            )  # fmt: skip
            made = commits(root) - before
            results.append((done.returncode, made))
            assert made == (done.returncode == 0), (n, done.returncode, made, done.stderr)
            assert "Traceback" not in done.stderr
    finally:
        stop.touch()
        toggler.wait(timeout=30)
    assert git(root, "rev-list", "--count", "HEAD").strip() == str(
        1 + sum(made for _code, made in results)
    )


def test_a_write_interrupted_after_its_commit_landed_reports_success(
    marac, coordinator, cli, monkeypatch
):
    """Ctrl-C (or any failure) once HEAD has moved: the change is saved, so exit 0 with a
    warning, not 130 with "rolled back" (which would be untrue, and invite a retry)."""
    from panelctl.store import gitio

    real = gitio.run

    def run(where, args, **kwargs):
        out = real(where, args, **kwargs)
        if args[0] == "update-ref" and "refs/panelctl/case-keys" not in args:  # the commit's
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(gitio, "run", run)
    before = commits(marac.root)
    result = nominate(cli, marac, coordinator)
    assert result.exit_code == 0, result.output
    assert result.stdout == "C-0001\n" and "warning: the change was saved" in result.stderr
    assert commits(marac.root) == before + 1
    assert not (marac.root / ".git" / "panelctl" / "journal.json").exists()


def test_process_ids_are_told_apart_from_their_reuse():
    from panelctl.store import gitio

    assert not gitio.is_gone(gitio.process_mark())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mark = {"pid": child.pid, "started": gitio._start_time(child.pid)}
        assert not gitio.is_gone(mark)
        assert gitio.is_gone({**mark, "started": "0"})  # this id, but a later process
    finally:
        child.kill()
    time.sleep(0.2)  # killed, not yet reaped: a zombie has ended
    assert gitio.is_gone(mark)
    child.wait()
    assert gitio.is_gone(mark)
    assert not gitio.is_gone(None) and not gitio.is_gone({"pid": "x"})
