#!/usr/bin/env python
"""Benchmark `panelctl retention due` (issue 14: under half a second at 10,000 cases).

    python benchmarks/bench_retention.py --keep /tmp/pret        # builds 10,000 cases once
    python benchmarks/bench_retention.py --store DIR --identity FILE   # an existing store

Times the library call (`followup.retention.retention_due`, the index warm) and the
`panelctl retention due` process, median of 5, and says how many cases were listed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import add_store_options, kept_store  # noqa: E402  (also isolates git config)

from panelctl.crypto.identity import read_identity_file  # noqa: E402
from panelctl.followup.retention import retention_due  # noqa: E402
from panelctl.store.core import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_options(parser)
    options = parser.parse_args()
    root, identity = kept_store(options, Path("/tmp/bench-retention"), seed=12)
    store = Store(root, read_identity_file(identity).unlock())
    as_of = date(2040, 1, 1)  # far on: every closed case is past 6 years
    rows = retention_due(store, as_of)  # warms the index
    library = []
    for _ in range(5):
        started = time.perf_counter()
        retention_due(Store(root, store.identity), as_of)
        library.append(time.perf_counter() - started)
    env = {**os.environ, "PANELCTL_STORE": str(root), "PANELCTL_IDENTITY": str(identity)}
    process = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "panelctl", "retention", "due", "--as-of", "01/01/2040",
             "--format", "csv"],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
        process.append(time.perf_counter() - started)
    print(f"{len(rows)} closed cases listed of the store's cases")
    print(f"retention due, library (a fresh Store, index warm): {statistics.median(library) * 1000:.0f} ms")
    print(f"panelctl retention due, process: {statistics.median(process) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
