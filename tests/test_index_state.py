"""The query index against the records, under everything that can happen to a store:
records created, updated and deleted in transactions; a transaction that raises before it
commits; a write that dies halfway (files written, no commit); git failing at the commit;
someone checking out an earlier commit and coming back, or resetting the branch to one.

After every step the index must say, for every record file at HEAD, exactly what
``records.index_entry`` says of that record, and index nothing else. A Hypothesis state
machine drives the steps; it is derandomised, so CI runs the same examples every time.
"""

from __future__ import annotations

import itertools
import subprocess
from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import accept_history
from panelctl.base.errors import GitError, UnverifiedError
from panelctl.model import records
from panelctl.panel.setup import create_store
from panelctl.store import gitio
from panelctl.store.core import Store

NAMES = ("Alex Testchild", "Bo Fictional", "Cam Madeup", "Dee Invented")
TYPES = ("case", "agency", "member")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


cases = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["open", "closed"]),
        "child": st.fixed_dictionaries(
            {"name": st.sampled_from(NAMES)},
            optional={"dob": st.dates(date(2008, 1, 1), date(2016, 12, 31))},
        ),
        "risk": st.sampled_from(["High", "Medium", "Low"]),
    },
    optional={"lead_agency": st.sampled_from(["Police", "Council"])},
)
agencies = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Police", "Council", "Health"]),
        "sector": st.sampled_from(records.SECTORS),
        "core": st.booleans(),
    }
)
members = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Jo Worker", "Lee Lead"]),
        "agency": st.sampled_from(["Police", "Council"]),
        "role": st.sampled_from(records.MEMBER_ROLES),
        "active": st.booleans(),
    }
)
DATA = {"case": cases, "agency": agencies, "member": members}
new_records = st.one_of(*(st.tuples(st.just(t), DATA[t]) for t in TYPES))


class Crash(BaseException):
    """The process dies: nothing after this point runs, no clean-up included."""


class Oops(Exception):
    """A bug inside a transaction, before it commits."""


class IndexMachine(RuleBasedStateMachine):
    def __init__(self, root: Path, identity):
        super().__init__()
        self.identity = identity
        self.store = create_store(root, "mace", "Index MACE", identity, "Test Council")
        self.root = self.store.root

    # --- helpers -------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return sorted(
            Path(p).stem
            for p in git(self.root, "ls-tree", "-r", "--name-only", "HEAD").split()
            if p.endswith(".enc")
        )

    def commits(self) -> list[str]:
        return git(self.root, "rev-list", "--first-parent", "main").split()

    def crashed(self) -> bool:
        return (self.store.private / "journal.json").exists()

    def new_process(self) -> None:
        """What a fresh panelctl run sees (no caches from this one)."""
        self.store = Store(self.root, self.identity)

    # --- rules ---------------------------------------------------------------------------

    @initialize(made=st.lists(new_records, min_size=2, max_size=4))
    def first_records(self, made):
        self.create(made)

    @rule(made=st.lists(new_records, min_size=1, max_size=3))
    def create(self, made):
        with self.store.transaction() as tx:
            for type_name, data in made:
                tx.create(type_name, data)

    @precondition(lambda self: self.ids())
    @rule(data=st.data())
    def update(self, data):
        record_id = data.draw(st.sampled_from(self.ids()))
        rtype = records.type_of_id(record_id)
        with self.store.transaction() as tx:
            record = self.store.read(record_id)
            record.update(data.draw(DATA[rtype.name]))
            tx.put(record)

    @precondition(lambda self: self.ids())
    @rule(data=st.data())
    def delete(self, data):
        self.store.delete(data.draw(st.sampled_from(self.ids())))

    @rule(made=new_records)
    def raise_before_commit(self, made):
        with pytest.raises(Oops):
            with self.store.transaction() as tx:
                tx.create(*made)
                for record_id in self.ids()[:1]:
                    tx.delete(record_id)
                raise Oops

    @rule(made=new_records, after=st.sampled_from(["files", "tree"]))
    def crash_before_the_commit(self, made, after):
        """Killed with every file written (or the commit's tree built), before HEAD moves;
        the next write rolls it back."""

        def die(*_args, **_kwargs):
            raise Crash

        real_run = gitio.run

        def run(root, args, **kwargs):
            if args[0] == "commit-tree":
                raise Crash
            return real_run(root, args, **kwargs)

        where = {"commit": die} if after == "files" else {"run": run}
        with mock.patch.multiple(gitio, restore=die, **where), pytest.raises(Crash):
            with self.store.transaction() as tx:
                tx.create(*made)
                for record_id in self.ids()[-1:]:
                    tx.delete(record_id)
        assert self.crashed()
        self.new_process()

    @rule(made=new_records)
    def git_fails_at_the_commit(self, made):
        def fail(*_args, **_kwargs):
            raise GitError("git commit-tree failed")

        with mock.patch.object(gitio, "commit", fail), pytest.raises(GitError):
            with self.store.transaction() as tx:
                tx.create(*made)
        assert not self.crashed()

    @precondition(lambda self: not self.crashed())
    @rule(back=st.integers(1, 4))
    def visit_an_earlier_commit(self, back):
        """Someone checks out an earlier commit, looks, and goes back to main."""
        commits = self.commits()
        git(self.root, "checkout", "-q", commits[min(back, len(commits) - 1)])
        self.accept()
        self.index_matches_head()
        git(self.root, "checkout", "-q", "main")
        self.accept()

    @rule(back=st.integers(1, 4), restart=st.booleans())
    def reset_to_an_earlier_commit(self, back, restart):
        commits = self.commits()
        git(self.root, "reset", "-q", "--hard", commits[min(back, len(commits) - 1)])
        self.accept()
        if restart:
            self.new_process()

    def accept(self) -> None:
        """`panelctl verify --all`, as a coordinator runs it after moving HEAD by hand."""
        from panelctl.store.verify import verify

        report = verify(Store(self.root, self.identity), everything=True)
        assert [p for p in report.problems if not p.path or str(p).startswith("commit ")] == []

    # --- the invariant -------------------------------------------------------------------

    @invariant()
    def index_matches_head(self):
        store = self.store
        at_head = {}  # path -> blob id
        for line in git(self.root, "ls-tree", "-r", "HEAD").splitlines():
            meta, _, path = line.partition("\t")
            if path.endswith(".enc"):
                at_head[path] = meta.split()[2]
        blobs = read_blobs(self.root, list(at_head.values()))
        assert {p.partition("/")[0] for p in at_head} <= {
            records.record_type(t).folder for t in TYPES
        }  # so the other types' tables must be empty, and need not be opened each step
        index = store.index()
        for rtype in map(records.record_type, TYPES):
            rows = dict(index.rows(rtype.name))
            files = [p for p in at_head if p.startswith(rtype.folder + "/")]
            assert set(rows) == {Path(p).stem for p in files}, rtype.name
            for path in files:
                record_id = Path(path).stem
                plaintext = store.decrypt(path, blobs[at_head[path]])
                record = records.parse(rtype, plaintext, record_id)
                assert rows[record_id] == records.index_entry(rtype, record), record_id


def read_blobs(root: Path, blob_ids: list[str]) -> dict[str, bytes]:
    """Many blobs through one `git cat-file --batch`."""
    out = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{b}\n" for b in blob_ids).encode(),
        capture_output=True,
        check=True,
    ).stdout
    found, at = {}, 0
    for _ in blob_ids:
        end = out.index(b"\n", at)
        blob_id, _kind, size = out[at:end].split()
        start = end + 1
        found[blob_id.decode()] = out[start : start + int(size)]
        at = start + int(size) + 1
    return found


def test_the_index_always_describes_head(tmp_path, coordinator):
    identity = coordinator.unlock()
    runs = itertools.count()
    run_state_machine_as_test(
        lambda: IndexMachine(tmp_path / f"run-{next(runs)}", identity),
        settings=settings(
            max_examples=3,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_a_write_killed_halfway_is_never_indexed(store, coordinator):
    """A write died with its files in place, then someone reset the branch: the next
    reader rolls the write back (as a writer would) rather than index its files."""
    case = {"status": "open", "child": {"name": NAMES[0]}, "risk": "High"}
    store.create("case", case)
    store.create("case", case)
    with mock.patch.multiple(gitio, commit=_die, restore=_die), pytest.raises(Crash):
        with store.transaction() as tx:
            tx.create("case", case)  # C-0003: written, never committed
    git(store.root, "reset", "-q", "--hard", "HEAD~1")
    reader = Store(store.root, coordinator.unlock())
    with pytest.raises(UnverifiedError):  # a reset is a rollback: verify it first
        list(reader.index().rows("case"))
    accept_history(store.root, coordinator.path)
    assert [record_id for record_id, _ in reader.index().rows("case")] == ["C-0001"]
    assert sorted(p.name for p in (store.root / "cases").iterdir()) == ["C-0001.enc"]
    assert not (store.private / "journal.json").exists()


def _die(*_args, **_kwargs):
    raise Crash
