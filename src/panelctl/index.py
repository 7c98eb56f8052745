"""The encrypted query index: the few fields that lists and reports need, for every record.

Reading 110,000 records means 110,000 decryptions and YAML parses (tens of seconds); the
index answers the same queries from one file. It lives in ``.git/panelctl/index.bin``
(local, never committed), sealed with the current data key, and records the commit it
describes. Each transaction updates it; when HEAD has moved some other way (a pull, a
checkout) only the records that changed between the two commits are read again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from . import crypto, envelope, gitio, records
from .fsutil import atomic_write

FORMAT = 1
#: The index is rebuilt whenever the fields it holds change (a new version of panelctl).
SCHEMA = ";".join(f"{t.name}:{','.join(t.index_fields)}" for t in records.TYPES.values()) + ";v2"
_AAD = b"panelctl/v1/index\0"


class Index:
    def __init__(self, store, entries: dict[str, list], head: str | None):
        self.store = store
        self.entries = entries  # path -> [type name, record id, {field: value}]
        self.head = head

    @property
    def path(self) -> Path:
        return self.store.private / "index.bin"

    @classmethod
    def open(cls, store) -> Index:
        """The index as of HEAD, brought up to date (and saved) if it was behind."""
        index = cls._load(store)
        current = gitio.head(store.root)
        if (
            index is None
            or index.head is None
            or not gitio.is_ancestor(store.root, index.head, current or "HEAD")
        ):
            index = cls(store, {}, None)
            index._refresh_paths(_all_record_paths(store))
        elif index.head != current:
            changes = gitio.changed_since(store.root, index.head, current, list(records.BY_FOLDER))
            index._refresh_paths([path for _status, path in changes])
        else:
            return index
        index.head = current
        index.save()
        return index

    @classmethod
    def _load(cls, store) -> Index | None:
        path = store.private / "index.bin"
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        keyring = store.keyring
        try:
            raw = crypto.open_sealed(keyring.key, blob, _aad(store, keyring.epoch))
            data = msgspec.msgpack.decode(raw)
            if data.get("v") != FORMAT or data.get("schema") != SCHEMA:
                return None
            return cls(store, data["entries"], data["head"])
        except (crypto.CryptoFailure, msgspec.DecodeError, KeyError, AttributeError):
            return None  # stale (old key epoch) or damaged: rebuild from the records

    def save(self) -> None:
        keyring = self.store.keyring
        raw = msgspec.msgpack.encode(
            {"v": FORMAT, "schema": SCHEMA, "head": self.head, "entries": self.entries}
        )
        atomic_write(self.path, crypto.seal(keyring.key, raw, _aad(self.store, keyring.epoch)))

    def apply(self, updates: dict[str, tuple[str, dict] | None]) -> None:
        """Record a transaction's changes, now committed, and save."""
        for path, update in updates.items():
            if update is None:
                self.entries.pop(path, None)
            else:
                type_name, fields = update
                self.entries[path] = [type_name, Path(path).stem, fields]
        self.head = gitio.head(self.store.root)
        self.save()

    def rows(self, type_name: str) -> Iterator[tuple[str, dict]]:
        """(id, indexed fields) for every record of a type."""
        for entry in self.entries.values():
            if entry[0] == type_name:
                yield entry[1], entry[2]

    def _refresh_paths(self, paths: list[str]) -> None:
        store = self.store
        keys = store.keyring.keys
        for path in paths:
            folder, _, name = path.partition("/")
            rtype = records.BY_FOLDER.get(folder)
            file = store.root / path
            if rtype is None or not name.endswith(".enc"):
                continue
            if not file.exists():
                self.entries.pop(path, None)
                continue
            record_id = name[:-4]
            plaintext = envelope.decrypt(keys, store.store_id, path, file.read_bytes())
            from .store import parse_record

            record = parse_record(rtype, plaintext, record_id)
            self.entries[path] = [rtype.name, record_id, records.index_entry(rtype, record)]


def _all_record_paths(store) -> list[str]:
    return [t.path_for(i) for t in records.TYPES.values() for i in store.ids(t)]


def _aad(store, epoch: int) -> bytes:
    return _AAD + store.store_id + epoch.to_bytes(4, "big")
