"""Where the case-key table lives (see :mod:`panelctl.crypto.casekeys` for what it is).

The table is one sealed blob. In each clone it is kept in a small git repository of its
own, ``.git/panelctl/keys.git``, under ``refs/panelctl/case-keys``, never in the store's
own objects: so when a case is erased, the tables that held its key can be destroyed at
once (:func:`purge` rebuilds that small repository with the current table alone), with no
repack of the store's history. Sync and clone move it to and from the shared repository,
where it is ``refs/panelctl/case-keys`` (a ref to one blob, not part of any commit): sync
fetches the shared copy to ``refs/panelctl/incoming-case-keys`` here, merges it by union,
forgets the keys of erased cases (named by signed erasure records in the tree) and pushes
the result before the branch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from panelctl.base.errors import GitError, TamperedError
from panelctl.crypto import envelope
from panelctl.crypto.casekeys import CaseKeys
from panelctl.model import records
from panelctl.store import gitio

REF = gitio.CASE_KEYS
INCOMING = gitio.INCOMING_CASE_KEYS


def keys_repo(root: Path, create: bool = False) -> Path | None:
    """This clone's repository of case-key tables (None when it has none and ``create`` is
    false). A purge killed halfway is finished here."""
    folder = gitio.git_dir(root) / "panelctl"
    repo, fresh, old = folder / "keys.git", folder / "keys.git.new", folder / "keys.git.old"
    if not repo.exists() and fresh.exists():
        fresh.rename(repo)  # the purge had made the new one: it is the table now
    if old.exists() and repo.exists():
        shutil.rmtree(old)
    if repo.exists():
        return repo
    if not create:
        return None
    _init(repo)
    return repo


def _init(repo: Path) -> None:
    repo.parent.mkdir(mode=0o700, exist_ok=True)
    gitio.run(repo.parent, ["init", "--quiet", "--bare", repo.name])
    gitio.run(repo, ["config", "gc.auto", "0"])  # its old tables go by purge, not by gc


def ref_value(root: Path, ref: str = REF) -> str | None:
    repo = keys_repo(root)
    if repo is None:
        return None
    out = gitio.run(repo, ["rev-parse", "--verify", "--quiet", ref], check=False).strip()
    return out or None


def read(
    root: Path, store_id: bytes, keys: dict[int, bytes], ref: str = REF
) -> tuple[str | None, CaseKeys]:
    """The table at ``ref`` (empty when there is none) and the object id it was read from."""
    oid = ref_value(root, ref)
    if oid is None:
        return None, CaseKeys()
    raw = gitio._cat_batch(keys_repo(root), [oid])[0]
    if raw is None:
        raise GitError(f"git has lost the case-key table {ref} names in {root}; run `panelctl sync`.")
    return oid, CaseKeys.from_bytes(raw, store_id, keys)


def write(root: Path, raw: bytes, old: str | None, ref: str = REF) -> str:
    """Store ``raw`` as a blob and point ``ref`` at it, if it still points at ``old``."""
    repo = keys_repo(root, create=True)
    oid = gitio.run_bytes(repo, ["hash-object", "-w", "--stdin"], raw).strip()
    gitio.run(repo, ["update-ref", ref, oid, old or ""])
    return oid


def set_ref(root: Path, oid: str | None, ref: str = REF) -> None:
    """Point ``ref`` back at ``oid`` (None: remove it): a write that did not land."""
    repo = keys_repo(root)
    if repo is not None:
        gitio.run(repo, ["update-ref", *(["-d", ref] if oid is None else [ref, oid])], check=False)


def purge(root: Path) -> None:
    """Destroy every table but the current one: the keys repository is made again with
    that table alone, and the old one removed (every earlier table, and any fetched one)."""
    repo = keys_repo(root)
    if repo is None:
        return
    oid = ref_value(root)
    raw = gitio._cat_batch(repo, [oid])[0] if oid else None
    fresh, old = repo.with_name("keys.git.new"), repo.with_name("keys.git.old")
    shutil.rmtree(fresh, ignore_errors=True)
    _init(fresh)
    if raw is not None:
        new = gitio.run_bytes(fresh, ["hash-object", "-w", "--stdin"], raw).strip()
        gitio.run(fresh, ["update-ref", REF, new])
    repo.rename(old)
    fresh.rename(repo)
    shutil.rmtree(old)


def erased_cases(store) -> set[str]:
    """The cases signed erasure records in the tree say were erased."""
    rtype = records.TYPES.get("erasure")
    if rtype is None:
        return set()
    found = set()
    for record_id in store.ids(rtype):
        found.add(store.read(record_id)["case"])
    return found


class View:
    """The case keys of a store, read from git only when a record needs one."""

    def __init__(self, store):
        self._store = store

    def key(self, case: str, kid: bytes) -> bytes | None:
        return self._store.case_key(case, kid)


def slots_for(table: CaseKeys, cases: list[str]) -> envelope.Slots:
    """(case, kid, key) for each case, making a key for a case that has none."""
    slots = []
    for case in sorted(set(cases)):
        kid = table.kid_for(case) or table.new(case)
        slots.append((case, kid, table.entries[case][kid]))
    return slots


# --- sync ---------------------------------------------------------------------------------


def fetch(root: Path, remote: str) -> bool:
    """Fetch ``remote``'s table to INCOMING here; whether it has one."""
    url = gitio.remote_url(root, remote) or remote
    repo = keys_repo(root, create=True)
    listed = gitio.run(repo, ["ls-remote", url, REF], env=gitio.remote_env()).split()
    if REF not in listed:
        gitio.run(repo, ["update-ref", "-d", INCOMING], check=False)
        return False
    shared = listed[listed.index(REF) - 1]
    if shared == ref_value(root, REF):  # the same table as this clone's: nothing to fetch
        gitio.run(repo, ["update-ref", INCOMING, shared])
        return True
    gitio.run(
        repo,
        ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", url, f"+{REF}:{INCOMING}"],
        env=gitio.remote_env(),
    )
    return True


def forget_incoming(root: Path) -> None:
    set_ref(root, None, INCOMING)


def take_incoming(
    store, reseal: bool = False, keys: dict[int, bytes] | None = None
) -> tuple[bool, CaseKeys | None]:
    """Merge the shared table sync fetched into this clone's (saved at once); whether it
    brought keys, and the shared table as read (None when there was none, or it was
    damaged: a pusher without a key can spoil it, and this clone's copy replaces it).
    ``reseal``: save this clone's table under the keyring now in force even if unchanged
    (after taking the remote's keyring); ``keys``: epoch keys of the remote's keyring, not
    yet taken (so its records can be checked before they are)."""
    oid = ref_value(store.root, INCOMING)
    if oid is None:
        if reseal:
            store.save_case_keys(force=True)
        return False, None
    if oid == ref_value(store.root, REF) and not reseal and not keys:
        return False, None  # the very table this clone holds (push_if_needed: nothing to push)
    raw = gitio._cat_batch(keys_repo(store.root), [oid])[0]
    try:
        incoming = CaseKeys.from_bytes(
            raw or b"", store.store_id, {**store.keyring.keys, **(keys or {})}
        )
    except TamperedError:
        if reseal:
            store.save_case_keys(force=True)
        return False, None
    added = store.case_keys.merge(incoming)
    store.save_case_keys(force=reseal)
    return added, incoming


def apply_erasures(store) -> set[str]:
    """Forget the keys of every case an erasure record in the tree names; the cases whose
    keys were here (saved at once; the old tables are purged when the sync ends)."""
    erased = erased_cases(store)
    if not erased:
        return set()  # (the table is not even read)
    gone = store.case_keys.forget(erased)
    store.save_case_keys()
    return gone


def push_if_needed(store, remote: str, shared: CaseKeys | None) -> bool:
    """Push this clone's table when the shared one lacks a key, holds an erased case's, or
    is missing or damaged; False when the shared table moved meanwhile (fetch again)."""
    if ref_value(store.root, INCOMING) == ref_value(store.root, REF) is not None:
        return True  # the shared table is this clone's own
    table = store.case_keys
    if shared is not None and shared.entries == table.entries:
        return True
    if not table.entries and shared is None and ref_value(store.root, INCOMING) is None:
        return True
    local = ref_value(store.root, REF)
    if local is None:
        store.save_case_keys(force=True)
        local = ref_value(store.root, REF)
    url = gitio.remote_url(store.root, remote) or remote
    return gitio.push_ref(
        keys_repo(store.root), url, local, REF, ref_value(store.root, INCOMING)
    )
