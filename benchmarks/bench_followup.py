#!/usr/bin/env python
"""Benchmark the cron commands (`actions overdue`, `review due`) and the reports and map, as processes.

    python benchmarks/bench_followup.py --keep /tmp/pbench      # reuse bench_store.py's stores
    python benchmarks/bench_followup.py --keep /tmp/pbench --only cron   # just the cron figures

Uses (or builds) the store of 10,000 cases and 100,000 actions made by bench_store.py.

First the cron read commands (``CRON``), each against ``python -c "import typer, rich"`` in
the same run: one warm-up each, then 7 rounds, each round running every command once
(interleaved, so drift hits all the same); the median of each and its ratio to the import.
Target: each within 2.5x of ``import typer, rich``.

Then every command in ``COMMANDS`` 5 times (median), printing how many rows each listed,
since printing tens of thousands of rows costs more than the query. Target (follow-up
issue): about a quarter of a second.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_store  # noqa: E402  (sets the git environment; bytecode on)

from panelctl.crypto.identity import create_identity_file  # noqa: E402

#: The read commands a cron job runs, timed against ``import typer, rich`` (see the docstring).
CRON = {
    "actions overdue --as-of 03/01/2025 --format json": [
        "actions",
        "overdue",
        "--as-of",
        "03/01/2025",
        "--format",
        "json",
    ],
    "review due --as-of 23/11/2026 --format json": [
        "review",
        "due",
        "--as-of",
        "23/11/2026",
        "--format",
        "json",
    ],
    "case list --status open --risk High": ["case", "list", "--status", "open", "--risk", "High"],
}
CRON_TARGET = 2.5  # times `python -c "import typer, rich"`
IMPORTS = "python -c 'import typer, rich'"

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


def run(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the process: user + system, the result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, result


def count_rows(stdout: str) -> int:
    """Rows of a JSON list (one object a line) or of a plain table (after its dashes)."""
    lines = stdout.splitlines()
    if any(line.lstrip().startswith("{") for line in lines):
        return sum(1 for line in lines if line.lstrip().startswith("{"))
    dashes = next((i for i, line in enumerate(lines) if line.startswith("---")), None)
    return 0 if dashes is None else len(lines) - dashes - 1


def bench_cron(prefix: list[str], rounds: int = 7) -> dict:
    """The cron commands and ``import typer, rich``, interleaved; medians and ratios."""
    commands = {IMPORTS: [sys.executable, "-c", "import typer, rich"]}
    commands.update({label: prefix + args for label, args in CRON.items()})
    rows = {}
    for label, command in commands.items():  # warm: .pyc files, page cache, index up to date
        _wall, _cpu, result = run(command)
        if result.returncode != 0:
            sys.exit(f"{label} failed ({result.returncode}): {result.stderr}")
        rows[label] = count_rows(result.stdout)
    times: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            wall, cpu, _result = run(command)
            times[label].append(wall)
            cpus[label].append(cpu)
    base = statistics.median(times[IMPORTS])
    base_cpu = statistics.median(cpus[IMPORTS])
    figures = {}
    print(f"{'':52s} {'wall':>7s}  {'ratio':>6s}  {'':6s}  {'CPU':>6s}  {'ratio':>6s}  rows")
    for label in commands:
        median, cpu = statistics.median(times[label]), statistics.median(cpus[label])
        figures[label] = {
            "median": median,
            "runs": times[label],
            "ratio": median / base,
            "cpu_median": cpu,
            "cpu_runs": cpus[label],
            "cpu_ratio": cpu / base_cpu,
            "rows": rows[label] if label != IMPORTS else None,
        }
        verdict = "" if label == IMPORTS else "OK" if median / base <= CRON_TARGET else "MISSED"
        print(
            f"{label:52s} {median:6.3f}s  {median / base:5.2f}x  {verdict:6s}  {cpu:5.3f}s  "
            f"{cpu / base_cpu:5.2f}x  {'' if label == IMPORTS else rows[label]}",
            flush=True,
        )
    print(
        f"(median of {rounds}, interleaved; target <= {CRON_TARGET}x the import's wall time; "
        "CPU time, user + system, moves less when other work shares the machine)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument(
        "--only", choices=("cron", "commands"), help="run only the cron figures or the rest"
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the cron figures")
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
    if args.only != "commands":
        figures = bench_cron(prefix, args.rounds)
        out = bench_store.OUT / f"cron-{args.cases}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps({"versions": bench_store.tool_versions(), "figures": figures}, indent=2)
        )
        print(f"(written to {out})\n")
    if args.only == "cron":
        return
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
