"""Per-case keys: what makes erasing a case real (crypto-shredding).

Every record that is about one child (the case itself, its assessments, actions and
decisions, a link that names the case, a meeting that discussed it) is sealed under a key
derived from the store's data key of its epoch *and* from a random key of each case it is
about (:func:`file_key`). The case keys are not in the versioned history: they travel in
one file of their own, the case-key table, which git holds under
``refs/panelctl/case-keys`` (a ref to a single blob, replaced whenever the table changes,
never part of a commit). Erasing a case removes its keys from the table on every clone
that syncs, and the old tables are pruned from git's objects there: every version of the
case's files in every commit stays in history, byte for byte (so every signature still
verifies), but nobody can open them again, with any identity.

The table maps a case id to one or more keys, each with a random 8-byte key id (a
``kid``). Two clones that nominate a child at the same time both make a ``C-0042``; sync
renumbers one of them, and because each file names the kid of the key it was sealed with,
the table is merged by union without ever confusing the two.

The file form: ``PNLKEYS\\x01`` | epoch (4) | store id (16) | sealed JSON, sealed (AES-256-GCM)
under the data key of that epoch with everything before it as associated data: only a
reader can read or forge it. A reader could still drop or change a key in the shared copy;
clones merge tables by union, so a dropped key comes back from any clone that had it, and a
key is forgotten only when a coordinator's signed erasure record (a tombstone) says so.
"""

from __future__ import annotations

import binascii
import json
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache

from panelctl.base.errors import TamperedError
from panelctl.crypto import primitives as crypto

MAGIC = b"PNLKEYS\x01"
KID_SIZE = 8
_FILE_INFO = b"panelctl/v1/case-record\0"


def file_key(epoch_key: bytes, store_id: bytes, slots: list[tuple[str, bytes, bytes]]) -> bytes:
    """The key a record file about these cases is sealed with: HKDF-SHA256 over the epoch's
    data key and each case's key, bound to the store and to the (case, kid) list, so that
    without every one of them the file cannot be opened."""
    return _file_key(epoch_key, store_id, tuple(slots))


@lru_cache(maxsize=32768)  # a case's records share it: an index build derives it once each
def _file_key(epoch_key: bytes, store_id: bytes, slots: tuple[tuple[str, bytes, bytes], ...]) -> bytes:
    info = _FILE_INFO + b"".join(case.encode("ascii") + b"\0" + kid for case, kid, _key in slots)
    material = epoch_key + b"".join(key for _case, _kid, key in slots)
    return crypto.derive_key(material, store_id, info)


@dataclass
class CaseKeys:
    """case id -> {kid: key}; changed in place (``changed`` says so)."""

    entries: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    changed: bool = False
    #: what this copy added and forgot since it was read (to apply again on a newer copy
    #: another process saved meanwhile: see :meth:`rebase`)
    added: dict[tuple[str, bytes], bytes] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)

    def key(self, case: str, kid: bytes) -> bytes | None:
        return self.entries.get(case, {}).get(kid)

    def kid_for(self, case: str) -> bytes | None:
        """The kid new writes about ``case`` use: the smallest, so every clone picks the same."""
        kids = self.entries.get(case)
        return min(kids) if kids else None

    def new(self, case: str) -> bytes:
        """A fresh key for ``case``; its kid."""
        kid = os.urandom(KID_SIZE)
        key = crypto.random_key()
        self.entries.setdefault(case, {})[kid] = key
        self.added[(case, kid)] = key
        self.changed = True
        return kid

    def cases(self) -> set[str]:
        return set(self.entries)

    def merge(self, other: CaseKeys) -> bool:
        """Take every key of ``other`` this table lacks; whether any was new."""
        added = False
        for case, kids in other.entries.items():
            mine = self.entries.setdefault(case, {})
            for kid, key in kids.items():
                if kid not in mine:
                    mine[kid] = key
                    self.added[(case, kid)] = key
                    added = True
        self.changed |= added
        return added

    def forget(self, cases: set[str] | frozenset[str]) -> set[str]:
        """Drop every key of these cases (erased); the cases whose keys were here."""
        gone = {case for case in cases if case in self.entries}
        for case in gone:
            del self.entries[case]
        self.forgotten |= set(cases)
        self.added = {k: v for k, v in self.added.items() if k[0] not in self.forgotten}
        self.changed |= bool(gone)
        return gone

    def rebase(self, newer: CaseKeys) -> None:
        """Become ``newer`` (saved by another process since this copy was read) with this
        copy's own additions and erasures applied again."""
        entries = {case: dict(kids) for case, kids in newer.entries.items()}
        for (case, kid), key in self.added.items():
            entries.setdefault(case, {})[kid] = key
        for case in self.forgotten:
            entries.pop(case, None)
        self.entries = entries

    def copy(self) -> CaseKeys:
        return CaseKeys({case: dict(kids) for case, kids in self.entries.items()})

    # --- file form -------------------------------------------------------------------------

    def to_bytes(self, store_id: bytes, epoch: int, key: bytes) -> bytes:
        head = MAGIC + struct.pack(">I16s", epoch, store_id)
        body = {
            case: {kid.hex(): crypto.b64(k) for kid, k in sorted(kids.items())}
            for case, kids in sorted(self.entries.items())
        }
        plain = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")
        return head + crypto.seal(key, plain, head)

    @classmethod
    def from_bytes(cls, raw: bytes, store_id: bytes, keys: dict[int, bytes]) -> CaseKeys:
        damaged = TamperedError(
            "The case-key table (refs/panelctl/case-keys) fails its integrity check: it was "
            "changed outside panelctl; run `panelctl sync` to take a good copy from the shared "
            "repository."
        )
        size = len(MAGIC) + 20
        if len(raw) < size or not raw.startswith(MAGIC):
            raise damaged
        epoch, table_store = struct.unpack_from(">I16s", raw, len(MAGIC))
        if table_store != store_id:
            raise TamperedError(
                "The case-key table (refs/panelctl/case-keys) belongs to another store; "
                "delete that ref (`git update-ref -d refs/panelctl/case-keys`) and sync."
            )
        key = keys.get(epoch)
        if key is None:
            raise damaged
        try:
            body = json.loads(crypto.open_sealed(key, raw[size:], raw[:size]))
            entries = {
                str(case): {bytes.fromhex(kid): crypto.unb64(k) for kid, k in kids.items()}
                for case, kids in body.items()
            }
        except (crypto.CryptoFailure, ValueError, TypeError, AttributeError, binascii.Error):
            raise damaged from None
        if any(
            len(kid) != KID_SIZE or len(k) != 32 for kids in entries.values() for kid, k in kids.items()
        ):
            raise damaged
        return cls(entries)
