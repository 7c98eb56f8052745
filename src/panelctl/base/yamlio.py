"""YAML in and out. The only module that imports a YAML library.

Two kinds of YAML, two readers:

- **Records** (the encrypted files; panelctl writes them) are written with PyYAML's C
  emitter where it is built (block style, keys in the order given, Unicode kept) and read
  with its C loader: reading all 110,000 records of the benchmark store takes 7.2 s with
  it (1.05x a bare read, decrypt and parse; benchmarks/README.md, figure b), and ruamel's
  pure-Python loader parses about ten times slower (1,000 import rows: 0.84 s against 0.08 s). :func:`dump` and :func:`load`.
- **Files people write by hand** (a nomination, a meeting script, an import mapping or
  YAML/JSON import file, a profile file, a store's own risk tool, a record in the editor)
  are read as YAML 1.2 with ruamel.yaml's pure-Python safe loader, so ``time: 10:00`` is
  the text 10:00 (not 600) and ``looked_after: No`` the text No (not false): only
  ``true``/``false`` are booleans. That loader refuses anchors and aliases (an alias bomb
  stops at the first ``&``), refuses a key given twice in one mapping, and refuses files
  over :data:`MAX_HAND_WRITTEN` bytes. :func:`load_hand_written`, :func:`read_hand_written`
  and :func:`dump_for_editing`.

Errors never quote the document: a YAML error message shows the offending text, which
may be a child's name. Only the line, the column and a fixed description are passed on.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import yaml

from panelctl.base.errors import InvalidInputError

#: The largest hand-written file panelctl reads, in bytes (10 MB). A bigger import is
#: better split, or given as CSV or Excel.
MAX_HAND_WRITTEN = 10 * 1024 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Records are written without anchors and aliases: a value used twice (the same date
    as nomination day and first history entry) is written twice, as a person would."""

    def ignore_aliases(self, data) -> bool:
        return True


class YamlProblem(Exception):
    """Not valid YAML; ``where`` is 'line L, column C' when known, ``reason`` a fixed
    description. Holds no document text."""

    def __init__(self, where: str, reason: str = "not valid YAML"):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


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


def _where(mark) -> str:
    if mark is None:
        return "unknown position"
    return f"line {mark.line + 1}, column {mark.column + 1}"


# --- files people write by hand (YAML 1.2) ---------------------------------------------------


def read_hand_written(path: Path, what: str) -> object:
    """The data in the hand-written file ``path``, read as YAML 1.2 (a ``.json`` file as
    JSON); ``what`` names the file in errors ("nomination file", "meeting script"...).
    Every problem is an :class:`InvalidInputError` naming the file, line and column."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_HAND_WRITTEN + 1)
    except OSError:
        raise InvalidInputError(f"Cannot read the {what} {path}.") from None
    if len(raw) > MAX_HAND_WRITTEN:
        raise InvalidInputError(
            f"The {what} {path} is larger than {MAX_HAND_WRITTEN // (1024 * 1024)} MB, the most "
            "panelctl reads from a hand-written file; split it (an import may also be CSV or Excel)."
        )
    try:
        if path.suffix.lower() == ".json":
            return load_json(raw)
        return load_hand_written(raw)
    except YamlProblem as problem:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise InvalidInputError(
            f"The {what} {path} is not valid {kind}: {problem.where}: {problem.reason}."
        ) from None


def load_hand_written(raw: bytes | str) -> object:
    """Read a document a person wrote: YAML 1.2, safe types only, no anchors or aliases,
    no repeated keys, at most :data:`MAX_HAND_WRITTEN` bytes. Raises :class:`YamlProblem`."""
    text = _text(raw)
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _hand_reader().load(text)
    except _Refused as refused:
        raise YamlProblem(_where(refused.mark), refused.reason) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise YamlProblem(_where(mark), _reason(error)) from None
    except RecursionError:
        raise YamlProblem("unknown position", "nested too deeply") from None
    except (YAMLError, ValueError, TypeError):
        raise YamlProblem("unknown position", "not valid YAML") from None


def load_json(raw: bytes | str) -> object:
    """Read a JSON document a person (or a spreadsheet export) wrote: the standard library's
    parser (fast for a big import), with a repeated key refused as YAML refuses it."""
    text = _text(raw)
    try:
        return json.loads(text, object_pairs_hook=_no_repeats)
    except json.JSONDecodeError as error:
        raise YamlProblem(
            f"line {error.lineno}, column {error.colno}", _safe(error.msg) or "not valid JSON"
        ) from None
    except _Refused as refused:
        raise YamlProblem("unknown position", refused.reason) from None
    except RecursionError:
        raise YamlProblem("unknown position", "nested too deeply") from None


def dump_for_editing(data: dict) -> str:
    """Record data as YAML 1.2 text for a person to edit: block style, keys in the record's
    order, ``null`` written out, text over several lines as a ``|`` block. Reading it back
    with :func:`load_hand_written` gives the same data."""
    from ruamel.yaml import YAML

    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style = False
    writer.sort_base_mapping_type_on_output = False
    writer.width = 4096
    writer.allow_unicode = True
    writer.representer.add_representer(str, _represent_text)
    writer.representer.ignore_aliases = lambda _data: True  # a value used twice is written twice
    out = io.StringIO()
    writer.dump(data, out)
    return out.getvalue()


def flag(value: object) -> bool | None:
    """A yes/no field a person wrote: ``true``/``false``, or the words yes/no (any case), which
    YAML 1.2 reads as text; None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"yes": True, "no": False}.get(value.strip().casefold())
    return None


class _Refused(Exception):
    def __init__(self, mark, reason: str):
        super().__init__(reason)
        self.mark = mark
        self.reason = reason


_ALIASES = "anchors and aliases (& and *) are not allowed in panelctl's files; write each value out"
_REPEATED = "a key is given twice in the same mapping; give each key once"
_COMPLEX_KEY = "a key must be plain text, not a list or a mapping"


def _text(raw: bytes | str) -> str:
    if len(raw) > MAX_HAND_WRITTEN:
        raise YamlProblem(
            "the whole file", f"larger than {MAX_HAND_WRITTEN // (1024 * 1024)} MB; split it"
        )
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise YamlProblem(f"byte {error.start + 1}", "not UTF-8 text") from None


def _hand_reader():
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent, CollectionStartEvent
    from ruamel.yaml.nodes import MappingNode

    class NoAliasComposer(Composer):
        def compose_node(self, parent, index):
            event = self.parser.peek_event()
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise _Refused(event.start_mark, _ALIASES)
            is_key = isinstance(parent, MappingNode) and index is None
            if is_key and isinstance(event, CollectionStartEvent):
                raise _Refused(event.start_mark, _COMPLEX_KEY)
            return super().compose_node(parent, index)

    reader = YAML(typ="safe", pure=True)
    reader.Composer = NoAliasComposer
    reader.allow_duplicate_keys = False
    return reader


def _no_repeats(pairs: list) -> dict:
    data = {}
    for key, value in pairs:
        if key in data:
            raise _Refused(None, _REPEATED)
        data[key] = value
    return data


def _reason(error) -> str:
    from ruamel.yaml.constructor import DuplicateKeyError

    if isinstance(error, DuplicateKeyError):
        return _REPEATED
    return _safe(error.problem) or "not valid YAML"


def _safe(problem: str | None) -> str:
    """A parser's description with anything quoted from the document taken out; the
    parser's own tokens (',', ']', '<stream end>') are kept."""

    def keep_token(match: re.Match) -> str:
        inner = match.group(0)[1:-1]
        token = re.fullmatch(r"[^\w\s]{1,2}|\\t|<[a-z ]{1,20}>", inner)
        return match.group(0) if token else ""

    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", keep_token, str(problem or ""))
    text = re.sub(r"\s+", " ", text).strip(" :,")
    return text[:120]


def _represent_text(representer, value: str):
    if "\n" in value.rstrip("\n"):
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return representer.represent_str(value)
