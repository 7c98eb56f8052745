#!/usr/bin/env python
"""Benchmark panelctl's store at regional scale: build, start-up, bulk load, index, save.

    python benchmarks/bench_store.py                       # sizes 1000 and 10000 cases
    python benchmarks/bench_store.py --sizes 1000          # just the small one
    python benchmarks/bench_store.py --keep /tmp/pbench    # keep (and later reuse) stores

Each size builds a store of N cases with 10 actions each (N * 11 encrypted record files)
through the library's own Store.transaction, then times:

  a. ``panelctl --help`` and ``panelctl actions overdue ...`` (a real command: options
     parsed, store opened, index read) as processes, against ``python -c "import typer, rich"``;
  b. a full load of every case and action through ``Store.read`` (decrypt, epoch check, schema check), against a plain
     read + AES-GCM decrypt + ``yaml.load(CSafeLoader)`` of every file;
  c. the query index: a cold build, an "overdue actions" query in-process on a freshly
     opened store, and ``panelctl record list action --format json`` as a whole process;
  d. one save: ``Store.update`` of one case (risk changed), including its git commit.

Every name in the generated records is invented from random syllables. See README.md in
this folder for what each figure means and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

# Keep the user's (and the system's) git config out of every git call, ours and children's.
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
for _name in list(os.environ):
    if _name.startswith("PANELCTL_"):
        del os.environ[_name]
# Child processes load compiled bytecode, as an installed panelctl does: with
# PYTHONDONTWRITEBYTECODE set, every run would compile panelctl's modules again (~0.2 s).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import yaml  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from panelctl.crypto import envelope  # noqa: E402
from panelctl.crypto.identity import create_identity_file, read_identity_file  # noqa: E402
from panelctl.model import records  # noqa: E402
from panelctl.panel.setup import create_store  # noqa: E402
from panelctl.store import gitio  # noqa: E402
from panelctl.store.core import Store  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ACTIONS_PER_CASE = 10
HELP_TARGET = 1.3
COMMAND_TARGET = 2.5  # a real command (OVERDUE_COMMAND) over `import typer, rich`
OVERDUE_COMMAND = ("actions", "overdue", "--as-of", "03/01/2025", "--format", "json")
LOAD_TARGET = 1.5
SLOW = 1.0  # seconds: anything whose first run takes longer gets 3 runs instead of 5

# --- invented data ------------------------------------------------------------------------

SYLLABLES = (
    "zor quin vel tam bry lox dre fen gal hix jun kev lum mor nax oph pri quo rask sil "
    "tuv ulm vor wex yar zel bax cor dun eph fyl gor"
).split()
RISKS = ("High", "Medium", "Low")
AGENCIES = (
    "Police",
    "Children's Social Care",
    "Education",
    "Health",
    "Youth Offending Service",
    "Voluntary Sector",
)
TASKS = (
    "Share the latest Risk Factor Matrix with the panel",
    "Complete a return home interview",
    "Arrange a disruption visit to the address",
    "Refer to the specialist exploitation service",
    "Update the safety plan with the family",
    "Check school attendance and report back",
    "Request a strategy discussion",
    "Confirm the health assessment date",
)


def invented_name(rng: random.Random) -> str:
    def word(low: int, high: int) -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high))).capitalize()

    return f"{word(2, 3)} {word(2, 3)}"


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def case_data(rng: random.Random) -> dict:
    return {
        "status": "open" if rng.random() < 0.7 else "closed",
        "child": {
            "name": invented_name(rng),
            "dob": random_date(rng, date(2008, 1, 1), date(2014, 12, 31)),
        },
        "nominated": random_date(rng, date(2024, 1, 1), date(2026, 10, 31)),
        "lead_agency": rng.choice(AGENCIES),
        "risk": rng.choice(RISKS),
    }


def action_data(rng: random.Random, case_id: str, owners: list[str]) -> dict:
    return {
        "description": rng.choice(TASKS),
        "case": case_id,
        "agency": rng.choice(AGENCIES),
        "owner": rng.choice(owners),
        "due": random_date(rng, date(2025, 1, 1), date(2027, 12, 31)),
        "status": "open" if rng.random() < 0.5 else "done",
    }


# --- timing helpers -------------------------------------------------------------------------


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(fn, fast_runs: int = 5, slow_runs: int = 3, before=None) -> dict:
    """Median of 5 runs, or of 3 when the first run takes more than SLOW seconds."""
    runs = []
    result = None
    while True:
        if before is not None:
            before()
        seconds, result = timed(fn)
        runs.append(seconds)
        wanted = slow_runs if runs[0] > SLOW else fast_runs
        if len(runs) >= wanted:
            break
    return {"median": statistics.median(runs), "runs": runs, "result": result}


def run_process(args: list[str]) -> subprocess.CompletedProcess:
    # stdin from /dev/null: a command that asks on a terminal (nominate) must not wait for one
    done = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"{args} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done


def src_digest() -> str:
    """A digest of panelctl's source, to notice an edit made while the benchmark ran."""
    import hashlib

    import panelctl

    digest = hashlib.sha256()
    for path in sorted(Path(panelctl.__file__).parent.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".j2"):
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def tool_versions() -> dict:
    from importlib.metadata import version

    versions = {"python": platform.python_version()}
    for name in ("panelctl", "cryptography", "PyYAML", "msgspec", "typer", "rich"):
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - only informational
            versions[name] = None
    versions["git"] = subprocess.run(
        ["git", "--version"], capture_output=True, text=True
    ).stdout.strip()
    versions["libyaml"] = bool(getattr(yaml, "__with_libyaml__", False))
    import panelctl

    # PYTHONPATH=<a copy of src> benchmarks a fixed version while others edit src/
    versions["panelctl_imported_from"] = str(Path(panelctl.__file__).parent)
    try:
        repo = HERE.parent
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=repo, capture_output=True, text=True
        )
        versions["repo_head"] = head.stdout.strip() + ("+dirty-src" if dirty.stdout.strip() else "")
    except OSError:
        pass
    return versions


# --- building a store -------------------------------------------------------------------------


class GitTimer:
    """Wrap gitio.run during the build to say how much of a commit is git's own time."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._original = None

    def __enter__(self):
        self._original = original = gitio.run

        def run(root, args, **kwargs):
            start = time.perf_counter()
            try:
                return original(root, args, **kwargs)
            finally:
                self.seconds[f"git {args[0]}"] += time.perf_counter() - start

        gitio.run = run
        return self

    def __exit__(self, *exc):
        gitio.run = self._original


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--cases, --keep (build there once, or reuse) and --store/--identity (an existing store)."""
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--keep", type=Path, help="build here once, or reuse")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--identity", type=Path)


def kept_store(options: argparse.Namespace, default: Path, seed: int) -> tuple[Path, Path]:
    """The store and identity file the options name, building ``--cases`` cases in
    ``--keep`` (else ``default``) the first time: (store folder, identity file)."""
    if options.store:
        return options.store, options.identity
    base = options.keep or default
    root, identity = base / "store", base / "identity.json"
    if not root.exists():
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        base.chmod(0o700)  # an identity's folder must be private
        create_identity_file(identity, "Sam Coordinator", "sam@example.gov.uk", None, log_n=14)
        build_store(root, identity, options.cases, 2000, seed=seed)
    return root, identity


def build_store(root: Path, identity_path: Path, n_cases: int, chunk: int, seed: int) -> dict:
    identity = read_identity_file(identity_path).unlock()
    rng = random.Random(seed)
    owners = [invented_name(rng) for _ in range(60)]
    t_init, store = timed(
        lambda: create_store(
            root, "mace", f"Benchmark MACE ({n_cases} cases)", identity, "Bench Council"
        )
    )
    chunk = chunk or n_cases
    stage = commit = 0.0
    transactions = 0
    with GitTimer() as git_timer:
        for first in range(0, n_cases, chunk):
            count = min(chunk, n_cases - first)
            start = time.perf_counter()
            with store.transaction(f"Benchmark data: cases {first + 1}-{first + count}") as tx:
                for _ in range(count):
                    case_id = tx.create("case", case_data(rng))
                    for _ in range(ACTIONS_PER_CASE):
                        tx.create("action", action_data(rng, case_id, owners))
                staged = time.perf_counter()
            done = time.perf_counter()
            stage += staged - start
            commit += done - staged
            transactions += 1
            print(
                f"  transaction {transactions}: {count} cases staged in {staged - start:.1f} s, "
                f"written and committed in {done - staged:.1f} s",
                flush=True,
            )
    return {
        "seconds": t_init + stage + commit,
        "init_store_seconds": t_init,
        "stage_seconds": stage,
        "write_and_commit_seconds": commit,
        "git_seconds": dict(git_timer.seconds),
        "transactions": transactions,
        "cases_per_transaction": chunk,
    }


# --- the figures ------------------------------------------------------------------------------


def bench_help(root: Path, identity_path: Path) -> dict:
    """Start-up: ``--help`` (parses no option) and a real cron command (parses options,
    opens the store, reads the index), each against ``import typer, rich``."""
    panelctl = [sys.executable, "-m", "panelctl", "--help"]
    command = panelctl_command(root, identity_path, *OVERDUE_COMMAND)
    imports = [sys.executable, "-c", "import typer, rich"]
    run_process(panelctl)  # warm: compile .pyc files, fill the page cache
    run_process(command)  # (and bring the index up to date)
    run_process(imports)
    help_runs, command_runs, import_runs = [], [], []
    for _ in range(7):  # interleaved, so drift hits all the same
        help_runs.append(timed(lambda: run_process(panelctl))[0])
        command_runs.append(timed(lambda: run_process(command))[0])
        import_runs.append(timed(lambda: run_process(imports))[0])
    return {
        "help_process": {"median": statistics.median(help_runs), "runs": help_runs},
        "overdue_process": {
            "median": statistics.median(command_runs),
            "runs": command_runs,
            "command": " ".join(OVERDUE_COMMAND),
        },
        "import_typer_rich_process": {
            "median": statistics.median(import_runs),
            "runs": import_runs,
        },
    }


def baseline_load(root: Path, keys: dict[int, bytes], store_id: bytes) -> list:
    """The floor: read, AES-GCM open (AAD rebuilt from the expected path), the padding
    dropped (without the library's check of its form), CSafeLoader parse.

    Records are kept in a list, as ``list(store.load_all(...))`` keeps them, so both sides
    pay the same allocation and garbage-collector cost.
    """
    aeads = {epoch: AESGCM(key) for epoch, key in keys.items()}
    loader = yaml.CSafeLoader
    loaded = []
    for folder in ("cases", "actions"):
        directory = os.path.join(root, folder)
        for name in os.listdir(directory):
            if not name.endswith(".enc"):
                continue
            path = f"{folder}/{name}"
            with open(os.path.join(directory, name), "rb") as handle:
                blob = handle.read()
            epoch, _store, length = struct.unpack_from(">I16sH", blob, 8)
            encoded = path.encode()
            aad = blob[:8] + struct.pack(">I16sH", epoch, store_id, len(encoded)) + encoded
            start = 30 + length
            plaintext = aeads[epoch].decrypt(blob[start : start + 12], blob[start + 12 :], aad)
            if blob[:8] == envelope.MAGIC:  # format 2: drop the 0x80 mark and the zeros
                plaintext = plaintext.rstrip(b"\x00")[:-1]
            loaded.append(yaml.load(plaintext, Loader=loader))
    return loaded


def envelope_load(root: Path, keys: dict[int, bytes], store_id: bytes) -> list:
    """The same floor but through panelctl.crypto.envelope.decrypt (one AESGCM object per file)."""
    loader = yaml.CSafeLoader
    loaded = []
    for folder in ("cases", "actions"):
        directory = os.path.join(root, folder)
        for name in os.listdir(directory):
            if name.endswith(".enc"):
                with open(os.path.join(directory, name), "rb") as handle:
                    blob = handle.read()
                plaintext = envelope.decrypt(keys, store_id, f"{folder}/{name}", blob)
                loaded.append(yaml.load(plaintext, Loader=loader))
    return loaded


def measure_interleaved(fns: dict, runs: int = 5) -> dict:
    """Run several functions in turn, ``runs`` rounds, so drift and noise hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    counts = {}
    for _ in range(runs):
        for name, fn in fns.items():
            seconds, result = timed(fn)
            times[name].append(seconds)
            counts[name] = len(result)
            del result
    return {
        name: {"median": statistics.median(values), "runs": values, "records": counts[name]}
        for name, values in times.items()
    }


def bench_load(store: Store, runs: int) -> dict:
    keys, store_id, root = store.keyring.keys, store.store_id, store.root

    def library() -> list:
        return [store.read(i) for t in (records.CASE, records.ACTION) for i in store.ids(t)]

    out = measure_interleaved(
        {
            "load_all_library": library,
            "load_all_baseline": lambda: baseline_load(root, keys, store_id),
            "load_all_via_envelope": lambda: envelope_load(root, keys, store_id),
        },
        runs,
    )
    counts = {name: figure["records"] for name, figure in out.items()}
    if len(set(counts.values())) != 1:
        sys.exit(f"load counts differ: {counts}")
    return out


def overdue_query(root: Path, identity_path: Path, today: date) -> tuple[int, dict]:
    """What a fresh `panelctl actions overdue` process would do after start-up."""
    parts = {}
    t0 = time.perf_counter()
    identity = read_identity_file(identity_path).unlock()
    store = Store(root, identity)
    t1 = time.perf_counter()
    store.keyring  # noqa: B018 - unwrap the data key
    t2 = time.perf_counter()
    index = store.index()
    rows = list(index.rows("action"))  # an index that opens lazily does its work here
    t3 = time.perf_counter()
    overdue = [
        (rid, fields)
        for rid, fields in rows
        if fields.get("status") == "open" and (fields.get("due") or date.max) < today
    ]
    overdue.sort(key=lambda row: (row[1]["due"], records.number_of(row[0])))
    t4 = time.perf_counter()
    parts.update(store_open=t1 - t0, keyring_open=t2 - t1, index_rows=t3 - t2, filter_sort=t4 - t3)
    return len(overdue), parts


def drop_index(root: Path) -> None:
    """Delete the local query index, whatever its layout (index.bin, or index/<type>.bin)."""
    private = gitio.git_dir(root) / "panelctl"
    (private / "index.bin").unlink(missing_ok=True)
    shutil.rmtree(private / "index", ignore_errors=True)


def bench_index(root: Path, identity_path: Path) -> dict:
    identity = read_identity_file(identity_path).unlock()

    def cold() -> int:
        index = Store(root, identity).index()
        return sum(1 for t in ("case", "action") for _row in index.rows(t))

    out = {"index_cold_build": measure(cold, before=lambda: drop_index(root))}
    out["index_cold_build"]["entries"] = out["index_cold_build"].pop("result")

    today = date.today()
    runs, parts, found = [], defaultdict(list), None
    overdue_query(root, identity_path, today)  # warm
    for _ in range(7):
        seconds, (found, part) = timed(lambda: overdue_query(root, identity_path, today))
        runs.append(seconds)
        for key, value in part.items():
            parts[key].append(value)
    out["overdue_in_process"] = {
        "median": statistics.median(runs),
        "runs": runs,
        "overdue": found,
        "today": today.isoformat(),
        "parts_median": {key: statistics.median(values) for key, values in parts.items()},
    }

    command = [
        sys.executable, "-m", "panelctl", "--store", str(root), "--identity", str(identity_path),
        "record", "list", "action", "--format", "json",
    ]  # fmt: skip
    warm = run_process(command)  # warm, and check what it prints
    rows = json.loads(warm.stdout)
    figure = measure(lambda: run_process(command))
    figure.pop("result")
    figure.update(rows=len(rows), stdout_bytes=len(warm.stdout), note="lists ALL actions as JSON")
    out["record_list_action_json_process"] = figure
    return out


def bench_update(store: Store, n_cases: int) -> dict:
    ids = store.ids(records.CASE)
    picks = [ids[int(i * (len(ids) - 1) / 4)] for i in range(5)]
    runs = []
    for record_id in picks:
        record = store.read(record_id)
        record["risk"] = next(r for r in RISKS if r != record.get("risk"))
        seconds, changed = timed(lambda record=record: store.update(record))
        if not changed:
            sys.exit(f"update of {record_id} made no commit")
        runs.append(seconds)
    return {"update_one_case": {"median": statistics.median(runs), "runs": runs, "ids": picks}}


# --- cases: case list, nominate, rfm import (whole processes) ----------------------------


def panelctl_command(root: Path, identity_path: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "panelctl", "--store", str(root), "--identity", str(identity_path),
        *args,
    ]  # fmt: skip


def measure_process(command: list[str], runs: int = 5) -> dict:
    """Median of ``runs`` whole-process runs after one warm-up run (not counted)."""
    warm = run_process(command)
    times = [timed(lambda: run_process(command))[0] for _ in range(runs)]
    return {"median": statistics.median(times), "runs": times, "warm": warm}


def bench_case_list(root: Path, identity_path: Path) -> dict:
    out = {}
    command = panelctl_command(root, identity_path, "case", "list", "--format", "json")
    figure = measure_process(command)
    warm = figure.pop("warm")
    figure.update(rows=len(json.loads(warm.stdout)), stdout_bytes=len(warm.stdout))
    out["case_list_json_process"] = figure

    command = panelctl_command(root, identity_path, "case", "list", "--status", "open")
    command += ["--risk", "High"]
    figure = measure_process(command)
    warm = figure.pop("warm")
    figure.update(
        rows=sum(1 for line in warm.stdout.decode().splitlines() if line.startswith("│ C-")),
        stdout_bytes=len(warm.stdout),
    )
    out["case_list_open_high_table_process"] = figure
    return out


class ScratchCommits:
    """Let figures write to a kept store, then put it back as it was: HEAD, working tree
    and the local query index (whose tables record the commit they describe, so a reset
    alone would make the next open rebuild them from every record)."""

    def __init__(self, root: Path):
        self.root = root
        self.index_dir = gitio.git_dir(root) / "panelctl" / "index"
        self.saved = Path(tempfile.mkdtemp(prefix="panelctl-bench-index-"))

    def __enter__(self):
        self.head = gitio.head(self.root)
        if self.index_dir.exists():
            shutil.copytree(self.index_dir, self.saved / "index")
        return self

    def __exit__(self, *exc):
        start = time.perf_counter()
        git = ["git", "-C", str(self.root)]
        subprocess.run([*git, "reset", "--quiet", "--hard", self.head], check=True)
        subprocess.run([*git, "clean", "-fdq"], check=True)
        shutil.rmtree(self.index_dir, ignore_errors=True)
        if (self.saved / "index").exists():
            shutil.copytree(self.saved / "index", self.index_dir)
        shutil.rmtree(self.saved, ignore_errors=True)
        self.undo_seconds = time.perf_counter() - start


def commit_count(root: Path) -> int:
    return int(gitio.run(root, ["rev-list", "--count", "HEAD"]).strip())


def bench_nominate(root: Path, identity_path: Path, store: Store, rng: random.Random) -> dict:
    """Five nominations of new (invented) children, then one of a child already open."""
    out = {}
    runs, ids, warnings = [], [], []
    for _ in range(5):
        command = panelctl_command(
            root, identity_path, "nominate", "--name", invented_name(rng), "--dob", "14/03/2011",
            "--risk-level", "Medium", "--referring-agency", "X",
        )  # fmt: skip
        before = commit_count(root)
        seconds, done = timed(lambda command=command: run_process(command))
        if commit_count(root) != before + 1:
            sys.exit(f"nominate made {commit_count(root) - before} commits, not one")
        runs.append(seconds)
        ids.append(done.stdout.decode().strip())
        warnings += [w for w in done.stderr.decode().splitlines() if w.startswith("Warning")]
    out["nominate_process"] = {
        "median": statistics.median(runs),
        "runs": runs,
        "case_ids": ids,
        "warnings": warnings,
    }

    # The duplicate path: the first open case (from C-0001 on) has its name and dob given
    # again. A closed case only warns with a closing date within a year, which the
    # generated data never sets, so an open one is what shows the warning.
    for case_id in store.ids(records.CASE):
        case = store.read(case_id)
        if case["status"] == "open" and case["child"].get("dob"):
            break
    else:
        sys.exit("no open case with a date of birth to nominate again")
    child = case["child"]
    command = panelctl_command(
        root, identity_path, "nominate", "--name", child["name"],
        "--dob", child["dob"].strftime("%d/%m/%Y"), "--risk-level", "Medium",
        "--referring-agency", "X",
    )  # fmt: skip
    seconds, done = timed(lambda: run_process(command))
    warned = [w for w in done.stderr.decode().splitlines() if w.startswith("Warning")]
    if not any(case_id in w for w in warned):
        sys.exit(f"nominating {case_id}'s child again gave no warning: {done.stderr.decode()}")
    out["nominate_duplicate_process"] = {
        "median": seconds,
        "runs": [seconds],
        "matches": case_id,
        "warnings": warned,
        "new_case": done.stdout.decode().strip(),
    }
    return out


IMPORT_ROWS = 1000
IMPORT_COLUMNS = ("name", "dob", "assessment_date", "assessor", "assessor_agency", "level")


def write_import_csv(path: Path, rng: random.Random, rows: int = IMPORT_ROWS) -> None:
    """Invented, distinct children (letters and spaces only), assessed in the past at a
    level the MACE entry rules accept, so every row creates a case with one assessment."""
    import csv

    from panelctl.base.names import name_key

    today = date.today()
    seen: set[str] = set()
    assessors = [invented_name(rng) for _ in range(40)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_COLUMNS)
        while len(seen) < rows:
            name = invented_name(rng)
            if name_key(name) in seen:
                continue
            seen.add(name_key(name))
            writer.writerow(
                [
                    name,
                    random_date(rng, date(2008, 1, 1), date(2014, 12, 31)).strftime("%d/%m/%Y"),
                    (today - timedelta(days=rng.randint(1, 700))).strftime("%d/%m/%Y"),
                    rng.choice(assessors),
                    rng.choice(AGENCIES),
                    rng.choice(("Medium", "High")),
                ]
            )


def bench_import(root: Path, identity_path: Path, rng: random.Random) -> dict:
    """``rfm import`` of 1,000 new children: one commit; the same file again: none."""
    folder = Path(tempfile.mkdtemp(prefix="panelctl-bench-import-"))
    try:
        csv_path = folder / "rfms.csv"
        write_import_csv(csv_path, rng)
        command = panelctl_command(root, identity_path, "rfm", "import", str(csv_path))
        out = {}
        for key, commits, summary in (
            ("rfm_import_1000_process", 1, f"Imported: {IMPORT_ROWS} create case (one commit)."),
            ("rfm_import_again_process", 0, f"Nothing to import: {IMPORT_ROWS} unchanged."),
        ):
            before = commit_count(root)
            seconds, done = timed(lambda: run_process(command))
            made = commit_count(root) - before
            said = done.stderr.decode().strip().splitlines()
            if made != commits or summary not in said:
                sys.exit(f"rfm import: {made} commits (wanted {commits}); it said {said}")
            out[key] = {
                "median": seconds,
                "runs": [seconds],
                "rows": IMPORT_ROWS,
                "commits": made,
                "summary": said[-1],
                "stdout_bytes": len(done.stdout),
            }
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_writes(root: Path, identity_path: Path, store: Store, seed: int) -> dict:
    """Nominations and the import, on the store, then undone (see ScratchCommits)."""
    rng = random.Random(seed)
    out = {}
    with ScratchCommits(root) as scratch:
        print("  f. nominate ...", flush=True)
        out.update(bench_nominate(root, identity_path, store, rng))
    out["nominate_process"]["undo_seconds"] = scratch.undo_seconds
    with ScratchCommits(root) as scratch:
        print("  g. rfm import ...", flush=True)
        out.update(bench_import(root, identity_path, rng))
    out["rfm_import_1000_process"]["undo_seconds"] = scratch.undo_seconds
    return out


# --- reporting ----------------------------------------------------------------------------


def ratio(figures: dict, top: str, bottom: str, target: float) -> dict:
    value = figures[top]["median"] / figures[bottom]["median"]
    return {"value": value, "target": target, "met": value <= target, "of": f"{top} / {bottom}"}


LABELS = [
    ("help_process", "a  panelctl --help (process)"),
    ("overdue_process", "a  actions overdue --as-of 03/01/2025 (process)"),
    ("import_typer_rich_process", "a  python -c 'import typer, rich'"),
    ("load_all_library", "b  store.read() of every case and action"),
    ("load_all_baseline", "b  baseline: read+AESGCM+CSafeLoader"),
    ("load_all_via_envelope", "b  (info) baseline via envelope.decrypt"),
    ("index_cold_build", "c  index cold build (index deleted)"),
    ("overdue_in_process", "c  overdue actions, fresh Store, in-process"),
    ("record_list_action_json_process", "c  record list action --format json (proc)"),
    ("update_one_case", "d  Store.update one case + commit"),
    ("case_list_json_process", "e  case list --format json (proc)"),
    ("case_list_open_high_table_process", "e  case list --status open --risk High (proc)"),
    ("nominate_process", "f  nominate, new child (proc, commit)"),
    ("nominate_duplicate_process", "f  nominate, child already open (proc, 1 run)"),
    ("rfm_import_1000_process", "g  rfm import 1,000 rows (proc, 1 run)"),
    ("rfm_import_again_process", "g  rfm import same file again (proc, 1 run)"),
]

#: The cases issue's targets on 10,000 cases, in seconds: `case list` and `nominate` "well
#: under a second" (read as at most half a second), importing 1,000 rows "a few seconds,
#: not minutes" (read as at most 5 s). Checked at every size.
TIME_TARGETS = {
    "case_list_json_process": 0.5,
    "case_list_open_high_table_process": 0.5,
    "nominate_process": 0.5,
    "nominate_duplicate_process": 0.5,
    "rfm_import_1000_process": 5.0,
    "rfm_import_again_process": 5.0,
}


def print_table(result: dict) -> None:
    figures = result["figures"]
    print()
    print(
        f"== {result['cases']:,} cases, {result['actions']:,} actions "
        f"({result['cases'] + result['actions']:,} records) =="
    )
    build = result["build"]
    if build:
        git = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(build.get("git_seconds", {}).items()))
        print(
            f"build: {build['seconds']:.1f} s in {build['transactions']} transaction(s) "
            f"(stage {build['stage_seconds']:.1f} s, write+commit "
            f"{build['write_and_commit_seconds']:.1f} s; {git})"
        )
    print(f"{'figure':<48} {'median':>10} {'runs':>5}  {'target':<14} all runs (s)")
    for key, label in LABELS:
        if key in figures:
            f = figures[key]
            runs = " ".join(f"{r:.3f}" for r in f["runs"])
            verdict = ""
            if key in result.get("targets", {}):
                t = result["targets"][key]
                verdict = f"<={t['target']:g}s {'OK' if t['met'] else 'MISSED'}"
            print(f"{label:<48} {f['median']:>9.3f}s {len(f['runs']):>5}  {verdict:<14} {runs}")
    over = figures.get("overdue_in_process")
    if over:
        parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in over["parts_median"].items())
        print(f"   overdue: {over['overdue']:,} open actions due before {over['today']}; {parts}")
    listing = figures.get("record_list_action_json_process")
    if listing:
        print(
            f"   record list: {listing['rows']:,} rows, {listing['stdout_bytes'] / 1e6:.1f} MB "
            f"of JSON ({listing['note']})"
        )
    for key in ("case_list_json_process", "case_list_open_high_table_process"):
        if key in figures:
            f = figures[key]
            print(f"   {key}: {f['rows']:,} rows, {f['stdout_bytes'] / 1e6:.2f} MB of output")
    if "nominate_process" in figures:
        f, dup = figures["nominate_process"], figures["nominate_duplicate_process"]
        print(
            f"   nominate: made {', '.join(f['case_ids'])} ({len(f['warnings'])} warnings); "
            f"again for {dup['matches']}: {dup['warnings'][0]}"
        )
    if "rfm_import_1000_process" in figures:
        first, again = figures["rfm_import_1000_process"], figures["rfm_import_again_process"]
        print(
            f"   rfm import: {first['summary']} {first['commits']} commit; again: "
            f"{again['summary']} {again['commits']} commits"
        )
    machine = result["machine"]
    print(
        "load average (1/5/15 min) at start {} and end {} on {} CPUs: other work on the "
        "machine inflates every figure".format(
            "/".join(f"{x:.1f}" for x in machine["loadavg_at_start"]),
            "/".join(f"{x:.1f}" for x in machine["loadavg_at_end"]),
            machine["cpus"],
        )
    )
    versions = result["versions"]
    if versions["src_digest_at_start"] != versions["src_digest_at_end"]:
        print("WARNING: panelctl's source changed while this size ran; the figures mix versions.")
    for name, r in result["ratios"].items():
        verdict = "OK" if r["met"] else "MISSED"
        print(f"ratio {name:<14} {r['value']:>6.2f}x  (target <= {r['target']}x)  {verdict}")
    if "nominate_process" in figures:
        undo = figures["nominate_process"]["undo_seconds"]
        undo += figures.get("rfm_import_1000_process", {}).get("undo_seconds", 0)
        print(f"(f and g wrote to the store and were undone afterwards, in {undo:.1f} s)")


# --- main -------------------------------------------------------------------------------------


def run_size(base: Path, identity_path: Path, n_cases: int, args) -> dict:
    root = base / f"store-{n_cases}"
    marker = base / f"store-{n_cases}.build.json"
    build = None
    if args.keep and root.exists() and marker.exists() and not args.rebuild:
        build = json.loads(marker.read_text())
        print(f"reusing {root} (built earlier in {build['seconds']:.1f} s; --rebuild to redo)")
        build = {**build, "reused": True}
    else:
        if root.exists():
            shutil.rmtree(root)
        print(f"building {root}: {n_cases:,} cases x {ACTIONS_PER_CASE} actions ...", flush=True)
        build = build_store(root, identity_path, n_cases, args.chunk, args.seed + n_cases)
        marker.write_text(json.dumps(build, indent=2))
        print(f"  built in {build['seconds']:.1f} s", flush=True)

    identity = read_identity_file(identity_path).unlock()
    store = Store(root, identity)
    load_at_start = os.getloadavg()
    digest_at_start = src_digest()
    figures = {}
    wanted = set(args.figures)
    if "a" in wanted:
        print("  a. start-up ...", flush=True)
        figures.update(bench_help(root, identity_path))
    if "b" in wanted:
        print("  b. full load ...", flush=True)
        figures.update(bench_load(store, args.load_runs))
    if "c" in wanted:
        print("  c. index ...", flush=True)
        figures.update(bench_index(root, identity_path))
    if "d" in wanted:
        print("  d. update ...", flush=True)
        figures.update(bench_update(Store(root, identity), n_cases))
    if "e" in wanted:
        print("  e. case list ...", flush=True)
        figures.update(bench_case_list(root, identity_path))
    if "f" in wanted or "g" in wanted:
        # (f and g are run together: each is undone after it, see bench_writes)
        figures.update(bench_writes(root, identity_path, Store(root, identity), args.seed))

    result = {
        "cases": n_cases,
        "actions": n_cases * ACTIONS_PER_CASE,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "filesystem_tmp": str(base),
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": os.getloadavg(),
        },
        "versions": {
            **tool_versions(),
            "src_digest_at_start": digest_at_start,
            "src_digest_at_end": src_digest(),
        },
        "build": build,
        "figures": figures,
        "ratios": {},
        "targets": {
            key: {"target": target, "met": figures[key]["median"] <= target}
            for key, target in TIME_TARGETS.items()
            if key in figures
        },
    }
    if "help_process" in figures:
        result["ratios"]["help"] = ratio(
            figures, "help_process", "import_typer_rich_process", HELP_TARGET
        )
    if "overdue_process" in figures:
        result["ratios"]["command"] = ratio(
            figures, "overdue_process", "import_typer_rich_process", COMMAND_TARGET
        )
    if "load_all_library" in figures:
        result["ratios"]["load_all"] = ratio(
            figures, "load_all_library", "load_all_baseline", LOAD_TARGET
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="numbers of cases, comma-separated")
    parser.add_argument(
        "--keep", type=Path, help="build stores here and keep them (reused next time)"
    )
    parser.add_argument("--rebuild", action="store_true", help="with --keep: rebuild kept stores")
    parser.add_argument(
        "--chunk", type=int, default=0, help="cases per transaction (0: all in one)"
    )
    parser.add_argument("--seed", type=int, default=20251)
    parser.add_argument(
        "--load-runs", type=int, default=5, help="interleaved rounds of the full-load figures (b)"
    )
    parser.add_argument(
        "--figures",
        default="abcdefg",
        help="which groups of figures to run (letters, default abcdefg; f and g run together)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    if args.keep:
        base = args.keep.expanduser().resolve()
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        base = Path(tempfile.mkdtemp(prefix="panelctl-bench-"))
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        identity_path = base / "identity" / "bench-coordinator.json"
        if not identity_path.exists():
            create_identity_file(
                identity_path, "Bench Coordinator", "bench@example.invalid", passphrase=None
            )
        results = []
        for n_cases in sizes:
            result = run_size(base, identity_path, n_cases, args)
            out_file = OUT / f"results-{n_cases}.json"
            out_file.write_text(json.dumps(result, indent=2, default=str) + "\n")
            print_table(result)
            print(f"(written to {out_file})\n", flush=True)
            results.append(result)
        if len(results) > 1:
            print("== summary (medians, seconds) ==")
            print(f"{'figure':<48} " + " ".join(f"{r['cases']:>10,}     " for r in results))
            for key, label in LABELS:
                if all(key in r["figures"] for r in results):
                    cells = []
                    for r in results:
                        cell = f"{r['figures'][key]['median']:>10.3f}"
                        if key in r["targets"]:
                            cell += " ok" if r["targets"][key]["met"] else " MISS"
                        cells.append(f"{cell:<15}")
                    print(f"{label:<48} " + " ".join(cells))
            for name in results[0]["ratios"]:
                print(
                    f"{'ratio ' + name:<48} "
                    + " ".join(f"{r['ratios'][name]['value']:>9.2f}x     " for r in results)
                )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
