"""Three-way merge of one record, field by field, with recorded conflicts; and settling one.

``panelctl sync`` replays a clone's unpushed changes on the remote tip; for a record changed
on both sides it calls :func:`merge_records` with three versions: ``base`` (before the local
change), ``ours`` (after it) and ``theirs`` (now on the remote). Pure: no disk, no clock.

The rules:

- A field changed on one side only takes that side's value; the same change on both sides
  is no conflict. Nested maps (a case's ``child``, a meeting's ``minutes``, a discussion's
  ``items``) merge key by key, as far down as they go.
- Lists of items merge item by item. Items are matched by a key: ``id`` where items have
  one, else the key :data:`ITEM_KEYS` names for the list (an attendance line by its
  ``name``, a discussion by its ``case``, a flag by its ``flag``...), else by their whole
  value (a chronology event, a list of ids or agencies). When a key is missing from an item
  or repeated in a list, that list is matched by whole value instead. Items added on either
  side are all kept, in theirs' order followed by ours' new ones; an item removed on one
  side and unchanged on the other is removed; an item edited on both sides merges field by
  field as a record does.
- Append-only lists (:data:`APPEND_ONLY`: an action's ``history``, a reminder's ``items``,
  a meeting run's ``progress``, and a record's ``conflicts``) are always matched by whole
  value, so both sides' additions are kept (a union) and they never conflict.
- A decision's confirmation (``confirmed`` with ``confirmed_by``) happens once: when both
  sides confirmed it differently, the earlier confirmation stands, with no conflict.
- The same field changed to two different values, or an item removed on one side and edited
  on the other: nothing is dropped. The merged record keeps THEIRS' value (the remote is
  what others already see) and a conflict entry ``{field, base, ours, theirs, recorded}``
  in its top-level ``conflicts`` list. ``field`` is a path such as ``risk``, ``child.dob``
  or ``attendance[3].status`` (list positions count from 1, in the merged list); a value
  that is absent is ``null``, an item removed is ``deleted``.
- A record deleted on one side and edited on the other is kept as edited, with a conflict
  on field ``(record)`` whose ``ours``/``theirs`` say ``deleted`` or ``changed``. Deleted
  on one side and untouched on the other: deleted.
- ``id`` never changes.

:func:`resolve` settles one conflict: it sets the field to ``ours``, ``theirs`` or a value
given as YAML text, and removes the conflict entry.
"""

from __future__ import annotations

import re
from typing import Any

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError
from panelctl.model.records import RecordType

#: the top-level list of open conflicts every record may hold
CONFLICTS = "conflicts"
#: the ``field`` of a conflict between a deletion and an edit of the whole record
RECORD = "(record)"
DELETED, CHANGED = "deleted", "changed"

#: the key matching the items of a list of maps, by record type and list path ("[]" for
#: "each item of"); lists whose items hold an ``id`` are matched by it without being named
ITEM_KEYS: dict[tuple[str, str], str] = {
    ("case", "flags"): "flag",
    ("case", "missing"): "start",
    ("meeting", "agenda"): "case",
    ("meeting", "attendance"): "name",
    ("meeting", "confidentiality"): "name",
    ("meeting", "declarations"): "name",
    ("meeting", "discussions"): "case",
}

#: lists that only ever grow: matched by whole value, so they merge as unions
APPEND_ONLY: frozenset[tuple[str, str]] = frozenset(
    {
        ("action", "history"),
        ("reminder", "items"),
        ("meeting", "progress"),
    }
)

_ABSENT = object()  # a key a map does not hold


def merge_records(
    rtype: RecordType,
    base: dict | None,
    ours: dict | None,
    theirs: dict | None,
    *,
    recorded: str,
) -> tuple[dict | None, list[dict]]:
    """The merged record (None when it is to be deleted) and the new conflicts it records.

    ``base`` is the record before the local change (None: it did not exist), ``ours`` after
    it (None: deleted here), ``theirs`` as on the remote tip (None: deleted there);
    ``recorded`` is the ISO moment new conflicts are stamped with.
    """
    if ours is None and theirs is None:
        return None, []
    if ours is None or theirs is None:
        present, side = (theirs, "theirs") if ours is None else (ours, "ours")
        if base is None:
            return present, []  # added on one side only
        if _equal(present, base):
            return None, []  # deleted on one side, untouched on the other
        conflict = {
            "field": RECORD,
            "base": None,
            "ours": CHANGED if side == "ours" else DELETED,
            "theirs": CHANGED if side == "theirs" else DELETED,
            "recorded": recorded,
        }
        merged = dict(present)
        merged[CONFLICTS] = [*(present.get(CONFLICTS) or []), conflict]
        return merged, [conflict]

    merger = _Merger(rtype.name, recorded)
    base_fields = {k: v for k, v in (base or {}).items() if k != CONFLICTS}
    merged = merger.maps(
        base_fields,
        {k: v for k, v in ours.items() if k != CONFLICTS},
        {k: v for k, v in theirs.items() if k != CONFLICTS},
        "",
        "",
    )
    merged["id"] = theirs.get("id", ours.get("id"))
    if rtype.name == "decision":
        _first_confirmation(merged, base_fields, ours, theirs, merger)
    # conflicts already recorded: settled on one side is settled; new ones added after
    open_before = _Merger(rtype.name, recorded).lists(
        (base or {}).get(CONFLICTS) or [],
        ours.get(CONFLICTS) or [],
        theirs.get(CONFLICTS) or [],
        CONFLICTS,
        CONFLICTS,
    )
    conflicts = [*open_before, *merger.conflicts]
    if conflicts:
        merged[CONFLICTS] = conflicts
    return merged, merger.conflicts


class _Merger:
    def __init__(self, type_name: str, recorded: str):
        self.type_name = type_name
        self.recorded = recorded
        self.conflicts: list[dict] = []
        # frozen forms of the inputs' maps and lists by id(): a merge compares a subtree at
        # each level it walks through, and freezing it again each time is most of the cost
        # (the inputs are alive, and not changed, for the whole merge)
        self._frozen: dict[int, tuple] = {}

    def freeze(self, value: Any):
        """A hashable stand-in for a value (equal for equal values), to match items by."""
        if not isinstance(value, dict | list):
            return value
        found = self._frozen.get(id(value))
        if found is None:
            try:  # flat maps and lists (most items): hashed in C
                if isinstance(value, dict):
                    found = ("map", frozenset(value.items()))
                else:
                    found = ("list", tuple(value))
                    hash(found)
            except TypeError:  # holding maps or lists
                if isinstance(value, dict):
                    found = ("map", frozenset((k, self.freeze(v)) for k, v in value.items()))
                else:
                    found = ("list", tuple(self.freeze(v) for v in value))
            self._frozen[id(value)] = found
        return found

    def equal(self, a: Any, b: Any) -> bool:
        # Python's own equality (fast, in C): records are checked against their types, so
        # one field never holds both a bool and a number (True == 1), nor a date and a
        # moment (which are never equal anyway)
        if a is _ABSENT or b is _ABSENT:
            return a is b
        return a == b

    def value(self, base: Any, ours: Any, theirs: Any, where: str, schema: str) -> Any:
        """One value's merge (any of the three may be _ABSENT); returns _ABSENT to drop it."""
        if self.equal(ours, theirs):
            return ours
        if self.equal(ours, base):
            return theirs
        if self.equal(theirs, base):
            return ours
        if isinstance(ours, dict) and isinstance(theirs, dict):
            return self.maps(base if isinstance(base, dict) else {}, ours, theirs, where, schema)
        if isinstance(ours, list) and isinstance(theirs, list):
            return self.lists(base if isinstance(base, list) else [], ours, theirs, where, schema)
        self.conflict(where, base, ours, theirs)
        return theirs

    def maps(self, base: dict, ours: dict, theirs: dict, where: str, schema: str) -> dict:
        merged: dict = {}
        for key in [*theirs, *(k for k in ours if k not in theirs)]:
            inner = f"{where}.{key}" if where else str(key)
            inner_schema = f"{schema}.{key}" if schema else str(key)
            value = self.value(
                base.get(key, _ABSENT),
                ours.get(key, _ABSENT),
                theirs.get(key, _ABSENT),
                inner,
                inner_schema,
            )
            if value is not _ABSENT:
                merged[key] = value
        return merged

    def lists(self, base: list, ours: list, theirs: list, where: str, schema: str) -> list:
        keyof = self._matcher(schema, base, ours, theirs)
        b, o, t = _keyed(base, keyof), _keyed(ours, keyof), _keyed(theirs, keyof)
        merged: list = []
        for key, theirs_item in t.items():
            base_item, ours_item = b.get(key, _ABSENT), o.get(key, _ABSENT)
            at = f"{where}[{len(merged) + 1}]"
            if ours_item is _ABSENT and base_item is not _ABSENT:  # removed here
                if self.equal(theirs_item, base_item):
                    continue
                self.conflict(at, base_item, DELETED, theirs_item)
                merged.append(theirs_item)
            elif ours_item is _ABSENT:  # added there
                merged.append(theirs_item)
            else:
                merged.append(self.value(base_item, ours_item, theirs_item, at, schema + "[]"))
        for key, ours_item in o.items():
            if key in t:
                continue
            base_item = b.get(key, _ABSENT)
            if base_item is _ABSENT:  # added here
                merged.append(ours_item)
            elif not self.equal(ours_item, base_item):  # removed there, edited here
                self.conflict(f"{where}[{len(merged) + 1}]", base_item, ours_item, DELETED)
                merged.append(ours_item)
        return merged

    def _matcher(self, schema: str, *lists: list):
        """How the items of this list are matched: a function giving each item's key."""
        if schema == CONFLICTS or (self.type_name, schema) in APPEND_ONLY:
            return self.freeze
        named = ITEM_KEYS.get((self.type_name, schema))
        for field in ("id", named) if named else ("id",):
            if all(_unique_key(items, field) for items in lists):
                return lambda item, field=field: ("key", self.freeze(item[field]))
        return self.freeze

    def conflict(self, where: str, base: Any, ours: Any, theirs: Any) -> None:
        self.conflicts.append(
            {
                "field": where,
                "base": _plain(base),
                "ours": _plain(ours),
                "theirs": _plain(theirs),
                "recorded": self.recorded,
            }
        )


def _first_confirmation(merged: dict, base: dict, ours: dict, theirs: dict, merger) -> None:
    """A decision confirmed on both sides keeps its earlier confirmation, with no conflict."""
    fields = ("confirmed", "confirmed_by")
    ours_at, theirs_at = ours.get("confirmed"), theirs.get("confirmed")
    if ours_at is None or theirs_at is None or base.get("confirmed") is not None:
        return
    first = ours if ours_at < theirs_at else theirs
    merger.conflicts[:] = [c for c in merger.conflicts if c["field"] not in fields]
    for name in fields:
        if name in first:
            merged[name] = first[name]
        else:
            merged.pop(name, None)


def _keyed(items: list, keyof) -> dict:
    """{key: item} in list order; a repeated key is told apart by its occurrence."""
    keyed: dict = {}
    seen: dict = {}
    for item in items:
        key = keyof(item)
        count = seen.get(key, 0)
        seen[key] = count + 1
        keyed[(key, count)] = item
    return keyed


def _unique_key(items: list, field: str) -> bool:
    """Every item is a map holding ``field``, with a plain value no other item has."""
    seen = set()
    for item in items:
        if not isinstance(item, dict) or field not in item:
            return False
        key = item[field]
        if isinstance(key, dict | list) or key in seen:
            return False
        seen.add(key)
    return True


def _equal(a: Any, b: Any) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    return a == b


def _plain(value: Any) -> Any:
    return None if value is _ABSENT else value


# --- settling a conflict ------------------------------------------------------------------

_STEP = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]|\.")


def resolve(record: dict, field: str, take: Any) -> dict | None:
    """``record`` with its conflict on ``field`` settled: the field set to the conflict's
    ``ours`` or ``theirs`` value, or to ``take`` itself (text is read as YAML), and the
    conflict entry removed (``conflicts`` too when it is left empty). Returns None when the
    record itself is to be deleted (settling a ``(record)`` conflict on the deleted side)."""
    record_id = record.get("id", "(new)")
    open_ = [c for c in record.get(CONFLICTS) or [] if c.get("field") == field]
    if not open_:
        raise InvalidInputError(
            f"Record {record_id} has no open conflict on field {field}; "
            "`panelctl conflicts` lists the open ones.",
            "field",
        )
    latest = open_[-1]
    if take in ("ours", "theirs"):
        value = latest.get(take)
    elif field == RECORD:
        raise InvalidInputError(
            f"Record {record_id}: a conflict on the whole record is settled by taking ours "
            "or theirs, not a value.",
            "take",
        )
    elif isinstance(take, str):
        try:
            value = yamlio.load_hand_written(take)
        except yamlio.YamlProblem:
            raise InvalidInputError(
                f"Record {record_id}: the value for field {field} is not valid YAML.", "take"
            ) from None
    else:
        value = take
    settled = {k: v for k, v in record.items() if k != CONFLICTS}
    rest = [c for c in record.get(CONFLICTS) or [] if c.get("field") != field]
    if rest:
        settled[CONFLICTS] = rest
    if field == RECORD:
        return None if value == DELETED else settled
    _set(settled, _steps(record_id, field), value, record_id, field)
    return settled


def _steps(record_id: str, field: str) -> list:
    steps: list = []
    pos = 0
    while pos < len(field):
        match = _STEP.match(field, pos)
        if match is None or match.end() == pos:
            steps = []
            break
        if match.group(1) is not None:
            steps.append(match.group(1))
        elif match.group(2) is not None:
            steps.append(int(match.group(2)) - 1)
        pos = match.end()
    if not steps or not isinstance(steps[0], str) or steps[0] in ("id", CONFLICTS):
        raise InvalidInputError(
            f"Record {record_id}: {field} is not a field path a conflict can be on.", "field"
        )
    return steps


def _set(record: dict, steps: list, value: Any, record_id: str, field: str) -> None:
    """Set the value at ``steps`` (a removed item or an absent field when it is ``deleted``
    or null), copying the maps and lists on the way so ``record``'s caller is not changed."""

    def gone() -> InvalidInputError:
        return InvalidInputError(
            f"Record {record_id} no longer has field {field} (it changed after the conflict "
            "was recorded); edit the record instead.",
            "field",
        )

    holder: Any = record
    for step in steps[:-1]:
        if isinstance(step, int):
            if not isinstance(holder, list) or not 0 <= step < len(holder):
                raise gone()
        elif not isinstance(holder, dict) or not isinstance(holder.get(step), dict | list):
            raise gone()
        inner = holder[step]
        inner = dict(inner) if isinstance(inner, dict) else list(inner)
        holder[step] = inner
        holder = inner
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(holder, list) or not 0 <= last < len(holder):
            raise gone()
        if value == DELETED:
            del holder[last]
        else:
            holder[last] = value
    else:
        if not isinstance(holder, dict):
            raise gone()
        if value is None:
            holder.pop(last, None)
        else:
            holder[last] = value
