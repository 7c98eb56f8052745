"""No reads or writes in a half-finished state (issue 12, point 5): while git has a merge
(or rebase, cherry-pick, revert) unfinished in the store, or `panelctl sync`'s journal is
there, every command that opens the store refuses with exit 22 and the way out, and
leaves the store as it was. Real git, a real conflict, the real CLI."""

from __future__ import annotations

import subprocess

import pytest

from conftest import assert_unchanged, git, signed_commit, store_state
from panelctl.base.errors import ExitCode
from panelctl.panel.setup import create_store
from panelctl.store.core import Store

MID_SYNC = (
    "is in the middle of a sync (a merge or rebase is unfinished): finish it, or go back, "
    "with `panelctl sync` (continue or abort)"
)

NOMINATION = [
    "nominate",
    "--name",
    "Pell Ambry",
    "--dob",
    "14/03/2011",
    "--protocol-followed",
    "--exploitation-type",
    "sexual",
    "--referring-agency",
    "Avon and Somerset Police",
    "--date",
    "01/11/2026",
]


@pytest.fixture
def marac(tmp_path, coordinator):
    """A store whose profile lets a nomination through without an assessment."""
    return create_store(
        tmp_path / "marac", "cse-marac", "Test CSE MARAC", coordinator.unlock(), "Test Council"
    )


def commands(cli, store, coordinator):
    """The three commands the issue names: a write, a read, and verify."""
    return {
        "nominate": lambda: cli(*NOMINATION, store=store.root, identity=coordinator.path),
        "case list": lambda: cli("case", "list", store=store.root, identity=coordinator.path),
        "verify": lambda: cli("verify", store=store.root, identity=coordinator.path),
    }


def unfinished_merge(store, coordinator) -> None:
    """Two branches edit README.md (not a record, so nothing else is refused); merging them
    stops on a conflict. Our side is signed (and so verified); theirs is plain git."""
    root = store.root
    git(root, "checkout", "-q", "-b", "other")
    (root / "README.md").write_text("Their side of the README.\n")
    git(root, "commit", "-q", "-am", "Edit the README on another clone")
    git(root, "checkout", "-q", "main")
    (root / "README.md").write_text("Our side of the README.\n")
    signed_commit(root, coordinator.path, "Edit the README")
    merge = subprocess.run(["git", "merge", "other"], cwd=root, capture_output=True, text=True)
    assert merge.returncode != 0 and "CONFLICT" in merge.stdout, merge.stdout + merge.stderr
    assert (root / ".git" / "MERGE_HEAD").exists()


def test_every_command_refuses_an_unfinished_merge_and_works_after_abort(cli, marac, coordinator):
    unfinished_merge(marac, coordinator)
    before = store_state(marac.root)
    for name, run in commands(cli, marac, coordinator).items():
        result = run()
        assert result.exit_code == ExitCode.MID_SYNC, (name, result.output)
        assert MID_SYNC in result.stderr and "nothing was read or written" in result.stderr
        assert "never committed" not in result.output  # verify says mid-sync, not a file list
        assert result.stdout == "", name
        assert_unchanged(before, store_state(marac.root))

    git(marac.root, "merge", "--abort")
    ran = commands(cli, marac, coordinator)
    made = ran["nominate"]()
    assert made.exit_code == 0, made.output
    assert made.stdout == "C-0001\n"
    listed = ran["case list"]()
    assert listed.exit_code == 0 and "C-0001" in listed.stdout, listed.output
    checked = ran["verify"]()
    assert checked.exit_code == 0, checked.output


def test_sync_journal_refuses_like_a_merge(cli, marac, coordinator):
    journal = marac.private / "sync.json"
    journal.write_text("{}")
    before = store_state(marac.root)
    for name, run in commands(cli, marac, coordinator).items():
        result = run()
        assert result.exit_code == ExitCode.MID_SYNC, (name, result.output)
        assert MID_SYNC in result.stderr, name
    assert_unchanged(before, store_state(marac.root))
    journal.unlink()
    for name, run in commands(cli, marac, coordinator).items():
        result = run()
        assert result.exit_code == 0, (name, result.output)


@pytest.mark.parametrize(
    "mark", ["rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD"]
)
def test_rebase_cherry_pick_and_revert_marks_refuse_reads_and_writes(marac, coordinator, mark):
    from panelctl.base.errors import MidSyncError

    target = marac.root / ".git" / mark
    if mark.startswith("rebase"):
        target.mkdir()
    else:
        target.write_text(git(marac.root, "rev-parse", "HEAD"))
    store = Store(marac.root, coordinator.unlock())
    with pytest.raises(MidSyncError):
        store.read("C-0001")  # not "no such record": the tree is half-merged
    with pytest.raises(MidSyncError):
        list(store.index().rows("case"))
    with pytest.raises(MidSyncError):
        store.create("case", {})
    with pytest.raises(MidSyncError):
        store.profile  # noqa: B018
    assert not (marac.private / "journal.json").exists()


def test_sync_opens_the_store_mid_sync_when_it_says_so(marac, coordinator):
    """The switch `panelctl sync` uses for its own work: reads go through."""
    (marac.private / "sync.json").write_text("{}")
    store = Store(marac.root, coordinator.unlock())
    store.allow_mid_sync = True
    assert store.keyring.epoch == 1
    assert list(store.index().rows("case")) == []
    assert store.profile["name"] == "cse-marac"
    with store.lock():
        pass
