"""The store: a git repository of encrypted records, one file per record.

    STORE/
      panelctl.yaml            settings (plaintext: panel name, profile, store id)
      .panelctl/keyring.json   who may read, and the wrapped data keys
      .gitattributes           the textconv diff driver for *.enc
      cases/C-0042.enc         one encrypted YAML record per file, named by id
      meetings/  actions/
      .git/panelctl/           local only: lock, journal, temp files, query index

Every change goes through a :class:`Transaction`: it takes the store's lock (a second
process waits), stages encrypted files in memory, then writes them atomically and makes
exactly one commit. A journal lists the paths being written, so a write killed halfway is
rolled back to the last commit when the store is next locked: all or nothing.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from panelctl.base import config, yamlio
from panelctl.base.errors import (
    ErasedError,
    GitError,
    InvalidInputError,
    InvalidRecordError,
    LockedError,
    MidSyncError,
    NoSpaceError,
    NotAllowedError,
    NotAStoreError,
    NotFoundError,
    TamperedError,
    UnverifiedError,
)
from panelctl.base.fsutil import (
    atomic_write,
    atomic_write_many,
    check_writable,
    ensure_private_dir,
)
from panelctl.crypto import envelope, sshsig
from panelctl.crypto.casekeys import CaseKeys
from panelctl.crypto.identity import Identity, fingerprint
from panelctl.crypto.keyring import KEYRING_PATH, Keyring, Reader
from panelctl.crypto.primitives import b64 as crypto_b64
from panelctl.model import formats, profiles, records
from panelctl.model.records import RecordType
from panelctl.store import casekeys as casekeys_store
from panelctl.store import chain, gitio
from panelctl.store.batch import CommitBatch
from panelctl.store.index import Index

SETTINGS_FILE = "panelctl.yaml"
RECORD_FOLDERS = tuple(t.folder for t in records.TYPES.values())
GITATTRIBUTES = "*.enc -text diff=panelctl merge=binary\n"
PRE_COMMIT_HOOK = """#!/usr/bin/env bash
# panelctl: refuse to commit any file under a record folder that is not encrypted.
magic=$(printf 'PNLCTL')
git diff --cached --name-only --diff-filter=ACMR -z -- {folders} |
while IFS= read -r -d '' path; do
  head=$(git cat-file blob ":$path" | head -c 6)
  if [ "$head" != "$magic" ]; then
    echo "panelctl: $path is not an encrypted record; refusing to commit it." >&2
    exit 1
  fi
done
"""


PROFILE_COPY = ".panelctl/profile.yaml"  # a store made from a profile file keeps a copy
#: In .git: git's marks of an unfinished merge, rebase, cherry-pick or revert, and the
#: journal `panelctl sync` keeps while it works (see Store.require_not_mid_sync).
MID_SYNC_MARKS = (
    "MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD",
    "panelctl/sync.json",
)  # fmt: skip
#: files (not records) that change what panelctl does: used only as a coordinator signed them
#: The store format from which records about a child are sealed under case keys.
CASE_KEYS_FORMAT = 4
SIGNED_AREAS = (SETTINGS_FILE, ".panelctl", "templates")


def is_signed_file(path: str) -> bool:
    return path == SETTINGS_FILE or path.startswith((".panelctl/", "templates/"))


@dataclass(frozen=True)
class Settings:
    store_id: bytes
    name: str
    profile: str
    created: str
    overrides: dict = field(default_factory=dict)
    #: the store's format (``panelctl_store``): the newest record format it was migrated to
    format: int = 1

    def to_yaml(self) -> bytes:
        return settings_format_line(self.format) + yamlio.dump(
            {
                "store_id": self.store_id.hex(),
                "name": self.name,
                "profile": self.profile,
                "created": self.created,
                "settings": self.overrides,
            }
        )


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """--store, else PANELCTL_STORE, else the nearest folder upwards holding a store."""
    given = explicit or os.environ.get(config.ENV_STORE)
    if given:
        root = Path(given).expanduser()
        if not (root / SETTINGS_FILE).is_file():
            raise NotAStoreError(
                f"{root} is not a panelctl store (no {SETTINGS_FILE}); check the store folder "
                f"given (or {config.ENV_STORE}), or create one with `panelctl init`.",
                "store",
            )
        return root.resolve()
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file() and (folder / ".git").exists():
            return folder
    raise NotAStoreError(
        f"{start} is not inside a panelctl store; cd into one, or name one in {config.ENV_STORE}.",
        "store",
    )


class Store:
    def __init__(self, root: Path, identity: Identity | None = None):
        self.root = Path(root).resolve()
        self.settings = read_settings(self.root)
        if not (self.root / ".git").exists():
            raise NotAStoreError(f"{self.root} has store settings but is not a git repository.")
        self.private = ensure_private_dir(gitio.git_dir(self.root) / "panelctl")
        self.identity = identity
        self._keyring: Keyring | None = None
        self._profile: dict | None = None
        self._index = None
        #: While a sync replays commits: they are made in memory (see store/batch.py) and
        #: HEAD moves once, at the end of :meth:`batch`; the working tree follows each as usual.
        self._batch: CommitBatch | None = None
        #: the case-key table (store/casekeys.py), read from git when first needed
        self._case_keys: CaseKeys | None = None
        self._case_keys_oid: str | None = None
        self._case_key_view = casekeys_store.View(self)

    @property
    def store_id(self) -> bytes:
        return self.settings.store_id

    @property
    def profile(self) -> dict:
        """The panel's effective settings: its profile with this store's overrides."""
        if self._profile is None:
            self.signed_files_unchanged()
            copy = self.root / PROFILE_COPY
            base = (
                profiles.load(str(copy))
                if copy.is_file()
                else profiles.builtin(self.settings.profile)
            )
            self._profile = profiles.effective(base, self.settings.overrides)
        return self._profile

    # --- keys ----------------------------------------------------------------------------

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self.require_not_mid_sync()
            if self.identity is None:
                raise InvalidInputError("This needs an identity.", "identity")
            path = self.root / KEYRING_PATH
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                raise NotAStoreError(f"{self.root} has no keyring ({KEYRING_PATH}).") from None
            keyring = Keyring.open(raw, self.identity, self.store_id, Path(KEYRING_PATH))
            self._check_epoch_not_rolled_back(keyring.epoch)
            if self.check_history:
                self.require_verified()
            self._keyring = keyring
        return self._keyring

    #: Refuse to read or write while HEAD holds commits this clone has not verified
    #: (`panelctl verify` turns it off to do the verifying).
    check_history = True
    #: Refuse to read or write while the store is mid-sync (see require_not_mid_sync).
    #: `panelctl sync` sets it on its own Store (or on the class) to open the store while
    #: it does its own merging; `textconv` sets it so that git can show diffs meanwhile.
    allow_mid_sync = False
    _holding_lock = False

    def require_not_mid_sync(self) -> None:
        """No merge, rebase, cherry-pick or revert is unfinished and no sync is under way:
        a half-merged tree shows one side to a read, and a write would land in it."""
        if self.allow_mid_sync:
            return
        git_folder = self.private.parent
        if any(os.path.lexists(git_folder / mark) for mark in MID_SYNC_MARKS):
            raise MidSyncError(  # (the library names no option: README, exit code 22)
                f"The store {self.root} is in the middle of a sync (a merge or rebase is "
                "unfinished): finish it, or go back, with `panelctl sync` (continue or "
                "abort); nothing was read or written."
            )

    def require_verified(self) -> None:
        """HEAD is the newest commit this clone has verified (panelctl's own commits are
        checked as they are made); otherwise nothing in the store is trusted yet."""
        trust = chain.read_trust(self.private)
        if trust is None:
            raise UnverifiedError(
                "This clone has not checked the store's history yet; run `panelctl verify` "
                "once (it also pins who created the store, as SSH pins a server's key)."
            )
        if trust.store_id != self.store_id.hex():
            raise TamperedError(
                f"{SETTINGS_FILE} names another store than the one this clone verified; "
                "restore it from git, or ask a coordinator."
            )
        head = gitio.head_quick(self.root) or gitio.head(self.root)
        if (
            head != trust.verified
            and not self._holding_lock
            and (self.private / "journal.json").exists()
        ):
            # A write of this clone died after its commit (or is landing now): wait for
            # it, or recover it, which adopts its commit if it is this user's own.
            with self.lock():
                pass
            trust = chain.read_trust(self.private) or trust
            head = gitio.head_quick(self.root) or gitio.head(self.root)
        if head != trust.verified:
            raise UnverifiedError(
                f"The store is at commit {(head or 'none')[:12]}, which this clone has not "
                f"verified (the last verified is {(trust.verified or 'none')[:12]}; commits "
                "made outside panelctl, by a git pull or a git commit, say): run `panelctl "
                "verify` to check them before anything is read or written."
            )

    def signed_files_unchanged(self) -> None:
        """The settings, profile copy, risk tools and templates in use are the ones
        committed (and so signed by a coordinator and verified): refuse local edits."""
        self.require_not_mid_sync()
        if self.check_history:
            self.require_verified()
        try:
            dirty = gitio.dirty_paths(self.root, SIGNED_AREAS)
        except GitError:
            gitio.check_index_free(self.root, self.private.parent)  # names a broken index
            raise
        if dirty:
            raise TamperedError(
                f"{dirty[0]} has changes that are not committed: settings, templates and risk "
                "tools take effect only once a coordinator commits them with `panelctl "
                "settings commit` (or restore it with `git checkout`)."
            )

    def use_keyring(self, keyring: Keyring) -> None:
        """After a committed keyring change: use it, and pin its epoch in this clone."""
        self._check_epoch_not_rolled_back(keyring.epoch)
        self._keyring = keyring

    def _check_epoch_not_rolled_back(self, epoch: int) -> None:
        """Refuse a keyring older than one this clone has seen (a reverted `access remove`)."""
        pin = self.private / "epoch"
        try:
            seen = int(pin.read_text())
        except (FileNotFoundError, ValueError):
            seen = 0
        if epoch < seen:
            raise TamperedError(
                f"The keyring {KEYRING_PATH} is at key epoch {epoch}, older than epoch {seen} "
                "already seen in this clone: a removed reader may have been put back. Restore "
                "the newer keyring from git, or ask a coordinator."
            )
        if epoch > seen:
            atomic_write(pin, str(epoch).encode())

    # --- case keys (what erasure destroys: crypto/casekeys.py) ----------------------------

    @property
    def case_keyed(self) -> bool:
        """Records about a child are sealed under its case key too (a store at format 4)."""
        return self.settings.format >= CASE_KEYS_FORMAT

    @property
    def case_keys(self) -> CaseKeys:
        if self._case_keys is None:
            self._case_keys_oid, self._case_keys = casekeys_store.read(
                self.root, self.store_id, self.keyring.keys
            )
        return self._case_keys

    def save_case_keys(self, force: bool = False) -> None:
        """Write the case-key table to git if it changed (before any commit that uses a new
        key, so a committed record never lacks its key), sealed under the current epoch."""
        table = self._case_keys
        if table is None or not (table.changed or force):
            return
        if not table.entries and self._case_keys_oid is None:
            return  # nothing to keep, and no table yet
        keyring = self.keyring
        self._catch_up_case_keys()  # (saved by another process since this one read it)
        raw = table.to_bytes(self.store_id, keyring.epoch, keyring.key)
        self._case_keys_oid = casekeys_store.write(self.root, raw, self._case_keys_oid)
        table.changed = False
        table.added.clear()
        table.forgotten.clear()

    def _catch_up_case_keys(self) -> bool:
        """Take the table another process saved since this one read it, keeping what this
        one added or forgot meanwhile; whether there was one."""
        table = self._case_keys
        oid = casekeys_store.ref_value(self.root)
        if table is None or oid == self._case_keys_oid:
            return False
        self._case_keys_oid, newer = casekeys_store.read(
            self.root, self.store_id, self.keyring.keys
        )
        table.rebase(newer)
        return True

    def case_key(self, case: str, kid: bytes) -> bytes | None:
        """A case key, by case and kid (None: this clone does not hold it: erased, or a
        table not synced); a miss reads the table again if another process changed it."""
        key = self.case_keys.key(case, kid)
        if key is None and self._catch_up_case_keys():
            key = self.case_keys.key(case, kid)
        return key

    def forget_case_keys(self) -> None:
        """Read the table again when next needed (a write that added a key did not land)."""
        self._case_keys = None
        self._case_keys_oid = None
        self._erased = None

    _erased: dict[str, str] | None = None

    def erased_ids(self) -> dict[str, str]:
        """Every record id the erasure records in the tree name -> the case erased with it
        (ids are never given out again, and nothing about an erased case is written)."""
        if self._erased is None:
            found: dict[str, str] = {}
            for record_id in self.ids(records.TYPES["erasure"]):
                tombstone = self.read(record_id)
                for erased in tombstone["ids"]:
                    found[erased] = tombstone["case"]
                found[tombstone["case"]] = tombstone["case"]
            self._erased = found
        return self._erased

    def me(self) -> Reader:
        reader = self.keyring.reader(self.identity.recipient)
        assert reader is not None  # Keyring.open refuses non-readers
        return reader

    def require_role(self, *roles: str) -> None:
        if self.me().role not in roles:
            raise NotAllowedError(
                f"Only a {' or '.join(roles)} may do this; your role in this store is {self.me().role}."
            )

    # --- reading -------------------------------------------------------------------------

    def path_of(self, record_id: str) -> str:
        return records.type_of_id(record_id).path_for(record_id)

    def decrypt(self, path: str, blob: bytes) -> bytes:
        keyring = self.keyring
        if (
            envelope.is_encrypted(blob)
            and len(blob) >= 12
            and envelope.epoch_of(blob) > keyring.epoch
        ):
            # This store's own keyring is current: a file from a later epoch cannot be genuine.
            raise TamperedError(
                f"{path} names a key epoch newer than this store's keyring; restore it from git."
            )
        try:
            return envelope.decrypt(keyring.keys, self.store_id, path, blob, self._case_key_view)
        except ErasedError as error:
            erased = [c for c in error.cases if c in self.erased_ids()]
            if not erased:
                raise
            raise ErasedError(
                f"{path} is about case {erased[0]}, which was erased: nothing of it can be "
                "read again.",
                cases=erased,
            ) from None

    def read_plaintext(self, record_id: str) -> bytes:
        path = self.path_of(record_id)
        try:
            blob = (self.root / path).read_bytes()
        except FileNotFoundError:
            self.require_not_mid_sync()  # missing from a half-merged tree is no answer
            raise NotFoundError(f"No record {record_id} in this store.") from None
        return self.decrypt(path, blob)

    def read(self, record_id: str) -> dict:
        rtype = records.type_of_id(record_id)
        return records.parse(rtype, self.read_plaintext(record_id), record_id)

    def exists(self, record_id: str) -> bool:
        return (self.root / self.path_of(record_id)).exists()

    def ids(self, rtype: RecordType) -> list[str]:
        folder = self.root / rtype.folder
        if not folder.is_dir():
            return []
        found = []
        for entry in os.scandir(folder):
            name = entry.name
            if name.endswith(".enc") and records.ID_PATTERN.match(name[:-4]):
                found.append(name[:-4])
        return sorted(found, key=records.number_of)

    # --- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self, message: str | None = None) -> Iterator[Transaction]:
        """Lock, stage changes, and on a clean exit write them and make one commit."""
        with self.lock():
            tx = Transaction(self, message)
            yield tx
            tx.commit()

    @contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        if self._holding_lock:  # this Store holds it already (a sync's writes): go on
            yield
            return
        timeout = config.lock_timeout() if timeout is None else timeout
        self.require_not_mid_sync()
        fd = os.open(self.private / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockedError(
                            f"The store {self.root} is busy with another panelctl write; try again "
                            f"shortly (or raise {config.ENV_LOCK_TIMEOUT})."
                        ) from None
                    time.sleep(0.05)
            self.require_not_mid_sync()  # again: a sync may have held the lock meanwhile
            with gitio.holding_store_lock(fd):
                self._holding_lock = True
                self._recover()
                self._keyring = None  # re-read under the lock: another process may have changed it
                self._index = None  # likewise the index tables, checked again against HEAD
                yield
        finally:
            self._holding_lock = False
            os.close(fd)  # closing releases the lock

    def head_now(self) -> str | None:
        """The commit the store is at: HEAD, or a batch's last commit while there is one."""
        if self._batch is not None:
            return self._batch.head
        return gitio.head_quick(self.root) or gitio.head(self.root)

    @contextmanager
    def batch(self, journal: Callable[[set[str]], None] | None = None) -> Iterator[CommitBatch]:
        """Commits made inside are made in memory and written at the end, HEAD moving once
        (store/batch.py). Under the lock, on a store with a HEAD, with git's locks free; an
        error leaves HEAD where it was (the working tree is the caller's to put back)."""
        if not self._holding_lock or self._batch is not None:
            raise RuntimeError("a batch needs the store's lock, and no batch open")
        head = gitio.head(self.root)
        if head is None:
            raise RuntimeError("a batch needs a commit to start from")
        gitio.check_write_locks_free(self.root, self.private.parent)
        self._batch = CommitBatch(self.root, head, journal=journal)
        try:
            yield self._batch
            self._write_batch()
        finally:
            self._batch = None

    def _write_batch(self) -> None:
        batch = self._batch
        before = batch.start
        new = batch.flush()
        _advance_trust(self, before, new)  # own commits, each checked as it was made

    @contextmanager
    def outside_batch(self) -> Iterator[None]:
        """Write the open batch (if any); commits made inside are ordinary writes (a
        reader added or removed: a new key epoch re-encrypts every record); then the batch
        goes on from there."""
        batch = self._batch
        if batch is None:
            yield
            return
        self._write_batch()
        self._batch = None
        try:
            yield
        finally:
            self._batch = CommitBatch(self.root, gitio.head(self.root), batch.paths, batch.journal)

    def _recover(self) -> None:
        """Roll back a write that was interrupted (killed, power lost) to the last commit."""
        journal = self.private / "journal.json"
        git_folder = self.private.parent
        if not journal.exists():
            gitio.remove_stale_locks(self.root, git_folder, journal, None)
        else:
            entry = json.loads(journal.read_text())
            gitio.remove_stale_locks(self.root, git_folder, journal, entry.get("owner"))
            paths = entry["paths"]
            case_keys = (entry["case_keys"],) if "case_keys" in entry else None
            _write_journal(
                journal, paths, entry.get("before"), case_keys
            )  # this roll-back's git steps are ours
            gitio.restore(self.root, paths)
            self._adopt_own_commit(entry.get("before"))
            if case_keys is not None and gitio.head(self.root) == entry.get("before"):
                _put_back_case_keys(self, case_keys[0])  # the write did not land
            journal.unlink()
        tmp = self.private / "tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        for stale in self.private.glob("index-*"):  # temporary git indexes of a killed commit
            stale.unlink()

    def _adopt_own_commit(self, before: str | None) -> None:
        """A write killed after its commit landed but before this clone's verified point
        moved to it: move it now, if HEAD is that commit (on the verified point, signed
        with this identity's key, which signs only what ``_check_rules`` passed), so the
        next command does not ask for a ``verify`` of the user's own change."""
        if before is None or self.identity is None:
            return
        trust = chain.read_trust(self.private)
        head = gitio.head(self.root)
        if trust is None or trust.verified != before or head is None or head == before:
            return
        payload, signature, parents = gitio.read_commit(self.root, head)
        if parents != [before] or signature is None:
            return
        try:
            if sshsig.signer_of(signature, payload) != self.identity.signing_public:
                return
        except sshsig.BadSignature:
            return
        trust.verified = head
        chain.write_trust(self.private, trust)

    def create(self, type_name: str, data: dict) -> str:
        with self.transaction() as tx:
            return tx.create(type_name, data)

    def update(self, record: dict) -> bool:
        """Replace a record; True when it changed (and so a commit was made)."""
        with self.transaction() as tx:
            if not self.exists(record.get("id", "")):
                raise NotFoundError(f"No record {record.get('id')} in this store.")
            tx.put(record)
        return tx.committed

    def delete(self, record_id: str) -> None:
        with self.transaction() as tx:
            tx.delete(record_id)

    # --- index ---------------------------------------------------------------------------

    def index(self):
        """The query index, one per Store (re-checked against HEAD under the lock)."""
        if (self.private / "journal.json").exists():
            # A write is under way, or died halfway: wait for it, or roll it back, so that
            # no half-written file is indexed as if HEAD held it.
            with self.lock():
                pass
        current = self.head_now() if self._batch is not None else gitio.head_quick(self.root)
        if self._index is None or current is None or self._index.seen_head != current:
            self._index = Index.open(self)
            self._index.seen_head = current
        return self._index


class Transaction:
    """Staged changes to a store; see :meth:`Store.transaction`."""

    def __init__(self, store: Store, message: str | None):
        self.store = store
        self.message = message
        self.staged: dict[str, bytes | None] = {}  # path -> ciphertext, or None to delete
        self.operations: list[tuple[str, str]] = []  # (verb, record id) for the message
        self.index_updates: dict[str, tuple[str, dict] | None] = {}
        self._next: dict[str, int] = {}
        self.committed = False
        self._index = None  # the index as read before a new key epoch (see rekey)
        self._keyring: Keyring | None = None  # a keyring staged by set_keyring or rekey
        #: seal records about a child under case keys (a store at format 4; or `migrate`
        #: raising it there, in this very transaction)
        self.case_keyed = store.case_keyed

    def create(self, type_name: str, data: dict) -> str:
        rtype = records.record_type(type_name)
        if rtype.name not in self._next:
            existing = self.store.ids(rtype)
            top = records.number_of(existing[-1]) if existing else 0
            gone = [
                records.number_of(i)
                for i in self.store.erased_ids()
                if i.startswith(rtype.prefix + "-") and records.ID_PATTERN.match(i)
            ]
            self._next[rtype.name] = max([top, *gone]) + 1
        record_id = rtype.format_id(self._next[rtype.name])
        self._next[rtype.name] += 1
        record = {"id": record_id, **{k: v for k, v in data.items() if k != "id"}}
        self._stage(rtype, record, "Create")
        return record_id

    def put(self, record: dict) -> None:
        record_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(record_id, str):
            raise InvalidRecordError("A record to save needs an id.")
        rtype = records.type_of_id(record_id)
        verb = (
            "Update"
            if self.store.exists(record_id) or rtype.path_for(record_id) in self.staged
            else "Create"
        )
        self._stage(rtype, record, verb)

    def delete(self, record_id: str) -> None:
        path = self.store.path_of(record_id)
        if not (self.store.root / path).exists():
            raise NotFoundError(f"No record {record_id} in this store.")
        self.staged[path] = None
        self.index_updates[path] = None
        self.operations.append(("Delete", f"{records.type_of_id(record_id).name} {record_id}"))

    def reseal(self, record_id: str) -> None:
        """Stage a record again as it is, sealed the way this transaction seals (under its
        case keys, for `migrate` to format 4), even though its content is unchanged."""
        rtype = records.type_of_id(record_id)
        self._stage(rtype, self.store.read(record_id), "Update", unchanged_too=True)

    def put_file(self, path: str, content: bytes | None) -> None:
        """Stage a signed file that is not a record (the settings, the profile copy, a risk
        tool, a template): its new content, or None to delete it."""
        if not is_signed_file(path) or path == KEYRING_PATH:
            raise InvalidInputError(
                f"{path} is not a settings, profile, risk tool or template file."
            )
        self.staged[path] = content
        self.operations.append(("Change" if content is not None else "Delete", path))

    def set_keyring(self, keyring: Keyring) -> None:
        """Stage a changed keyring at the same key epoch (a reader added or changed)."""
        self.staged[KEYRING_PATH] = keyring.to_bytes()
        self._keyring = keyring

    def rekey(self, keyring: Keyring) -> None:
        """Stage ``keyring``, which starts a new key epoch, with every record re-encrypted
        under it; the index is read now, under the old key, and saved under the new one when
        the commit lands. Used alone in its transaction."""
        store = self.store
        if any(path != KEYRING_PATH for path in self.staged):
            raise RuntimeError("rekey must be the only change in its transaction")
        self._index = store.index()
        self._index.prepare(records.TYPES)
        for rtype in records.TYPES.values():
            for record_id in store.ids(rtype):
                path = rtype.path_for(record_id)
                blob = (store.root / path).read_bytes()
                plaintext = store.decrypt(path, blob)
                slots = envelope.slots_of(store.keyring.keys, store.store_id, path, blob)
                table = store.case_keys if slots else None
                self.staged[path] = envelope.encrypt(
                    keyring.key,
                    keyring.epoch,
                    store.store_id,
                    path,
                    plaintext,
                    [(c, kid, table.key(c, kid)) for c, kid in slots] if slots else None,
                )
        self.set_keyring(keyring)

    def _stage(
        self, rtype: RecordType, record: dict, verb: str, unchanged_too: bool = False
    ) -> None:
        records.validate(rtype, record)
        path = rtype.path_for(record["id"])
        plaintext = records.dump(rtype, record)  # at this panelctl's format (an upgrade)
        records.check_size(rtype, record["id"], len(plaintext))
        target = self.store.root / path
        if path not in self.staged and target.exists() and not unchanged_too:
            before = self.store.decrypt(path, target.read_bytes())
            if before == plaintext:
                return  # unchanged: leave the file byte-identical, make no commit
            # refuses a record at a newer format than this panelctl's (it would lose what
            # it does not know); an older one is rewritten, upgraded, even if unchanged
            number, current = records.load_stored(rtype, before, record["id"])
            if number == rtype.format and current == record:
                return
        keyring = self.store.keyring
        self.staged[path] = envelope.encrypt(
            keyring.key,
            keyring.epoch,
            self.store.store_id,
            path,
            plaintext,
            self._slots(rtype, record),
        )
        self.index_updates[path] = (rtype.name, records.index_entry(rtype, record))
        self.operations.append((verb, f"{rtype.name} {record['id']}"))

    def _slots(self, rtype: RecordType, record: dict) -> envelope.Slots | None:
        """The case keys a record is sealed under (none in a store before format 4)."""
        store = self.store
        if not self.case_keyed:
            return None
        cases = records.case_scope(rtype, record)
        if not cases:
            return None
        table = store.case_keys
        erased = [c for c in cases if table.kid_for(c) is None and c in store.erased_ids()]
        if erased:
            raise ErasedError(
                f"{record['id']} is about {erased[0]}, which was erased; nothing about an "
                "erased case can be written again.",
                cases=erased,
            )
        return casekeys_store.slots_for(table, cases)

    def commit(self) -> None:
        if not self.staged:
            return
        store = self.store
        paths = sorted(self.staged)
        index = self._index or store.index()
        index.prepare(t for t, _fields in filter(None, self.index_updates.values()))
        index.prepare(
            records.BY_FOLDER[p.partition("/")[0]].name
            for p, u in self.index_updates.items()
            if u is None
        )
        self._check_rules()
        folders = {store.root, *(store.root / p.partition("/")[0] for p in paths if "/" in p)}
        check_writable(sorted(f for f in folders if f.exists()), "store folder")
        batch = store._batch
        if batch is None:  # (a batch checked them when it began)
            gitio.check_write_locks_free(store.root, store.private.parent)
        journal = store.private / "journal.json"
        before = store.head_now()
        if batch is not None:
            batch.will_write(paths)
        table = store._case_keys
        new_keys = table is not None and table.changed
        # the table as it is now, under the lock (another process may have saved one since
        # this one read it): what a write that does not land puts back
        keys_before = casekeys_store.ref_value(store.root) if new_keys else None
        try:
            _write_journal(journal, paths, before, (keys_before,) if new_keys else None)
        except (OSError, NoSpaceError) as error:
            if _no_space(error, store.root) is None:
                raise
            raise _no_space(error, store.root) from None
        kept = None
        try:
            store.save_case_keys()  # a new case's key is in git before its first record is
            tmp = ensure_private_dir(store.private / "tmp")
            kept = _keep_originals(store.root, paths, tmp)
            writes = []
            for path in paths:
                target = store.root / path
                blob = self.staged[path]
                if blob is None:
                    target.unlink(missing_ok=True)
                else:
                    target.parent.mkdir(mode=0o700, exist_ok=True)
                    writes.append((target, blob))
            if len(writes) == 1:
                atomic_write(*writes[0], tmp_dir=tmp)
            elif writes:
                atomic_write_many(writes, tmp)
            committer = batch.commit if batch is not None else partial(gitio.commit, store.root)
            new = committer(paths, self._message(), _author(store.identity), store.identity.sign)
        except BaseException as error:
            landed = (
                batch.head != before
                if batch is not None
                else _landed(store.root, before, self._message())
            )
            if not landed:
                if kept is not None:
                    _put_back(kept)  # renames only: needs no space on a full disk
                else:
                    gitio.restore(store.root, paths, git_index=False)  # git's index untouched
                if new_keys:
                    _put_back_case_keys(store, keys_before)
                journal.unlink(missing_ok=True)
                if _no_space(error, store.root) is None:
                    raise
                raise _no_space(error, store.root) from None
            # The commit is in: whatever failed after it (git's index following it, a
            # marker file) is not the write's, and saying it failed would have it retried.
            warnings.warn(gitio.GitIndexWarning(gitio.index_advice(store.root)), stacklevel=3)
            new = gitio.head_quick(store.root) or gitio.head(store.root)
        _forget(kept)
        if batch is None:  # (a batch's commits are verified once it is written)
            _advance_trust(store, before, new)
        journal.unlink()
        self.committed = True
        if self._keyring is not None:
            rekeyed = self._keyring.epoch != store.keyring.epoch
            store.use_keyring(self._keyring)  # the index is saved under the new key
            if rekeyed and store._case_keys is not None:
                store.save_case_keys(force=True)  # sealed under the new epoch from now on
        try:
            index.apply(self.index_updates, save_all=self._index is not None)
        except (OSError, NoSpaceError):
            # The query index is a cache checked against HEAD when next opened; the change
            # itself is committed, so this must not turn into a failed (and retried) write.
            warnings.warn(IndexWarning(index_warning(store.root)), stacklevel=3)

    def _check_rules(self) -> None:
        """The change obeys the rules `verify` checks every commit against (chain.py):
        refused here, before anything is written, when the writer's role does not allow it."""
        store = self.store
        before = store.keyring
        after = self._keyring or before
        changes = [
            chain.Change(
                "D" if blob is None else "M" if (store.root / path).exists() else "A", path
            )
            for path, blob in self.staged.items()
        ]

        def epoch_of(path: str) -> int | None:
            blob = self.staged[path]
            return envelope.epoch_of(blob) if blob else None

        def versions(path: str) -> tuple[dict | None, dict | None]:
            target = store.root / path
            old = yamlio.load(store.decrypt(path, target.read_bytes())) if target.exists() else None
            blob = self.staged[path]
            new = (
                yamlio.load(
                    envelope.decrypt(after.keys, store.store_id, path, blob, store._case_key_view)
                )
                if blob
                else None
            )
            return old, new  # type: ignore[return-value]

        findings = chain.check_change("", store.me(), before, after, changes, epoch_of, versions)
        if findings:
            raise NotAllowedError(f"Refused: {findings[0]}; nothing was changed.")

    def _message(self) -> str:
        if self.message:
            return self.message
        ops = self.operations
        if len(ops) <= 3:
            return "; ".join(f"{verb} {label}" for verb, label in ops)
        counts: dict[str, int] = {}
        for verb, _label in ops:
            counts[verb] = counts.get(verb, 0) + 1
        return "Change records: " + ", ".join(f"{verb.lower()} {n}" for verb, n in counts.items())


def _write_journal(
    journal: Path, paths: list[str], before: str | None, case_keys: tuple | None = None
) -> None:
    """The journal of a write: the paths it touches, the commit it starts from (to know its
    own commit if it lands; see Store._adopt_own_commit), the process making it (so that
    a lock file the write leaves can be known for its own; see gitio.remove_stale_locks),
    and, when it adds case keys, the case-key table's object before (put back if the write
    does not land)."""
    entry = {"paths": paths, "before": before, "owner": gitio.process_mark()}
    if case_keys is not None:
        entry["case_keys"] = case_keys[0]
    atomic_write(journal, json.dumps(entry).encode())


def _put_back_case_keys(store: Store, oid: str | None) -> None:
    """The case-key table as it was before a write that did not land (its new key unused)."""
    casekeys_store.set_ref(store.root, oid)
    store.forget_case_keys()


#: Up to this many files, a write keeps each file's previous version (a hard link, which
#: takes no space) to put back if it fails; a bigger write (a rekey) is rolled back from git.
KEEP_ORIGINALS = 64


def _keep_originals(root: Path, paths: list[str], tmp: Path) -> dict[Path, Path | None] | None:
    """target -> a hard link to its present version (None: it does not exist yet), or None
    when the write is too big or the file system has no hard links."""
    if len(paths) > KEEP_ORIGINALS:
        return None
    kept: dict[Path, Path | None] = {}
    try:
        for path in paths:
            target = root / path
            if target.exists():
                kept[target] = tmp / f".before-{secrets.token_hex(8)}"
                os.link(target, kept[target])
            else:
                kept[target] = None
    except OSError:
        _forget(kept)
        return None
    return kept


def _put_back(kept: dict[Path, Path | None]) -> None:
    """Undo a failed write: each file back to the version kept, new files removed."""
    for target, link in kept.items():
        if link is None:
            target.unlink(missing_ok=True)
        elif link.exists():
            os.replace(link, target)


def _forget(kept: dict[Path, Path | None] | None) -> None:
    for link in (kept or {}).values():
        if link is not None:
            link.unlink(missing_ok=True)


def _landed(root: Path, before: str | None, message: str) -> bool:
    """True when HEAD moved to this write's commit (on ``before``, with ``message``)."""
    try:
        now = gitio.head(root)
        if now is None or now == before:
            return False
        shown = gitio.run(root, ["log", "-1", "--format=%P%x00%B", now])
    except BaseException:
        return False
    parents, _, body = shown.partition("\0")
    return parents.strip() == (before or "") and body.strip() == message.strip()


def _advance_trust(store: Store, before: str | None, new: str | None) -> None:
    """Move the clone's verified point to this write's own commit, checked by
    ``_check_rules`` before it was made, when the point was at its parent. Best effort: the
    commit is in, and a trust file that could not be saved only means the next command asks
    for a ``verify``, which passes."""
    try:
        trust = chain.read_trust(store.private)
        if new and trust is not None and trust.verified == before:
            trust.verified = new
            chain.write_trust(store.private, trust)
    except (OSError, NoSpaceError):
        pass


def _no_space(error: BaseException, root: Path) -> NoSpaceError | None:
    """A full disk (or quota, or file size limit) met while writing, as its own error
    saying that the store was left as it was (the write has been rolled back)."""
    if isinstance(error, NoSpaceError) or (
        isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    ):
        return NoSpaceError(gitio.no_space_message(root))
    return None


class IndexWarning(UserWarning):
    """A change was committed but the query index (a cache) could not be saved."""


def index_warning(root: Path) -> str:
    return (
        f"the change was saved, but the query index in {root / '.git' / 'panelctl'} could "
        "not be (is the disk full?); it is rebuilt from the records when next used."
    )


def _author(identity: Identity | None) -> gitio.Author:
    if identity is None:
        raise InvalidInputError("Changing the store needs an identity.", "identity")
    return gitio.Author(
        identity.name, identity.email or f"{fingerprint(identity.recipient)}@panelctl.invalid"
    )


STORE_FORMAT_KEY = "panelctl_store"


def settings_format_line(number: int) -> bytes:
    """The first line of panelctl.yaml: the store's format (see :mod:`panelctl.model.formats`)."""
    return formats.header(number).replace(formats.KEY.encode(), STORE_FORMAT_KEY.encode(), 1)


def read_settings(root: Path) -> Settings:
    path = root / SETTINGS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotAStoreError(f"{root} is not a panelctl store (no {SETTINGS_FILE}).") from None
    try:
        data = yamlio.load(raw)
        number = data.get(STORE_FORMAT_KEY)
        if type(number) is not int or number < 1:
            raise ValueError
        if number > formats.known():
            raise formats.needs_newer(SETTINGS_FILE, number, formats.known(), raw)
        overrides = data.get("settings") or {}
        if not isinstance(overrides, dict):
            raise ValueError
        return Settings(
            store_id=bytes.fromhex(data["store_id"]),
            name=str(data["name"]),
            profile=str(data["profile"]),
            created=str(data.get("created", "")),
            overrides=overrides,
            format=number,
        )
    except (yamlio.YamlProblem, AttributeError, KeyError, TypeError, ValueError):
        raise NotAStoreError(f"{path} is not a valid panelctl settings file.") from None


# --- creating a store --------------------------------------------------------------------


def init_store(
    root: Path, profile: str, name: str, identity: Identity, agency: str, readme: str
) -> Store:
    """Create ``root`` as a new store with ``identity`` as its first coordinator.

    ``readme`` is the text of the store's README.md (rendered by :mod:`panelctl.panel.setup`,
    which is how a store is normally made)."""
    profile_data = profiles.load(profile)
    root = Path(root).expanduser()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidInputError(f"{root} already exists and is not empty; choose a new folder.")
    if not name.strip():
        raise InvalidInputError("A store needs a panel name.", "name")
    created_here = not root.exists()
    ensure_private_dir(root)
    try:
        gitio.init(root)
        settings = Settings(
            secrets.token_bytes(16),
            name.strip(),
            profile_data["name"],
            datetime.now(UTC).date().isoformat(),
            format=formats.known(),
        )
        (root / SETTINGS_FILE).write_bytes(settings.to_yaml())
        (root / ".gitattributes").write_text(GITATTRIBUTES)
        (root / "README.md").write_text(readme)
        first = Reader(
            name=identity.name, agency=agency, role="coordinator", recipient=identity.recipient
        )
        keyring = Keyring.create(settings.store_id, first)
        ensure_private_dir(root / ".panelctl")
        atomic_write(root / KEYRING_PATH, keyring.to_bytes())
        setup_clone(root)
        paths = [SETTINGS_FILE, ".gitattributes", "README.md", KEYRING_PATH]
        if profile not in profiles.names():  # a profile file: keep its copy with the store
            (root / PROFILE_COPY).write_bytes(Path(profile).read_bytes())
            paths.append(PROFILE_COPY)
        first = gitio.commit(root, paths, "Create store", _author(identity), identity.sign)
        assert first is not None
        pin_creator(root, settings.store_id, first, identity.signing_public, identity.name)
    except BaseException:
        if created_here:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return Store(root, identity)


def pin_creator(root: Path, store_id: bytes, first: str, signing_key: bytes, name: str) -> None:
    """Record in this clone that the store begins at ``first``, made by ``signing_key``."""
    private = ensure_private_dir(gitio.git_dir(root) / "panelctl")
    chain.write_trust(
        private,
        chain.Trust(store_id.hex(), first, crypto_b64(signing_key), name, verified=first),
    )


def setup_clone(root: Path) -> None:
    """Register the textconv diff driver and the plaintext guard in this clone's .git."""
    command = f'"{sys.executable}" -m panelctl textconv'
    gitio.set_config(root, "diff.panelctl.textconv", command)
    gitio.set_config(root, "diff.panelctl.cachetextconv", "false")
    gitio.set_config(root, "diff.panelctl.binary", "false")
    hooks = gitio.git_dir(root) / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-commit"
    hook.write_text(PRE_COMMIT_HOOK.format(folders=" ".join(RECORD_FOLDERS)))
    hook.chmod(0o700)
