#!/usr/bin/env python
"""Benchmark the disclosure log (issue 14, item 4) on the 10,000-case store.

    python benchmarks/bench_disclosures.py --keep /tmp/pdisc      # builds 10,000 cases once
    python benchmarks/bench_disclosures.py --store DIR --identity FILE   # an existing store

Times (median of 5, as processes): `report bimonthly --format csv` with small numbers
suppressed (no disclosure) and shown (one disclosure of every case counted, one commit),
so the difference is what logging costs; then, with 1,000 disclosures logged,
`panelctl disclosures --case ID` and `--format json` (the library call too, index warm).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import add_store_options, kept_store  # noqa: E402  (also isolates git config)

from panelctl.crypto.identity import read_identity_file  # noqa: E402
from panelctl.store.core import Store  # noqa: E402
from panelctl.store.disclosures import list_disclosures, log_disclosure  # noqa: E402

LOGGED = 1000


def process(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "panelctl", *args], env=env, capture_output=True, check=True
    )
    return time.perf_counter() - started


def median_ms(runs: list[float]) -> str:
    return f"{statistics.median(runs) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_options(parser)
    options = parser.parse_args()
    root, identity = kept_store(options, Path("/tmp/bench-disclosures"), seed=14)
    env = {**os.environ, "PANELCTL_STORE": str(root), "PANELCTL_IDENTITY": str(identity)}
    report = ["report", "bimonthly", "--period", "2024-11..2024-12", "--format", "csv"]
    suppressed = [process(env, *report, "--suppress-small") for _ in range(5)]
    shown = [process(env, *report) for _ in range(5)]
    store = Store(root, read_identity_file(identity).unlock())
    counted = store.read(list_disclosures(store)[0]["id"])["records"]
    print(f"report bimonthly, small numbers suppressed (no disclosure): {median_ms(suppressed)}")
    print(
        f"report bimonthly, shown (a disclosure of {len(counted):,} cases, one commit): "
        f"{median_ms(shown)}"
    )
    have = len(list_disclosures(store))
    if have < LOGGED:
        with store.transaction(f"Benchmark: {LOGGED - have} disclosures") as tx:
            for n in range(LOGGED - have):
                case = f"C-{1 + n * 7 % options.cases:04d}"
                log_disclosure(store, output="papers", form="html", records=["M-0001", case], tx=tx)
    case = "C-0008"
    fresh = Store(root, store.identity)
    library = []
    for _ in range(5):
        started = time.perf_counter()
        found = list_disclosures(Store(root, store.identity), case=case)
        library.append(time.perf_counter() - started)
    listed = len(list_disclosures(fresh))
    by_case = [process(env, "disclosures", "--case", case, "--format", "json") for _ in range(5)]
    every = [process(env, "disclosures", "--format", "json") for _ in range(5)]
    print(f"{listed:,} disclosures logged; {len(found)} hold {case} or a record of it")
    print(f"disclosures --case, library (a fresh Store, index warm): {median_ms(library)}")
    print(f"panelctl disclosures --case {case} --format json, process: {median_ms(by_case)}")
    print(f"panelctl disclosures --format json, process: {median_ms(every)}")


if __name__ == "__main__":
    main()
