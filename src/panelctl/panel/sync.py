"""`panelctl sync`: take the remote's commits, put this clone's own on top, push.

How it works (and why it never leaves git in a half-merged state):

1. Fetch the remote branch into ``refs/panelctl/incoming``.
2. Verify every incoming commit this clone has not verified, as `verify` does (signature,
   signer a reader with the role for the change, key epochs). One problem and nothing of
   the remote is taken: the problems are named, exit 4.
3. When this clone has no commits of its own beyond the remote's, move to the remote's
   commit (a fast-forward). Otherwise *replay* this clone's own commits (those since the
   common ancestor) on top of it, one by one, as new commits signed by this user:
   - a record changed here and not there is written as changed here;
   - a record changed on both sides is merged field by field
     (:func:`panelctl.model.merge.merge_records`), a disagreement kept as a recorded
     conflict (`panelctl conflicts`), never dropped;
   - a record created here whose id the remote has taken meanwhile gets the next free id
     of its type, and every value equal to the old id in this clone's replayed records is
     rewritten to the new one ("your C-0201 is now C-0203");
   - readers added or removed here are added or removed again on the remote's keyring
     (a removal starts a new key epoch and re-encrypts everything, the remote's records
     included);
   - every record is written under the key epoch in force: nothing is left readable under
     the epoch of a reader removed on either side.
   The history stays a line: every commit is signed by its author and checked by the
   same rules as any write.
4. Push, if the remote is still where it was fetched (a lease); if it moved, start again.

While it works, ``.git/panelctl/sync.json`` holds the commit the clone was at; a sync that
was killed is undone by the next `sync` (or `sync --abort`), which puts the clone back there
(its own commits were never pushed, so nothing is lost) and starts again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.errors import (
    GitError,
    InvalidInputError,
    MidSyncError,
    NotAReaderError,
    PanelctlError,
    SyncRefusedError,
)
from panelctl.base.fsutil import atomic_write
from panelctl.crypto import envelope, sshsig
from panelctl.crypto.casekeys import CaseKeys
from panelctl.crypto.keyring import KEYRING_PATH, Keyring
from panelctl.model import formats, records
from panelctl.model import merge as record_merge
from panelctl.panel.access import add_reader, remove_reader
from panelctl.store import casekeys as casekeys_store
from panelctl.store import chain, gitio
from panelctl.store.core import (
    RECORD_FOLDERS,
    SETTINGS_FILE,
    SIGNED_AREAS,
    STORE_FORMAT_KEY,
    Store,
)
from panelctl.store.verify import verify, verify_incoming

#: How many times sync fetches again when the remote moved while it was merging.
ATTEMPTS = 5

SYNC_JOURNAL = "sync.json"


@dataclass
class SyncReport:
    fetched: int = 0  # commits taken from the remote
    replayed: int = 0  # this clone's commits put on top of them
    pushed: bool = False
    renumbered: dict[str, str] = field(default_factory=dict)  # old id -> new id
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (record id, field)
    remote_empty: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. the creator pinned on first use
    dry_run: bool = False
    nothing: bool = False  # nothing to take and nothing to push
    #: cases erased on the remote whose keys this clone forgot (and purged from git)
    erased: list[str] = field(default_factory=list)


def journal_path(store: Store) -> Path:
    return store.private / SYNC_JOURNAL


def in_progress(store: Store) -> bool:
    return journal_path(store).exists()


def sync(
    store: Store,
    *,
    remote: str = "origin",
    push: bool = True,
    dry_run: bool = False,
    resume: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncReport:
    """Fetch, verify, replay this clone's commits on the remote's, push (see the module).
    ``resume`` (`sync --continue`): an unfinished git merge or rebase made by hand is
    undone first, and its work done the panelctl way (records merged by field)."""
    root = store.root
    store.allow_mid_sync = True  # sync is the way out of an unfinished sync (and works in one)
    if resume:
        abort(store)
    elif any((store.private.parent / name).exists() for name in GIT_STATES):
        raise MidSyncError(
            f"The store {root} has a git merge or rebase made by hand that is not finished; "
            "sync can undo it and do its work the panelctl way (continue), or only undo it "
            "(abort); nothing was changed."
        )
    if gitio.remote_url(root, remote) is None:
        raise InvalidInputError(
            f"This store has no remote called {remote!r}; add the panel's shared repository "
            f"with `git remote add {remote} URL` (or make the store with `panelctl clone`)."
        )
    branch = gitio.current_branch(root)
    with store.lock():
        if dry_run and in_progress(store):
            raise MidSyncError(
                f"A sync of the store {root} was interrupted; a dry run changes nothing, so "
                "it cannot undo it: run sync itself (or abort) first."
            )
        abort_own(store)
        try:
            store.keyring  # noqa: B018 - opens it (and checks HEAD is verified)
        except NotAReaderError:
            return _newcomer(store, remote, branch, dry_run)
        report = SyncReport(dry_run=dry_run)
        taken = None
        try:
            taken = _attempts(store, remote, branch, push, dry_run, now, report)
        finally:
            gitio.forget_incoming(root, remote, branch, taken)
            casekeys_store.forget_incoming(root)
        if report.erased:
            casekeys_store.purge(root)  # the old tables, which held the erased keys
        return report


def _newcomer(store: Store, remote: str, branch: str, dry_run: bool) -> SyncReport:
    """Sync for someone not (yet) a reader here: their clone has nothing of its own, so
    when the remote's keyring now includes them, move to it and verify the history with
    it (the whole history if this clone never verified; nothing is read before that)."""
    root = store.root
    report = SyncReport(dry_run=dry_run)
    head = gitio.head(root)
    incoming = gitio.fetch(root, remote, branch)
    try:
        casekeys_store.fetch(root, remote)
        if incoming is None or incoming == head:
            raise _still_not_a_reader(store)
        if head and not gitio.is_ancestor(root, head, incoming):
            raise SyncRefusedError(
                "You are not a reader of this store, and it has commits of its own that the "
                "remote does not have: a reader must have made them here; make a fresh clone."
            )
        _require_readable(store, incoming)
        raw = gitio.contents_at(root, incoming, [KEYRING_PATH])[KEYRING_PATH]
        try:
            Keyring.open(raw or b"", store.identity, store.store_id, Path(KEYRING_PATH))
        except NotAReaderError:
            raise _still_not_a_reader(store) from None
        report.fetched = len(gitio.commits_between(root, head, incoming))
        if dry_run:
            return report
        _require_clean(store)
        trust = chain.read_trust(store.private)
        _begin(store, head)
        gitio.move_to(root, head or "", incoming)
        store._keyring = None
        store.check_history = False  # (verified just below)
        try:
            casekeys_store.take_incoming(store)  # the records' case keys, before they are read
        finally:
            store.check_history = True
        found = verify(store, everything=trust is None)
        if found.problems:
            abort_own(store)
            raise _does_not_verify(found.problems)
        journal_path(store).unlink()
        report.notes = found.notes
        report.erased += sorted(casekeys_store.apply_erasures(store))
        gitio.forget_incoming(root, remote, branch, incoming)
        casekeys_store.forget_incoming(root)
        if report.erased:
            casekeys_store.purge(root)
        return report
    finally:
        gitio.forget_incoming(root, remote, branch, None)
        casekeys_store.forget_incoming(root)


def _require_readable(store: Store, incoming: str) -> None:
    """The remote's store is at a format this panelctl reads (its settings say which, and
    a newer panelctl's `migrate` raises it): otherwise nothing is taken, and the clone stays
    where it was, readable (exit 21: "this store needs panelctl X or newer")."""
    raw = gitio.contents_at(store.root, incoming, [SETTINGS_FILE])[SETTINGS_FILE]
    try:
        number = (yamlio.load(raw or b"") or {}).get(STORE_FORMAT_KEY)
    except (yamlio.YamlProblem, AttributeError):
        return  # not a settings file: verify names it
    if type(number) is int and number > formats.known():
        raise formats.needs_newer(f"the remote's {SETTINGS_FILE}", number, formats.known(), raw)


def _does_not_verify(problems: list) -> SyncRefusedError:
    """Each problem is named by commit and path (verify's own lines), never by content."""
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return SyncRefusedError(
        "The remote has commits that do not verify, so nothing of them was taken: "
        + "; ".join(str(p) for p in problems[:5])
        + more
        + ". Tell a coordinator: someone may have pushed a forged change."
    )


def _still_not_a_reader(store: Store) -> NotAReaderError:
    recipient = store.identity.recipient if store.identity else "(your recipient)"
    return NotAReaderError(
        "You are not a reader of this store yet: give a coordinator your recipient "
        f"{recipient} (`panelctl identity show`); once they have added you and synced, run "
        "`panelctl sync` again."
    )


def _attempts(store, remote, branch, push, dry_run, now, report) -> str | None:
    """Fetch, take, push until the push holds; the remote's commit at the end (None if
    nothing of it was taken)."""
    root = store.root
    # refs/panelctl/incoming is written by sync alone, under the store's lock, which a git
    # process started by a sync holds until it ends: a lock file of it left now is stale
    (store.private.parent / (gitio.INCOMING + ".lock")).unlink(missing_ok=True)
    for _attempt in range(ATTEMPTS):
        incoming = gitio.fetch(root, remote, branch)
        casekeys_store.fetch(root, remote)
        head = gitio.head(root)
        shared = None
        if incoming is None:
            report.remote_empty = True
        elif head is None or not gitio.is_ancestor(root, incoming, head):
            shared = _take(store, incoming, head, report, now, dry_run)
            if dry_run:
                return None
        elif not dry_run:
            shared = casekeys_store.take_incoming(store)[1]
        if not dry_run:
            report.erased += sorted(casekeys_store.apply_erasures(store))
        head = gitio.head(root)
        taken = None if dry_run else incoming
        settled = head is None or (incoming is not None and head == incoming)
        if settled:
            report.nothing = report.fetched == 0 and report.replayed == 0
        if dry_run or not push:
            return taken
        # keys before records: a record pushed is never without its case's key there
        if not casekeys_store.push_if_needed(store, remote, shared):
            continue
        if settled:
            return taken
        if gitio.push(root, remote, head, branch, incoming):
            report.pushed = True
            return head
    raise GitError(
        f"The remote {remote} kept changing while this sync ran ({ATTEMPTS} tries); "
        "your commits are safe here: run `panelctl sync` again."
    )


def _take(
    store: Store,
    incoming: str,
    head: str | None,
    report: SyncReport,
    now: Callable[[], datetime],
    dry_run: bool,
) -> CaseKeys | None:
    """Take the remote's verified commits and put this clone's on top; the shared
    case-key table as fetched (merged into this clone's before the replay)."""
    root = store.root
    _require_readable(store, incoming)
    if not dry_run:  # the remote's case keys, so that its records can be checked
        casekeys_store.take_incoming(store, keys=_incoming_keys(store, incoming))
    found = verify_incoming(store, incoming)
    if found.problems:
        raise _does_not_verify(found.problems)
    base = gitio.merge_base(root, head, incoming) if head else None
    report.fetched += len(gitio.commits_between(root, base or head, incoming))
    own = gitio.commits_between(root, base, head) if head else []
    if dry_run:
        report.replayed = len(own)
        return None
    _require_clean(store)  # only now: with nothing to take, the folder is not touched
    # read under this clone's keyring now: an epoch of the same number started on the
    # remote meanwhile has another key (the table is sealed again under the remote's)
    store.case_keys  # noqa: B018
    _begin(store, head)
    try:
        _checkout(store, head, incoming)
        # the remote's case keys (its records need them) under the remote's keyring
        shared = casekeys_store.take_incoming(store, reseal=True)[1]
        if own:
            _replay(store, own, incoming, report, now)
    except BaseException:
        abort_own(store)
        raise
    journal_path(store).unlink()
    report.replayed += len(own)
    return shared


def _begin(store: Store, head: str | None) -> None:
    entry = {"head": head, "owner": gitio.process_mark()}  # (owner: see abort_own)
    atomic_write(journal_path(store), json.dumps(entry).encode())


def _journal_paths(store: Store, paths: set[str]) -> None:
    """Add to the sync's journal the files its replayed commits wrote, which git's index
    does not know of until they are written to git (store/batch.py): an abort puts them
    back (a new record's file removed)."""
    entry = json.loads(journal_path(store).read_text())
    entry["paths"] = sorted(paths)
    atomic_write(journal_path(store), json.dumps(entry).encode())


def _checkout(store: Store, head: str | None, target: str) -> None:
    """Move the clone to ``target`` (verified): files, git's index, HEAD, trust."""
    gitio.move_to(store.root, head or "", target)
    store._erased = None  # the remote's erasure records are in the tree now
    trust = chain.read_trust(store.private)
    if trust is not None:
        trust.verified = target
        chain.write_trust(store.private, trust)
    store._keyring = None  # the remote's keyring is the one in force now
    store._index = None


def abort_own(store: Store) -> bool:
    """Undo a sync that did not finish (killed, or failed): back to the commit the clone
    was at; True if there was one. Its own commits were never pushed: nothing is lost."""
    path = journal_path(store)
    if not path.exists():
        return False
    entry = json.loads(path.read_text())
    head = entry["head"]
    # git's locks a killed sync left (read-tree's index.lock, update-ref's HEAD.lock): its
    # own, once its process is gone, by the same proof a killed write's are
    gitio.remove_stale_locks(store.root, store.private.parent, path, entry.get("owner"))
    now = gitio.head(store.root)
    # files a replay wrote for commits it had not yet written to git: back as HEAD has
    # them (new ones removed), so that the move below meets a clean tree
    gitio.restore(store.root, entry.get("paths", []))
    if head:
        # even when HEAD did not move: a kill between git's two steps of a move leaves the
        # files and git's index at the remote's commit and HEAD here
        gitio.move_to(store.root, now or "", head)
    trust = chain.read_trust(store.private)
    if trust is not None and head:
        trust.verified = head
        chain.write_trust(store.private, trust)
    store._keyring = None
    store._index = None
    path.unlink()
    return True


#: git's own unfinished operations in a clone, and how each is undone
GIT_STATES = {
    "MERGE_HEAD": ["merge", "--abort"],
    "CHERRY_PICK_HEAD": ["cherry-pick", "--abort"],
    "REVERT_HEAD": ["revert", "--abort"],
    "rebase-merge": ["rebase", "--abort"],
    "rebase-apply": ["rebase", "--abort"],
}


def abort(store: Store) -> bool:
    """`sync --abort`: undo an unfinished sync of panelctl's, or an unfinished git merge,
    rebase, cherry-pick or revert; True if there was one."""
    store.allow_mid_sync = True
    with store.lock():
        undone = abort_own(store)
        git_dir = store.private.parent
        for name, command in GIT_STATES.items():
            if (git_dir / name).exists():
                gitio.run(store.root, command)
                undone = True
    return undone


def _require_clean(store: Store) -> None:
    # any change to a tracked file; new files only where the store keeps its own (a file
    # of the user's elsewhere in the folder, an identity say, is left alone)
    # (two looks, each at its own files: git stats each of 110,000 records once, not twice)
    areas = [*RECORD_FOLDERS, *SIGNED_AREAS]
    elsewhere = gitio.run(
        store.root,
        ["status", "--porcelain", "-z", "--untracked-files=no", "--", ".",
         *(f":(exclude){area}" for area in areas)],
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )  # fmt: skip
    tracked = [entry[3:] for entry in elsewhere.split("\0") if entry[:2].strip()]
    dirty = tracked or gitio.dirty_paths(store.root, areas)
    if dirty:
        raise InvalidInputError(
            f"{dirty[0]} has changes that are not committed; sync moves the whole store, so "
            "commit them (settings: `panelctl settings commit`) or restore them with "
            "`git checkout` first."
        )


# --- replaying this clone's commits -----------------------------------------------------


def _replay(
    store: Store,
    own: list[list[str]],
    onto: str,
    report: SyncReport,
    now: Callable[[], datetime],
) -> None:
    root = store.root
    me = store.identity.signing_public if store.identity else None
    # ids this clone's commits create: a renumbered id is above them all and the remote's
    local_ids: set[str] = set()
    plans = []
    for commit, *parents in own:
        if len(parents) != 1:
            raise SyncRefusedError(
                f"Commit {commit[:12]} here is a git merge; sync cannot replay it. Undo it "
                "(git reset) and run `panelctl sync` again."
            )
    # each commit, what it changed, and those files before and after: a few git processes
    # for all of them
    raws = gitio._cat_batch(root, [commit for commit, _parent in own])
    all_changes = gitio.changes_of(root, [(commit, parent) for commit, parent in own])
    specs = [
        f"{rev}:{path}"
        for (commit, parent), changes in zip(own, all_changes, strict=True)
        for rev in (parent, commit)
        for path in [*(p for _s, p in changes), KEYRING_PATH]
    ]
    contents = dict(zip(specs, gitio._cat_batch(root, specs), strict=True))
    for (commit, _parent), raw, changes in zip(own, raws, all_changes, strict=True):
        if raw is None:
            raise GitError(f"git cannot read commit {commit[:12]} in {root}.")
        payload, signature, parents = gitio.split_signature(raw)
        try:
            signer = sshsig.signer_of(signature or "", payload)
        except sshsig.BadSignature:
            signer = None
        if signer != me:
            raise SyncRefusedError(
                f"Commit {commit[:12]} here was not made with your identity; only your own "
                "commits can be put on top of the remote's. Ask its author to sync it."
            )
        message = payload.partition(b"\n\n")[2].decode("utf-8", "replace").strip()
        plans.append((commit, parents[0], changes, message))
        local_ids.update(
            Path(path).name[:-4]
            for status, path in changes
            if status == "A" and chain.record_type_of(path) is not None
        )
    mapping: dict[str, str] = {}
    erased = frozenset(casekeys_store.erased_cases(store))  # on the remote, now taken
    index = store.index()
    index.defer()  # each table saved once, after the last commit (see Index.deferred)
    # the commits are made in memory and written at the end, HEAD moving once (one git
    # process for each kind of object, not fifteen a commit: store/batch.py)
    try:
        with store.batch(journal=lambda paths: _journal_paths(store, paths)):
            for commit, parent, changes, message in plans:
                paths = [*(p for _s, p in changes), KEYRING_PATH]
                before = {p: contents[f"{parent}:{p}"] for p in paths}
                after = {p: contents[f"{commit}:{p}"] for p in paths}
                _replay_one(
                    store,
                    commit,
                    (before, after),
                    changes,
                    message,
                    mapping,
                    local_ids,
                    report,
                    now,
                    erased,
                )
                report.renumbered = dict(mapping)
    except BaseException:
        index.deferred = None
        store._index = None  # its tables hold commits that were never written
        raise
    if store._index is index:
        index.flush()
    else:
        index.deferred = None


def _replay_one(
    store, commit, versions, changes, message, mapping, local_ids, report, now, erased
):
    root = store.root
    paths = [path for _status, path in changes]
    before, after = versions  # path -> content in the commit's parent, and in the commit
    # this clone's own keys of the time: an epoch it started may clash in number with one
    # the remote started meanwhile, so they are never mixed with the keyring now in force
    keys = _local_keys(store, before[KEYRING_PATH], after[KEYRING_PATH])
    if KEYRING_PATH in paths:
        with store.outside_batch():  # a rekey touches every record: written as any write
            _replay_access(store, before[KEYRING_PATH], after[KEYRING_PATH], message)
    recorded = now().astimezone(UTC).isoformat(timespec="seconds")
    with store.transaction(message) as tx:
        for status, path in changes:
            rtype = chain.record_type_of(path)
            if path == KEYRING_PATH:
                continue
            if rtype is None:
                _replay_file(store, tx, path, before[path], after[path])
                continue
            old = _plain(store, keys, path, before[path])
            new = _plain(store, keys, path, after[path])
            if old == new:
                continue  # re-encrypted only (a rekey here): the remote's epoch stands
            record_id = Path(path).name[:-4]
            gone = sorted(set(records.case_scope(rtype, new or old or {})) & erased)
            if gone and rtype.name == "meeting":
                old, new = (records.without_cases(v, erased) for v in (old, new))
            elif gone:
                report.notes.append(
                    f"Your change to {record_id} (commit {commit[:12]}) was not applied: "
                    f"case {gone[0]} was erased on the remote, and nothing about it is kept."
                )
                continue
            if status == "A" and record_id not in mapping:
                if (root / path).exists() or record_id in mapping.values():
                    mapping[record_id] = _next_free(store, rtype, local_ids, mapping)
            old = _renumber(old, mapping)
            new = _renumber(new, mapping)
            target_id = mapping.get(record_id, record_id)
            target = rtype.path_for(target_id)
            current = (
                records.parse(rtype, store.read_plaintext(target_id), target_id)
                if (root / target).exists()
                else None
            )
            if _approved(current) and current is not None:
                # approved minutes never change (store/chain.py): this clone's change to
                # the meeting cannot be taken; said, with where it is kept
                report.notes.append(
                    f"Your change to {target_id} (commit {commit[:12]}) was not applied: its "
                    "minutes were approved on the remote meanwhile, and approved minutes "
                    "never change. Ask the chair; your version is kept in that commit (`git show` it; git keeps it for 90 days)."
                )
                continue
            merged, conflicts = record_merge.merge_records(
                rtype, old, new, current, recorded=recorded
            )
            report.conflicts += [(target_id, c["field"]) for c in conflicts]
            if merged == current:
                continue
            if merged is None:
                tx.delete(target_id)
            else:
                tx.put(merged)
        if not tx.staged:
            return


def _approved(record: dict | None) -> bool:
    return bool(record) and (record.get("minutes") or {}).get("status") == "approved"


def _incoming_keys(store: Store, incoming: str) -> dict[int, bytes]:
    """The epoch keys of the remote's keyring (not yet verified: only to open its case-key
    table, which is itself sealed), or none when this identity cannot open it."""
    raw = gitio.contents_at(store.root, incoming, [KEYRING_PATH])[KEYRING_PATH]
    try:
        return Keyring.open(raw or b"", store.identity, store.store_id, Path(KEYRING_PATH)).keys
    except PanelctlError:
        return {}


def _plain(store: Store, keys: dict[int, bytes], path: str, blob: bytes | None) -> dict | None:
    if blob is None:
        return None
    rtype = chain.record_type_of(path)
    plaintext = envelope.decrypt(keys, store.store_id, path, blob, store._case_key_view)
    return records.parse(rtype, plaintext, Path(path).name[:-4])


def _local_keys(store: Store, *keyrings: bytes | None) -> dict[int, bytes]:
    """Every epoch's key in the keyrings before and after a commit being replayed."""
    keys: dict[int, bytes] = {}
    for raw in keyrings:
        if raw:
            keys.update(Keyring.open(raw, store.identity, store.store_id, Path(KEYRING_PATH)).keys)
    return keys


def _renumber(record: dict | None, mapping: dict[str, str]) -> dict | None:
    if record is None or not mapping:
        return record

    def walk(value):
        if isinstance(value, str):
            return mapping.get(value, value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(record)


def _next_free(store: Store, rtype, local_ids: set[str], mapping: dict[str, str]) -> str:
    taken = (
        {name[:-4] for name in os.listdir(store.root / rtype.folder)}
        if (store.root / rtype.folder).is_dir()
        else set()
    )
    taken |= local_ids | set(mapping.values())
    numbers = [
        records.number_of(i)
        for i in taken
        if records.ID_PATTERN.match(i) and i.startswith(rtype.prefix + "-")
    ]
    return rtype.format_id(max(numbers, default=0) + 1)


def _replay_file(store: Store, tx, path: str, old: bytes | None, new: bytes | None) -> None:
    """A settings, profile, risk tool or template file changed here: taken if the remote
    left it alone (or made the same change); both changed it differently: refused."""
    target = store.root / path
    current = target.read_bytes() if target.exists() else None
    if current == new:
        return
    if current == old:
        tx.put_file(path, new)
        return
    raise SyncRefusedError(
        f"{path} was changed both here and on the remote, differently; sync takes no side "
        "on a settings or template file: the sync was undone. Keep one version: put the "
        "remote's back here (a coordinator commits it with `panelctl settings commit`), "
        "then sync again."
    )


def _replay_access(store: Store, old: bytes | None, new: bytes | None, message: str) -> None:
    """Readers added or removed here, done again on the keyring now in force."""
    if new is None:
        raise SyncRefusedError("A commit here deletes the keyring; it cannot be replayed.")
    identity = store.identity
    before = Keyring.open(old, identity, store.store_id, Path(KEYRING_PATH)) if old else None
    after = Keyring.open(new, identity, store.store_id, Path(KEYRING_PATH))
    had = {r.recipient: r for r in (before.readers if before else [])}
    has = {r.recipient: r for r in after.readers}
    current = {r.recipient for r in store.keyring.readers}
    for recipient, reader in has.items():
        if recipient not in had and recipient not in current:
            add_reader(store, recipient, reader.name, reader.agency, reader.role)
    for recipient in had:
        if recipient not in has and recipient in {r.recipient for r in store.keyring.readers}:
            remove_reader(store, recipient)
