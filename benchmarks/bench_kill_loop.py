#!/usr/bin/env python
"""The long kill loop: tests/test_kill_loop.py with many more kills and several seeds.

    python benchmarks/bench_kill_loop.py                    # 1,000 kills, seed 11
    python benchmarks/bench_kill_loop.py --runs 300 --seeds 1 2 3

The test in tests/ runs 100 kills (in CI, under a minute on 2 cores); this runs the same
test, unchanged, with PANELCTL_KILL_RUNS and PANELCTL_KILL_SEED set, and prints each
run's figures: kills that landed inside a write (a journal left), commits that landed
before the kill, lock files left (and which), record files checked whole in HEAD's tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="kills per seed (default 1000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[11], help="random seeds")
    args = parser.parse_args()
    failed = 0
    for seed in args.seeds:
        env = {**os.environ, "PANELCTL_KILL_RUNS": str(args.runs), "PANELCTL_KILL_SEED": str(seed)}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly",
             "tests/test_kill_loop.py"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )  # fmt: skip
        figures = [line for line in result.stdout.splitlines() if "kills in" in line]
        status = "passed" if result.returncode == 0 else "FAILED"
        print(f"seed {seed}: {status} in {time.monotonic() - started:.0f} s; {' '.join(figures)}")
        if result.returncode != 0:
            failed += 1
            print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
