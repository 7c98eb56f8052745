"""The store's keyring: who may read, and the data keys of every key epoch.

``.panelctl/keyring.json`` is tracked in git. Its header names the store, the current
epoch and one stanza per reader: the current data key wrapped to that reader's X25519
key. Its body, sealed with the current data key and bound to the header, holds the list
of readers (name, agency, role, recipient) and the data keys of the current and all
earlier epochs, so a present reader can read the whole history. Nobody without the data
key can add a reader: the reader list is inside authenticated material, and a stanza
without a matching reader (or the reverse) makes the keyring fail to open.

Removing a reader starts a new epoch with a fresh key that is wrapped only to those who
remain; a removed reader can still read what they could read before (git history), but
nothing written after.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from panelctl.base.errors import InvalidInputError, NotAReaderError, TamperedError
from panelctl.crypto import primitives as crypto
from panelctl.crypto.identity import (
    Identity,
    canonical_recipient,
    decode_recipient,
    decode_signing_key,
    fingerprint,
)

FORMAT = 1
KEYRING_PATH = ".panelctl/keyring.json"
ROLES = ("coordinator", "chair", "vice-chair", "business-support", "member", "cron", "recovery")
_AAD_TAG = b"panelctl/v1/keyring\0"


@dataclass(frozen=True)
class Reader:
    name: str
    agency: str
    role: str
    recipient: str
    added: str = field(default_factory=lambda: datetime.now(UTC).date().isoformat())

    @property
    def label(self) -> str:
        return fingerprint(self.recipient)

    @property
    def key(self) -> bytes:
        """The X25519 key data keys are wrapped to: who this reader is."""
        return decode_recipient(self.recipient)

    @property
    def signing_key(self) -> bytes | None:
        """The Ed25519 key their commits are signed with (None: added before signing)."""
        return decode_signing_key(self.recipient)


def new_reader(recipient: str, name: str, agency: str, role: str) -> Reader:
    recipient = canonical_recipient(recipient)
    if decode_signing_key(recipient) is None:
        raise InvalidInputError(
            f"Recipient {fingerprint(recipient)}… is in the old form, without a signing key; "
            "ask its owner for the recipient `panelctl identity show` prints now (it starts "
            "pcr2)."
        )
    if not crypto.is_usable_public_key(decode_recipient(recipient)):
        raise InvalidInputError(
            f"Recipient {fingerprint(recipient)}… is not a usable key; ask its owner to make a "
            "new identity with `panelctl identity new`."
        )
    if role not in ROLES:
        raise InvalidInputError(f"Role {role!r} is not one of: {', '.join(ROLES)}.")
    if not name.strip():
        raise InvalidInputError("A reader needs a name.", "name")
    if not agency.strip():
        raise InvalidInputError("A reader needs an agency.", "agency")
    return Reader(name=name.strip(), agency=agency.strip(), role=role, recipient=recipient)


@dataclass(frozen=True)
class Keyring:
    store_id: bytes
    epoch: int
    readers: tuple[Reader, ...]
    keys: dict[int, bytes]

    @property
    def key(self) -> bytes:
        return self.keys[self.epoch]

    @classmethod
    def create(cls, store_id: bytes, first: Reader) -> Keyring:
        return cls(store_id, 1, (first,), {1: crypto.random_key()})

    def reader(self, recipient: str) -> Reader | None:
        """The reader with this recipient's X25519 key (in either spelling)."""
        key = decode_recipient(recipient)
        return next((r for r in self.readers if r.key == key), None)

    def signer(self, signing_key: bytes) -> Reader | None:
        """The reader whose signing key this is."""
        return next((r for r in self.readers if r.signing_key == signing_key), None)

    def add(self, reader: Reader) -> Keyring:
        if self.reader(reader.recipient):
            raise InvalidInputError(f"Recipient {reader.label}… is already a reader of this store.")
        return replace(self, readers=self.readers + (reader,))

    def remove(self, reader: Reader) -> Keyring:
        """A new epoch: a fresh key for everyone but ``reader``."""
        remaining = tuple(r for r in self.readers if r.key != reader.key)
        epoch = self.epoch + 1
        return replace(
            self, epoch=epoch, readers=remaining, keys={**self.keys, epoch: crypto.random_key()}
        )

    # --- file form -----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        stanzas = []
        for reader in self.readers:
            ephemeral, wrapped = crypto.wrap_key(self.key, decode_recipient(reader.recipient))
            stanzas.append(
                {"to": reader.recipient, "ephemeral": crypto.b64(ephemeral), "key": crypto.b64(wrapped)}
            )
        header = {
            "panelctl_keyring": FORMAT,
            "store_id": self.store_id.hex(),
            "epoch": self.epoch,
            "stanzas": stanzas,
        }
        body = {
            "store_id": self.store_id.hex(),
            "epoch": self.epoch,
            "readers": [asdict(r) for r in self.readers],
            "keys": {str(e): crypto.b64(k) for e, k in sorted(self.keys.items())},
        }
        sealed = crypto.seal(self.key, _canonical(body), _aad(header))
        return (json.dumps({**header, "body": crypto.b64(sealed)}, indent=2) + "\n").encode("utf-8")

    @classmethod
    def open(cls, raw: bytes, identity: Identity, store_id: bytes, where: Path) -> Keyring:
        """Unwrap the keyring for ``identity``; tells a non-reader from a damaged keyring."""
        damaged = TamperedError(
            f"The keyring {where} fails its integrity check: it was changed outside panelctl; "
            "restore it from git (`git checkout -- .panelctl/keyring.json`)."
        )
        try:
            document = json.loads(raw.decode("utf-8"))
            header = {k: document[k] for k in ("panelctl_keyring", "store_id", "epoch", "stanzas")}
            sealed = crypto.unb64(document["body"])
            stanzas = {s["to"]: s for s in header["stanzas"]}
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise damaged from None
        if header["store_id"] != store_id.hex():
            raise TamperedError(
                f"The keyring {where} belongs to another store; restore this store's own keyring from git."
            )
        stanza = next(
            (s for to, s in stanzas.items() if _key_of(to) == identity.public), None
        )
        if stanza is None:
            raise NotAReaderError(
                f"Your identity ({fingerprint(identity.recipient)}…) is not a reader of this store; "
                "ask its coordinator to run `panelctl access add` with your recipient."
            )
        try:
            key = crypto.unwrap_key(identity.secret, crypto.unb64(stanza["ephemeral"]), crypto.unb64(stanza["key"]))
            body = json.loads(crypto.open_sealed(key, sealed, _aad(header)))
            readers = tuple(Reader(**r) for r in body["readers"])
            keys = {int(e): crypto.unb64(k) for e, k in body["keys"].items()}
        except (crypto.CryptoFailure, ValueError, KeyError, TypeError, binascii.Error):
            raise damaged from None
        epoch = header["epoch"]
        if (
            body.get("store_id") != header["store_id"]
            or body.get("epoch") != epoch
            or keys.get(epoch) != key
            or {r.recipient for r in readers} != set(stanzas)
        ):
            raise damaged
        return cls(store_id, epoch, readers, keys)


def open_with_keys(raw: bytes, keys: dict[int, bytes], store_id: bytes, where: str) -> Keyring:
    """A keyring from history, opened with data keys already known (a current keyring holds
    every earlier epoch's key), whether or not the caller was a reader then."""
    damaged = TamperedError(f"The keyring in {where} cannot be opened: it is damaged or forged.")
    try:
        document = json.loads(raw.decode("utf-8"))
        header = {k: document[k] for k in ("panelctl_keyring", "store_id", "epoch", "stanzas")}
        sealed = crypto.unb64(document["body"])
        stanzas = {s["to"] for s in header["stanzas"]}
        epoch = header["epoch"]
        key = keys[epoch]
        if header["store_id"] != store_id.hex():
            raise damaged
        body = json.loads(crypto.open_sealed(key, sealed, _aad(header)))
        readers = tuple(Reader(**r) for r in body["readers"])
        found = {int(e): crypto.unb64(k) for e, k in body["keys"].items()}
    except (crypto.CryptoFailure, ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise damaged from None
    if (
        body.get("store_id") != header["store_id"]
        or body.get("epoch") != epoch
        or found.get(epoch) != key
        or {r.recipient for r in readers} != stanzas
    ):
        raise damaged
    return Keyring(store_id, epoch, readers, found)


def _key_of(recipient: object) -> bytes | None:
    try:
        return decode_recipient(recipient)  # type: ignore[arg-type]
    except (InvalidInputError, AttributeError, TypeError):
        return None


def _aad(header: dict) -> bytes:
    return _AAD_TAG + _canonical(header)


def _canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")



