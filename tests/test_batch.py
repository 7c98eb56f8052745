"""Commits made in memory (store/batch.py), as sync replays a clone's own commits.

- the trees and commits a batch makes are the very objects git makes for the same files
  (new, changed and deleted files, in folders new, nested and emptied), and git accepts
  them (`git fsck`);
- a sync replaying several commits makes them as one batch: HEAD moves once, git's index
  follows (git status clean), and every replayed commit is signed and verifies;
- a sync that dies after the batch wrote its files and before it wrote its commits to git
  is undone by the next sync, new files included, with no manual step.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import date

import pytest

from conftest import git
from panelctl.model import records
from panelctl.store import batch as batch_module
from panelctl.store import gitio
from panelctl.store.batch import CommitBatch

AUTHOR = gitio.Author("Batch Test", "batch@example.gov.uk")


def sign(_payload: bytes) -> str:
    return "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----"


def _repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for path in ("a.txt", "cases/C-0001.enc", "cases/C-0002.enc", "templates/x/y.html"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(f"first {path}".encode())
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one")
    return root


@pytest.mark.parametrize("budget", ["default", "tiny"])
def test_a_batch_makes_the_trees_git_makes(tmp_path, monkeypatch, budget):
    if budget == "tiny":  # every object written to git as soon as it is made
        monkeypatch.setattr(batch_module, "OBJECT_BUDGET", 1)
    root = _repo(tmp_path)
    rng = random.Random(7)
    start = git(root, "rev-parse", "HEAD").strip()
    batch = CommitBatch(root, start)
    names = [
        "a.txt",
        "b.txt",
        "cases/C-0001.enc",
        "cases/C-0002.enc",
        "cases/C-0003.enc",
        "cases-x.enc",
        "actions/A-000001.enc",
        "templates/x/y.html",
        "templates/x/z.html",
        "templates/w.html",
        "templates/x.html",
        "templates-notes.txt",
    ]  # fmt: skip  (names that sort around folders of the same stem)
    expected_trees = []
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "check-index")}
    subprocess.run(["git", "read-tree", start], cwd=root, env=env, check=True)
    for step in range(25):
        changed = rng.sample(names, rng.randint(1, 4))
        for path in changed:
            target = root / path
            if target.exists() and rng.random() < 0.4:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f"step {step} {path}".encode())
        for folder in ("templates/x", "templates", "actions", "cases"):  # emptied: gone
            if (root / folder).is_dir() and not any((root / folder).iterdir()):
                (root / folder).rmdir()
        new = batch.commit(changed, f"Step {step}", AUTHOR, sign)
        listing = "".join(f"{p}\0" for p in changed)
        subprocess.run(
            ["git", "update-index", "--add", "--remove", "-z", "--stdin"],
            cwd=root, env=env, input=listing.encode(), check=True,
        )  # fmt: skip
        tree = subprocess.run(
            ["git", "write-tree"], cwd=root, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        if new is not None:
            expected_trees.append(tree)
    head = batch.flush()
    assert git(root, "rev-parse", "HEAD").strip() == head
    made = git(root, "rev-list", "--reverse", f"{start}..HEAD").split()
    assert [git(root, "rev-parse", f"{c}^{{tree}}").strip() for c in made] == expected_trees
    assert len(made) == len(expected_trees) > 15
    git(root, "fsck", "--strict", "--no-dangling")
    assert git(root, "status", "--porcelain") == ""  # git's index followed


def test_a_batch_that_changes_nothing_makes_no_commit(tmp_path):
    root = _repo(tmp_path)
    start = git(root, "rev-parse", "HEAD").strip()
    batch = CommitBatch(root, start)
    assert batch.commit(["a.txt"], "Nothing", AUTHOR, sign) is None
    assert batch.flush() == start
    assert git(root, "rev-parse", "HEAD").strip() == start


# --- through sync --------------------------------------------------------------------------

CASE = {"status": "open", "risk": "High"}


def _case(name: str) -> dict:
    return {**CASE, "child": {"name": name, "dob": date(2011, 4, 2)}}


def test_a_sync_replays_its_commits_as_one_batch(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    for n in range(3):
        coordinator.store().create("case", _case(f"Remote Child {n}"))
    assert cli("sync", store=coordinator.root, identity=coordinator.identity).exit_code == 0
    for n in range(4):
        chair.store().create("case", _case(f"Local Child {n}"))
    moves_before = len(git(chair.root, "reflog", "show", "--format=%H", "HEAD").split())
    done = cli("sync", store=chair.root, identity=chair.identity)
    assert done.exit_code == 0, done.output
    moves = len(git(chair.root, "reflog", "show", "--format=%H", "HEAD").split()) - moves_before
    assert moves == 2  # to the remote's commit, then once to the last replayed one
    assert git(chair.root, "status", "--porcelain") == ""
    log = git(chair.root, "log", "--format=%G?%x09%s", "-4").splitlines()
    assert len(log) == 4 and all(line.startswith(("G", "U", "N", "E")) for line in log)
    done = cli("verify", "--all", store=chair.root, identity=chair.identity)
    assert (done.exit_code, done.stdout) == (0, ""), done.output
    assert cli("sync", store=coordinator.root, identity=coordinator.identity).exit_code == 0
    assert git(coordinator.root, "rev-parse", "HEAD") == git(chair.root, "rev-parse", "HEAD")


DIE_IN_FLUSH = """
import os, sys
from panelctl.crypto.identity import read_identity_file
from panelctl.panel import sync
from panelctl.store import batch
from panelctl.store.core import Store

def die(self):
    os._exit(9)  # as a SIGKILL: no clean-up runs

batch.CommitBatch.flush = die
from pathlib import Path
store = Store(Path(sys.argv[1]), read_identity_file(Path(sys.argv[2])).unlock())
sync.sync(store)
"""


def test_a_sync_killed_before_its_batch_is_written_is_undone_by_the_next(team, cli):
    coordinator, chair = team["coordinator"], team["chair"]
    coordinator.store().create("case", _case("Remote Child"))
    assert cli("sync", store=coordinator.root, identity=coordinator.identity).exit_code == 0
    made = [chair.store().create("case", _case(f"Local Child {n}")) for n in range(3)]
    head = git(chair.root, "rev-parse", "HEAD").strip()
    died = subprocess.run(
        [sys.executable, "-c", DIE_IN_FLUSH, str(chair.root), str(chair.identity)],
        capture_output=True,
    )
    assert died.returncode == 9, died.stderr
    # the replay's files were written (new records renumbered past the remote's) and
    # nothing of them reached git: the next sync must put them back before it starts
    assert (chair.root / ".git" / "panelctl" / "sync.json").exists()
    assert git(chair.root, "status", "--porcelain", "--untracked-files=all") != ""
    assert git(chair.root, "rev-parse", "HEAD").strip() != head  # at the remote's commit
    done = cli("sync", store=chair.root, identity=chair.identity)
    assert done.exit_code == 0, done.output
    assert git(chair.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert cli("sync", store=coordinator.root, identity=coordinator.identity).exit_code == 0
    assert git(coordinator.root, "rev-parse", "HEAD") == git(chair.root, "rev-parse", "HEAD")
    names = sorted(
        coordinator.store().read(i)["child"]["name"] for i in coordinator.store().ids(records.CASE)
    )
    assert names.count("Remote Child") == 1 and len(made) == 3
    assert [n for n in names if n.startswith("Local Child")] == [
        f"Local Child {n}" for n in range(3)
    ]
    done = cli("verify", "--all", store=chair.root, identity=chair.identity)
    assert (done.exit_code, done.stdout) == (0, ""), done.output
