"""Every git call panelctl makes, through git's own command line.

We call ``git`` directly rather than through GitPython: a one-record commit in the
110,000-file benchmark store takes 0.26 s through git's plumbing against 4.6 s through
GitPython's index API, and GitPython's import alone costs start-up time (README, Design). Long path lists
go through ``--pathspec-from-file`` on standard input, never argv.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from panelctl.base.errors import GitError


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
    extra = env or {}
    env = dict(os.environ)
    env.update(extra)
    # Never let git open an editor or a pager, or prompt, from inside panelctl.
    env.update(
        {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_PAGER": "cat", "LC_ALL": "C"}
    )
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
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again.") from None
    if check and result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise GitError(f"git {args[0]} failed in {root}: {detail}")
    return result.stdout


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
        marker.write_text(parent)
        return None  # nothing changed: no empty commit
    new = write_signed_commit(root, tree, [parent] if parent else [], message, author, sign)
    run(root, ["update-ref", "-m", f"panelctl: {message}", "HEAD", new, parent or ""])
    marker.write_text(new)
    # The commit has landed: from here a failure is not the write's. Git's own index (what
    # `git status` compares with) only follows it; if that fails, say so and carry on.
    try:
        run(root, ["update-index", "--add", "--remove", "-z", "--stdin"], stdin=listing)
    except GitError:
        warnings.warn(GitIndexWarning(index_advice(root)), stacklevel=2)
    return new


#: Signs a commit's bytes: returns an armored SSH signature (see panelctl.crypto.sshsig).
Signer = Callable[[bytes], str]


def _ident(author: Author, when: int) -> str:
    name = " ".join(author.name.replace("<", "").replace(">", "").split())
    email = author.email.replace("<", "").replace(">", "").strip()
    return f"{name} <{email}> {when} +0000"


def commit_text(tree: str, parents: Sequence[str], message: str, author: Author, when: int) -> bytes:
    """A commit object's text, as git writes it (without a signature)."""
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {_ident(author, when)}", f"committer {_ident(author, when)}"]
    return ("\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n").encode("utf-8")


def write_signed_commit(
    root: Path, tree: str, parents: Sequence[str], message: str, author: Author, sign: Signer
) -> str:
    """Write a commit object signed as ``git commit -S`` with ``gpg.format=ssh`` signs: a
    ``gpgsig`` header after the committer, holding the signature of the text without it."""
    payload = commit_text(tree, parents, message, author, int(time.time()))
    signature = sign(payload)
    head, _, body = payload.partition(b"\n\n")
    header = "gpgsig " + "\n ".join(signature.splitlines())
    signed = head + b"\n" + header.encode("ascii") + b"\n\n" + body
    return run_bytes(root, ["hash-object", "-t", "commit", "-w", "--stdin"], signed).strip()


def run_bytes(root: Path, args: Sequence[str], stdin: bytes) -> str:
    """``git args`` with binary standard input (a commit object's exact bytes)."""
    result = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, env=_env(), umask=0o077
    )
    if result.returncode != 0:
        detail = (result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        raise GitError(f"git {args[0]} failed in {root}: {detail}")
    return result.stdout.decode("ascii")


def _env() -> dict:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_PAGER": "cat", "LC_ALL": "C"})
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


@contextmanager
def _temporary_index(root: Path) -> Iterator[dict]:
    folder = git_dir(root) / "panelctl"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"index-{secrets.token_hex(6)}"
    try:
        yield {"GIT_INDEX_FILE": str(path)}
    finally:
        path.unlink(missing_ok=True)


def restore(root: Path, paths: Iterable[str]) -> None:
    """Put ``paths`` back as they are at HEAD (working tree and index); remove those HEAD
    does not have."""
    paths = list(paths)
    if not paths:
        return
    at_head = tracked_at_head(root, paths)
    for path in paths:
        if path not in at_head:
            (root / path).unlink(missing_ok=True)
    keep = "".join(f"{p}\0" for p in paths if p in at_head)
    if keep:
        with _temporary_index(root) as env:
            run(root, ["read-tree", "HEAD"], env=env)
            run(root, ["checkout-index", "--force", "-z", "--stdin"], stdin=keep, env=env)
    listing = "".join(f"{p}\0" for p in paths)
    run(root, ["update-index", "--add", "--remove", "-z", "--stdin"], stdin=listing)


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


def is_ancestor(root: Path, old: str, new: str) -> bool:
    result = subprocess.run(
        ["git", "merge-base", "--is-ancestor", old, new], cwd=root, capture_output=True
    )
    return result.returncode == 0


def dirty_paths(root: Path, folders: Sequence[str]) -> list[str]:
    out = run(root, ["status", "--porcelain", "--untracked-files=all", "--", *folders])
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
