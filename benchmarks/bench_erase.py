#!/usr/bin/env python
"""Benchmark `panelctl erase` of one case (issue 14: a few seconds at 10,000 cases).

    python benchmarks/bench_erase.py --keep /tmp/perase      # builds 10,000 cases once

Each run erases one closed case on a fresh copy of the kept store (an erasure cannot be
undone), and times the whole library call and its parts: the plan (the index, and git's
log of the records' paths for versions sealed without case keys), the commit, and the
purge of the old case-key tables from git's objects (``git repack -a -d`` and ``git
prune``), which is most of it. Median of 3.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build_store  # noqa: E402  (also isolates git config)

from panelctl.casework import erase as erasing  # noqa: E402
from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.store import casekeys as casekeys_store  # noqa: E402
from panelctl.store.core import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--keep", type=Path, default=Path("/tmp/bench-erase"))
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    base = options.keep
    root, identity_path = base / "store", base / "identity.json"
    if not root.exists():
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o700)  # an identity's folder must be private
        create_identity_file(identity_path, "Sam Coordinator", "sam@example.gov.uk", None, log_n=14)
        build_store(root, identity_path, options.cases, 2000, seed=14)
        store = Store(root, read_identity_file(identity_path).unlock())
        store.index().table("case")  # built once, kept with the copy
    identity = read_identity_file(identity_path).unlock()
    store = Store(root, identity)
    closed = [i for i, row in store.index().rows("case") if row.get("status") == "closed"]
    if not closed:
        sys.exit("The benchmark store has no closed case to erase.")
    totals, parts = [], {"plan": [], "purge": []}
    purge = casekeys_store.purge
    for run in range(options.runs):
        scratch = base / f"run-{run}"
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(root, scratch, symlinks=True)
        copy = Store(scratch, identity)
        copy.index().table("case")  # warm, as a coordinator's clone is
        case_id = closed[run % len(closed)]
        started = time.perf_counter()
        erasing.plan(copy, case_id)
        parts["plan"].append(time.perf_counter() - started)

        def timed_purge(where, _purge=purge):
            began = time.perf_counter()
            _purge(where)
            parts["purge"].append(time.perf_counter() - began)

        casekeys_store.purge = timed_purge
        try:
            started = time.perf_counter()
            done = erasing.erase(Store(scratch, identity), case_id, "benchmark")
            totals.append(time.perf_counter() - started)
        finally:
            casekeys_store.purge = purge
        print(f"  run {run + 1}: erased {case_id} ({sum(done.counts.values())} records) "
              f"in {totals[-1]:.2f} s", flush=True)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"erase one case at {options.cases} cases:")
    print(f"  whole call: median {statistics.median(totals):.2f} s  runs {[round(t, 2) for t in totals]}")
    for name, values in parts.items():
        print(f"  {name}: median {statistics.median(values):.2f} s")


if __name__ == "__main__":
    main()
