#!/usr/bin/env python
"""What padding records to a size bucket costs: disk, writes and reads.

    python benchmarks/bench_padding.py                     # sample-store, and 1,000 cases
    python benchmarks/bench_padding.py --cases 300         # quicker
    python benchmarks/bench_padding.py --keep /tmp/ppad    # keep (and later reuse) the stores

1. sample-store/: every record decrypted, and its size sealed as format 1 (no padding, as
   the sample store's files are), format 2 (padded, what panelctl writes now) and, for
   comparison, the schemes that were not chosen (Padme; powers of two with other floors).
2. Two stores of N cases built as bench_store.py builds them (10 actions a case, one
   transaction), one padded (format 2) and one as panelctl wrote before padding (format 1,
   envelope.encrypt swapped for the old writer): the build's time, the bytes of the record
   files and of git's objects after ``git gc``; reading every case and action through
   ``Store.read`` (interleaved rounds); ``Store.update`` of one case and its commit, and one
   transaction changing every case (alternating); and envelope.encrypt / envelope.decrypt
   alone over every case and action, in memory.

Every name is invented (bench_store.py's syllables). See README.md, "Padding".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_store  # noqa: E402  (sets the git environment for every call)

from panelctl.crypto import envelope  # noqa: E402
from panelctl.crypto import primitives as crypto  # noqa: E402
from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.model import records  # noqa: E402
from panelctl.panel.demo import prepare_demo  # noqa: E402
from panelctl.store.core import Store  # noqa: E402

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample-store"
OVERHEAD = crypto.NONCE_SIZE + crypto.TAG_SIZE


# --- the schemes compared -------------------------------------------------------------------


def padme(length: int) -> int:
    """Padme (PURBs, Nikitin et al. 2019): keep the top floor(log2 E)+1 bits of L."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def power_of_two(floor: int):
    return lambda length: max(floor, 1 << (length - 1).bit_length())


SCHEMES = {
    "none (format 1)": lambda length: length - 1,  # no mark either
    "Padme": padme,
    "powers of two, floor 256 B": power_of_two(256),
    "powers of two, floor 512 B": power_of_two(512),
    "powers of two, floor 1 KiB (chosen)": envelope.bucket,
}


def encrypt_unpadded(key, epoch, store_id, path, plaintext):
    """Format 1, as panelctl wrote records before padding."""
    head = envelope.header(epoch, store_id, path, envelope.MAGIC_UNPADDED)
    return head + crypto.seal(key, plaintext, head)


@contextlib.contextmanager
def unpadded_writes():
    padded = envelope.encrypt
    envelope.encrypt = encrypt_unpadded
    try:
        yield
    finally:
        envelope.encrypt = padded


# --- 1. sample-store ------------------------------------------------------------------------


def plaintexts(store: Store) -> dict[str, list[tuple[str, bytes]]]:
    out = defaultdict(list)
    for rtype in records.TYPES.values():
        for record_id in store.ids(rtype):
            out[rtype.folder].append((rtype.path_for(record_id), store.read_plaintext(record_id)))
    return out


def size_table(store: Store, by_folder: dict) -> dict:
    """Bytes on disk per folder under each scheme (header, nonce and tag included)."""
    table = {}
    for name, scheme in SCHEMES.items():
        per_folder, distinct = {}, set()
        for folder, items in sorted(by_folder.items()):
            total = 0
            for path, plaintext in items:
                sealed = scheme(len(plaintext) + 1)
                distinct.add(sealed)
                total += len(envelope.header(1, store.store_id, path)) + OVERHEAD + sealed
            per_folder[folder] = total
        table[name] = {
            "bytes": sum(per_folder.values()),
            "per_folder": per_folder,
            "distinct_sealed_sizes": len(distinct),
        }
    # The chosen scheme as really written, to check the arithmetic above.
    keyring = store.keyring
    written = sum(
        len(envelope.encrypt(keyring.key, keyring.epoch, store.store_id, path, plaintext))
        for items in by_folder.values()
        for path, plaintext in items
    )
    assert written == table["powers of two, floor 1 KiB (chosen)"]["bytes"], written
    return table


def bench_sample(base: Path) -> dict:
    demo = prepare_demo(SAMPLE, base / "sample")
    store = Store(demo.store, read_identity_file(demo.identity).unlock())
    by_folder = plaintexts(store)
    on_disk = sum(p.stat().st_size for p in demo.store.glob("*/*.enc"))
    lengths = {
        folder: [len(plaintext) for _path, plaintext in items]
        for folder, items in sorted(by_folder.items())
    }
    table = size_table(store, by_folder)
    assert table["none (format 1)"]["bytes"] == on_disk, (on_disk, table["none (format 1)"])
    return {
        "records": sum(map(len, lengths.values())),
        "plaintext_lengths": lengths,
        "sizes": table,
    }


# --- 2. benchmark stores --------------------------------------------------------------------


def disk_bytes(root: Path) -> dict:
    files = sum(p.stat().st_size for p in root.glob("*/*.enc"))
    subprocess.run(["git", "-C", str(root), "gc", "-q"], check=True)
    objects = sum(p.stat().st_size for p in (root / ".git" / "objects").rglob("*") if p.is_file())
    return {"record_files": files, "git_objects_after_gc": objects}


def build(base: Path, identity_path: Path, n_cases: int, padded: bool, seed: int) -> dict:
    name = "padded" if padded else "unpadded"
    root = base / f"{name}-{n_cases}"
    marker = base / f"{name}-{n_cases}.build.json"
    if root.exists() and marker.exists():
        print(f"reusing {root}", flush=True)
        return json.loads(marker.read_text())
    shutil.rmtree(root, ignore_errors=True)
    print(f"building {root} ...", flush=True)
    with contextlib.nullcontext() if padded else unpadded_writes():
        figures = bench_store.build_store(root, identity_path, n_cases, 0, seed)
    figures["disk"] = disk_bytes(root)
    marker.write_text(json.dumps(figures, indent=2))
    return figures


def bench_read(stores: dict[str, Store], runs: int) -> dict:
    def read_all(store: Store):
        return lambda: [store.read(i) for t in (records.CASE, records.ACTION) for i in store.ids(t)]

    return bench_store.measure_interleaved(
        {name: read_all(store) for name, store in stores.items()}, runs
    )


def bench_update(stores: dict[str, Store], runs: int) -> dict:
    times = defaultdict(list)
    ids = stores["padded"].ids(records.CASE)
    for round_ in range(runs):
        record_id = ids[(round_ * 997) % len(ids)]
        for name, store in stores.items():
            record = store.read(record_id)
            record["risk"] = next(r for r in bench_store.RISKS if r != record.get("risk"))
            with contextlib.nullcontext() if name == "padded" else unpadded_writes():
                seconds, changed = bench_store.timed(lambda s=store, r=record: s.update(r))
            assert changed, record_id
            times[name].append(seconds)
    return {name: {"median": statistics.median(v), "runs": v} for name, v in times.items()}


def bench_update_all(stores: dict[str, Store], runs: int) -> dict:
    """One transaction that changes every case (what a bulk edit costs), alternating."""
    times = defaultdict(list)
    for _ in range(runs):
        for name, store in stores.items():
            cases = [store.read(i) for i in store.ids(records.CASE)]
            for record in cases:
                record["risk"] = next(r for r in bench_store.RISKS if r != record.get("risk"))

            def save(store=store, cases=cases):
                with store.transaction("Benchmark: every case's risk changed") as tx:
                    for record in cases:
                        tx.put(record)

            with contextlib.nullcontext() if name == "padded" else unpadded_writes():
                seconds, _ = bench_store.timed(save)
            times[name].append(seconds)
    return {
        name: {"median": statistics.median(v), "min": min(v), "runs": v}
        for name, v in times.items()
    }


def bench_envelope(store: Store, runs: int) -> dict:
    """envelope.encrypt and decrypt alone, in memory, over every case and action."""
    keyring = store.keyring
    key, epoch, store_id = keyring.key, keyring.epoch, store.store_id
    items = [
        (t.path_for(i), store.read_plaintext(i))
        for t in (records.CASE, records.ACTION)
        for i in store.ids(t)
    ]
    blobs = {}

    def write(writer, name):
        def run():
            blobs[name] = [(p, writer(key, epoch, store_id, p, x)) for p, x in items]
            return blobs[name]

        return run

    def read(name):
        return lambda: [envelope.decrypt({epoch: key}, store_id, p, b) for p, b in blobs[name]]

    out = bench_store.measure_interleaved(
        {
            "encrypt_padded": write(envelope.encrypt, "padded"),
            "encrypt_unpadded": write(encrypt_unpadded, "unpadded"),
        },
        runs,
    )
    out.update(
        bench_store.measure_interleaved(
            {"decrypt_padded": read("padded"), "decrypt_unpadded": read("unpadded")}, runs
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build stores here and keep them")
    parser.add_argument("--runs", type=int, default=5, help="rounds of each timed figure")
    parser.add_argument("--seed", type=int, default=20251)
    args = parser.parse_args()
    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="panelctl-pad-"))
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        shutil.rmtree(base / "sample", ignore_errors=True)
        result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sample_store": bench_sample(base)}
        identity_path = base / "identity.json"
        if not identity_path.exists():
            create_identity_file(identity_path, "Bench Coordinator", passphrase=None)
        identity = read_identity_file(identity_path).unlock()
        builds = {
            name: build(base, identity_path, args.cases, name == "padded", args.seed)
            for name in ("unpadded", "padded")
        }
        stores = {name: Store(base / f"{name}-{args.cases}", identity) for name in builds}
        print("reading ...", flush=True)
        result["store"] = {
            "cases": args.cases,
            "build": builds,
            "read_all": bench_read(stores, args.runs),
            "update_one_case": bench_update(stores, args.runs),
            "update_every_case": bench_update_all(stores, max(3, args.runs // 2)),
            "envelope_only": bench_envelope(stores["padded"], args.runs),
            "loadavg_at_end": list(__import__("os").getloadavg()),
        }
        report(result)
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        (out / f"padding-{args.cases}.json").write_text(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def report(result: dict) -> None:
    sample = result["sample_store"]
    print(f"\nsample-store: {sample['records']} records")
    base = sample["sizes"]["none (format 1)"]["bytes"]
    for name, figure in sample["sizes"].items():
        growth = 100 * (figure["bytes"] - base) / base
        print(
            f"  {name:38s} {figure['bytes']:>9,} bytes  {growth:+6.0f} %  "
            f"{figure['distinct_sealed_sizes']:>3} distinct sizes"
        )
    store = result["store"]
    print(f"\n{store['cases']:,} cases, {store['cases'] * 10:,} actions")
    for name, figures in store["build"].items():
        disk = figures["disk"]
        print(
            f"  {name:9s} build {figures['seconds']:6.1f} s (stage {figures['stage_seconds']:.1f} s)"
            f"  record files {disk['record_files'] / 1e6:7.1f} MB"
            f"  git objects after gc {disk['git_objects_after_gc'] / 1e6:7.1f} MB"
        )
    for group in ("read_all", "update_one_case", "update_every_case", "envelope_only"):
        for name, figure in store[group].items():
            print(
                f"  {group:17s} {name:17s} median {figure['median'] * 1000:9.1f} ms"
                f"  fastest {min(figure['runs']) * 1000:9.1f} ms"
            )


if __name__ == "__main__":
    main()
