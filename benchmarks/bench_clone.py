"""Benchmark for `panelctl clone` (issue 12: clone plus its index within 1.5x of `git
clone` plus today's cold index build).

Builds (or reuses, with --keep) a store of N cases with 10 actions each (bench_store.py's
builder, one commit), makes a bare remote of it, then times, in interleaved rounds:

- ``git clone`` of the remote as a process: from its path (git's default for a local
  path: hard links) and over ``file://`` (a pack made and sent, as over ssh or https);
- the cold index build that follows a plain clone today (every table, in-process, the
  history accepted first so that only the build is timed);
- ``panelctl clone`` as a process (start-up, clone, `setup`, `verify --all`, index);
- its parts in-process: the git clone (gitio.clone), the whole-history check
  (verify(everything=True), which keeps each record's index entry as it checks it) and
  the index saved from those entries (Index.build_from: no record decrypted twice).

    python benchmarks/bench_clone.py --sizes 1000
    python benchmarks/bench_clone.py --sizes 10000 --keep /tmp/pclone --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build_store, drop_index  # noqa: E402  (also isolates git config)

from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.model import records  # noqa: E402
from panelctl.store import (
    casekeys,  # noqa: E402
    gitio,  # noqa: E402
)
from panelctl.store.core import Store, setup_clone  # noqa: E402
from panelctl.store.verify import verify  # noqa: E402

TARGET = 1.5


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(args: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"{args} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


def index_build(root: Path, identity) -> None:
    index = Store(root, identity).index()
    index.prepare(records.TYPES)


def bench_size(base: Path, identity_path: Path, size: int, runs: int) -> dict:
    folder = base / f"store-{size}"
    if not (folder / "panelctl.yaml").exists():
        print(f"building {size} cases ...", flush=True)
        build_store(folder, identity_path, size, 0, 1)
    remote = base / f"remote-{size}.git"
    if not remote.exists():
        run(["git", "clone", "--quiet", "--bare", str(folder), str(remote)])
        keys = casekeys.keys_repo(folder)  # the case-key table, as `panelctl sync` pushes it
        if keys is not None:
            run(["git", "-C", str(keys), "push", "-q", str(remote),
                 f"+{casekeys.REF}:{casekeys.REF}"])  # fmt: skip
    identity = read_identity_file(identity_path).unlock()
    scratch = base / "scratch"
    panelctl = [sys.executable, "-m", "panelctl", "--identity", str(identity_path), "clone"]
    figures: dict[str, list[float]] = {}

    dest = scratch / "clone"
    url = f"file://{remote}"

    def fresh() -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    for _round in range(runs):
        fresh()
        note("git clone (path)", timed(lambda: run(["git", "clone", "-q", str(remote), str(dest)])))
        fresh()
        note("git clone (file://)", timed(lambda: run(["git", "clone", "-q", url, str(dest)])))
        setup_clone(dest)
        verify(Store(dest, identity), everything=True)  # accepted, so only the build is timed
        drop_index(dest)
        note("cold index build", timed(lambda: index_build(dest, identity)))

        fresh()
        note("panelctl clone (process)", timed(lambda: run([*panelctl, str(remote), str(dest)])))
        fresh()
        note("  gitio.clone", timed(lambda: gitio.clone(str(remote), dest)))
        setup_clone(dest)
        store, entries = Store(dest, identity), {}
        checked = timed(lambda s=store, e=entries: verify(s, everything=True, index_entries=e))
        note("  verify --all", checked)
        note(
            "  index from verify's entries",
            timed(lambda s=store, e=entries: s.index().build_from(e)),
        )
    shutil.rmtree(scratch, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in figures.items()}
    baseline = medians["git clone (path)"] + medians["cold index build"]
    medians["ratio"] = medians["panelctl clone (process)"] / baseline
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{size} cases, {size * 11} record files; medians of {runs} runs; load {load}")
    for name, value in medians.items():
        if name == "ratio":
            verdict = "meets" if value <= TARGET else "MISSES"
            print(f"  panelctl clone / (git clone + cold index build): {value:.2f}x "
                  f"({verdict} the {TARGET}x target)")  # fmt: skip
        else:
            print(f"  {name:<28} {value:7.2f} s")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build stores here and keep them")
    args = parser.parse_args()
    base = args.keep.expanduser().resolve() if args.keep else None
    base = base or Path(tempfile.mkdtemp(prefix="panelctl-clone-"))
    base.mkdir(parents=True, exist_ok=True)
    identity_path = base / "identity" / "bench-coordinator.json"
    if not identity_path.exists():
        identity_path.parent.mkdir(mode=0o700, exist_ok=True)
        create_identity_file(identity_path, "Bench Coordinator", "b@example.invalid")
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(base, identity_path, size, args.runs)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
