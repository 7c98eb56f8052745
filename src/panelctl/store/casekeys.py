"""Where the case-key table lives (see :mod:`panelctl.crypto.casekeys` for what it is).

``refs/panelctl/case-keys`` names a single git blob: the sealed table. It is never part of
a commit, so replacing it leaves the old table unreachable, and :func:`purge` removes
unreachable objects for good (``git repack -a -d`` drops them from packs, ``git prune``
from loose objects). Sync fetches the shared copy to ``refs/panelctl/incoming-case-keys``,
merges it by union, forgets the keys of erased cases (named by signed erasure records in
the tree) and pushes the result with the branch.
"""

from __future__ import annotations

from pathlib import Path

from panelctl.base.errors import GitError, TamperedError
from panelctl.crypto import envelope
from panelctl.crypto.casekeys import CaseKeys
from panelctl.model import records
from panelctl.store import gitio

REF = gitio.CASE_KEYS
INCOMING = gitio.INCOMING_CASE_KEYS


def ref_value(root: Path, ref: str = REF) -> str | None:
    out = gitio.run(root, ["rev-parse", "--verify", "--quiet", ref], check=False).strip()
    return out or None


def read(root: Path, store_id: bytes, keys: dict[int, bytes], ref: str = REF) -> tuple[str | None, CaseKeys]:
    """The table at ``ref`` (empty when there is none) and the object id it was read from."""
    oid = ref_value(root, ref)
    if oid is None:
        return None, CaseKeys()
    raw = gitio._cat_batch(root, [oid])[0]
    if raw is None:
        raise GitError(f"git has lost the object {ref} names in {root}; run `panelctl sync`.")
    return oid, CaseKeys.from_bytes(raw, store_id, keys)


def write(root: Path, raw: bytes, old: str | None, ref: str = REF) -> str:
    """Store ``raw`` as a blob and point ``ref`` at it, if it still points at ``old``."""
    oid = gitio.run_bytes(root, ["hash-object", "-w", "--stdin"], raw).strip()
    gitio.run(root, ["update-ref", ref, oid, old or ""])
    return oid


def purge(root: Path) -> None:
    """Remove every object nothing refers to (old case-key tables among them) from packs
    and loose objects, and the reflogs that could refer to them."""
    gitio.run(root, ["reflog", "expire", "--expire=now", "--all"])
    gitio.run(root, ["repack", "-a", "-d", "-q"])
    gitio.run(root, ["prune", "--expire=now"])


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
    """Fetch ``remote``'s table to INCOMING (for a new clone); whether it has one."""
    url = gitio.remote_url(root, remote) or remote
    gitio.run(root, ["update-ref", "-d", INCOMING], check=False)
    if REF not in gitio.run(root, ["ls-remote", url, REF], env=gitio.remote_env()).split():
        return False
    gitio.run(
        root,
        ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", url, f"+{REF}:{INCOMING}"],
        env=gitio.remote_env(),
    )
    return True


def take_incoming(store, reseal: bool = False) -> tuple[bool, CaseKeys | None]:
    """Merge the shared table sync fetched into this clone's (saved at once); whether it
    brought keys, and the shared table as read (None when there was none, or it was
    damaged: a pusher without a key can spoil it, and this clone's copy replaces it).
    ``reseal``: save this clone's table under the keyring now in force even if unchanged
    (after taking the remote's keyring)."""
    oid = ref_value(store.root, INCOMING)
    if oid is None:
        if reseal:
            store.save_case_keys(force=True)
        return False, None
    raw = gitio._cat_batch(store.root, [oid])[0]
    try:
        incoming = CaseKeys.from_bytes(raw or b"", store.store_id, store.keyring.keys)
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
    gone = store.case_keys.forget(erased_cases(store))
    store.save_case_keys()
    return gone


def push_if_needed(store, remote: str, shared: CaseKeys | None) -> bool:
    """Push this clone's table when the shared one lacks a key, holds an erased case's, or
    is missing or damaged; False when the shared table moved meanwhile (fetch again)."""
    table = store.case_keys
    if shared is not None and shared.entries == table.entries:
        return True
    if not table.entries and shared is None and ref_value(store.root, INCOMING) is None:
        return True
    local = ref_value(store.root, REF)
    if local is None:
        store.save_case_keys(force=True)
        local = ref_value(store.root, REF)
    return gitio.push_ref(store.root, remote, local, REF, ref_value(store.root, INCOMING))
