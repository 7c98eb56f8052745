"""Benchmarks for signed, verified history (issue 11).

Builds (or reuses, with --keep) a store of N cases with 10 actions each (bench_store.py's
builder), then measures:

- a one-record write (Store.update) end to end, and what signing adds to it: the Ed25519
  SSH signature of the commit, the role check before the write (chain rules) and the
  trust-file update, timed on their own in the same process;
- an incremental `verify` after 100 new one-record commits (history and the files they
  changed), in-process and as a `panelctl verify` process;
- a full `verify --all` (whole history, every record) against the files-only check that
  `verify` did before history was checked (`_files(store)`: decrypt and validate every
  record).

    python benchmarks/bench_trust.py --sizes 1000
    python benchmarks/bench_trust.py --sizes 10000 --keep /tmp/ptrust
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import RISKS, build_store  # noqa: E402

from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.model import records  # noqa: E402
from panelctl.store import chain, gitio  # noqa: E402
from panelctl.store.core import Store  # noqa: E402
from panelctl.store.verify import _files, verify  # noqa: E402


def median_of(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def one_record_writes(store: Store, count: int) -> list[float]:
    ids = store.ids(records.CASE)
    times = []
    for n in range(count):
        record = store.read(ids[(n * 37) % len(ids)])
        record["risk"] = next(r for r in RISKS if r != record.get("risk"))
        start = time.perf_counter()
        if not store.update(record):
            sys.exit("an update made no commit")
        times.append(time.perf_counter() - start)
    return times


def signing_parts(store: Store, runs: int = 50) -> dict:
    identity = store.identity
    head = gitio.head(store.root)
    payload = gitio.commit_text(
        "0" * 40, [head], "Update case C-0001", gitio.Author("Bench", "b@x"), 0
    )
    sign, _ = median_of(lambda: identity.sign(payload), runs)
    keyring = store.keyring
    path = "cases/C-0001.enc"
    blob = (store.root / path).read_bytes()

    def rules():
        chain.check_change(
            "",
            store.me(),
            keyring,
            keyring,
            [chain.Change("M", path)],
            lambda _p: int.from_bytes(blob[8:12], "big"),
            lambda _p: (None, None),
        )

    check, _ = median_of(rules, runs)
    trust = chain.read_trust(store.private)
    write, _ = median_of(lambda: chain.write_trust(store.private, trust), runs)
    gate, _ = median_of(store.require_verified, runs)
    return {
        "sign_commit_ms": sign * 1000,
        "role_check_ms": check * 1000,
        "trust_write_ms": write * 1000,
        "verified_gate_ms": gate * 1000,
        "total_ms": (sign + check + write + gate) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    base = args.keep or Path(tempfile.mkdtemp(prefix="panelctl-trust-"))
    base.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = base / f"store-{size}"
        identity_path = base / "identity.json"
        if not identity_path.exists():
            create_identity_file(identity_path, "Bench Coordinator", "b@example.invalid")
        if not (folder / "panelctl.yaml").exists():
            print(f"building {size} cases ...", flush=True)
            build_store(folder, identity_path, size, 0, 1)
        store = Store(folder, read_identity_file(identity_path).unlock())
        verify(store)  # a clean start: HEAD verified
        print(f"\n{size} cases, {size * 11} record files")
        writes = one_record_writes(store, 10)
        print(f"  one-record write: median {statistics.median(writes) * 1000:.0f} ms")
        parts = signing_parts(store)
        print(
            "  signing adds: "
            + ", ".join(f"{k.removesuffix('_ms')} {v:.2f} ms" for k, v in parts.items())
        )
        trust = chain.read_trust(store.private)
        one_record_writes(store, 100)
        trust_now = chain.read_trust(store.private)
        trust_now.verified = trust.verified  # as if the 100 commits came by `git pull`
        chain.write_trust(store.private, trust_now)
        start = time.perf_counter()
        report = verify(store)
        incremental = time.perf_counter() - start
        assert report.commits == 100 and not report.problems, report
        print(f"  incremental verify of 100 commits (library): {incremental:.2f} s")
        chain.write_trust(store.private, trust_now)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "panelctl", "--store", str(folder), "--identity",
             str(identity_path), "verify"],
            check=True,
        )  # fmt: skip
        print(f"  incremental verify of 100 commits (process): {time.perf_counter() - start:.2f} s")
        files_only, _ = median_of(lambda store=store: _files(store), 1)
        print(f"  files-only check (the old verify): {files_only:.2f} s")
        start = time.perf_counter()
        report = verify(store, everything=True)
        full = time.perf_counter() - start
        assert not report.problems, report.problems[:3]
        print(
            f"  verify --all ({report.commits} commits): {full:.2f} s, "
            f"{full / files_only:.2f}x the files-only check"
        )


if __name__ == "__main__":
    main()
