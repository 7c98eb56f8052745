"""STUB (replaced by the merge branch): three-way merge of one record, top level only."""

from __future__ import annotations

from panelctl.model.records import RecordType


def merge_records(
    rtype: RecordType, base: dict | None, ours: dict | None, theirs: dict | None, *, recorded: str
) -> tuple[dict | None, list[dict]]:
    if ours == theirs:
        return ours, []
    if base == ours:
        return theirs, []
    if base == theirs:
        return ours, []
    if ours is None or theirs is None:
        kept = ours if ours is not None else theirs
        entry = {"field": "(record)", "base": None, "ours": "deleted" if ours is None else "changed",
                 "theirs": "deleted" if theirs is None else "changed", "recorded": recorded}
        return {**kept, "conflicts": [*kept.get("conflicts", []), entry]}, [entry]
    merged, new = dict(theirs), []
    b = base or {}
    for key in set(ours) | set(theirs):
        o, t, bb = ours.get(key), theirs.get(key), b.get(key)
        if o == t or o == bb:
            continue
        if t == bb:
            if key in ours:
                merged[key] = o
            else:
                merged.pop(key, None)
            continue
        new.append({"field": key, "base": bb, "ours": o, "theirs": t, "recorded": recorded})
    if new:
        merged["conflicts"] = [*merged.get("conflicts", []), *new]
    return merged, new
