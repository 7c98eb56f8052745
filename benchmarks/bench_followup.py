#!/usr/bin/env python
"""Benchmark the cron commands (`actions overdue`, `review due`) and the reports and map, as processes.

    python benchmarks/bench_followup.py --keep /tmp/pbench      # reuse bench_store.py's stores

Uses (or builds) the store of 10,000 cases and 100,000 actions made by bench_store.py and
times each command 5 times (median), printing how many rows each listed, since printing
tens of thousands of rows costs more than the query. Target (follow-up issue): about a
quarter of a second.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_store  # noqa: E402  (sets the git environment)

from panelctl.crypto.identity import create_identity_file  # noqa: E402

COMMANDS = {
    "actions overdue (as of 23/11/2026)": [
        "actions",
        "overdue",
        "--as-of",
        "23/11/2026",
        "--format",
        "json",
    ],
    "actions overdue (as of 03/01/2025)": [
        "actions",
        "overdue",
        "--as-of",
        "03/01/2025",
        "--format",
        "json",
    ],
    "review due (as of 23/11/2026)": ["review", "due", "--as-of", "23/11/2026", "--format", "json"],
    "actions overdue --check": ["actions", "overdue", "--as-of", "03/01/2025", "--check"],
    # the reports issue: a few seconds at most
    "report bimonthly (Sep-Oct 2026, json)": [
        "report",
        "bimonthly",
        "--period",
        "2026-09..2026-10",
        "--format",
        "json",
    ],
    "report bimonthly (Sep-Oct 2026, html)": [
        "report",
        "bimonthly",
        "--period",
        "2026-09..2026-10",
        "--format",
        "html",
    ],
    "report annual (2025, json)": ["report", "annual", "--year", "2025", "--format", "json"],
    "map (json)": ["map", "--format", "json"],
    "map (html)": ["map", "--format", "html"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="panelctl-bench-followup-"))
    identity_dir = base / "identity"
    identity_dir.mkdir(parents=True, exist_ok=True)
    identity = identity_dir / "bench-coordinator.json"
    if not identity.exists():
        create_identity_file(identity, "Benchmark Coordinator", passphrase=None)
    root = base / f"store-{args.cases}"
    if not root.exists():
        bench_store.build_store(root, identity, args.cases, chunk=0, seed=1)
    prefix = [sys.executable, "-m", "panelctl", "--store", str(root), "--identity", str(identity)]
    for label, command in COMMANDS.items():
        subprocess.run(prefix + command, capture_output=True)  # warm: the index is up to date
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = subprocess.run(
                prefix + command, capture_output=True, text=True, stdin=subprocess.DEVNULL
            )
            times.append(time.perf_counter() - start)
        rows = sum(1 for line in result.stdout.splitlines() if line.lstrip().startswith("{"))
        print(
            f"{label:40s} {statistics.median(times):6.3f} s  ({rows} rows, exit {result.returncode})"
        )


if __name__ == "__main__":
    main()
