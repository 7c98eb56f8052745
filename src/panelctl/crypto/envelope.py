"""The on-disk form of an encrypted record.

    magic (8) | key epoch (4, big-endian) | store id (16) | path length (2) | path | sealed

``sealed`` is AES-256-GCM (nonce || ciphertext || tag) under the epoch's data key, with
everything before it as associated data. On reading, the associated data is rebuilt from
the store and path the file is *expected* at, so a file copied to another path or another
store fails to open; the header's own store and path only serve to say which of the two
happened. The path is a record id (``cases/C-0042.enc``), never a name.
"""

from __future__ import annotations

import re
import struct

from panelctl.base.errors import MisplacedError, NotAReaderError, TamperedError
from panelctl.crypto import primitives as crypto

MAGIC = b"PNLCTL\x01\x00"
_SAFE_PATH = re.compile(r"^[a-z]+/[A-Z]+-[0-9]+\.enc$")


def header(epoch: int, store_id: bytes, path: str) -> bytes:
    encoded = path.encode("utf-8")
    return MAGIC + struct.pack(">I16sH", epoch, store_id, len(encoded)) + encoded


def encrypt(key: bytes, epoch: int, store_id: bytes, path: str, plaintext: bytes) -> bytes:
    head = header(epoch, store_id, path)
    return head + crypto.seal(key, plaintext, head)


def is_encrypted(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def epoch_of(blob: bytes) -> int:
    return struct.unpack_from(">I", blob, len(MAGIC))[0]


def decrypt(keys: dict[int, bytes], store_id: bytes, path: str, blob: bytes) -> bytes:
    """Open a record expected at ``path`` in the store ``store_id``, or say why not.

    The header must be exactly the one this store would write at ``path`` and it is the
    associated data, so every header bit is authenticated; only then is anything opened.
    """
    if not blob.startswith(MAGIC):
        if len(blob) < len(MAGIC) and MAGIC.startswith(blob):
            raise TamperedError(f"{path} is truncated; restore it from git.")
        raise TamperedError(f"{path} is not an encrypted panelctl record; restore it from git.")
    offset = len(MAGIC)
    if len(blob) < offset + 22:
        raise TamperedError(f"{path} is truncated; restore it from git.")
    epoch, file_store, length = struct.unpack_from(">I16sH", blob, offset)
    offset += 22
    claimed = blob[offset : offset + length]
    if len(claimed) < length:
        raise TamperedError(f"{path} is truncated; restore it from git.")
    key = keys.get(epoch)
    if key is None and epoch > max(keys, default=0):
        raise NotAReaderError(
            f"{path} was written under key epoch {epoch}, which this keyring does not hold: "
            "it is older than the file, or your access was removed."
        )
    if key is None:
        raise TamperedError(
            f"{path} names key epoch {epoch}, which this store's keyring does not hold; "
            "restore it from git."
        )
    expected = header(epoch, store_id, path)
    sealed = blob[len(expected) :]
    if blob.startswith(expected):
        try:
            return crypto.open_sealed(key, sealed, expected)
        except crypto.CryptoFailure:
            pass
    else:
        _explain_misplaced(key, epoch, file_store, store_id, claimed, path, blob[offset + length :])
    raise TamperedError(
        f"{path} fails its integrity check (changed, truncated or extended); restore it from git."
    )


def _explain_misplaced(key, epoch, file_store, store_id, claimed, path, sealed) -> None:
    """Raise MisplacedError when the file is intact but was written for another place."""
    try:
        claimed_path = claimed.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not _SAFE_PATH.match(claimed_path):
        return
    if file_store != store_id:
        raise MisplacedError(
            f"{path} was written for another store; it cannot be read here. Restore this "
            "store's own file from git."
        )
    if claimed_path != path:
        try:
            crypto.open_sealed(key, sealed, header(epoch, store_id, claimed_path))
        except crypto.CryptoFailure:
            return
        raise MisplacedError(
            f"{path} holds the record written for {claimed_path}; files cannot be moved or "
            "copied between paths. Restore it from git."
        )
