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

from panelctl.base.errors import ErasedError, MisplacedError, NotAReaderError, TamperedError
from panelctl.crypto import primitives as crypto
from panelctl.crypto.casekeys import KID_SIZE, CaseKeys, file_key

MAGIC = b"PNLCTL\x02\x00"  # format 2: padded plaintext; what encrypt writes
MAGIC_UNPADDED = b"PNLCTL\x01\x00"  # format 1: read, never written
MAGIC_CASES = b"PNLCTL\x03\x00"  # format 3: padded, and sealed under case keys too
_PADDED = {MAGIC: True, MAGIC_UNPADDED: False, MAGIC_CASES: True}
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
#
# Format 3 (a record about one or more children, in a store at format 4 or later) adds,
# after the path, the cases it is sealed for:
#
#     ... | path | hint length (2) | hint | sealed
#
# The hint is the list of (case id, kid) slots, each case id NUL-padded to 16 bytes and
# the list padded with empty slots to a power of two (so a meeting's size says only
# roughly how many children it discussed: 1, 2, up to 4, up to 8...), AES-256-GCM sealed under the epoch's data
# key with everything before it as associated data: only a reader learns which case a file
# is about. The body is sealed under :func:`panelctl.crypto.casekeys.file_key` of the
# epoch's key and every listed case's key, with the whole header as associated data.

_CASE_ID_SIZE = 16
_SLOT = _CASE_ID_SIZE + KID_SIZE
_HINT_OVERHEAD = crypto.NONCE_SIZE + crypto.TAG_SIZE

#: (case id, kid, case key) for each case a record is about
Slots = list[tuple[str, bytes, bytes]]


def header(epoch: int, store_id: bytes, path: str, magic: bytes = MAGIC) -> bytes:
    encoded = path.encode("utf-8")
    return magic + struct.pack(">I16sH", epoch, store_id, len(encoded)) + encoded


def encrypt(
    key: bytes,
    epoch: int,
    store_id: bytes,
    path: str,
    plaintext: bytes,
    cases: Slots | None = None,
) -> bytes:
    """Seal a record; ``cases`` (sorted by case id) when it is about children whose keys
    erasure destroys (format 3), else under the epoch's key alone (format 2)."""
    if not cases:
        head = header(epoch, store_id, path)
        return head + crypto.seal(key, pad(plaintext), head)
    slots = b"".join(_slot(case, kid) for case, kid, _key in cases)
    slots += bytes(_SLOT * ((1 << (len(cases) - 1).bit_length()) - len(cases)))
    head = header(epoch, store_id, path, MAGIC_CASES)
    head += struct.pack(">H", _HINT_OVERHEAD + len(slots))
    head += crypto.seal(key, slots, head)
    return head + crypto.seal(file_key(key, store_id, cases), pad(plaintext), head)


def _slot(case: str, kid: bytes) -> bytes:
    raw = case.encode("ascii")
    if len(raw) > _CASE_ID_SIZE or len(kid) != KID_SIZE:
        raise ValueError(f"case id {case!r} is too long for a record's header")
    return raw + bytes(_CASE_ID_SIZE - len(raw)) + kid


def is_encrypted(blob: bytes) -> bool:
    return blob[: len(MAGIC)] in _PADDED


def epoch_of(blob: bytes) -> int:
    return struct.unpack_from(">I", blob, len(MAGIC))[0]


def decrypt(
    keys: dict[int, bytes],
    store_id: bytes,
    path: str,
    blob: bytes,
    case_keys: CaseKeys | None = None,
) -> bytes:
    """Open a record expected at ``path`` in the store ``store_id``, or say why not.

    The header must be exactly the one this store would write at ``path`` and it is the
    associated data, so every header bit is authenticated; only then is anything opened.
    A format 3 file also needs the key of every case it is about, from ``case_keys``:
    without one (the case was erased) it raises :class:`ErasedError`.
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
    if blob.startswith(expected):
        body_key = key
        if magic == MAGIC_CASES:
            opened = _open_hint(key, expected, blob)
            if opened is None:
                raise TamperedError(
                    f"{path} fails its integrity check (changed, truncated or extended); "
                    "restore it from git."
                )
            expected, slots = opened
            found = [] if case_keys is None else [case_keys.key(c, kid) for c, kid in slots]
            missing = sorted({c for (c, _kid), k in zip(slots, found, strict=False) if k is None})
            if case_keys is None or missing:
                raise ErasedError(
                    f"{path} is about {', '.join(missing or [c for c, _k in slots])}, whose "
                    "key this clone does not hold: the case was erased (or this clone has "
                    "not yet synced the case keys: run `panelctl sync`).",
                    cases=missing or [c for c, _k in slots],
                )
            body_key = file_key(
                key, store_id, [(c, kid, k) for (c, kid), k in zip(slots, found, strict=True)]
            )
        sealed = blob[len(expected) :]
        try:
            plaintext = crypto.open_sealed(body_key, sealed, expected)
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


def slots_of(keys: dict[int, bytes], store_id: bytes, path: str, blob: bytes) -> list[tuple[str, bytes]] | None:
    """The (case, kid) slots a format 3 file at ``path`` is sealed for (None: not format 3,
    or it does not open as one of this store's files at that path)."""
    if blob[: len(MAGIC)] != MAGIC_CASES or len(blob) < len(MAGIC) + 22:
        return None
    key = keys.get(epoch_of(blob))
    if key is None:
        return None
    opened = _open_hint(key, header(epoch_of(blob), store_id, path, MAGIC_CASES), blob)
    return None if opened is None else opened[1]


def cases_of(keys: dict[int, bytes], store_id: bytes, path: str, blob: bytes) -> list[str] | None:
    """The cases a format 3 file is sealed for (see :func:`slots_of`)."""
    slots = slots_of(keys, store_id, path, blob)
    return None if slots is None else [case for case, _kid in slots]


def _open_hint(key: bytes, prefix: bytes, blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]] | None:
    """The whole header (the prefix, the hint's length and the hint) and the hint's slots;
    None when the hint does not open (changed, or another place's)."""
    if not blob.startswith(prefix) or len(blob) < len(prefix) + 2:
        return None
    (size,) = struct.unpack_from(">H", blob, len(prefix))
    head = blob[: len(prefix) + 2]
    hint = blob[len(head) : len(head) + size]
    count, rest = divmod(size - _HINT_OVERHEAD, _SLOT)
    if len(hint) != size or rest or count < 1 or count & (count - 1):
        return None
    try:
        plain = crypto.open_sealed(key, hint, head)
    except crypto.CryptoFailure:
        return None
    slots = []
    for at in range(0, len(plain), _SLOT):
        raw = plain[at : at + _CASE_ID_SIZE].rstrip(b"\0")
        if raw:
            slots.append((raw.decode("ascii", "replace"), plain[at + _CASE_ID_SIZE : at + _SLOT]))
    if not slots:
        return None
    return head + hint, slots


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
        prefix = header(epoch, store_id, claimed_path, magic)
        if magic == MAGIC_CASES:
            genuine = _open_hint(key, prefix, prefix + sealed) is not None
        else:
            try:
                crypto.open_sealed(key, sealed, prefix)
            except crypto.CryptoFailure:
                return
            genuine = True
        if not genuine:
            return
        raise MisplacedError(
            f"{path} holds the record written for {claimed_path}; files cannot be moved or "
            "copied between paths. Restore it from git."
        )
