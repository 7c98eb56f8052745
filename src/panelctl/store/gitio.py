"""Every git call panelctl makes, through git's own command line.

We call ``git`` directly rather than through GitPython: a one-record commit in the
110,000-file benchmark store takes 0.26 s through git's plumbing against 4.6 s through
GitPython's index API, and GitPython's import alone costs start-up time (README, Design). Long path lists
go through ``--pathspec-from-file`` on standard input, never argv.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from panelctl.base.errors import GitError, NoSpaceError
from panelctl.base.fsutil import atomic_write, atomic_write_many, ensure_private_dir


@dataclass(frozen=True)
class Author:
    name: str
    email: str


def run(
    root: Path,
    args: Sequence[str],
    *,
    stdin: str | None = None,
    author: Author | None = None,
    check: bool = True,
    env: dict | None = None,
) -> str:
    env = {**_env(), **(env or {})}
    if author is not None:
        env.update(
            {
                "GIT_AUTHOR_NAME": author.name,
                "GIT_AUTHOR_EMAIL": author.email,
                "GIT_COMMITTER_NAME": author.name,
                "GIT_COMMITTER_EMAIL": author.email,
            }
        )
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=root,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            umask=0o077,  # objects and files git writes are private to the user
            pass_fds=tuple(_store_locks),
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again.") from None
    if check and result.returncode != 0:
        raise _failure(root, args[0], result.stderr, result.returncode)
    return result.stdout


#: Descriptors of the store locks this process holds (see :func:`holding_store_lock`).
_store_locks: set[int] = set()


@contextmanager
def holding_store_lock(fd: int) -> Iterator[None]:
    """While the store's lock (an flock on ``fd``) is held, every git process panelctl starts
    inherits it: a git step left running by a killed panelctl keeps the store locked until it
    ends, so the next write cannot start its recovery under a git command still at work."""
    _store_locks.add(fd)
    try:
        yield
    finally:
        _store_locks.discard(fd)


_NO_SPACE = ("No space left on device", "Out of diskspace", "Disk quota exceeded", "File too large")


def _failure(root: Path, command: str, stderr: str, code: int) -> Exception:
    """The error for a failed git command: a full disk (or a file size limit, which ends git
    with SIGXFSZ), a held lock file (named, with the fix), or git's own last line."""
    held = re.search(r"Unable to create '([^']+\.lock)': File exists", stderr)
    if held:
        return GitError(lock_advice(root, Path(held.group(1))))
    if any(words in stderr for words in _NO_SPACE) or code == -signal.SIGXFSZ or _full(root):
        return NoSpaceError(no_space_message(root))
    detail = (stderr.strip().splitlines() or ["no message"])[-1]
    return GitError(f"git {command} failed in {root}: {detail}")


def _full(root: Path) -> bool:
    """True when the file system holding the repository has (next to) no space left: git
    does not always say why a write failed ("couldn't write '...main.lock'")."""
    try:
        info = os.statvfs(root / ".git")
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < 256 * 1024 or info.f_favail == 0


def no_space_message(root: Path) -> str:
    return (
        f"No space is left on the device that holds the store {root} (or a file there "
        "reached its size limit); nothing was changed: free some space and try again."
    )


def lock_advice(root: Path, lock: Path) -> str:
    return (
        f"git's lock file {lock} is held: another git command is running in {root}, or one "
        "was killed; nothing was changed: wait for it to finish, or remove that file if no "
        "git command is running there, and try again."
    )


def init(root: Path) -> None:
    run(root, ["init", "--quiet", "--initial-branch=main"])


def set_config(root: Path, key: str, value: str) -> None:
    run(root, ["config", "--local", key, value])


def head(root: Path) -> str | None:
    out = run(root, ["rev-parse", "--verify", "--quiet", "HEAD"], check=False).strip()
    return out or None


def head_quick(root: Path) -> str | None:
    """HEAD's commit read from the files in .git (no git process); None if unsure."""
    git = root / ".git"
    try:
        ref = (git / "HEAD").read_text().strip()
        if not ref.startswith("ref: "):
            return ref
        name = ref[5:]
        loose = git / name
        if loose.exists():
            return loose.read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + name):
                return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def git_dir(root: Path) -> Path:
    return (root / run(root, ["rev-parse", "--git-dir"]).strip()).resolve()


def commit(
    root: Path, paths: Iterable[str], message: str, author: Author, sign: Signer
) -> str | None:
    """Commit exactly ``paths`` (added, changed or deleted) as they are in the working tree,
    signed by ``sign``; the new commit's id, or None when nothing changed.

    The commit is built in panelctl's own index (update-index, write-tree, commit-tree), so
    whatever else a person staged stays out of it, and no pathspec matching is done: a
    pathspec list of 110,000 files made `git add` and `git commit` take minutes;
    `update-index --stdin` takes seconds. That index is kept in ``.git/panelctl`` with the
    commit it matches, so while nobody else moves HEAD it need not be read from the tree
    again. HEAD moves only if nobody else moved it meanwhile; then git's own index is
    brought up to date for the same paths.
    """
    listing = "".join(f"{p}\0" for p in paths)
    parent = head(root)
    folder = git_dir(root) / "panelctl"
    folder.mkdir(mode=0o700, exist_ok=True)
    index_file, marker = folder / "commit-index", folder / "commit-index.head"
    env = {"GIT_INDEX_FILE": str(index_file)}
    matches = marker.exists() and marker.read_text().strip() == (parent or "")
    marker.unlink(missing_ok=True)  # from here until the commit lands, the index is in flux
    if not matches:
        index_file.unlink(missing_ok=True)
        if parent:
            run(root, ["read-tree", parent], env=env)
    run(root, ["update-index", "--add", "--remove", "-z", "--stdin"], stdin=listing, env=env)
    tree = run(root, ["write-tree"], env=env).strip()
    if parent and tree == run(root, ["rev-parse", f"{parent}^{{tree}}"]).strip():
        _write_marker(marker, parent)
        return None  # nothing changed: no empty commit
    new = write_signed_commit(root, tree, [parent] if parent else [], message, author, sign)
    run(root, ["update-ref", "-m", f"panelctl: {message}", "HEAD", new, parent or ""])
    _write_marker(marker, new)
    # The commit has landed: from here a failure is not the write's.
    _git_index_follows(root, listing)
    return new


def follow(root: Path, paths: Sequence[str], old: str, new: str) -> None:
    """After HEAD moved from ``old`` to ``new`` by commits made elsewhere than
    :func:`commit` (a sync's batch), whose files ``paths`` are in the working tree as
    ``new`` has them: panelctl's commit index follows (if it was at ``old``; otherwise it is
    read again at the next write), then git's own index (a warning if that fails)."""
    listing = "".join(f"{p}\0" for p in paths)
    folder = git_dir(root) / "panelctl"
    index_file, marker = folder / "commit-index", folder / "commit-index.head"
    matches = marker.exists() and marker.read_text().strip() == old
    marker.unlink(missing_ok=True)
    if matches:
        env = {"GIT_INDEX_FILE": str(index_file)}
        run(root, ["update-index", "--add", "--remove", "-z", "--stdin"], stdin=listing, env=env)
        _write_marker(marker, new)
    _git_index_follows(root, listing)


def _git_index_follows(root: Path, listing: str) -> None:
    """Git's own index (what `git status` compares with) brought up to date for the
    NUL-separated ``listing``, after the change it follows has landed: a failure is not
    the change's, so it is a warning, never an error that would have the change retried."""
    try:
        run(root, ["update-index", "--add", "--remove", "-z", "--stdin"], stdin=listing)
    except GitError:
        warnings.warn(GitIndexWarning(index_advice(root)), stacklevel=3)


def _write_marker(marker: Path, commit_id: str) -> None:
    """Record which commit panelctl's own index matches (a private file, as the index)."""
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(commit_id)


#: Signs a commit's bytes: returns an armored SSH signature (see panelctl.crypto.sshsig).
Signer = Callable[[bytes], str]


def _ident(author: Author, when: int) -> str:
    name = " ".join(author.name.replace("<", "").replace(">", "").split())
    email = author.email.replace("<", "").replace(">", "").strip()
    return f"{name} <{email}> {when} +0000"


def commit_text(
    tree: str, parents: Sequence[str], message: str, author: Author, when: int
) -> bytes:
    """A commit object's text, as git writes it (without a signature)."""
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {_ident(author, when)}", f"committer {_ident(author, when)}"]
    return ("\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n").encode("utf-8")


def write_signed_commit(
    root: Path, tree: str, parents: Sequence[str], message: str, author: Author, sign: Signer
) -> str:
    """Write a commit object signed as ``git commit -S`` with ``gpg.format=ssh`` signs: a
    ``gpgsig`` header after the committer, holding the signature of the text without it."""
    signed = signed_commit_bytes(tree, parents, message, author, sign)
    return run_bytes(root, ["hash-object", "-t", "commit", "-w", "--stdin"], signed).strip()


def signed_commit_bytes(
    tree: str, parents: Sequence[str], message: str, author: Author, sign: Signer
) -> bytes:
    """A commit object's exact bytes, signed (see :func:`write_signed_commit`)."""
    payload = commit_text(tree, parents, message, author, int(time.time()))
    signature = sign(payload)
    head, _, body = payload.partition(b"\n\n")
    header = "gpgsig " + "\n ".join(signature.splitlines())
    return head + b"\n" + header.encode("ascii") + b"\n\n" + body


def run_bytes(root: Path, args: Sequence[str], stdin: bytes) -> str:
    """``git args`` with binary standard input (a commit object's exact bytes)."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=root,
            input=stdin,
            capture_output=True,
            env=_env(),
            umask=0o077,
            pass_fds=tuple(_store_locks),  # as run(): a git step outliving panelctl holds the lock
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again.") from None
    if result.returncode != 0:
        raise _failure(root, args[0], result.stderr.decode("utf-8", "replace"), result.returncode)
    return result.stdout.decode("ascii")


def _env() -> dict:
    """The environment of every git command: never an editor, a pager or a prompt."""
    env = dict(os.environ)
    env.update(
        {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_PAGER": "cat", "LC_ALL": "C"}
    )
    return env


def read_commit(root: Path, commit_id: str) -> tuple[bytes, str | None, list[str]]:
    """A commit's signed payload (its text without the gpgsig header), its armored
    signature (None when unsigned) and its parents."""
    raw = subprocess.run(
        ["git", "cat-file", "commit", commit_id], cwd=root, capture_output=True, env=_env()
    )
    if raw.returncode != 0:
        raise GitError(f"git cannot read commit {commit_id[:12]} in {root}.")
    return split_signature(raw.stdout)


def split_signature(raw: bytes) -> tuple[bytes, str | None, list[str]]:
    head, sep, body = raw.partition(b"\n\n")
    kept, signature, parents = [], None, []
    lines = head.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(b"gpgsig "):
            block = [line[len(b"gpgsig ") :]]
            i += 1
            while i < len(lines) and lines[i].startswith(b" "):
                block.append(lines[i][1:])
                i += 1
            signature = b"\n".join(block).decode("ascii", "replace")
            continue
        if line.startswith(b"parent "):
            parents.append(line[7:].decode("ascii", "replace"))
        kept.append(line)
        i += 1
    return b"\n".join(kept) + sep + body, signature, parents


class GitIndexWarning(UserWarning):
    """The change was committed, but git's own index (the working tree's) did not follow."""


def index_advice(root: Path) -> str:
    return (
        f"the change was saved, but git's index in {root} could not be brought up to date "
        "(`git status` may show the saved files as changed); run `git reset` there, after "
        "removing .git/index if git says it is corrupt."
    )


def check_index_free(root: Path, git_folder: Path) -> None:
    """Refuse to start a commit while git's own index is locked: the commit would land but
    git's index could not follow it. Checked before any file is written."""
    if (git_folder / "index.lock").exists():
        raise GitError(
            f"git's index in {root} is locked ({git_folder / 'index.lock'}): another git command "
            "is running there, or one was killed; wait for it to finish, or remove that file "
            "if no git command is running, and try again."
        )
    # A corrupt index would let the commit land and then fail to follow it, so that a
    # retry would make the change twice: read it now, before anything is written.
    try:
        run(root, ["ls-files", "-z", "--", ".panelctl-index-check"])
    except GitError:
        raise GitError(
            f"git's index in {root} is unreadable ({git_folder / 'index'}); nothing was "
            "changed: remove that file and run `git reset` there (your files are kept), "
            "then try again."
        ) from None


# --- lock files a killed write leaves behind -------------------------------------------------
#
# git takes a lock by creating FILE.lock and renames it over FILE when done; a git process
# killed between the two leaves the .lock, and every later git write there fails. panelctl's
# own writes take these (HEAD.lock and the branch's lock from update-ref, index.lock from
# git's own index, commit-index.lock from panelctl's). A lock is removed only when it can be
# shown to be a dead panelctl write's: see :func:`remove_stale_locks`.


def write_locks(git_folder: Path) -> list[Path]:
    """The lock files a panelctl write takes in this repository, git's own index first."""
    locks = [git_folder / "index.lock", git_folder / "HEAD.lock"]
    try:
        head_ref = (git_folder / "HEAD").read_text().strip()
    except OSError:
        head_ref = ""
    if head_ref.startswith("ref: refs/"):
        locks.append(git_folder / f"{head_ref[5:]}.lock")
    return [*locks, *private_locks(git_folder)]


def private_locks(git_folder: Path) -> list[Path]:
    """Locks on panelctl's own index files in .git/panelctl, and on its case-key table's
    ref, which only panelctl uses (under the store's lock)."""
    folder = git_folder / "panelctl"
    refs = folder / "keys.git" / "refs" / "panelctl"
    return [
        folder / "commit-index.lock",
        *folder.glob("index-*.lock"),
        refs / "case-keys.lock",
        refs / "incoming-case-keys.lock",
    ]


def check_write_locks_free(root: Path, git_folder: Path) -> None:
    """Refuse to start a write while a lock file it needs is held, naming the file: the write
    would fail halfway (or, for git's own index, land and then not be followed by it)."""
    for lock in write_locks(git_folder):
        if lock.exists():
            raise GitError(lock_advice(root, lock))
    check_index_free(root, git_folder)


def process_mark() -> dict:
    """Who is writing: this process's id and start time (so a reused id is not taken for
    it). Recorded in the write's journal before its first git step."""
    pid = os.getpid()
    return {"pid": pid, "started": _start_time(pid)}


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22; the name in brackets may hold spaces


def is_gone(mark: dict | None) -> bool:
    """True when the process a mark names has ended (its id is free, or now another's)."""
    if not isinstance(mark, dict) or not isinstance(mark.get("pid"), int):
        return False
    pid = mark["pid"]
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, and another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False  # no /proc here: the id is taken, so it may still be the writer
    # Ended but not yet reaped (a zombie), or the id now belongs to a later process.
    return stat[0] in ("Z", "X") or stat[19] != mark.get("started")


def lock_users(lock: Path, root: Path) -> list[int] | None:
    """Ids of running processes that have ``lock`` open, or run git in ``root``; None when
    that cannot be known here (no /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    target, root_text = str(lock), str(root)
    users = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "comm").read_text().strip().startswith("git"):
                cwd = os.readlink(entry / "cwd")
                if cwd == root_text or cwd.startswith(root_text + os.sep):
                    users.append(int(entry.name))
                    continue
            for fd in os.scandir(entry / "fd"):
                if os.readlink(fd.path) == target:
                    users.append(int(entry.name))
                    break
        except OSError:
            continue  # ended meanwhile, or another user's (who cannot write in a 0700 store)
    return users


def remove_stale_locks(root: Path, git_folder: Path, journal: Path, owner: dict | None) -> None:
    """Remove the lock files a killed panelctl write left, called under the store's lock.

    A lock in .git/panelctl is panelctl's alone: under the store lock it is stale unless a
    process still has it open. A lock git shares with other programs (index.lock, HEAD.lock,
    the branch's) is removed only when all of these show it is the dead write's: the write's
    journal names its process, that process has ended, the lock is no older than the journal
    (made during that write, not before it), it is this user's file, and no running process
    has it open or runs git in the store. Anything else is left for the write to name in
    its error (see :func:`check_write_locks_free`).
    """
    for lock in private_locks(git_folder):
        if lock.exists() and lock_users(lock, root) in ([], None):
            lock.unlink(missing_ok=True)
    if not is_gone(owner):
        return
    since = journal.stat().st_mtime_ns
    for lock in write_locks(git_folder):
        try:
            info = lock.stat()
        except FileNotFoundError:
            continue
        if info.st_uid != os.geteuid() or info.st_mtime_ns < since:
            continue
        if lock_users(lock, root) == []:
            lock.unlink(missing_ok=True)


@contextmanager
def _temporary_index(root: Path) -> Iterator[dict]:
    folder = git_dir(root) / "panelctl"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"index-{secrets.token_hex(6)}"
    try:
        yield {"GIT_INDEX_FILE": str(path)}
    finally:
        path.unlink(missing_ok=True)


def restore(root: Path, paths: Iterable[str], *, git_index: bool = True) -> None:
    """Put ``paths`` back as they are at HEAD; remove those HEAD does not have. Only files
    that differ from HEAD are written (on a full disk, rewriting an intact file could lose
    it). With ``git_index``, git's own index is brought up to date for them too (after a
    write killed once its commit had landed); if it is locked, that is a warning."""
    paths = list(paths)
    if not paths:
        return
    at_head = blobs_at_head(root, paths)
    for path in paths:
        if path not in at_head:
            (root / path).unlink(missing_ok=True)
    present = [p for p in at_head if (root / p).is_file()]
    hashed = run(root, ["hash-object", "--stdin-paths"], stdin="".join(f"{p}\n" for p in present))
    same = {p for p, blob in zip(present, hashed.split(), strict=True) if blob == at_head[p]}
    keep = [p for p in at_head if p not in same]
    for start in range(0, len(keep), 1000):  # bounded memory for a big roll-back (rekey)
        chunk = keep[start : start + 1000]
        blobs = _blobs(root, [at_head[p] for p in chunk])
        writes = [(root / p, blob) for p, blob in zip(chunk, blobs, strict=True)]
        for target, _blob in writes:
            target.parent.mkdir(mode=0o700, exist_ok=True)
        if len(writes) <= 8:  # each written beside itself: no index file, no other space
            for target, blob in writes:
                atomic_write(target, blob)
        else:
            atomic_write_many(writes, ensure_private_dir(git_dir(root) / "panelctl" / "tmp"))
    if git_index:
        _git_index_follows(root, "".join(f"{p}\0" for p in paths))


def _blobs(root: Path, ids: Sequence[str]) -> list[bytes]:
    """The contents of these blobs, in order, read in one git process."""
    return _cat_batch(root, ids)  # type: ignore[return-value]  (ids git gave: never missing)


def _cat_batch(root: Path, specs: Sequence[str]) -> list[bytes | None]:
    """``git cat-file --batch`` of these object names (``id`` or ``commit:path``), in
    order, in one process; None for one git does not have."""
    if not specs:
        return []
    result = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{spec}\n" for spec in specs).encode(),
        capture_output=True,
        env=_env(),
    )
    if result.returncode != 0:
        raise _failure(root, "cat-file", result.stderr.decode(errors="replace"), result.returncode)
    out, found = result.stdout, []
    for _spec in specs:
        header, _, out = out.partition(b"\n")
        if header.endswith(b" missing"):
            found.append(None)
            continue
        size = int(header.split()[2])
        found.append(out[:size])
        out = out[size + 1 :]
    return found


def blobs_at_head(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """path -> blob id at HEAD, for those of ``paths`` HEAD has."""
    if head(root) is None:
        return {}
    query = "".join(f"HEAD:{p}\n" for p in paths)
    out = run(root, ["cat-file", "--batch-check"], stdin=query)
    return {
        p: line.split()[0]
        for p, line in zip(paths, out.splitlines(), strict=True)
        if not line.endswith("missing")
    }


def tracked_at_head(root: Path, paths: Sequence[str]) -> set[str]:
    if head(root) is None:
        return set()
    query = "".join(f"HEAD:{p}\n" for p in paths)
    out = run(root, ["cat-file", "--batch-check"], stdin=query)
    return {
        p for p, line in zip(paths, out.splitlines(), strict=True) if not line.endswith("missing")
    }


def changed_since(root: Path, old: str, new: str, folders: Sequence[str]) -> list[tuple[str, str]]:
    """(status, path) for record files that differ between two commits."""
    out = run(
        root, ["diff", "--name-status", "--no-renames", old, new, "--", *folders], check=False
    )
    changes = []
    for line in out.splitlines():
        status, _, path = line.partition("\t")
        changes.append((status[:1], path))
    return changes


def has_commit(root: Path, commit: str) -> bool:
    result = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True, env=_env()
    )
    return result.returncode == 0


def is_ancestor(root: Path, old: str, new: str) -> bool:
    result = subprocess.run(
        ["git", "merge-base", "--is-ancestor", old, new], cwd=root, capture_output=True
    )
    return result.returncode == 0


def dirty_paths(root: Path, folders: Sequence[str]) -> list[str]:
    # A read: git status must not take .git/index.lock to refresh the index (a status
    # killed by a full disk would leave that lock behind, and it holds up other git users).
    out = run(
        root,
        ["status", "--porcelain", "--untracked-files=all", "--", *folders],
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    return [line[3:] for line in out.splitlines() if line]


def log(root: Path, paths: Sequence[str] = (), limit: int | None = None) -> list[dict]:
    fmt = "%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e"
    args = ["log", f"--format={fmt}", "--no-color"]
    if limit:
        args.append(f"-n{limit}")
    if head(root) is None:
        return []
    out = run(root, [*args, "--", *paths])
    entries = []
    for chunk in out.split("\x1e"):
        chunk = chunk.strip("\n")
        if not chunk:
            continue
        sha, name, email, when, subject = chunk.split("\x1f")
        entries.append(
            {"commit": sha, "author": name, "email": email, "date": when, "subject": subject}
        )
    return entries


def show_file(root: Path, commit_id: str, path: str) -> bytes | None:
    result = subprocess.run(["git", "show", f"{commit_id}:{path}"], cwd=root, capture_output=True)
    return result.stdout if result.returncode == 0 else None


# --- remotes (panelctl sync) ---------------------------------------------------------------

#: The transports a remote may use (git's GIT_ALLOW_PROTOCOL): never a remote helper that
#: runs a program (``ext::``, ``fd::``) or any other helper a remote could name.
ALLOWED_PROTOCOLS = ("file", "git", "ssh", "https")


def remote_env() -> dict:
    """The environment of every git command that talks to a remote (clone, fetch, push)."""
    return {"GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_PROTOCOLS), "GIT_PROTOCOL_FROM_USER": "0"}


def current_branch(root: Path) -> str:
    name = run(root, ["symbolic-ref", "--quiet", "--short", "HEAD"], check=False).strip()
    if not name:
        raise GitError(
            f"The store {root} is not on a branch (a detached HEAD); check out its branch "
            "(git switch main) and try again."
        )
    return name


def remote_url(root: Path, remote: str) -> str | None:
    out = run(root, ["config", "--get", f"remote.{remote}.url"], check=False).strip()
    return out or None


def fetch(root: Path, remote: str, branch: str) -> str | None:
    """Fetch ``branch`` of ``remote`` into refs/panelctl/incoming; its commit, or None when
    the remote has no such branch yet (an empty remote)."""
    url = remote_url(root, remote)  # by URL: git then leaves refs/remotes/ alone
    listed = run(root, ["ls-remote", "--heads", url, branch], env=remote_env()).strip()
    if not listed:
        return None
    run(
        root,
        ["-c", "fetch.fsckObjects=true",  # a malformed object from the remote: refused
         "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", url,
         f"+refs/heads/{branch}:{INCOMING}"],
        env=remote_env(),
    )  # fmt: skip
    return run(root, ["rev-parse", "--verify", f"{INCOMING}^{{commit}}"]).strip()


#: Where `sync` fetches the remote's branch to, until it is verified and taken.
INCOMING = "refs/panelctl/incoming"
#: The case-key table (a ref to one blob, never in a commit, kept in .git/panelctl/keys.git:
#: see store/casekeys.py), and where sync fetches the remote's copy to.
CASE_KEYS = "refs/panelctl/case-keys"
INCOMING_CASE_KEYS = "refs/panelctl/incoming-case-keys"


def forget_incoming(root: Path, remote: str, branch: str, taken: str | None) -> None:
    """Drop the fetched refs; when the remote's commit was taken (or pushed), record it as
    the remote's branch (as `git fetch` would), so that `git status` agrees."""
    if taken:  # only for `git status`: a held lock there must not fail a sync that is done
        run(root, ["update-ref", f"refs/remotes/{remote}/{branch}", taken], check=False)
    run(root, ["update-ref", "-d", INCOMING], check=False)


def push(root: Path, remote: str, commit: str, branch: str, expected: str | None) -> bool:
    """Push ``commit`` to ``remote``'s ``branch`` if that branch is still at ``expected``
    (None: absent); False when the remote moved meanwhile (fetch, merge and try again)."""
    return push_ref(root, remote, commit, f"refs/heads/{branch}", expected, replace=False)


def push_ref(
    root: Path, remote: str, value: str, ref: str, expected: str | None, replace: bool = True
) -> bool:
    """Set ``remote``'s ``ref`` to the object ``value`` if it is still at ``expected``
    (None: absent); ``replace``: whether or not that is a fast-forward (a lease, not a
    blind force). False when it moved meanwhile."""
    lease = f"--force-with-lease={ref}:{expected or ''}"
    result = subprocess.run(
        [
            "git",
            "push",
            "--porcelain",
            lease,
            remote_url(root, remote) or remote,
            f"{'+' if replace else ''}{value}:{ref}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env={**_env(), **remote_env()},
    )
    for line in result.stdout.splitlines():
        flag, _, rest = line.partition("\t")
        if rest.split("\t", 1)[0].endswith(f":{ref}"):
            # "!": rejected (the remote moved: a stale lease, or not a fast-forward)
            return flag != "!"
    detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
    raise GitError(f"git push to {remote} failed: {detail}")


def merge_base(root: Path, a: str, b: str) -> str | None:
    out = run(root, ["merge-base", a, b], check=False).strip()
    return out or None


def commits_between(root: Path, base: str | None, tip: str) -> list[list[str]]:
    """[commit, parent...] from ``base`` (excluded) to ``tip``, oldest first."""
    span = f"{base}..{tip}" if base else tip
    out = run(root, ["rev-list", "--reverse", "--topo-order", "--parents", span])
    return [line.split() for line in out.splitlines()]


def changes(root: Path, old: str | None, new: str) -> list[tuple[str, str]]:
    """(status A/M/D, path) between two commits (``old`` None: everything in ``new``)."""
    if old is None:
        out = run(root, ["ls-tree", "-r", "-z", "--name-only", new])
        return [("A", p) for p in out.split("\0") if p]
    out = run(root, ["diff-tree", "-r", "-z", "--no-renames", "--name-status", old, new])
    parts = [p for p in out.split("\0") if p]
    return [(parts[i][:1], parts[i + 1]) for i in range(0, len(parts), 2)]


def changes_of(root: Path, pairs: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """:func:`changes` between each (commit, parent) pair, in one git process."""
    if not pairs:
        return []
    out = run(
        root,
        ["diff-tree", "--stdin", "--always", "-r", "-z", "--no-renames", "--name-status"],
        stdin="".join(f"{commit} {parent}\n" for commit, parent in pairs),
    )
    tokens = out.split("\0")
    found: list[list[tuple[str, str]]] = []
    i = 0
    for n, (commit, _parent) in enumerate(pairs):
        if i >= len(tokens) or tokens[i] != commit:
            raise GitError(f"git's list of the changes in commit {commit[:12]} is not as expected.")
        i += 1
        following = pairs[n + 1][0] if n + 1 < len(pairs) else None
        changes: list[tuple[str, str]] = []
        while i + 1 < len(tokens) and tokens[i] != following and tokens[i]:
            changes.append((tokens[i][:1], tokens[i + 1]))
            i += 2
        found.append(changes)
    return found


def contents_at(root: Path, commit: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """path -> its content at ``commit`` (None where the commit has no such file)."""
    return dict(zip(paths, _cat_batch(root, [f"{commit}:{p}" for p in paths]), strict=True))


def ids_at(root: Path, commit: str, folder: str) -> list[str]:
    """The file names under ``folder`` at ``commit``."""
    out = run(root, ["ls-tree", "-z", "--name-only", f"{commit}:{folder}"], check=False)
    return [p for p in out.split("\0") if p]


def move_to(root: Path, old: str, new: str) -> None:
    """Make the working tree and git's index match ``new`` (from ``old``) and HEAD point at
    it; the working tree must be clean."""
    run(root, ["read-tree", "--reset", "-u", new])
    run(root, ["update-ref", "-m", "panelctl sync", "HEAD", new, old])


# --- cloning ---------------------------------------------------------------------------------


def clone(url: str, dest: Path) -> None:
    """Clone ``url`` into ``dest`` (absent or empty) and check out its tree, running nothing
    the repository asks for: only the allowed transports (git refuses any other, in
    redirects and submodules too), no hooks, no template. (From a folder on the same disk,
    git hard-links the objects, as a plain clone does: they hold nothing that folder does
    not, and git since 2.38.1 refuses a source whose objects are symbolic links.)
    The tree is checked out with this clone's own config only, so no filter or hook of the
    user's or the system's git config meets a tree nobody has verified yet."""
    env = remote_env()
    no_hooks = ["-c", "core.hooksPath=/dev/null"]
    run(
        dest.parent,
        [*no_hooks, "clone", "--quiet", "--no-checkout", "--template=", "--", url, str(dest)],
        env=env,
    )  # fmt: skip
    if head(dest) is None:
        # the server's HEAD names a branch it does not have (a bare repository made with
        # git's default "master", say) while the store's branch, main, is there: take main
        main = run(dest, ["rev-parse", "--verify", "--quiet", "refs/remotes/origin/main"],
                   check=False).strip()  # fmt: skip
        if not main:
            return  # an empty repository: nothing to check out (and not a store)
        run(dest, ["update-ref", "refs/heads/main", main])
        run(dest, ["symbolic-ref", "HEAD", "refs/heads/main"])
        run(dest, ["branch", "--quiet", "--set-upstream-to=origin/main", "main"])
    local_only = {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ATTR_NOSYSTEM": "1",
    }
    # (read-tree writes the tree as a clone's own checkout does; `reset --hard` took 15 s
    # against 12 s for it at 110,000 files)
    run(dest, [*no_hooks, "read-tree", "--reset", "-u", "HEAD"], env=local_only)


def first_commits(root: Path) -> list[str]:
    return run(root, ["rev-list", "--max-parents=0", "HEAD"]).split()
