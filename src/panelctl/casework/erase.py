"""`panelctl erase`: a case and everything only it refers to, gone from every commit.

The method is crypto-shredding (see :mod:`panelctl.crypto.casekeys`): every record about a
child is sealed under that child's case key as well as the epoch's data key, and the case
keys are kept outside the versioned history. Erasing a case

1. deletes its records from the tree (the case, its assessments, actions and decisions,
   its links, the restricted items about it or its links, the reminders that listed only
   its actions), takes it off every meeting
   that discussed it (the meeting is kept for the other children, without it), and adds
   a signed erasure record (a tombstone: ids, counts, date, rule, who; no personal data),
   all in one commit by a coordinator;
2. forgets the case's keys in this clone and removes the old case-key tables from git's
   objects, so no version of those records in any commit can be opened again here;
3. on every other clone, the next `panelctl sync` does step 2 (the tombstone says which
   keys to forget), and pushes a table without the keys to the shared repository.

Why not a history rewrite (git-filter-repo)? It would change the id of every commit after
the case's first record, so every signature after it would have to be made again by the
erasing coordinator: the history would no longer show who made each change, every clone
would have to throw its history away and take the new one, and a clone with work not yet
synced would conflict on everything. Shredding leaves every commit as it was (``verify
--all`` still checks each signature), and sync carries it like any other change.

What it cannot do (and says so, in the tombstone and on the terminal): versions written
before the store had case keys (format 4) are sealed under the epoch's key alone, which
every reader holds; a removed reader or anyone who copied the plaintext out (papers sent,
exports) still has what they had; and the shared repository's server keeps unreachable
objects until its administrator runs ``git gc --prune=now``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from panelctl.base import dates
from panelctl.base.errors import ErasedError, InvalidInputError, NotFoundError, PanelctlError
from panelctl.base.names import name_key
from panelctl.crypto import envelope
from panelctl.model import records
from panelctl.rules.retention import retention_end
from panelctl.store import casekeys as casekeys_store
from panelctl.store import gitio
from panelctl.store.core import Store

#: record types deleted with their case (found by their ``case`` field)
OWNED = ("assessment", "action", "decision")


@dataclass
class ErasurePlan:
    case: str
    rule: str
    #: record type name -> ids deleted
    deleted: dict[str, list[str]] = field(default_factory=dict)
    #: records kept but changed: meetings that discussed it, reminders that listed its actions
    changed: list[str] = field(default_factory=list)
    #: versions in history sealed without the case's key (before the store had case keys)
    unshredded: int = 0
    tombstone: str | None = None
    #: whether this clone held keys of the case (and so forgot them)
    shredded: bool = False

    @property
    def ids(self) -> list[str]:
        return [i for kind in self.deleted.values() for i in kind]

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.deleted.items() if ids}


def plan(store: Store, case_id: str, as_of: date | None = None) -> ErasurePlan:
    """What erasing ``case_id`` would remove and change (nothing is written)."""
    if not records.ID_PATTERN.match(case_id) or not case_id.startswith("C-"):
        raise InvalidInputError(f"{case_id!r} is not a case id (like C-0042).", "case")
    if case_id in store.erased_ids():
        raise ErasedError(f"Case {case_id} was erased already.", cases=[case_id])
    if not store.exists(case_id):
        raise NotFoundError(f"No case {case_id} in this store.")
    case = store.read(case_id)
    if case.get("status") != "closed":
        raise InvalidInputError(
            f"Case {case_id} is open; only a closed case can be erased (close it first, "
            "giving the reason, e.g. nominated in error).",
            "case",
        )
    found = ErasurePlan(case_id, _rule(store, case, as_of or dates.today()))
    found.deleted["case"] = [case_id]
    index = store.index()
    for kind in OWNED:
        found.deleted[kind] = sorted(
            (rid for rid, row in index.rows(kind) if row.get("case") == case_id),
            key=records.number_of,
        )
    found.deleted["link"] = sorted(
        (rid for rid, row in index.rows("link") if case_id in (row.get("a"), row.get("b"))),
        key=records.number_of,
    )
    gone = set(found.ids)
    # restricted items about the case or one of its links (sealed under its key too)
    found.deleted["restricted"] = sorted(
        (rid for rid, row in index.rows("restricted") if row.get("subject") in gone),
        key=records.number_of,
    )
    gone = set(found.ids)
    reminders = []
    for rid, row in index.rows("reminder"):
        items = row.get("items") or []
        if items and set(items) & gone:
            if set(items) <= gone:
                reminders.append(rid)
            else:
                found.changed.append(rid)
    found.deleted["reminder"] = sorted(reminders, key=records.number_of)
    found.changed += [
        rid
        for rid, row in index.rows("meeting")
        if case_id in (row.get("cases") or []) or case_id in (row.get("discussed") or [])
    ]
    found.changed.sort(key=lambda i: (records.type_of_id(i).name, records.number_of(i)))
    found.unshredded = _unshredded(store, case_id, found)
    return found


def erase(
    store: Store, case_id: str, reason: str, *, dry_run: bool = False, as_of: date | None = None
) -> ErasurePlan:
    """Erase ``case_id`` (a coordinator; see the module). ``dry_run``: only the plan."""
    store.require_role("coordinator")
    if not store.case_keyed:
        raise ErasedError(
            f"This store is at format {store.settings.format}: its records are sealed under "
            "the store's key alone, so deleting a case would leave it readable in every "
            "earlier commit. A coordinator raises the store to format 4 with `panelctl "
            "migrate`, after which cases can be erased (see the README, Data protection).",
            cases=[case_id],
        )
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInputError("An erasure needs a reason, in a few words.", "reason")
    with store.transaction() as tx:
        found = plan(store, case_id, as_of)
        _check_reason(store.read(case_id), reason)
        if dry_run:
            return found
        gone = set(found.ids)
        for record_id in found.ids:
            tx.delete(record_id)
        for record_id in found.changed:
            record = store.read(record_id)
            if record_id.startswith("M-"):
                tx.put(records.without_cases(record, {case_id}))
            else:
                tx.put({**record, "items": [i for i in record["items"] if i not in gone]})
        me = store.me()
        found.tombstone = tx.create(
            "erasure",
            {
                "case": case_id,
                "erased": dates.now(),
                "by": me.label,
                "role": me.role,
                "rule": found.rule,
                "reason": reason,
                "removed": found.counts,
                "ids": found.ids,
                **({"changed": found.changed} if found.changed else {}),
                **({"unshredded": found.unshredded} if found.unshredded else {}),
            },
        )
        tx.message = f"Erase case {case_id} ({found.tombstone})"
    # the commit is in: now the keys go, here, and the tables that held them
    with store.lock():
        store._erased = None
        found.shredded = bool(store.case_keys.forget({case_id}))
        store.save_case_keys()
        casekeys_store.purge(store.root)
    return found


def _rule(store: Store, case: dict, as_of: date) -> str:
    """The retention rule past which the case is, or that none applies yet."""
    rule = store.profile.get("retention") or {}
    child = case.get("child") or {}
    ended = retention_end(
        dates.as_date(case.get("closed")),
        dates.as_date(child.get("dob")),
        rule.get("years_after_closure"),
        rule.get("until_age"),
    )
    if ended is None:
        return "no retention rule applies: erased on request or order"
    ends, why = ended
    if ends <= as_of:
        return f"retention: {why} (ended {dates.show_date(ends)})"
    return f"on request or order; its retention period runs to {dates.show_date(ends)}: {why}"


def _check_reason(case: dict, reason: str) -> None:
    """The reason is kept for ever in the tombstone: it must not name the child."""
    name = (case.get("child") or {}).get("name") or ""
    words = {w for w in re.split(r"[\s\-']+", name_key(name)) if len(w) >= 3}
    said = set(re.split(r"[\s\-']+", name_key(reason)))
    if words & said or (name_key(name) and name_key(name) in name_key(reason)):
        raise InvalidInputError(
            "The reason names the child; it is kept in the erasure record, which is never "
            "erased: say why in a few words without names (e.g. retention period ended).",
            "reason",
        )


def _unshredded(store: Store, case_id: str, found: ErasurePlan) -> int:
    """How many versions in history of the records erased (and of the meetings changed,
    those that mention the case) are sealed without the case's key: they stay readable to
    anyone who could read the store then."""
    paths = [store.path_of(i) for i in [*found.ids, *found.changed] if not i.startswith("RM-")]
    if not paths or gitio.head(store.root) is None:
        return 0
    out = gitio.run(
        store.root,
        ["log", "--no-renames", "--format=", "--raw", "--no-abbrev", "HEAD", "--", *paths],
    )
    versions = set()
    for line in out.splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) >= 4 and set(parts[3]) != {"0"}:
            versions.add((parts[3], path))
    listed = sorted(versions)
    blobs = gitio._cat_batch(store.root, [sha for sha, _path in listed])
    keys = store.keyring.keys
    count = 0
    for (_sha, path), blob in zip(listed, blobs, strict=True):
        if blob is None:
            continue
        sealed_for = envelope.cases_of(keys, store.store_id, path, blob)
        if sealed_for is not None:
            continue  # sealed under case keys: if it mentions the case, its key is one
        if path.startswith("meetings/"):
            try:
                meeting = records.parse(
                    records.TYPES["meeting"], store.decrypt(path, blob), path[9:-4]
                )
            except PanelctlError:  # a version that does not open is not readable either
                continue
            if case_id not in records.case_scope(records.TYPES["meeting"], meeting):
                continue
        count += 1
    return count
