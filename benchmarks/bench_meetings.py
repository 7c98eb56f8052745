#!/usr/bin/env python
"""Benchmark `panelctl agenda build` for a 12-case meeting on a regional store, papers included.

    python benchmarks/bench_meetings.py                  # 10,000 cases, 100,000 actions
    python benchmarks/bench_meetings.py --cases 1000
    python benchmarks/bench_meetings.py --keep /tmp/pbench-meetings   # keep and reuse the store

The store is built as in bench_store.py. One held meeting then discusses every open case but
twelve, so the next meeting's agenda holds exactly those twelve (new nominations). The figure
is the whole command as a process: choosing the cases, slots, the paper deadline, saving the
agenda (one commit), and writing the agenda, twelve case papers, the action log (Markdown and
HTML) and twelve calendar invitations. Target (meetings issue): about a second.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_store  # noqa: E402  (sets the git environment for every call)

from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.store.core import Store  # noqa: E402

AGENDA_CASES = 12
RUNS = 5


def prepare(base: Path, n_cases: int) -> tuple[Path, Path]:
    identity = base / "identity.json"
    root = base / f"store-{n_cases}"
    if not identity.exists():
        create_identity_file(identity, "Benchmark Coordinator", passphrase=None)
    if not root.exists():
        print(f"building a store of {n_cases} cases ...", flush=True)
        bench_store.build_store(root, identity, n_cases, chunk=0, seed=7)
        store = Store(root, read_identity_file(identity).unlock())
        open_cases = sorted(
            cid for cid, f in store.index().rows("case") if f.get("status") == "open"
        )
        discussed = open_cases[AGENDA_CASES:]
        risks = dict(store.index().rows("case"))
        with store.transaction("Benchmark: one held meeting") as tx:
            tx.create(
                "meeting",
                {
                    "date": date(2026, 11, 1),
                    "time": "10:00",
                    "status": "held",
                    "cases": discussed,
                    "discussions": [
                        {"case": c, "risk_agreed": risks[c].get("risk")} for c in discussed
                    ],
                },
            )
            tx.create("meeting", {"date": date(2026, 12, 1), "time": "09:30", "status": "planned"})
    return root, identity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="panelctl-bench-meetings-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        root, identity = prepare(base, args.cases)
        command = [
            sys.executable,
            "-m",
            "panelctl",
            "--store",
            str(root),
            "--identity",
            str(identity),
            "agenda",
            "build",
            "M-0002",
            "--as-of",
            "20/11/2026",
        ]
        subprocess.run(command + ["--dry-run"], check=True, capture_output=True)  # warm the index
        seconds = []
        for run in range(RUNS):
            out = base / f"papers-{run}"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            result = subprocess.run(command + ["--out", str(out)], capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if result.returncode != 0:
                sys.exit(result.stderr)
            shutil.rmtree(out)
        cases = Store(root, read_identity_file(identity).unlock()).read("M-0002")["cases"]
        figures = {
            "cases": args.cases,
            "agenda_cases": len(cases),
            "median_seconds": statistics.median(seconds),
            "runs": seconds,
        }
        print(json.dumps(figures, indent=2))
        out_dir = Path(__file__).resolve().parent / "out"
        out_dir.mkdir(exist_ok=True)
        (out_dir / f"agenda-{args.cases}.json").write_text(json.dumps(figures, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
