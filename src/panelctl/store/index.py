"""The encrypted query index: the few fields that lists and reports need, for every record.

Reading 110,000 records means 110,000 decryptions and YAML parses (many seconds); the
index answers the same queries from one file per record type, so listing cases never
reads the 100,000 actions. The files live in ``.git/panelctl/index/`` (local, never
committed), sealed with the current data key, and each records the commit it describes.
Each transaction updates the tables it touched; when HEAD has moved some other way (a
pull, a checkout) only the records that changed between the two commits are read again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import msgspec

from panelctl.base.errors import NoSpaceError
from panelctl.base.fsutil import atomic_write, ensure_private_dir
from panelctl.crypto import envelope
from panelctl.crypto import primitives as crypto
from panelctl.model import records
from panelctl.store import gitio

FORMAT = 9  # bump whenever what a table holds, or how it is stored, changes
_AAD = b"panelctl/v2/index\0"


class Table:
    """The index of one record type: path -> [record id, {indexed field: value}].

    On disk a table is stored by columns (one list per field), which decodes several times
    faster than 100,000 small maps, and each column is encoded on its own, so a query
    decodes only the columns it reads: :meth:`columns` answers it straight from the stored
    columns. The per-record mapping is built only when something needs it (rows, a
    refresh, a write).
    """

    def __init__(
        self,
        store,
        rtype: records.RecordType,
        entries: dict | None,
        head: str | None,
        columns: dict | None = None,
    ):
        self.store, self.rtype, self.head = store, rtype, head
        self._entries = entries
        self._columns = columns

    @property
    def entries(self) -> dict:
        if self._entries is None:
            self._entries = _rows_of(self._columns, self.rtype)
            self._columns = None
        return self._entries

    def columns(self, names: Iterable[str] | None = None) -> tuple[list[str], dict[str, list]]:
        """(record ids, {field: values in the same order}) without building a map per record:
        every field, or those of ``names`` that the table holds (only these are decoded)."""
        stored = self._columns if self._entries is None else _columns_of(self._entries)
        fields = stored["fields"]
        wanted = list(fields) if names is None else [name for name in names if name in fields]
        return _column(stored, "ids"), {name: self._field(fields, name) for name in wanted}

    def pick(self, names: Iterable[str], rows: list[int]) -> dict[str, list]:
        """{field: its values at the row positions ``rows``} for those of ``names`` that the
        table holds: a query that has chosen its rows builds no value for any other row."""
        stored = self._columns if self._entries is None else _columns_of(self._entries)
        fields = stored["fields"]
        picked = {}
        for name in names:
            if name not in fields:
                continue
            value = fields[name]
            if isinstance(value, bytes):
                distinct, data = _decode(value)
                if distinct is not None:
                    distinct = _typed_column(self.rtype, name, distinct)
                    picked[name] = [distinct[data[i]] for i in rows]
                    continue
                fields[name] = value = _typed_column(self.rtype, name, data)
            picked[name] = [value[i] for i in rows]
        return picked

    def _field(self, fields: dict, name: str) -> list:
        return _column(fields, name, partial(_typed_column, self.rtype, name))

    def field_names(self) -> list[str]:
        """The fields the table holds, in the order :meth:`columns` gives them (nothing is
        decoded)."""
        stored = self._columns if self._entries is None else _columns_of(self._entries)
        return list(stored["fields"])

    @property
    def path(self) -> Path:
        return ensure_private_dir(self.store.private / "index") / f"{self.rtype.name}.bin"

    @classmethod
    def open(cls, store, rtype: records.RecordType) -> Table:
        """The table as of HEAD, brought up to date (and saved) if it was behind."""
        table = cls._load(store, rtype)
        # (read from .git's files when they say it plainly, as Store.index does: no git process)
        current = gitio.head_quick(store.root) or gitio.head(store.root)
        batch = store._batch  # a sync's commits not yet written to git: their files are here
        if table is not None and table.head is not None and table.head == current:
            if batch is None or batch.head == current:
                return table  # up to date
        elif (
            table is None
            or table.head is None
            or not gitio.has_commit(store.root, table.head)
        ):
            table = cls(store, rtype, {}, None)
            table._refresh([rtype.path_for(i) for i in store.ids(rtype)])
        else:  # (from any commit, not only an ancestor: after a sync, from the clone's own)
            changes = gitio.changed_since(store.root, table.head, current, [rtype.folder])
            table._refresh([path for _status, path in changes])
        if batch is not None and batch.head != current:
            table._refresh(sorted(batch.pending))
            table.head = batch.head
            return table  # saved once the batch is written (Index.flush)
        table.head = current
        try:
            table.save()
        except NoSpaceError:
            pass  # a cache: brought up to date again next time, once there is space
        return table

    @classmethod
    def _load(cls, store, rtype: records.RecordType) -> Table | None:
        path = store.private / "index" / f"{rtype.name}.bin"
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        keyring = store.keyring
        try:
            raw = crypto.open_sealed(keyring.key, blob, _aad(store, rtype, keyring.epoch))
            data = _decode(raw)
            if data.get("v") != FORMAT or data.get("fields") != list(rtype.index_fields):
                return None  # another panelctl version indexed other fields: rebuild
            columns = data["columns"]
            stored = [columns["paths"], columns["ids"], *columns["fields"].values()]
            if not all(isinstance(column, bytes) for column in stored):
                return None  # damaged: rebuild
            return cls(store, rtype, None, data["head"], columns=columns)
        except (crypto.CryptoFailure, msgspec.DecodeError, KeyError, AttributeError, TypeError):
            return None  # stale (an old key epoch) or damaged: rebuild from the records

    def save(self) -> None:
        keyring = self.store.keyring
        raw = msgspec.msgpack.encode(
            {
                "v": FORMAT,
                "fields": list(self.rtype.index_fields),
                "head": self.head,
                "columns": _encoded(_columns_of(self.entries), self.rtype),
            }
        )
        atomic_write(
            self.path, crypto.seal(keyring.key, raw, _aad(self.store, self.rtype, keyring.epoch))
        )

    def rows(self) -> Iterator[tuple[str, dict]]:
        return ((record_id, fields) for record_id, fields in self.entries.values())

    def _refresh(self, paths: Iterable[str]) -> None:

        store, rtype = self.store, self.rtype
        keys = store.keyring.keys
        for path in paths:
            folder, _, name = path.partition("/")
            file = store.root / path
            if folder != rtype.folder or not name.endswith(".enc"):
                continue
            if not file.exists():
                self.entries.pop(path, None)
                continue
            record_id = name[:-4]
            plaintext = envelope.decrypt(
                keys, store.store_id, path, file.read_bytes(), store._case_key_view
            )
            record = records.parse(rtype, plaintext, record_id)
            self.entries[path] = [record_id, records.index_entry(rtype, record)]


class Index:
    """The tables of a store, each opened (and brought up to date) when first asked for."""

    def __init__(self, store):
        self.store = store
        self._tables: dict[str, Table] = {}
        self.seen_head: str | None = None  # the HEAD these tables were opened at

    @classmethod
    def open(cls, store) -> Index:
        return cls(store)

    def table(self, type_name: str) -> Table:
        if type_name not in self._tables:
            self._tables[type_name] = Table.open(self.store, records.record_type(type_name))
        return self._tables[type_name]

    def rows(self, type_name: str) -> Iterator[tuple[str, dict]]:
        """(id, indexed fields) for every record of a type."""
        return self.table(type_name).rows()

    def prepare(self, type_names: Iterable[str]) -> None:
        """Open these tables now, before a commit moves HEAD (so they need no re-reading)."""
        for name in type_names:
            self.table(name)

    def build_from(self, entries: dict[str, list]) -> None:
        """Every table, made and saved at HEAD from entries already read and checked
        (path -> [id, fields], as `verify` collects them from a clean tree): a new clone's
        index without decrypting every record a second time."""
        head = gitio.head_quick(self.store.root) or gitio.head(self.store.root)
        by_folder: dict[str, dict] = {rtype.folder: {} for rtype in records.TYPES.values()}
        for path, entry in entries.items():
            by_folder[path.partition("/")[0]][path] = entry
        for rtype in records.TYPES.values():
            table = Table(self.store, rtype, by_folder[rtype.folder], head)
            table.save()
            self._tables[rtype.name] = table
        self.seen_head = head

    def apply(self, updates: dict[str, tuple[str, dict] | None], save_all: bool = False) -> None:
        """Record a transaction's changes, now committed, and save the tables touched (or,
        after a new key epoch, every open table, sealed under the new key)."""
        head = self.store.head_now()
        touched: dict[str, Table] = dict(self._tables) if save_all else {}
        for path, update in updates.items():
            rtype = records.BY_FOLDER[path.partition("/")[0]]
            table = touched.setdefault(rtype.name, self.table(rtype.name))
            if update is None:
                table.entries.pop(path, None)
            else:
                table.entries[path] = [Path(path).stem, update[1]]
        for table in touched.values():
            table.head = head
            if self.deferred is None:
                table.save()
            else:
                self.deferred[table.rtype.name] = table
        self.seen_head = head

    #: While not None, tables changed by :meth:`apply` are kept here and saved once by
    #: :meth:`flush` (a sync replaying a hundred commits saves each table once, not a
    #: hundred times). Unsaved, a table is still right: it is caught up from git when next
    #: opened, as after any commit made outside panelctl.
    deferred: dict | None = None

    def defer(self) -> None:
        if self.deferred is None:
            self.deferred = {}

    def flush(self) -> None:
        pending, self.deferred = self.deferred or {}, None
        for table in pending.values():
            table.save()


def _columns_of(entries: dict) -> dict:
    """The columns of a table's entries: {"paths", "ids", "fields": {name: values}}."""
    paths = list(entries)
    names: dict[str, None] = {}
    for _id, fields in entries.values():
        names.update(dict.fromkeys(fields))
    values = [fields for _id, fields in entries.values()]
    return {
        "paths": paths,
        "ids": [entries[p][0] for p in paths],
        "fields": {name: [f.get(name) for f in values] for name in names},
    }


def _rows_of(columns: dict, rtype: records.RecordType) -> dict:
    names = list(columns["fields"])
    fields = columns["fields"]
    lists = [_column(fields, n, partial(_typed_column, rtype, n)) for n in names]
    paths, ids = _column(columns, "paths"), _column(columns, "ids")
    return {
        path: [record_id, dict(zip(names, [column[i] for column in lists], strict=True))]
        for i, (path, record_id) in enumerate(zip(paths, ids, strict=True))
    }


def _encoded(columns: dict, rtype: records.RecordType) -> dict:
    """Columns as stored: each encoded on its own (msgpack bytes, see :func:`_encode_column`),
    so that reading one needs no other; dates and moments as ISO text (msgpack would keep a
    moment only as UTC, losing its offset), which :func:`_typed_column` turns back."""
    dated = rtype.dated_index_fields
    return {
        "paths": _encode_column(columns["paths"]),
        "ids": _encode_column(columns["ids"]),
        "fields": {
            name: _encode_column(msgspec.to_builtins(values) if name in dated else values)
            for name, values in columns["fields"].items()
        },
    }


def _typed_column(rtype: records.RecordType, name: str, values: list) -> list:
    """A column as decoded, with real dates and moments again, as the record type says
    (``RecordType.index_types``); columns without dates are returned as they are. This is
    the one place index values become dates: every row and column a query sees has them."""
    kind = rtype.dated_index_fields.get(name)
    if kind is None:
        return values
    return msgspec.convert(values, list[kind | None])


#: values a decoded column may share between rows (immutable, and equal only when the same:
#: not floats, where 0.0 == -0.0)
_PLAIN = (str, int, bool, type(None))


def _encode_column(values: list) -> bytes:
    """One column: ``[distinct values, each row's position among them]`` when it repeats a
    few plain values (a status, an agency, a due date: small numbers decode much faster
    than 100,000 strings, and the table is a third of the size), else ``[None, values]``."""
    positions: dict[tuple, int] = {}
    codes = []
    for value in values:
        if type(value) not in _PLAIN:  # (a list would be shared between rows: keep it plain)
            break
        codes.append(positions.setdefault((type(value), value), len(positions)))
    else:
        if len(positions) * 2 <= len(values):
            return msgspec.msgpack.encode([[value for _type, value in positions], codes])
    return msgspec.msgpack.encode([None, values])


def _column(holder: dict, key: str, typed: Callable[[list], list] | None = None) -> list:
    """One column of ``holder`` (a table's stored columns, or their fields), decoded (and
    given its types by ``typed``) the first time it is asked for."""
    value = holder[key]
    if isinstance(value, bytes):
        distinct, data = _decode(value)
        if distinct is not None and typed is not None:
            distinct, typed = typed(distinct), None  # a date shared by many rows: typed once
        if distinct is None:
            value = data
        elif len(distinct) == 1:  # (a column never set: one None for every row)
            value = distinct * len(data)
        else:
            value = [distinct[i] for i in data]
        holder[key] = typed(value) if typed is not None else value
    return holder[key]


def _decode(raw: bytes):
    """Decode with the garbage collector paused: 100,000 small objects otherwise trigger
    collections that cost more than the decoding itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return msgspec.msgpack.decode(raw)
    finally:
        if enabled:
            gc.enable()


def _aad(store, rtype: records.RecordType, epoch: int) -> bytes:
    return _AAD + store.store_id + epoch.to_bytes(4, "big") + rtype.name.encode()
