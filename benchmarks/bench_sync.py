#!/usr/bin/env python
"""Benchmark `panelctl sync` (issue 12) on an N-case store with a bare remote and two clones.

    python benchmarks/bench_sync.py                  # 1,000 cases (11,000 records)
    python benchmarks/bench_sync.py --cases 10000    # the issue's target size
    python benchmarks/bench_sync.py --keep /tmp/psync  # keep (and later reuse) the store

Builds a store as bench_store.py does (N cases, 10 actions each, every commit signed), a
bare remote cloned from it, and a second clone with its own identity (a deputy
coordinator). Then times:

  a. `panelctl sync` with nothing to do: as a process (wall time), in-process
     (`panel.sync.sync`), and `git fetch` alone (the network round trip to subtract);
  b. 100 one-record commits in clone A and 100 in clone B (pushed), then A's sync: it
     verifies B's 100 commits, replays its own 100 on top (merging nothing: different
     records), and pushes;
  c. a fast-forward: 100 one-record commits pushed by B, then A's sync (verify and move).

Records changed on each side are different cases, so no merge conflict arises. After (b)
and (c) both clones' trees are checked identical.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import RISKS, build_store  # noqa: E402
from bench_trust import median_of  # noqa: E402

from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.model import records  # noqa: E402
from panelctl.panel import sync as syncing  # noqa: E402
from panelctl.panel.access import add_reader  # noqa: E402
from panelctl.store import casekeys  # noqa: E402
from panelctl.store.core import Store, setup_clone  # noqa: E402

CHANGES = 100


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def panelctl(root: Path, identity: Path, *args: str) -> float:
    env = {**os.environ, "PANELCTL_STORE": str(root), "PANELCTL_IDENTITY": str(identity)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "panelctl", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"panelctl {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return seconds


def one_record_commits(store: Store, count: int, offset: int) -> None:
    """``count`` commits, each changing the risk of one case: cases offset, offset+2, ..."""
    ids = store.ids(records.CASE)
    for n in range(count):
        record = store.read(ids[(offset + 2 * n * 7) % len(ids)])
        record["risk"] = next(r for r in RISKS if r != record.get("risk"))
        if not store.update(record):
            sys.exit("an update made no commit")


def build(base: Path, n_cases: int) -> dict:
    ids = base / "identities"
    a_id, b_id = ids / "a.json", ids / "b.json"
    create_identity_file(a_id, "Sam Coordinator", "sam@example.gov.uk", None, log_n=14)
    b = create_identity_file(b_id, "Dee Deputy", "dee@example.gov.uk", None, log_n=14)
    a_root = base / "a"
    started = time.perf_counter()
    build_store(a_root, a_id, n_cases, 2000, seed=12)
    built = time.perf_counter() - started
    store = Store(a_root, read_identity_file(a_id).unlock())
    add_reader(store, b.recipient, "Dee Deputy", "Bench Council", "coordinator")
    remote = base / "remote.git"
    git(base, "clone", "-q", "--bare", str(a_root), str(remote))
    # the case-key table too (git's clone copies branches only; `panelctl sync` pushes it)
    ref = casekeys.REF
    git(casekeys.keys_repo(a_root), "push", "-q", str(remote), f"+{ref}:{ref}")
    git(a_root, "remote", "add", "origin", str(remote))
    git(a_root, "fetch", "-q", "origin")
    git(a_root, "branch", "-q", "--set-upstream-to=origin/main")
    b_root = base / "b"
    started = time.perf_counter()
    git(base, "clone", "-q", str(remote), str(b_root))
    setup_clone(b_root)
    casekeys.fetch(b_root, "origin")  # what `panelctl clone` does
    keys = casekeys.keys_repo(b_root)
    git(keys, "update-ref", casekeys.REF, casekeys.INCOMING)
    git(keys, "update-ref", "-d", casekeys.INCOMING)
    panelctl(b_root, b_id, "verify")  # trust on first use
    panelctl(b_root, b_id, "case", "list", "--format", "json")  # the index
    cloned = time.perf_counter() - started
    return {"build_seconds": built, "clone_seconds": cloned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build here (or reuse what is there)")
    options = parser.parse_args()
    os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    base = options.keep or Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        if not (base / "b").exists():
            print(f"building {options.cases} cases ({options.cases * 11} records)...", flush=True)
            figures = build(base, options.cases)
            print(
                f"built in {figures['build_seconds']:.1f} s; second clone (git clone, "
                f"verify, index) in {figures['clone_seconds']:.1f} s",
                flush=True,
            )
        run(base, options.cases)
    finally:
        if not options.keep:
            shutil.rmtree(base, ignore_errors=True)


def run(base: Path, n_cases: int) -> None:
    a_root, b_root = base / "a", base / "b"
    a_id, b_id = base / "identities" / "a.json", base / "identities" / "b.json"
    a = Store(a_root, read_identity_file(a_id).unlock())
    b = Store(b_root, read_identity_file(b_id).unlock())
    panelctl(a_root, a_id, "sync")
    panelctl(b_root, b_id, "sync")

    print(f"\n{n_cases} cases, {n_cases * 11} records")
    fetch, _ = median_of(lambda: git(a_root, "fetch", "-q", "origin"), 5)
    process, _ = median_of(lambda: panelctl(a_root, a_id, "sync"), 5)
    library, _ = median_of(lambda: syncing.sync(Store(a_root, a.identity)), 5)
    print("a. nothing to do")
    print(f"   git fetch alone (the round trip)      {fetch * 1000:7.0f} ms")
    print(f"   panelctl sync, process                {process * 1000:7.0f} ms")
    print(f"   sync in-process                       {library * 1000:7.0f} ms")
    print(f"   in-process beyond the fetch           {(library - fetch) * 1000:7.0f} ms")

    one_record_commits(a, CHANGES, offset=0)
    one_record_commits(b, CHANGES, offset=1)
    panelctl(b_root, b_id, "sync")  # B pushes its 100
    start = time.perf_counter()
    report = syncing.sync(Store(a_root, a.identity))
    merged = time.perf_counter() - start
    assert report.fetched == CHANGES and report.replayed == CHANGES and report.pushed, report
    panelctl(b_root, b_id, "sync")
    assert git(a_root, "rev-parse", "HEAD^{tree}") == git(b_root, "rev-parse", "HEAD^{tree}")
    print(f"b. {CHANGES} local + {CHANGES} remote one-record commits, sync  {merged:6.2f} s")

    one_record_commits(b, CHANGES, offset=3)
    panelctl(b_root, b_id, "sync")
    start = time.perf_counter()
    report = syncing.sync(Store(a_root, a.identity))
    forward = time.perf_counter() - start
    assert report.fetched == CHANGES and report.replayed == 0, report
    assert git(a_root, "rev-parse", "HEAD^{tree}") == git(b_root, "rev-parse", "HEAD^{tree}")
    listed = panelctl(a_root, a_id, "case", "list", "--format", "json")
    print(f"c. fast-forward of {CHANGES} remote commits, sync   {forward:6.2f} s")
    print(f"   then `case list` (index brought up to date)  {listed:6.2f} s")


if __name__ == "__main__":
    main()
