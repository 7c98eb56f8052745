"""YAML in and out. The only module that imports a YAML library.

Records are written with PyYAML's C emitter where it is built (block style, keys in the
order given, Unicode kept) and read with its C loader: the bulk-read figures in the store
issue make the C loader the only one fast enough for a regional store. ruamel.yaml's
round-trip mode is for the one record a person edits by hand (comments and order kept).

Errors never quote the document: a YAML error message shows the offending text, which
may be a child's name. Only the line and column are passed on.
"""

from __future__ import annotations

import io

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class YamlProblem(Exception):
    """Not valid YAML; ``where`` is 'line L, column C' when known. Holds no document text."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where = where


def dump(data: dict) -> bytes:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    ).encode("utf-8")


def load(raw: bytes | str) -> object:
    try:
        return yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as error:
        raise YamlProblem(_where(getattr(error, "problem_mark", None))) from None
    except (UnicodeDecodeError, ValueError):
        raise YamlProblem("unknown position") from None


def load_roundtrip(raw: str):
    """Load for a person's edit, keeping comments and order (ruamel.yaml round-trip)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(raw)
    except YAMLError as error:
        raise YamlProblem(_where(getattr(error, "problem_mark", None))) from None


def dump_roundtrip(data) -> str:
    from ruamel.yaml import YAML

    out = io.StringIO()
    writer = YAML(typ="rt")
    writer.width = 4096
    writer.dump(data, out)
    return out.getvalue()


def _where(mark) -> str:
    if mark is None:
        return "unknown position"
    return f"line {mark.line + 1}, column {mark.column + 1}"
