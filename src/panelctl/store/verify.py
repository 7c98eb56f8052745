"""`panelctl verify`: the history since the last verified commit obeys the store's rules
(every commit signed by a reader whose role allows the change: see
:mod:`panelctl.store.chain`), every record decrypts and validates, and nothing under the
record folders is plaintext or uncommitted. Returns the problems; an empty list means all
is well."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

from panelctl.base import yamlio
from panelctl.base.errors import GitError, InvalidInputError, PanelctlError
from panelctl.crypto import envelope, sshsig
from panelctl.crypto.keyring import KEYRING_PATH, Keyring, open_with_keys
from panelctl.crypto.primitives import b64
from panelctl.model import records
from panelctl.store import chain, gitio
from panelctl.store.core import RECORD_FOLDERS, Store


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return (
            self.message if self.message.startswith(self.path) else f"{self.path}: {self.message}"
        )


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    commits: int = 0  # commits whose history was checked
    notes: list[str] = field(default_factory=list)


def verify(store: Store, since: str | None = None, everything: bool = False) -> Report:
    """Check the history (the commits not yet verified in this clone, or since ``since``,
    or all of them) and then the files; on success HEAD becomes this clone's verified point."""
    store.check_history = False
    try:
        store.keyring  # noqa: B018 - a keyring that does not open is an error, not a list item
        report = Report()
        _history(store, report, since, everything)
        report.problems += _files(store)
    finally:
        store.check_history = True
    return report


def _files(store: Store) -> list[Problem]:
    problems: list[Problem] = []
    for folder in RECORD_FOLDERS:
        directory = store.root / folder
        if not directory.is_dir():
            continue
        rtype = records.BY_FOLDER[folder]
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = f"{folder}/{entry.name}"
            problem = _check_entry(store, rtype, entry, path)
            if problem:
                problems.append(Problem(path, problem))
    for path in gitio.dirty_paths(store.root, RECORD_FOLDERS):
        problems.append(
            Problem(path, "has changes that were never committed; commit or restore them with git.")
        )
    return problems


def _check_entry(
    store: Store, rtype: records.RecordType, entry: os.DirEntry, path: str
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
        records.parse(rtype, store.decrypt(path, blob), record_id)
    except PanelctlError as error:
        return error.message
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


def _history(store: Store, report: Report, since: str | None, everything: bool) -> None:
    root = store.root
    head = gitio.head(root)
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
    elif trust is None or everything or trust.verified is None:
        span = head
    elif trust.verified == head:
        return
    elif gitio.is_ancestor(root, trust.verified, head):
        span = f"{trust.verified}..{head}"
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
            Problem("", "the history begins with another first commit than the one this clone pinned")
        )
        return
    listing = gitio.run(root, ["rev-list", "--reverse", "--topo-order", "--parents", span])
    objects = _Objects(root)
    keyrings: dict[str, Keyring] = {}

    def keyring_at(commit: str) -> Keyring | None:
        found = objects.get(f"{commit}:{KEYRING_PATH}")
        if found is None:
            return None
        if found[0] not in keyrings:
            keyrings[found[0]] = open_with_keys(
                found[1], keys, store.store_id, f"commit {commit[:12]}"
            )
        return keyrings[found[0]]

    try:
        for line in listing.splitlines():
            commit, *parents = line.split()
            report.commits += 1
            for finding in _check_commit(store, objects, keyring_at, commit, parents, trust, report):
                report.problems.append(Problem(finding.path, str(finding)))
    except PanelctlError as error:
        report.problems.append(Problem("", error.message))
    finally:
        objects.close()
    if not report.problems:  # (a first check has pinned the creator in the trust file)
        trust = chain.read_trust(store.private)
        if trust is not None:
            trust.verified = head
            chain.write_trust(store.private, trust)


def _check_commit(store, objects, keyring_at, commit, parents, trust, report):
    found = objects.get(commit)
    if found is None:
        return [chain.Finding(commit, "", "cannot be read")]
    payload, signature, _ = gitio.split_signature(found[1])
    after = keyring_at(commit)
    if after is None:
        return [chain.Finding(commit, KEYRING_PATH, "has no keyring")]
    parent = parents[0] if parents else None
    before = keyring_at(parent) if parent else None
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
            return [chain.Finding(commit, "", "the first commit is signed by another creator than the one this clone pinned")]
    if parent is None:
        names = gitio.run(store.root, ["ls-tree", "-r", "-z", "--name-only", commit])
        changes = [chain.Change("A", p) for p in names.split("\0") if p]
    else:
        out = gitio.run(store.root, ["diff-tree", "-r", "-z", "--no-renames", parent, commit])
        fields = out.split("\0")
        changes = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if meta:
                changes.append(chain.Change(meta.split()[-1][:1], path))

    def epoch_of(path: str) -> int | None:
        blob = objects.get(f"{commit}:{path}")
        if blob is None or not envelope.is_encrypted(blob[1]) or len(blob[1]) < 12:
            return None
        return envelope.epoch_of(blob[1])

    def versions(path: str):
        def read(at: str | None):
            blob = objects.get(f"{at}:{path}") if at else None
            if blob is None:
                return None
            try:
                return yamlio.load(envelope.decrypt(after.keys, store.store_id, path, blob[1]))
            except PanelctlError:
                return None

        return read(parent), read(commit)

    return chain.check_change(commit, signer, before, after, changes, epoch_of, versions)


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
