"""The record format reference, written from the record types.

``docs/format.md`` is this module's output, kept in the repository; a test fails when it
differs from what the types say. Regenerate it with::

    python -m panelctl.model.docs > docs/format.md
"""

from __future__ import annotations

import sys

import msgspec

from panelctl.model import records

COMMAND = "python -m panelctl.model.docs > docs/format.md"
_inspect = msgspec.inspect


def reference() -> str:
    """The whole reference, as Markdown."""
    lines = [
        "# Record format reference",
        "",
        f"<!-- Written by `{COMMAND}` from src/panelctl/model/types.py; do not edit. -->",
        "",
        "A store keeps one encrypted YAML file per record. This is what each type of record",
        "holds, field by field. A field path such as `discussions[].decision` is a key of each",
        "item of a list; `child.name` is a key of a nested map. Dates are written `2026-03-14`;",
        "a date and time carries its UTC offset (`2026-03-14T10:02:00+00:00`); a time of day",
        "is `HH:MM` text. A field that is not required may be left out.",
        "",
        "Unknown keys are refused at the top level of a record and wherever the table says",
        "so; inside other nested maps they are kept as they are and not checked.",
        "",
        "Each type has a format number, raised whenever a change to its shape means an older",
        "panelctl could misread records written by a newer one (adding an optional field",
        "does not raise it).",
        "",
    ]
    for rtype in records.TYPES.values():
        lines += _type_section(rtype)
    return "\n".join(lines).rstrip("\n") + "\n"


def _type_section(rtype: records.RecordType) -> list[str]:
    info = _inspect.type_info(rtype.struct)
    doc = " ".join((rtype.struct.__doc__ or "").split())
    strict = [f"`{path}`" if path else "the record itself" for path in _strict_parts(info, "")]
    lines = [
        f"## {rtype.name}",
        "",
        doc,
        "",
        f"- Format: {rtype.format}",
        f"- Files: `{rtype.folder}/{rtype.format_id(1)}.enc` (ids like `{rtype.format_id(42)}`)",
        f"- Unknown keys refused in: {', '.join(strict)}",
    ]
    if rtype.index_fields:
        lines.append(f"- Copied into the query index: {', '.join(rtype.index_fields)}")
    lines += [
        "",
        "| Field | Type | Required | Choices | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{path}` | {kind} | {'yes' if required else ''} | {choices} | {meaning} |"
        for path, kind, required, choices, meaning in _rows(info, "")
    ]
    return [*lines, ""]


def _rows(info, prefix: str):
    for f in info.fields:
        path = prefix + f.encode_name
        meaning = _description(f.type)
        inner = records._unwrap(f.type)
        choices = ""
        if isinstance(inner, _inspect.LiteralType):
            choices = ", ".join(records._in_order(inner.values))
        yield path, _kind(f.type), f.required, choices, meaning
        if isinstance(inner, _inspect.StructType):
            yield from _rows(inner, path + ".")
        elif isinstance(inner, _inspect.ListType):
            item = records._unwrap(inner.item_type)
            if isinstance(item, _inspect.StructType):
                yield from _rows(item, path + "[].")


def _strict_parts(info, prefix: str):
    if info.forbid_unknown_fields:
        yield prefix.rstrip(".")
    for f in info.fields:
        inner = records._unwrap(f.type)
        if isinstance(inner, _inspect.ListType):
            inner, path = records._unwrap(inner.item_type), prefix + f.encode_name + "[]."
        else:
            path = prefix + f.encode_name + "."
        if isinstance(inner, _inspect.StructType):
            yield from _strict_parts(inner, path)


def _description(info) -> str:
    while isinstance(info, _inspect.Metadata):
        found = (info.extra_json_schema or {}).get("description")
        if found:
            return found
        info = info.type
    return ""


def _kind(info) -> str:
    """A type in words: text, date, list of case ids..."""
    extra = records._extra(info)
    if extra.get("kind") == "time":
        return "time (HH:MM)"
    if extra.get("kind") == "ref":
        return f"{extra['ref']} id"
    info = records._unwrap(info)
    if isinstance(info, _inspect.ListType):
        item = _kind(info.item_type)
        return f"list of {item if item in ('text', 'maps') else item + 's'}"
    if isinstance(info, _inspect.TupleType):
        return "pair"
    if isinstance(info, _inspect.DictType):
        return f"map of {_kind(info.key_type)} to {_kind(info.value_type)}"
    if isinstance(info, _inspect.StructType):
        return "map"
    return {
        _inspect.StrType: "text",
        _inspect.LiteralType: "text",
        _inspect.DateType: "date",
        _inspect.DateTimeType: "date and time",
        _inspect.IntType: "whole number",
        _inspect.BoolType: "true or false",
    }.get(type(info), "any")


def main() -> None:
    sys.stdout.write(reference())


if __name__ == "__main__":
    main()
