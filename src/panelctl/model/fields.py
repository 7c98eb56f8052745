"""A record's fields as a reader sees them: each with a label, in its type's order (for a
subject access bundle). Pure: a record type's Struct and a record in, rows out."""

from __future__ import annotations

import typing
from collections.abc import Sequence

import msgspec


def field_rows(
    struct: type, record: dict, skip: Sequence[str] = (), labels: dict | None = None
) -> list[dict]:
    """Every field a record holds, in its type's order, as {field, label, value}; a
    nested map's fields each on a row of their own (child.name), and each entry of a list
    of maps as one row whose value is its [{label, value}]."""
    labels = {"id": "Record"} if labels is None else labels
    rows: list[dict] = []
    for info in msgspec.structs.fields(struct):
        name = info.encode_name
        if name in skip or name not in record or record[name] is None:
            continue
        value = record[name]
        nested = _struct_of(info.type)
        if nested is not None and isinstance(value, dict):
            for row in field_rows(nested, value, labels={}):
                path = f"{name}.{row['field']}"
                rows.append({**row, "field": path, "label": labels.get(path, row["label"])})
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            item = _struct_of(info.type)
            for n, entry in enumerate(value, start=1):
                if item is None:
                    parts = [{"label": k, "value": v} for k, v in entry.items()]
                else:
                    parts = field_rows(item, entry, labels={})
                rows.append(
                    {
                        "field": f"{name}[{n}]",
                        "label": f"{_label(name, info, labels)} {n}",
                        "value": [{"label": p["label"], "value": p["value"]} for p in parts],
                    }
                )
            continue
        rows.append({"field": name, "label": _label(name, info, labels), "value": value})
    return rows


def _label(name: str, info, labels: dict) -> str:
    if name in labels:
        return labels[name]
    described = _description(info.type)
    return described or name.replace("_", " ").capitalize()


def _description(kind) -> str | None:
    meta = getattr(kind, "__metadata__", ())
    for m in meta:
        if isinstance(m, msgspec.Meta) and m.description:
            return m.description.split(" (")[0]
    return None


def _struct_of(kind) -> type | None:
    """The Struct a field holds (through Annotated, ``| None`` and ``list[...]``)."""
    seen = [kind]
    while seen:
        k = seen.pop()
        if isinstance(k, type) and issubclass(k, msgspec.Struct):
            return k
        seen.extend(typing.get_args(k))
    return None
