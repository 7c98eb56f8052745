"""The on-disk form of an encrypted record.

    magic (8) | key epoch (4, big-endian) | store id (16) | path length (2) | path | sealed

``sealed`` is AES-256-GCM (nonce || ciphertext || tag) under the epoch's data key, with
everything before it as associated data. On reading, the associated data is rebuilt from
the store and path the file is *expected* at, so a file copied to another path or another
store fails to open; the header's own store and path only serve to say which of the two
happened. The path is a record id (``cases/C-0042.enc``), never a name.

The magic's seventh byte is the format. Format 2 (written since December 2026) pads the
plaintext before sealing it, so that a file's size shows only its size bucket (see
:func:`bucket`), not the length of a child's name or of a record's details. Format 1 files
(no padding) are still read; each becomes format 2 the next time it is written, and every
record does when a new key epoch re-encrypts the store. The magic is associated data too,
so a format 2 file cannot be passed off as format 1 to skip the padding check.
"""

from __future__ import annotations

import re
import struct

from panelctl.base.errors import MisplacedError, NotAReaderError, TamperedError
from panelctl.crypto import primitives as crypto

MAGIC = b"PNLCTL\x02\x00"  # format 2: padded plaintext; what encrypt writes
MAGIC_UNPADDED = b"PNLCTL\x01\x00"  # format 1: read, never written
_PADDED = {MAGIC: True, MAGIC_UNPADDED: False}
_SAFE_PATH = re.compile(r"^[a-z]+/[A-Z]+-[0-9]+\.enc$")

# --- padding ------------------------------------------------------------------------------
#
# Scheme: ISO/IEC 7816-4 padding (the plaintext, one 0x80 byte, then zeros) up to a size
# bucket: the smallest power of two that is at least 1 KiB and holds the plaintext and the
# 0x80 byte. So every record under 1,023 bytes (a new case, an action, an assessment, a
# decision) is sealed as 1,024 bytes, and a larger one shows only which power of two it
# reached: 12 possible sizes (1 KiB to 2 MiB) for the at most 1 MiB a record may be, so
# a file's size tells at most 3.6 bits about its content, and a name's length nothing
# unless it tips the record over a power of two.
#
# Why not Padme (PURBs), which costs at most 12 %: its buckets are relative to the size,
# so at the sizes records have (100 bytes to a few KB) they are 8 to 64 bytes wide,
# narrower than the difference between two children's names. A case record of 800 bytes
# would still tell "Al Bo" from "Alexandra Bartholomew-Smith" most of the time, which is
# what this padding is for. A floor of 512 bytes would do for the benchmark's small cases
# but not for sample-store's, which are 529 to 935 bytes: the smallest is 17 bytes over
# 512. Powers of two with a 1 KiB floor cost more: sample-store's record files grow from
# 15.8 KB to 51.6 KB, the 10,000-case benchmark store's git objects from 32 MB to 128 MB;
# the figures are in benchmarks/README.md ("Padding"). In the working tree a file under
# 4 KiB takes one 4 KiB block either way; the cost is in git's packs and in what a clone
# transfers. Encrypting and decrypting a padded record costs 1 to 2 us more.
#
# The padding is inside the authenticated ciphertext and has one valid form for each
# plaintext (the last non-zero byte is 0x80 and the length is exactly the bucket): any
# other form is refused as tampering, like a failed tag.

PAD_FLOOR = 1024
_PAD_MARK = 0x80


def bucket(length: int) -> int:
    """The padded size of ``length`` bytes of data and the 0x80 mark: a power of two, at
    least PAD_FLOOR."""
    return max(PAD_FLOOR, 1 << (length - 1).bit_length())


def pad(plaintext: bytes) -> bytes:
    size = bucket(len(plaintext) + 1)
    return plaintext + b"\x80" + bytes(size - len(plaintext) - 1)


def unpad(padded: bytes) -> bytes | None:
    """The plaintext inside ``padded``, or None when the padding is not the one pad writes.

    The mark is the last 0x80 byte; only zeros may follow it, and the whole must be exactly
    the bucket of what precedes it. (rfind and endswith run in C: about 1 us for a 1 KiB
    bucket, a third of what rstrip takes.)"""
    mark = padded.rfind(_PAD_MARK)
    if mark < 0 or len(padded) != bucket(mark + 1):
        return None
    if not padded.endswith(bytes(len(padded) - mark - 1)):
        return None
    return padded[:mark]


# --- the envelope -------------------------------------------------------------------------


def header(epoch: int, store_id: bytes, path: str, magic: bytes = MAGIC) -> bytes:
    encoded = path.encode("utf-8")
    return magic + struct.pack(">I16sH", epoch, store_id, len(encoded)) + encoded


def encrypt(key: bytes, epoch: int, store_id: bytes, path: str, plaintext: bytes) -> bytes:
    head = header(epoch, store_id, path)
    return head + crypto.seal(key, pad(plaintext), head)


def is_encrypted(blob: bytes) -> bool:
    return blob[: len(MAGIC)] in _PADDED


def epoch_of(blob: bytes) -> int:
    return struct.unpack_from(">I", blob, len(MAGIC))[0]


def decrypt(keys: dict[int, bytes], store_id: bytes, path: str, blob: bytes) -> bytes:
    """Open a record expected at ``path`` in the store ``store_id``, or say why not.

    The header must be exactly the one this store would write at ``path`` and it is the
    associated data, so every header bit is authenticated; only then is anything opened.
    """
    magic = blob[: len(MAGIC)]
    padded = _PADDED.get(magic)
    if padded is None:
        if len(blob) < len(MAGIC) and any(known.startswith(blob) for known in _PADDED):
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
    expected = header(epoch, store_id, path, magic)
    sealed = blob[len(expected) :]
    if blob.startswith(expected):
        try:
            plaintext = crypto.open_sealed(key, sealed, expected)
        except crypto.CryptoFailure:
            pass
        else:
            if not padded:
                return plaintext
            unpadded = unpad(plaintext)
            if unpadded is not None:
                return unpadded
            # Sealed with the key, so written by a reader, but not as panelctl pads.
            raise TamperedError(
                f"{path} fails its integrity check (its padding is malformed); restore it from git."
            )
    else:
        _explain_misplaced(
            key, magic, epoch, file_store, store_id, claimed, path, blob[offset + length :]
        )
    raise TamperedError(
        f"{path} fails its integrity check (changed, truncated or extended); restore it from git."
    )


def _explain_misplaced(key, magic, epoch, file_store, store_id, claimed, path, sealed) -> None:
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
            crypto.open_sealed(key, sealed, header(epoch, store_id, claimed_path, magic))
        except crypto.CryptoFailure:
            return
        raise MisplacedError(
            f"{path} holds the record written for {claimed_path}; files cannot be moved or "
            "copied between paths. Restore it from git."
        )
