"""A full disk is its own error (exit 19, one sentence), never exit 70 or a traceback; the
store is left exactly as it was, and once space is freed the next write succeeds.

Two real ways to run out of space:
- a real full file system: the store is copied onto a small tmpfs (mounted in a private
  mount namespace with `unshare`, so no root is needed where user namespaces are allowed;
  skipped where they are not) and the tmpfs filled up to a chosen number of free bytes,
  from none to enough for the whole write, so that each step of a write meets the full
  disk in turn (the journal, the record file, git's objects, its index, the ref);
- a file size limit (RLIMIT_FSIZE, as `ulimit -f` sets): writes past it fail with EFBIG,
  and git, which does not ignore SIGXFSZ, is ended by it.
Each write is a real `panelctl` process; nominations and action notes alternate.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from conftest import git
from panelctl.base.errors import ExitCode
from panelctl.panel.setup import create_store

MARAC = [
    *("--dob", "14/03/2011", "--protocol-followed", "--exploitation-type", "sexual"),
    *("--referring-agency", "Avon and Somerset Police", "--date", "01/11/2026"),
]


def write_args(n: int, label: str) -> list[str]:
    if n % 2:
        return ["actions", "update", "A-00001", "--note", f"{label} {n}"]
    return ["nominate", "--name", f"{label} {n}", *MARAC]


def snapshot(root: Path) -> dict:
    """Everything a failed write must leave as it was, read without running git."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if path.is_file() and not relative.startswith(".git/objects/"):
            if relative.startswith(".git/panelctl/"):
                continue  # panelctl's own cache: the query index may lag, by design
            files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.fixture
def marac(tmp_path, coordinator):
    store = create_store(
        tmp_path / "marac", "cse-marac", "Full MARAC", coordinator.unlock(), "B&NES Council"
    )
    with store.transaction() as tx:
        case = tx.create("case", {"status": "open", "child": {"name": "First Child"}})
        tx.create(
            "action",
            {
                "description": "Visit",
                "case": case,
                "agency": "Police",
                "owner": "Jo Worker",
                "due": date(2099, 1, 1),
                "status": "open",
            },
        )
    return store


def panelctl(root: Path, identity: Path, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "panelctl", "--store", str(root), "--identity", str(identity)]
        + args,
        capture_output=True,
        text=True,
        **kwargs,
    )


def check_outcome(root: Path, before: dict, head: str, result, n: int) -> str:
    """The write either failed as a full disk and changed nothing, or succeeded whole."""
    assert "Traceback" not in result.stderr, (n, result.stderr)
    now = git(root, "rev-parse", "HEAD").strip()
    if result.returncode == 0:
        assert git(root, "rev-list", "--count", f"{head}..HEAD").strip() == "1", n
        return "saved"
    assert result.returncode == ExitCode.NO_SPACE == 19, (n, result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("panelctl: No space"), (
        n,
        result.stderr,
    )
    assert "nothing was changed" in result.stderr and str(root) in result.stderr
    assert now == head, n
    after = snapshot(root)
    assert after == before, (n, set(after.items()) ^ set(before.items()))
    return "refused"


def after_space_is_freed(root: Path, identity: Path, n: int) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    retry = panelctl(root, identity, write_args(n, "Retry"))
    assert retry.returncode == 0, (n, retry.stderr)
    assert git(root, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    verified = panelctl(root, identity, ["verify"])
    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", ""), n
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


# --- a file size limit -------------------------------------------------------------------

LIMITS = [0, 100, 400, 800, 1_200, 1_600, 2_400, 1_000_000]


def test_a_file_size_limit_is_a_full_disk_error(marac, coordinator):
    root, identity = marac.root, coordinator.path
    outcomes = []
    for n, limit in enumerate(LIMITS):
        before, head = snapshot(root), git(root, "rev-parse", "HEAD").strip()

        def limited(limit=limit):
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

        result = panelctl(root, identity, write_args(n, "Limited"), preexec_fn=limited)
        outcomes.append((limit, check_outcome(root, before, head, result, n)))
        after_space_is_freed(root, identity, n)
    assert outcomes[0] == (0, "refused") and outcomes[-1] == (1_000_000, "saved"), outcomes
    assert sum(outcome == "refused" for _limit, outcome in outcomes) >= 3, outcomes


# --- a real full file system -------------------------------------------------------------

FREE = [0, 4_096, 12_288, 16_384, 20_480, 1_048_576]

IN_NAMESPACE = """
import json, os, subprocess, sys
mount, size = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=700", "tmpfs", mount], check=True)
print(json.dumps("mounted"), flush=True)
for line in sys.stdin:  # a command per line; each runs with the tmpfs mounted
    args = json.loads(line)
    if args[0] == "fill":  # fill the file system, then free args[1] bytes
        path, free = os.path.join(mount, "filler"), args[1]
        with open(path, "ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\\0" * 4096)
            except OSError:
                pass
            size = handle.tell()
        os.truncate(path, max(0, size - free))
        print(json.dumps("filled"), flush=True)
    elif args[0] == "empty":
        os.unlink(os.path.join(mount, "filler"))
        print(json.dumps("emptied"), flush=True)
    elif args[0] == "copy":
        subprocess.run(["cp", "-a", args[1], args[2]], check=True)
        print(json.dumps("copied"), flush=True)
    elif args[0] == "run":
        done = subprocess.run(args[1:], capture_output=True, text=True)
        print(json.dumps([done.returncode, done.stdout, done.stderr]), flush=True)
"""


class Namespace:
    """A process in its own mount namespace with a small tmpfs mounted at ``mount``: the
    test's own process cannot see that mount, so every file operation on it goes through
    the process (a command per line, a JSON answer per line)."""

    def __init__(self, mount: Path, size: str):
        self.proc = subprocess.Popen(
            ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
            + [sys.executable, "-c", textwrap.dedent(IN_NAMESPACE), str(mount), size],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self, *args):
        if args:
            self.proc.stdin.write(json.dumps(list(args)) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            pytest.skip(f"no private tmpfs here: {self.proc.stderr.read().strip()[-700:]}")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def test_a_full_file_system_is_a_full_disk_error(marac, coordinator, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here to mount a private tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    space = Namespace(mount, "2m")
    try:
        assert space.ask() == "mounted"
        root, identity = mount / "store", coordinator.path
        assert space.ask("copy", str(marac.root), str(root)) == "copied"
        env = [f"{k}={v}" for k, v in os.environ.items()]
        outcomes = []
        for n, free in enumerate(FREE):

            def run(args, n=n):
                base = [sys.executable, "-m", "panelctl", "--store", str(root)]
                code, out, err = space.ask(
                    "run", "env", *env, *base, "--identity", str(identity), *args
                )
                return subprocess.CompletedProcess(args, code, out, err)

            def state():
                code, out, _err = space.ask("run", sys.executable, "-c", SNAPSHOT, str(root))
                return json.loads(out)

            before = state()
            assert space.ask("fill", free) == "filled"
            result = run(write_args(n, "Full"))
            outcome = outcome_in(before, state(), result, n)
            outcomes.append((free, outcome))
            assert space.ask("empty") == "emptied"
            retry = run(write_args(n, "Retry"))
            assert retry.returncode == 0, (n, retry.stderr)
            after = state()
            assert after["HEAD"] != before["HEAD"]
            verified = run(["verify"])
            assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", ""), n
            assert not after["journal"] and not after["locks"], after
    finally:
        space.close()
    print(outcomes)
    assert outcomes[0] == (0, "refused") and outcomes[-1][1] == "saved", outcomes
    assert sum(outcome == "refused" for _free, outcome in outcomes) >= 3, outcomes


SNAPSHOT = """
import hashlib, json, sys
from pathlib import Path
root = Path(sys.argv[1])
files = {}
for path in sorted(root.rglob("*")):
    relative = str(path.relative_to(root))
    if path.is_file() and not relative.startswith((".git/objects/", ".git/panelctl/")):
        files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
ref = (root / ".git" / "refs" / "heads" / "main").read_text().strip()
print(json.dumps({
    "HEAD": ref,
    "files": files,
    "journal": (root / ".git" / "panelctl" / "journal.json").exists(),
    "locks": [str(p) for p in root.joinpath(".git").rglob("*.lock")],
}))
"""


def outcome_in(before: dict, after: dict, result, n: int) -> str:
    assert "Traceback" not in result.stderr, (n, result.stderr)
    if result.returncode == 0:
        assert after["HEAD"] != before["HEAD"], n
        return "saved"
    assert result.returncode == ExitCode.NO_SPACE, (n, result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("panelctl: No space"), (
        n,
        result.stderr,
    )
    assert after == before, (n, set(after["files"].items()) ^ set(before["files"].items()))
    return "refused"
