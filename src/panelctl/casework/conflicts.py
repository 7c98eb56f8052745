"""Conflicts met when clones were merged: listing them, and settling one.

A record changed differently on two clones keeps the shared copy's value and records both
sides in its ``conflicts`` list (see :mod:`panelctl.model.merge`). The query index counts
each record's open conflicts, so listing them decrypts only the records that hold some.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from panelctl.base.errors import InvalidInputError, NotFoundError
from panelctl.model import merge, records


def open_conflicts(store, with_values: bool = False) -> list[dict]:
    """Every open conflict, by record (in type order, then id) and in the order recorded:
    ``{"id", "type", "field", "recorded"}`` (a moment, or None if it cannot be read), with
    ``base``, ``ours`` and ``theirs`` too when ``with_values``."""
    rows: list[dict] = []
    index = store.index()
    for rtype in records.TYPES.values():
        ids, columns = index.table(rtype.name).columns(["conflicts"])
        counts = columns.get("conflicts") or [0] * len(ids)
        holding = [record_id for record_id, n in zip(ids, counts, strict=True) if n]
        for record_id in sorted(holding, key=records.number_of):
            for conflict in store.read(record_id).get(merge.CONFLICTS) or []:
                row = {
                    "id": record_id,
                    "type": rtype.name,
                    "field": conflict["field"],
                    "recorded": _moment(conflict.get("recorded")),
                }
                if with_values:
                    row.update({side: conflict.get(side) for side in ("base", "ours", "theirs")})
                rows.append(row)
    return rows


def resolve_conflict(store, record_id: str, field: str, take: Any) -> bool:
    """Settle the conflict on ``field`` of a record in one signed commit: take ``"ours"``,
    ``"theirs"`` or a value (text is read as YAML). Returns False when that deleted the
    record (a ``(record)`` conflict settled on the side that deleted it)."""
    rtype = records.type_of_id(record_id)
    if not isinstance(field, str) or not field.strip():
        raise InvalidInputError("Give the field of the conflict to settle.", "field")
    with store.transaction(f"Settle a merge conflict in {rtype.name} {record_id}") as tx:
        if not store.exists(record_id):
            raise NotFoundError(f"No record {record_id} in this store.")
        settled = merge.resolve(store.read(record_id), field.strip(), take)
        if settled is None:
            tx.delete(record_id)
            return False
        tx.put(settled)
    return True


def _moment(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
