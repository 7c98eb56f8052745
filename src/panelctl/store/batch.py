"""Many commits in a row without a git process for each: how `sync` replays a clone's
own commits on top of the remote's.

An ordinary write commits through git's plumbing (gitio.commit: update-index, write-tree,
hash-object, update-ref, git's own index): about fifteen git processes, each reading
the whole index of a big store (110,000 files: about 0.4 s a write). A sync replaying a
hundred commits would take a minute that way. A :class:`CommitBatch` instead keeps the
trees the replay changes in memory, computes each new tree's and commit's id as git does
(the object's type, size and content, hashed with the repository's hash), and signs each
commit as an ordinary write does; nothing is written to git until :meth:`flush`, which
hands every object to ``git hash-object -w`` (one process a kind of object, which checks
each object's format and must give back the very ids computed here), moves HEAD once
(if nobody else moved it) and brings git's index up to date for the files changed.

The files themselves are written into the working tree by the transactions as usual, so
everything that reads the store during the replay sees the replay's state. Until the
flush, HEAD and git's index stay where the batch began: a sync killed meanwhile is
undone from its journal (panel/sync.py).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from pathlib import Path

from panelctl.base.errors import GitError
from panelctl.base.fsutil import ensure_private_dir
from panelctl.store import gitio

#: Objects are held in memory up to about this many bytes, then written to git (a replay
#: of many commits each changing a 100,000-entry folder would otherwise hold gigabytes).
OBJECT_BUDGET = 64 * 1024 * 1024

FILE_MODE = b"100644"
TREE_MODE = b"40000"


class _Tree:
    """One folder's entries: name -> (mode, raw id), kept in git's order."""

    def __init__(self, raw: bytes | None, id_size: int):
        self.entries: dict[bytes, tuple[bytes, bytes]] = {}
        self.dirty = False
        i = 0
        data = raw or b""
        while i < len(data):
            space = data.index(b" ", i)
            nul = data.index(b"\0", space)
            mode, name = data[i:space], data[space + 1 : nul]
            self.entries[name] = (mode, data[nul + 1 : nul + 1 + id_size])
            i = nul + 1 + id_size
        # sort key (a folder's name sorts as if it ended in /) -> the entry as git writes it
        self._written = {
            _key(name, mode): mode + b" " + name + b"\0" + oid
            for name, (mode, oid) in self.entries.items()
        }
        self.order = sorted(self._written)

    def set(self, name: bytes, mode: bytes, oid: bytes) -> None:
        old = self.entries.get(name)
        if old == (mode, oid):
            return
        if old is not None and old[0] != mode:
            self.remove(name)
            old = None
        key = _key(name, mode)
        if old is None:
            insort(self.order, key)
        self.entries[name] = (mode, oid)
        self._written[key] = mode + b" " + name + b"\0" + oid
        self.dirty = True

    def remove(self, name: bytes) -> None:
        old = self.entries.pop(name, None)
        if old is not None:
            key = _key(name, old[0])
            self.order.pop(bisect_left(self.order, key))
            del self._written[key]
            self.dirty = True

    def serialize(self) -> bytes:
        written = self._written
        return b"".join([written[key] for key in self.order])


def _key(name: bytes, mode: bytes) -> bytes:
    return name + b"/" if mode == TREE_MODE else name


class CommitBatch:
    """Commits on ``head`` made in memory and written to git at :meth:`flush`."""

    def __init__(
        self,
        root: Path,
        head: str,
        paths: Iterable[str] = (),
        journal: Callable[[set[str]], None] | None = None,
    ):
        self.root = root
        self.start = self.head = head
        self.pending: set[str] = set()  # files changed by commits not yet written to git
        self.paths: set[str] = set(paths)  # every file a commit may change (and an earlier batch's)
        self.journal = journal
        algorithm = gitio.run(root, ["rev-parse", "--show-object-format"]).strip() or "sha1"
        self._hash = algorithm
        self._id_size = hashlib.new(algorithm).digest_size
        payload, _signature, _parents = gitio.read_commit(root, head)
        self._root_tree = payload.split(b"\n", 1)[0].split(b" ", 1)[1].decode("ascii")
        self._trees: dict[str, _Tree] = {}
        self._objects: dict[str, list[tuple[str, bytes]]] = {"blob": [], "tree": [], "commit": []}
        self._held = 0  # bytes of objects not yet written to git

    def will_write(self, paths: Iterable[str]) -> None:
        """A transaction is about to write these files for a commit of the batch: they are
        journalled first (``journal``), so that a batch killed before it is written to git
        can be undone, new files included (git's index does not know them)."""
        new = set(paths) - self.paths
        if new:
            self.paths |= new
            if self.journal is not None:
                self.journal(self.paths)

    # --- ids as git computes them ---------------------------------------------------------

    def _id(self, kind: str, data: bytes) -> str:
        digest = hashlib.new(self._hash)
        digest.update(f"{kind} {len(data)}\0".encode("ascii"))
        digest.update(data)
        return digest.hexdigest()

    def _add(self, kind: str, data: bytes) -> str:
        oid = self._id(kind, data)
        self._objects[kind].append((oid, data))
        self._held += len(data)
        if self._held > OBJECT_BUDGET:
            self._write_objects()  # written early, HEAD not moved: unreferenced until flush
        return oid

    # --- trees -------------------------------------------------------------------------------

    def _tree(self, folder: str) -> _Tree:
        """The folder's tree at the batch's current commit (read from git when first used)."""
        if folder not in self._trees:
            raw = None
            if folder:
                parent_folder, _, name = folder.rpartition("/")
                parent = self._tree(parent_folder)
                entry = parent.entries.get(name.encode())
                if entry is not None and entry[0] == TREE_MODE:
                    raw = gitio._cat_batch(self.root, [entry[1].hex()])[0]
            else:
                raw = gitio._cat_batch(self.root, [self._root_tree])[0]
            self._trees[folder] = _Tree(raw, self._id_size)
        return self._trees[folder]

    def _write_trees(self) -> str:
        """Every changed folder's tree, deepest first; the root tree's id."""
        for folder in sorted(self._trees, key=lambda f: (-f.count("/") if f else 1, f)):
            tree = self._trees[folder]
            if not folder:
                continue
            if not tree.dirty:
                continue
            parent_folder, _, name = folder.rpartition("/")
            parent = self._tree(parent_folder)
            if tree.entries:
                oid = self._add("tree", tree.serialize())
                parent.set(name.encode(), TREE_MODE, bytes.fromhex(oid))
            else:
                parent.remove(name.encode())  # git keeps no empty folder
            tree.dirty = False
        top = self._trees.get("") or self._tree("")
        if top.dirty:
            top.dirty = False
            return self._add("tree", top.serialize())
        return self._root_tree

    # --- commits -----------------------------------------------------------------------------

    def commit(
        self, paths: Iterable[str], message: str, author: gitio.Author, sign: gitio.Signer
    ) -> str | None:
        """Commit ``paths`` as they are in the working tree (a missing file: deleted), on
        the batch's last commit, signed by ``sign``; the new commit's id, or None when
        nothing changed (as gitio.commit)."""
        paths = list(paths)
        for path in paths:
            folder, _, name = path.rpartition("/")
            tree = self._tree(folder)
            target = self.root / path
            if target.is_file() and not target.is_symlink():
                oid = self._add("blob", target.read_bytes())
                tree.set(name.encode(), FILE_MODE, bytes.fromhex(oid))
            else:
                tree.remove(name.encode())  # an emptied folder goes at _write_trees
        root_tree = self._write_trees()
        if root_tree == self._root_tree:
            return None
        data = gitio.signed_commit_bytes(root_tree, [self.head], message, author, sign)
        self.head = self._add("commit", data)
        self._root_tree = root_tree
        self.pending.update(paths)
        return self.head

    # --- writing to git --------------------------------------------------------------------

    def flush(self) -> str:
        """Write every object, move HEAD from where the batch began to its last commit (if
        HEAD is still there), and bring git's index and panelctl's commit index up to date
        for the files changed. Returns the last commit."""
        self._write_objects()
        if self.head == self.start:
            return self.head
        gitio.run(self.root, ["update-ref", "-m", "panelctl sync", "HEAD", self.head, self.start])
        gitio.follow(self.root, sorted(self.pending), self.start, self.head)
        self.start = self.head
        self.pending.clear()
        return self.head

    def _write_objects(self) -> None:
        """Every object held, to git (one ``hash-object`` a kind), checked to get the ids
        computed here."""
        folder = ensure_private_dir(gitio.git_dir(self.root) / "panelctl" / "tmp")
        for kind in ("blob", "tree", "commit"):  # each object after those it names
            objects = self._objects[kind]
            if not objects:
                continue
            files = []
            try:
                for _oid, data in objects:
                    path = folder / f"object-{secrets.token_hex(8)}"
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        out.write(data)
                    files.append(path)
                written = gitio.run(
                    self.root,
                    ["hash-object", "-w", "--no-filters", "-t", kind, "--stdin-paths"],
                    stdin="".join(f"{p}\n" for p in files),
                ).split()
            finally:
                for path in files:
                    path.unlink(missing_ok=True)
            expected = [oid for oid, _data in objects]
            if written != expected:
                raise GitError(
                    f"git stored a {kind} of this sync under another id than panelctl "
                    "computed; nothing was changed: report this as a bug."
                )
            objects.clear()
        self._held = 0
