"""`panelctl verify`: the history since the last verified commit obeys the store's rules
(every commit signed by a reader whose role allows the change: see
:mod:`panelctl.store.chain`), every record decrypts and validates, and nothing under the
record folders is plaintext or uncommitted. Returns the problems; an empty list means all
is well."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.errors import ErasedError, GitError, InvalidInputError, PanelctlError
from panelctl.crypto import envelope, sshsig
from panelctl.crypto.keyring import KEYRING_PATH, Keyring, open_with_keys
from panelctl.crypto.primitives import b64
from panelctl.model import records
from panelctl.store import chain, gitio
from panelctl.store.core import RECORD_FOLDERS, Store

#: record types whose versions the rules read (an approved meeting, a disclosure)
_READ_WHOLE = tuple(
    records.BY_FOLDER[f] for f in ("meetings", "disclosures", "erasures", "restricted")
)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        # a history finding already reads "commit X: path: ..."; a file's names its path
        named = not self.path or self.message.startswith((self.path, "commit "))
        return self.message if named else f"{self.path}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    commits: int = 0  # commits whose history was checked
    notes: list[str] = field(default_factory=list)
    #: the files those commits changed (None: the whole history was walked)
    touched: set[str] | None = None


def verify(
    store: Store,
    since: str | None = None,
    everything: bool = False,
    index_entries: dict | None = None,
) -> Report:
    """Check the history (the commits not yet verified in this clone, or since ``since``,
    or all of them) and then the files; on success HEAD becomes this clone's verified point.
    ``index_entries``, when given, receives each record file checked and found good, as its
    query index entry (path -> [id, fields]): `clone` builds the index from them rather
    than decrypting every record a second time."""
    store.check_history = False
    try:
        store.keyring  # noqa: B018 - a keyring that does not open is an error, not a list item
        report = Report()
        _history(store, report, since, everything)
        head = gitio.head(store.root)
        trust = chain.read_trust(store.private)
        checked = None if everything or trust is None else trust.checked
        only = None
        if checked and head and gitio.is_ancestor(store.root, checked, head):
            names = gitio.run(
                store.root, ["diff", "--name-only", "-z", checked, head, "--", *RECORD_FOLDERS]
            )
            only = {name for name in names.split("\0") if name}
        report.problems += _files(store, only, index_entries)
        if not report.problems and trust is not None and head:
            trust.checked = head
            chain.write_trust(store.private, trust)
    finally:
        store.check_history = True
    return report


def _files(
    store: Store, only: set[str] | None = None, index_entries: dict | None = None
) -> list[Problem]:
    """Every record file (``only`` None), or those of ``only`` and every file with changes
    not committed: each decrypts, validates and is where it belongs."""
    problems: list[Problem] = []
    dirty = gitio.dirty_paths(store.root, RECORD_FOLDERS)
    if only is None:
        entries = [
            (f"{folder}/{entry.name}", entry)
            for folder in RECORD_FOLDERS
            if (store.root / folder).is_dir()
            for entry in sorted(os.scandir(store.root / folder), key=lambda e: e.name)
        ]
    else:
        entries = []
        for path in sorted(only | set(dirty)):
            folder, _, name = path.partition("/")
            if folder in RECORD_FOLDERS and "/" not in name and os.path.lexists(store.root / path):
                entries.append((path, _Entry(name, str(store.root / path))))
    keyless: list[str] = []
    for path, entry in entries:
        rtype = records.BY_FOLDER[path.partition("/")[0]]
        try:
            problem = _check_entry(store, rtype, entry, path, index_entries)
        except ErasedError:
            keyless.append(path)
            continue
        if problem:
            problems.append(Problem(path, problem))
    if keyless:
        what = (
            "cannot be checked: it is sealed under a case key"
            if len(keyless) == 1
            else f"cannot be checked, nor can {len(keyless) - 1} other record files: they are "
            "sealed under case keys"
        )
        problems.append(
            Problem(
                keyless[0],
                f"{what} this clone does not hold (a plain `git clone` or `git pull` does not "
                "bring them); run `panelctl sync` to take them from the shared repository",
            )
        )
    for path in dirty:
        problems.append(
            Problem(path, "has changes that were never committed; commit or restore them with git.")
        )
    return problems


@dataclass(frozen=True)
class _Entry:
    """The parts of an os.DirEntry that _check_entry uses, for one file named by path."""

    name: str
    path: str

    def is_file(self, follow_symlinks: bool = True) -> bool:
        import stat

        mode = (os.stat if follow_symlinks else os.lstat)(self.path).st_mode
        return stat.S_ISREG(mode)


def _check_entry(
    store: Store, rtype: records.RecordType, entry, path: str, index_entries: dict | None = None
) -> str | None:
    if not entry.is_file(follow_symlinks=False):
        return "is not a regular file; record folders hold only encrypted record files."
    with open(entry.path, "rb") as handle:
        blob = handle.read()
    if not envelope.is_encrypted(blob):
        return "is not encrypted: plaintext must never be kept in a record folder; remove it."
    record_id = entry.name[:-4] if entry.name.endswith(".enc") else ""
    match = records.ID_PATTERN.match(record_id)
    if not match or match.group(1) != rtype.prefix:
        return f"is not named like a {rtype.name} record ({rtype.format_id(42)}.enc)."
    try:
        record = records.parse(rtype, store.decrypt(path, blob), record_id)
    except ErasedError:
        raise  # (counted by _files: one line for them all)
    except PanelctlError as error:
        return error.message
    if index_entries is not None:
        index_entries[path] = [record_id, records.index_entry(rtype, record)]
    return None


# --- history ---------------------------------------------------------------------------------


class _Objects:
    """One `git cat-file --batch` for every commit and blob the walk reads."""

    def __init__(self, root):
        self.process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def get(self, name: str) -> tuple[str, bytes] | None:
        """(object id, content) of ``commit`` or ``commit:path``; None when missing."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(name.encode("utf-8") + b"\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline().decode("ascii", "replace").split()
        if len(line) != 3:
            return None
        data = self.process.stdout.read(int(line[2]))
        self.process.stdout.read(1)
        return line[0], data

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()


def verify_incoming(store: Store, tip: str) -> Report:
    """Check the commits ``tip`` has that this clone has not verified (fetched by `sync`)
    as `verify` checks history: signatures, roles, epochs. The verified point does not
    move (sync moves it when it takes the commits)."""
    store.check_history = False
    try:
        store.keyring  # noqa: B018
        report = Report()
        _history(store, report, None, False, tip=tip)
    finally:
        store.check_history = True
    return report


def _history(
    store: Store, report: Report, since: str | None, everything: bool, tip: str | None = None
) -> None:
    root = store.root
    head = tip or gitio.head(root)
    if head is None:
        return
    keys = store.keyring.keys  # the current keyring holds every earlier epoch's key
    trust = chain.read_trust(store.private)
    firsts = gitio.run(root, ["rev-list", "--max-parents=0", head]).split()
    if len(firsts) != 1:
        report.problems.append(
            Problem("", "the history has more than one first commit; it cannot be checked")
        )
        return
    first = firsts[0]
    if since is not None:
        try:
            start = gitio.run(root, ["rev-parse", "--verify", "--quiet", f"{since}^{{commit}}"])
        except GitError:
            raise InvalidInputError(f"{since!r} is not a commit of this store.", "since") from None
        span = f"{start.strip()}..{head}"
        report.touched = set()
    elif trust is None or everything or trust.verified is None:
        span = head
    elif trust.verified == head or (tip and gitio.is_ancestor(root, tip, trust.verified)):
        report.touched = set()
        return
    elif tip is not None:
        span = f"{trust.verified}..{tip}"  # what the tip has that was not verified here
        report.touched = set()
    elif gitio.is_ancestor(root, trust.verified, head):
        span = f"{trust.verified}..{head}"
        report.touched = set()
    else:
        report.problems.append(
            Problem(
                "",
                f"the history no longer contains commit {trust.verified[:12]}, the last one "
                "this clone verified: it was rewritten or rolled back (a force-push, a reset); "
                "ask a coordinator before trusting it",
            )
        )
        span = head
    if trust is not None and trust.root != first:
        report.problems.append(
            Problem(
                "", "the history begins with another first commit than the one this clone pinned"
            )
        )
        return
    listing = gitio.run(root, ["rev-list", "--reverse", "--topo-order", "--parents", span])
    walk = [line.split() for line in listing.splitlines()]
    diffs = _diffs(root, walk)
    keyring_blob: dict[str, str] = {}  # commit -> the object id of its keyring
    wanted_full: set[str] = {commit for commit, *_ in walk}
    wanted_head: set[str] = set()
    for commit, *_parents in walk:
        for status, path, old, new in diffs.get(commit, []):
            if path == KEYRING_PATH and status != "D":
                wanted_full.add(new)
            elif chain.record_type_of(path) in _READ_WHOLE:  # (the rules read them)
                wanted_full.update(sha for sha in (old, new) if set(sha) != {"0"})
            elif status != "D":
                wanted_head.add(new)
    outside = {p[0] for _c, *p in walk if p and p[0] not in {c for c, *_ in walk}}
    for parent in outside:  # the walk's first parent, verified before: its keyring
        found = gitio.run(root, ["rev-parse", "--verify", "--quiet", f"{parent}:{KEYRING_PATH}"])
        keyring_blob[parent] = found.strip()
        wanted_full.add(found.strip())
    blobs = _read_objects(root, wanted_full, wanted_head)
    keyrings: dict[str, Keyring] = {}

    def keyring_of(sha: str | None, where: str) -> Keyring | None:
        if not sha or sha not in blobs:
            return None
        if sha not in keyrings:
            try:
                keyrings[sha] = open_with_keys(blobs[sha], keys, store.store_id, where)
            except PanelctlError:
                # the working keyring may itself be forged (its keys then open no genuine
                # older keyring): open this one with the identity, so the forgery is named
                try:
                    keyrings[sha] = Keyring.open(
                        blobs[sha], store.identity, store.store_id, Path(where)
                    )
                except PanelctlError:
                    pass
                if sha not in keyrings:
                    raise
        return keyrings[sha]

    try:
        for commit, *parents in walk:
            report.commits += 1
            changes = diffs.get(commit, [])
            parent = parents[0] if parents else None
            keyring_blob[commit] = next(
                (
                    new
                    for status, path, _old, new in changes
                    if path == KEYRING_PATH and status != "D"
                ),
                keyring_blob.get(parent or "", ""),
            )
            before = keyring_of(keyring_blob.get(parent or ""), f"commit {(parent or '')[:12]}")
            after = keyring_of(keyring_blob[commit], f"commit {commit[:12]}")
            for finding in _check_commit(
                store, blobs, commit, parent, before, after, changes, trust, report
            ):
                report.problems.append(Problem(finding.path, str(finding)))
    except PanelctlError as error:
        report.problems.append(Problem("", error.message))
    if not report.problems and tip is None:  # (a first check has pinned the creator)
        trust = chain.read_trust(store.private)
        if trust is not None:
            trust.verified = head
            chain.write_trust(store.private, trust)


def _diffs(root, walk: list[list[str]]) -> dict[str, list[tuple[str, str, str, str]]]:
    """Each commit's changes against its first parent (every file, for the first commit):
    (status, path, old object id, new object id), from one `git diff-tree --stdin`."""
    if not walk:
        return {}
    lines = "".join(f"{c[0]} {c[1]}\n" if len(c) > 1 else f"{c[0]}\n" for c in walk)
    out = gitio.run(
        root, ["diff-tree", "--stdin", "-r", "-z", "--no-renames", "--root"], stdin=lines
    )
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    tokens = out.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].strip("\n")
        if token.startswith(":") and current is not None and i + 1 < len(tokens):
            meta = token[1:].split()
            found[current].append((meta[4][:1], tokens[i + 1], meta[2], meta[3]))
            i += 2
            continue
        if token:
            current = token
            found.setdefault(current, [])
        i += 1
    return found


def _read_objects(root, full: set[str], heads: set[str], keep: int = 64) -> dict[str, bytes]:
    """The objects named, through one `git cat-file --batch` fed from a thread (so neither
    pipe fills): whole for ``full``, the first ``keep`` bytes (a record's header) for
    ``heads``."""
    import threading

    names = sorted(full) + sorted(heads - full)
    process = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin and process.stdout

    def feed() -> None:
        try:
            for name in names:
                process.stdin.write(name.encode("ascii", "replace") + b"\n")
        finally:
            process.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    found: dict[str, bytes] = {}
    for name in names:
        line = process.stdout.readline().split()
        if len(line) != 3:
            continue
        size = int(line[2])
        data = process.stdout.read(size)
        process.stdout.read(1)
        found[name] = data if name in full else data[:keep]
    writer.join()
    process.wait()
    return found


def _check_commit(store, blobs, commit, parent, before, after, changes, trust, report):
    raw = blobs.get(commit)
    if raw is None:
        return [chain.Finding(commit, "", "cannot be read")]
    payload, signature, _ = gitio.split_signature(raw)
    if after is None:
        return [chain.Finding(commit, KEYRING_PATH, "has no keyring")]
    key = None
    if signature is not None:
        try:
            key = sshsig.signer_of(signature, payload)
        except sshsig.BadSignature:
            key = None
    signer = (before or after).signer(key) if key else None
    if parent is None:  # the first commit: its creator is pinned on first use
        if signer is None or signer.role != "coordinator":
            return [chain.Finding(commit, "", "the first commit is not signed by a coordinator")]
        if trust is None:
            chain.write_trust(
                store.private,
                chain.Trust(store.store_id.hex(), commit, b64(key), signer.name, None),
            )
            report.notes.append(
                f"First check of this store in this clone: it was created by {signer.name} "
                f"({signer.agency}), signing key {sshsig.public_line(key)}. Check with them "
                "that this is their key; this clone now trusts it."
            )
        elif trust.creator != b64(key):
            return [
                chain.Finding(
                    commit,
                    "",
                    "the first commit is signed by another creator than the one this clone pinned",
                )
            ]
    by_path = {path: (old, new) for _s, path, old, new in changes}

    def epoch_of(path: str) -> int | None:
        blob = blobs.get(by_path[path][1])
        if blob is None or not envelope.is_encrypted(blob) or len(blob) < 12:
            return None
        return envelope.epoch_of(blob)

    def versions(path: str):
        def read(sha: str):
            blob = blobs.get(sha)
            if blob is None:
                return None
            try:
                return yamlio.load(
                    envelope.decrypt(after.keys, store.store_id, path, blob, store._case_key_view)
                )
            except PanelctlError:  # (an erased case's meeting versions among them)
                return None

        old, new = by_path[path]
        return read(old), read(new)

    if report.touched is not None:
        report.touched.update(by_path)
    return chain.check_change(
        commit,
        signer,
        before,
        after,
        [chain.Change(status, path) for status, path, _o, _n in changes],
        epoch_of,
        versions,
    )


def signers(store: Store, commits: list[str]) -> dict[str, str]:
    """Each commit's verified signer as "name (agency, role)", from the keyring in force
    before it (the git author name, which anyone can set, is not used)."""
    keys = store.keyring.keys
    objects = _Objects(store.root)
    keyrings: dict[str, Keyring] = {}
    found: dict[str, str] = {}
    try:
        for commit in commits:
            raw = objects.get(commit)
            if raw is None:
                found[commit] = "(unreadable commit)"
                continue
            payload, signature, parents = gitio.split_signature(raw[1])
            at = parents[0] if parents else commit
            blob = objects.get(f"{at}:{KEYRING_PATH}")
            if blob is None:
                found[commit] = "(no keyring)"
                continue
            if blob[0] not in keyrings:
                keyrings[blob[0]] = open_with_keys(blob[1], keys, store.store_id, at[:12])
            try:
                key = sshsig.signer_of(signature or "", payload)
            except sshsig.BadSignature:
                found[commit] = "(not signed by a reader)"
                continue
            reader = keyrings[blob[0]].signer(key)
            found[commit] = (
                f"{reader.name} ({reader.agency}, {reader.role})" if reader else "(unknown key)"
            )
    finally:
        objects.close()
    return found
