"""The cryptographic layer on its own: envelopes, keyrings, identities and key wrapping.

Every test here must be able to fail: each either round-trips real ciphertext or changes
one thing about a real file and expects one specific error class (and exit code).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TEST_LOG_N, git, signed_commit
from panelctl.base.errors import (
    ExitCode,
    IdentityError,
    InvalidInputError,
    MisplacedError,
    NotAReaderError,
    PanelctlError,
    TamperedError,
    WrongPassphraseError,
)
from panelctl.crypto import envelope
from panelctl.crypto import primitives as crypto
from panelctl.crypto.identity import decode_recipient, encode_recipient, read_identity_file
from panelctl.crypto.keyring import KEYRING_PATH, Keyring
from panelctl.panel.setup import create_store
from panelctl.store.core import Store

SMALL_CASE = {"status": "open", "child": {"name": "A"}}
RECORD_PATHS = st.from_regex(r"[a-z]{1,12}/[A-Z]{1,3}-[0-9]{4,9}\.enc", fullmatch=True)
STORE_IDS = st.binary(min_size=16, max_size=16)
KEYS = st.binary(min_size=32, max_size=32)
EPOCHS = st.integers(min_value=1, max_value=2**32 - 1)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Header layout: magic (8) | epoch (4) | store id (16) | path length (2) | path | sealed
MAGIC_BYTES = range(0, 8)
EPOCH_BYTES = range(8, 12)
STORE_ID_BYTES = range(12, 28)
LENGTH_BYTES = range(28, 30)
SEALED_START = 30 + len("cases/C-0001.enc")


@pytest.fixture
def record(store):
    """A store holding one small case; returns (store, path, file bytes)."""
    record_id = store.create("case", SMALL_CASE)
    path = store.path_of(record_id)
    return store, path, (store.root / path).read_bytes()


def flip(blob: bytes, bit: int) -> bytes:
    changed = bytearray(blob)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


# --- envelope round trip (property based) ---------------------------------------------


@FAST
@given(key=KEYS, epoch=EPOCHS, store_id=STORE_IDS, path=RECORD_PATHS, plaintext=st.binary())
def test_envelope_round_trips_any_bytes(key, epoch, store_id, path, plaintext):
    blob = envelope.encrypt(key, epoch, store_id, path, plaintext)
    assert envelope.is_encrypted(blob)
    assert envelope.epoch_of(blob) == epoch
    assert envelope.decrypt({epoch: key}, store_id, path, blob) == plaintext
    if len(plaintext) >= 16:  # shorter strings can turn up in random bytes by chance
        assert plaintext not in blob[len(envelope.header(epoch, store_id, path)) :]


@FAST
@given(key=KEYS, store_id=STORE_IDS, path=RECORD_PATHS, other=RECORD_PATHS, plaintext=st.binary())
def test_envelope_is_bound_to_its_path(key, store_id, path, other, plaintext):
    blob = envelope.encrypt(key, 1, store_id, path, plaintext)
    if other == path:
        return
    with pytest.raises(MisplacedError):
        envelope.decrypt({1: key}, store_id, other, blob)


@FAST
@given(key=KEYS, store_id=STORE_IDS, other_store=STORE_IDS, path=RECORD_PATHS)
def test_envelope_is_bound_to_its_store(key, store_id, other_store, path):
    blob = envelope.encrypt(key, 1, store_id, path, b"id: C-0001\n")
    if other_store == store_id:
        return
    with pytest.raises(MisplacedError):
        envelope.decrypt({1: key}, other_store, path, blob)


@FAST
@given(tail=st.binary(max_size=200))
def test_envelope_decrypt_of_garbage_raises_only_panelctl_errors(tail):
    """Whatever follows the magic bytes, decrypt answers with a panelctl error, never a crash."""
    key, store_id = bytes(32), bytes(16)
    with pytest.raises((TamperedError, NotAReaderError)):
        envelope.decrypt({1: key}, store_id, "cases/C-0001.enc", envelope.MAGIC + tail)
    with pytest.raises(TamperedError):
        envelope.decrypt({1: key}, store_id, "cases/C-0001.enc", tail)


# --- padding: a file's size shows its bucket, not the length of a name -----------------

# The documented buckets (envelope.py, README "What someone who can see the repository
# learns"): the plaintext and one 0x80 byte, padded to a power of two of at least 1 KiB.
BUCKETS = [2**n for n in range(10, 22)]  # 1 KiB .. 2 MiB (a record is at most 1 MB)
SEALED_OVERHEAD = crypto.NONCE_SIZE + crypto.TAG_SIZE


def sealed_size(blob: bytes, path: str) -> int:
    """The padded plaintext's size: what is left of a file without header (and, in format
    3, the sealed list of cases it is about), nonce and tag."""
    head = len(envelope.header(1, bytes(16), path))
    if blob.startswith(envelope.MAGIC_CASES):
        head += 2 + int.from_bytes(blob[head : head + 2], "big")
    return len(blob) - head - SEALED_OVERHEAD


@pytest.mark.parametrize(
    ("length", "padded"),
    [
        (0, 1024),
        (1, 1024),
        (1023, 1024),  # 1,023 bytes and the mark fill 1 KiB exactly
        (1024, 2048),
        (2047, 2048),
        (2048, 4096),
        (100_000, 131_072),
        (1024 * 1024, 2 * 1024 * 1024),
    ],
)
def test_padding_fills_the_documented_bucket(length, padded):
    plaintext = b"x" * length
    assert len(envelope.pad(plaintext)) == padded
    assert envelope.unpad(envelope.pad(plaintext)) == plaintext
    blob = envelope.encrypt(bytes(32), 1, bytes(16), "cases/C-0001.enc", plaintext)
    assert sealed_size(blob, "cases/C-0001.enc") == padded


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    length=st.integers(min_value=0, max_value=200 * 1024),
    seed=st.integers(min_value=0, max_value=2**32),
    tail=st.binary(max_size=3) | st.sampled_from([b"\x80", b"\x00", b"\x80\x00", b"\x00\x80"]),
    key=KEYS,
    path=RECORD_PATHS,
)
def test_padded_envelope_round_trips_every_length_to_200_kb(length, seed, tail, key, path):
    """Any plaintext of 0..200 KB, including ones ending in the mark or in zeros, comes back
    exactly, sealed at the smallest documented bucket that holds it and the mark."""
    plaintext = random.Random(seed).randbytes(length) + tail
    blob = envelope.encrypt(key, 7, bytes(16), path, plaintext)
    size = sealed_size(blob, path)
    assert size == min(b for b in BUCKETS if b > len(plaintext))
    assert envelope.decrypt({7: key}, bytes(16), path, blob) == plaintext


@FAST
@given(
    head=st.binary(max_size=1100),
    tail=st.lists(st.sampled_from([b"\x00", b"\x80", b"\x01"]), max_size=8).map(b"".join),
    size=st.sampled_from([1024, 2048, 1000, 1025]),
    zeros=st.integers(min_value=0, max_value=1100),
)
def test_only_the_padding_pad_writes_is_accepted(head, tail, size, zeros):
    """Whatever a reader with the key seals, unpad accepts exactly the one form pad makes."""
    kept = max(size - zeros, 0)
    front = (head + tail).rjust(kept, b"y")
    candidate = front[len(front) - kept :] + bytes(size - kept)
    plaintext = envelope.unpad(candidate)
    assert plaintext is None or envelope.pad(plaintext) == candidate
    assert envelope.unpad(envelope.pad(candidate)) == candidate


def test_names_of_different_lengths_make_files_of_the_same_size(store):
    short = store.create("case", {"status": "open", "child": {"name": "Al Bo"}})
    long = store.create(
        "case", {"status": "open", "child": {"name": "Alexandra Bartholomew-Smith"}}
    )
    plaintexts = [store.read_plaintext(record_id) for record_id in (short, long)]
    assert len(plaintexts[1]) - len(plaintexts[0]) == 22
    sizes = [(store.root / store.path_of(record_id)).stat().st_size for record_id in (short, long)]
    assert sizes[0] == sizes[1]
    assert sealed_size((store.root / store.path_of(short)).read_bytes(), "cases/C-0001.enc") == 1024
    assert store.read(long)["child"]["name"] == "Alexandra Bartholomew-Smith"


def test_a_flipped_padding_byte_is_tampered(record):
    store, path, blob = record
    plaintext = store.read_plaintext("C-0001")
    start = len(envelope.header(1, bytes(16), path)) + crypto.NONCE_SIZE
    mark, last_zero = start + len(plaintext), len(blob) - crypto.TAG_SIZE - 1
    assert blob[mark - 1 : mark + 1] != b""  # the mark and the zeros are ciphertext too
    for position in (mark, mark + 1, last_zero):
        (store.root / path).write_bytes(
            blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1 :]
        )
        with pytest.raises(TamperedError) as caught:
            store.read("C-0001")
        assert caught.value.exit_code == ExitCode.TAMPERED, position
    (store.root / path).write_bytes(blob)
    assert store.read("C-0001")["child"]["name"] == "A"


def sealed_by_hand(store, path: str, inner: bytes, magic: bytes = envelope.MAGIC) -> bytes:
    """A file sealed with the store's real key around ``inner`` exactly as given: what a
    reader who holds the key could write without panelctl."""
    keyring = store.keyring
    head = envelope.header(keyring.epoch, store.store_id, path, magic)
    return head + crypto.seal(keyring.key, inner, head)


@pytest.mark.parametrize(
    "inner",
    [
        b"",
        b"status: open\n" + bytes(1011),  # no 0x80 mark
        b"status: open\n\x80" + bytes(1010) + b"\x01",  # something after the zeros
        b"status: open\n\x80" + bytes(2034),  # a bucket too large for what it holds
        b"status: open\n\x80" + bytes(500),  # not a bucket size
        b"status: open\n\x81" + bytes(1010),  # another mark
    ],
    ids=["empty", "no-mark", "trailing-byte", "bucket-too-large", "not-a-bucket", "wrong-mark"],
)
def test_authentic_but_malformed_padding_is_tampered(record, inner, cli, coordinator):
    store, path, _blob = record
    (store.root / path).write_bytes(sealed_by_hand(store, path, inner))
    with pytest.raises(TamperedError, match="padding is malformed") as caught:
        store.read("C-0001")
    assert type(caught.value) is TamperedError and path in caught.value.message
    result = cli("verify", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.PROBLEMS_FOUND and "padding is malformed" in result.output
    assert path in result.output and "status" not in result.output
    shown = cli("record", "show", "C-0001", store=store.root, identity=coordinator.path)
    assert shown.exit_code == ExitCode.TAMPERED and "status" not in shown.output


def test_an_unpadded_file_of_the_first_format_still_reads_and_verifies(record, cli, coordinator):
    store, path, _blob = record
    plaintext = store.read_plaintext("C-0001")
    old = sealed_by_hand(store, path, plaintext, envelope.MAGIC_UNPADDED)
    (store.root / path).write_bytes(old)
    signed_commit(store.root, coordinator.path, "An unpadded record, as panelctl wrote it before")
    assert envelope.is_encrypted(old) and sealed_size(old, path) == len(plaintext)  # no padding
    assert store.read("C-0001")["child"]["name"] == "A"
    assert cli("verify", store=store.root, identity=coordinator.path).exit_code == 0
    store.update({**store.read("C-0001"), "status": "closed"})  # written again: padded
    rewritten = (store.root / path).read_bytes()
    assert rewritten.startswith(envelope.MAGIC_CASES) and sealed_size(rewritten, path) == 1024


def test_a_padded_file_relabelled_as_the_first_format_is_tampered(record):
    """The format byte is associated data: padding cannot be stripped of its check."""
    store, path, blob = record
    relabelled = envelope.MAGIC_UNPADDED + blob[len(envelope.MAGIC) :]
    (store.root / path).write_bytes(relabelled)
    with pytest.raises(TamperedError, match="fails its integrity check"):
        store.read("C-0001")


def test_the_sample_store_is_of_the_first_format_and_reads_whole(sample):
    """sample-store/ was written before padding: its real files are the compatibility test."""
    store = Store(sample.store, read_identity_file(sample.identity).unlock())
    files = sorted(p for p in sample.store.glob("*/*.enc"))
    assert files and all(p.read_bytes().startswith(envelope.MAGIC_UNPADDED) for p in files)
    for path in files:
        assert store.read(path.stem)["id"] == path.stem


# --- every bit, every length, every trailing byte -------------------------------------


def _bit_flip_outcomes(store, path, blob, byte_range) -> dict[int, str]:
    """For each bit in ``byte_range``, write the file with that bit flipped and read it."""
    target = store.root / path
    outcomes = {}
    for bit in range(byte_range.start * 8, byte_range.stop * 8):
        target.write_bytes(flip(blob, bit))
        try:
            store.read("C-0001")
            outcomes[bit] = "read succeeded"
        except TamperedError as error:  # MisplacedError is a TamperedError too
            outcomes[bit] = "tampered" if error.exit_code in (7, 8) else type(error).__name__
        except PanelctlError as error:
            outcomes[bit] = type(error).__name__
    target.write_bytes(blob)
    return outcomes


def test_every_flipped_bit_of_magic_length_and_sealed_part_is_tampered(record):
    store, path, blob = record
    assert store.read("C-0001")["child"]["name"] == "A"
    assert len(blob) < 1200  # one 1 KiB padding bucket: small enough to try every bit
    # (a case's own file also carries the sealed list of the cases it is about: 54 bytes)
    for part in (MAGIC_BYTES, LENGTH_BYTES, range(SEALED_START, len(blob))):
        outcomes = _bit_flip_outcomes(store, path, blob, part)
        wrong = {bit: what for bit, what in outcomes.items() if what != "tampered"}
        assert wrong == {}, f"bytes {part}: {wrong}"
    assert store.read("C-0001")["child"]["name"] == "A"


def test_every_flipped_bit_of_the_header_store_id_and_path_is_tampered(record):
    store, path, blob = record
    outcomes = _bit_flip_outcomes(store, path, blob, range(STORE_ID_BYTES.start, SEALED_START))
    wrong = {bit: what for bit, what in outcomes.items() if what != "tampered"}
    assert wrong == {}, f"{len(wrong)} of {len(outcomes)} bit flips not caught"


def test_flipped_epoch_bits_are_reported_as_tampering(record):
    store, path, blob = record
    outcomes = _bit_flip_outcomes(store, path, blob, EPOCH_BYTES)
    wrong = {bit: what for bit, what in outcomes.items() if what != "tampered"}
    assert wrong == {}, wrong


def test_every_truncation_is_tampered(record):
    store, path, blob = record
    target = store.root / path
    for length in range(len(blob)):
        target.write_bytes(blob[:length])
        with pytest.raises(TamperedError):
            store.read("C-0001")
    target.write_bytes(blob)
    assert store.read("C-0001")["status"] == "open"


@pytest.mark.parametrize(
    "tail",
    [b"\x00", b"\n", b"\xff" * 16, b"x" * 1000, bytes(range(33)), bytes(range(256))],
    ids=["nul", "newline", "16xff", "1000x", "33bytes", "256bytes"],
)
def test_trailing_bytes_are_tampered(record, tail):
    store, path, blob = record
    (store.root / path).write_bytes(blob + tail)
    with pytest.raises(TamperedError) as caught:
        store.read("C-0001")
    assert type(caught.value) is TamperedError
    assert caught.value.exit_code == ExitCode.TAMPERED


def test_prefixed_or_replaced_content_is_tampered(record):
    store, path, blob = record
    target = store.root / path
    for changed in (b"", b"id: C-0001\nstatus: open\n", b"\x00" + blob, envelope.MAGIC):
        target.write_bytes(changed)
        with pytest.raises(TamperedError):
            store.read("C-0001")


# --- misplaced files ------------------------------------------------------------------


def test_record_copied_onto_another_path_is_misplaced(store, coordinator, cli):
    store.create("case", SMALL_CASE)
    store.create("case", {"status": "closed", "child": {"name": "B"}})
    shutil.copyfile(store.root / "cases/C-0001.enc", store.root / "cases/C-0002.enc")
    with pytest.raises(MisplacedError, match="cases/C-0001.enc") as caught:
        store.read("C-0002")
    assert caught.value.exit_code == ExitCode.MISPLACED == 8
    result = cli("record", "show", "C-0002", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.MISPLACED
    assert "cases/C-0002.enc" in result.stderr and "Traceback" not in result.output


def test_record_copied_into_another_store_is_misplaced(store, coordinator, tmp_path, cli):
    store.create("case", SMALL_CASE)
    other = create_store(tmp_path / "other", "mace", "Other MACE", coordinator.unlock(), "Council")
    other.create("case", {"status": "closed", "child": {"name": "Z"}})
    assert other.store_id != store.store_id
    shutil.copyfile(other.root / "cases/C-0001.enc", store.root / "cases/C-0001.enc")
    with pytest.raises(MisplacedError, match="another store"):
        store.read("C-0001")
    result = cli("record", "show", "C-0001", store=store.root, identity=coordinator.path)
    assert result.exit_code == ExitCode.MISPLACED == 8


# --- wrong identity versus tampered file ----------------------------------------------


def test_wrong_identity_and_tampered_file_are_different_errors(record, make_person, cli):
    store, path, blob = record
    stranger = make_person("Stranger Danger")
    with pytest.raises(NotAReaderError) as not_reader:
        Store(store.root, stranger.unlock()).read("C-0001")
    (store.root / path).write_bytes(flip(blob, len(blob) * 8 - 1))
    with pytest.raises(TamperedError) as tampered:
        store.read("C-0001")
    assert not isinstance(not_reader.value, TamperedError)
    assert not isinstance(tampered.value, NotAReaderError)
    assert type(tampered.value) is TamperedError
    assert not_reader.value.exit_code == ExitCode.NOT_A_READER
    assert tampered.value.exit_code == ExitCode.TAMPERED
    assert not_reader.value.exit_code != tampered.value.exit_code
    stranger_cli = cli("record", "show", "C-0001", store=store.root, identity=stranger.path)
    assert stranger_cli.exit_code == ExitCode.NOT_A_READER


# --- X25519 low-order points ----------------------------------------------------------

_LOW_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
# X25519 ignores the top bit of u, so the same points with bit 255 set are low order too.
LOW_ORDER_POINTS = [bytes.fromhex(h) for h in _LOW_ORDER] + [
    bytes.fromhex(h)[:31] + bytes([bytes.fromhex(h)[31] | 0x80]) for h in _LOW_ORDER
]


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_low_order_points_are_refused(point):
    with pytest.raises(crypto.CryptoFailure):
        crypto.wrap_key(crypto.random_key(), point)
    secret, _public = crypto.generate_x25519()
    with pytest.raises(crypto.CryptoFailure):
        crypto.unwrap_key(secret, point, os.urandom(48))


def test_wrap_unwrap_round_trip_and_wrong_secret():
    data_key = crypto.random_key()
    secret, public = crypto.generate_x25519()
    ephemeral, wrapped = crypto.wrap_key(data_key, public)
    assert crypto.unwrap_key(secret, ephemeral, wrapped) == data_key
    other_secret, _ = crypto.generate_x25519()
    with pytest.raises(crypto.CryptoFailure):
        crypto.unwrap_key(other_secret, ephemeral, wrapped)
    with pytest.raises(crypto.CryptoFailure):
        crypto.unwrap_key(secret, ephemeral, flip(wrapped, 0))
    for bad_length in (b"", bytes(31), bytes(33)):
        with pytest.raises(crypto.CryptoFailure):
            crypto.wrap_key(data_key, bad_length)


def test_access_add_refuses_a_low_order_recipient_clearly(store, coordinator, cli):
    head = git(store.root, "rev-parse", "HEAD")
    recipient = encode_recipient(LOW_ORDER_POINTS[2])
    decode_recipient(recipient)  # a well-formed recipient string: the checksum is right
    result = cli(
        "access",
        "add",
        recipient,
        "--name",
        "Low Order",
        "--agency",
        "Nowhere",
        "--role",
        "member",
        store=store.root,
        identity=coordinator.path,
    )
    assert git(store.root, "rev-parse", "HEAD") == head
    assert result.exit_code == ExitCode.INVALID_INPUT, result.output


# --- identity files -------------------------------------------------------------------


def _edit_secret(path: Path, **changes) -> None:
    document = json.loads(path.read_text())
    document["secret"].update(changes)
    path.write_text(json.dumps(document))
    os.chmod(path, 0o600)


@pytest.mark.parametrize(
    "changes",
    [
        {"log_n": 30},
        {"log_n": 40},
        {"log_n": 5},
        {"log_n": 13},
        {"log_n": 23},
        {"log_n": "14"},
        {"log_n": 14.0},
        {"log_n": True},
        {"log_n": None},
        {"r": 16},
        {"r": 1},
        {"p": 2},
        {"p": 64},
        {"r": "8"},
    ],
    ids=str,
)
def test_out_of_range_scrypt_parameters_are_refused_quickly(make_person, changes):
    person = make_person("Pat Passphrase", passphrase="a long enough passphrase")
    _edit_secret(person.path, **changes)
    started = time.monotonic()
    with pytest.raises(IdentityError, match="scrypt parameters") as caught:
        read_identity_file(person.path).unlock(lambda: person.passphrase)
    assert time.monotonic() - started < 2
    assert type(caught.value) is IdentityError
    assert caught.value.exit_code == ExitCode.IDENTITY


def test_passphrase_identity_unlocks_and_wrong_passphrase_is_its_own_error(make_person):
    person = make_person("Pat Passphrase", passphrase="a long enough passphrase")
    identity = read_identity_file(person.path).unlock(lambda: person.passphrase)
    assert identity.recipient == person.recipient
    assert "secret" not in repr(identity) and identity.secret.hex() not in repr(identity)
    with pytest.raises(WrongPassphraseError) as caught:
        read_identity_file(person.path).unlock(lambda: "a long enough passphrasE")
    assert caught.value.exit_code == ExitCode.WRONG_PASSPHRASE
    assert caught.value.exit_code != ExitCode.IDENTITY
    assert "a long enough" not in caught.value.message


def test_identity_sealed_with_another_public_key_is_refused(make_person):
    """The sealed secret is bound to the file's recipient: swapping recipients fails."""
    one = make_person("Pat One", passphrase="a long enough passphrase")
    two = make_person("Pat Two", passphrase="a long enough passphrase")
    document = json.loads(one.path.read_text())
    document["recipient"] = two.recipient
    one.path.write_text(json.dumps(document))
    with pytest.raises(IdentityError):
        read_identity_file(one.path).unlock(lambda: one.passphrase)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_identity_file_readable_by_others_is_refused_with_chmod_advice(make_person, mode, cli):
    person = make_person("Open Permissions")
    os.chmod(person.path, mode)
    with pytest.raises(IdentityError, match="chmod 600") as caught:
        read_identity_file(person.path)
    assert type(caught.value) is IdentityError
    result = cli("identity", "show", identity=person.path)
    assert result.exit_code == ExitCode.IDENTITY and "chmod" in result.stderr
    os.chmod(person.path, 0o600)
    assert read_identity_file(person.path).recipient == person.recipient


def _alternatives(char: str) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return [c for c in alphabet if c != char]


def test_recipient_typo_is_refused_by_its_checksum(make_person):
    recipient = make_person("Typo Target").recipient
    assert decode_recipient(recipient) and len(recipient) == 113  # pcr2: both keys
    # Every position but the last (whose two low bits are base32 padding, see below), and
    # every other letter there.
    for position in range(len("pcr1"), len(recipient) - 1):
        for replacement in _alternatives(recipient[position]):
            typo = recipient[:position] + replacement + recipient[position + 1 :]
            with pytest.raises(InvalidInputError, match="checksum"):
                decode_recipient(typo)
    for cut in (recipient[:-1], recipient[:-8], recipient + "a", "pcr1" + recipient[4:]):
        with pytest.raises(InvalidInputError):
            decode_recipient(cut)


def test_recipient_typo_in_the_last_character_is_refused(make_person):
    recipient = make_person("Typo Target").recipient
    accepted = []
    for replacement in _alternatives(recipient[-1]):
        try:
            decode_recipient(recipient[:-1] + replacement)
            accepted.append(replacement)
        except InvalidInputError:
            pass
    assert accepted == []


# --- the keyring ----------------------------------------------------------------------


def _keyring_doc(store: Store) -> dict:
    return json.loads((store.root / KEYRING_PATH).read_text())


def _write_keyring(store: Store, document: dict) -> None:
    (store.root / KEYRING_PATH).write_text(json.dumps(document, indent=2) + "\n")


def _open_keyring(store: Store, person) -> Keyring:
    return Store(store.root, person.unlock()).keyring


@pytest.fixture
def two_readers(store, coordinator, make_person):
    from panelctl.panel.access import add_reader

    member = make_person("Mo Member")
    add_reader(store, member.recipient, "Mo Member", "Police", "member")
    store.create("case", SMALL_CASE)
    return store, coordinator, member


@pytest.mark.parametrize("wrapped_key", ["random", "real"])
def test_keyring_with_an_added_stanza_is_refused(store, coordinator, make_person, wrapped_key):
    intruder = make_person("Ivy Intruder")
    key = crypto.random_key() if wrapped_key == "random" else store.keyring.key
    ephemeral, wrapped = crypto.wrap_key(key, decode_recipient(intruder.recipient))
    document = _keyring_doc(store)
    document["stanzas"].append(
        {
            "to": intruder.recipient,
            "ephemeral": envelope_b64(ephemeral),
            "key": envelope_b64(wrapped),
        }
    )
    _write_keyring(store, document)
    for person in (coordinator, intruder):
        with pytest.raises(TamperedError) as caught:
            _open_keyring(store, person)
        assert type(caught.value) is TamperedError
        assert "keyring" in caught.value.message


def test_keyring_with_a_removed_stanza_is_refused(two_readers):
    store, coordinator, member = two_readers
    _open_keyring(store, member)  # the member can read before the edit
    document = _keyring_doc(store)
    document["stanzas"] = [s for s in document["stanzas"] if s["to"] != member.recipient]
    assert len(document["stanzas"]) == 1
    _write_keyring(store, document)
    with pytest.raises(TamperedError):
        _open_keyring(store, coordinator)
    with pytest.raises(NotAReaderError):  # the member's own stanza is gone: nothing to unwrap
        _open_keyring(store, member)


def test_keyring_stanza_swapped_between_readers_is_refused(two_readers):
    store, coordinator, member = two_readers
    document = _keyring_doc(store)
    first, second = document["stanzas"]
    first["ephemeral"], second["ephemeral"] = second["ephemeral"], first["ephemeral"]
    first["key"], second["key"] = second["key"], first["key"]
    _write_keyring(store, document)
    for person in (coordinator, member):
        with pytest.raises(TamperedError):
            _open_keyring(store, person)


def test_keyring_with_any_field_changed_is_refused_without_crashing(store, coordinator):
    raw = (store.root / KEYRING_PATH).read_bytes()
    values = [None, 0, 2, "", "AAAA", [], {}, [1], {"to": 1}, [{"to": 1}], [[]]]
    tried = 0
    for field in ("panelctl_keyring", "epoch", "store_id", "stanzas", "body", None):
        for value in values:
            document = json.loads(raw)
            if field is None:
                document = value  # the whole file replaced by another JSON value
            elif document[field] == value:
                continue
            else:
                document[field] = value
            _write_keyring(store, document)
            with pytest.raises((TamperedError, NotAReaderError)):
                _open_keyring(store, coordinator)
            tried += 1
    for stanza_field in ("to", "ephemeral", "key"):
        for value in values:
            document = json.loads(raw)
            document["stanzas"][0][stanza_field] = value
            _write_keyring(store, document)
            with pytest.raises((TamperedError, NotAReaderError)):
                _open_keyring(store, coordinator)
            tried += 1
    for broken in (b"", b"{", b"\xff\xfe", raw[:-10], raw.replace(b'"epoch": 1', b'"epoch": 1.0')):
        (store.root / KEYRING_PATH).write_bytes(broken)
        with pytest.raises(TamperedError):
            _open_keyring(store, coordinator)
        tried += 1
    assert tried > 90
    (store.root / KEYRING_PATH).write_bytes(raw)
    assert _open_keyring(store, coordinator).epoch == 1


def test_keyring_body_bit_flips_are_refused(store, coordinator):
    raw = (store.root / KEYRING_PATH).read_bytes()
    document = json.loads(raw)
    body = bytearray(base64.b64decode(document["body"]))
    for position in (0, 11, 12, len(body) // 2, len(body) - 1):
        changed = bytearray(body)
        changed[position] ^= 0x01
        document["body"] = envelope_b64(bytes(changed))
        _write_keyring(store, document)
        with pytest.raises(TamperedError):
            _open_keyring(store, coordinator)
    (store.root / KEYRING_PATH).write_bytes(raw)
    assert _open_keyring(store, coordinator).epoch == 1


def test_keyring_from_another_store_is_refused(store, coordinator, tmp_path):
    other = create_store(tmp_path / "other", "mace", "Other MACE", coordinator.unlock(), "Council")
    shutil.copyfile(other.root / KEYRING_PATH, store.root / KEYRING_PATH)
    with pytest.raises(TamperedError, match="another store") as caught:
        _open_keyring(store, coordinator)
    assert type(caught.value) is TamperedError
    # and with its store id edited to match, authentication fails instead
    document = _keyring_doc(store)
    document["store_id"] = store.store_id.hex()
    _write_keyring(store, document)
    with pytest.raises(TamperedError, match="integrity"):
        _open_keyring(store, coordinator)


def test_non_reader_gets_not_a_reader_from_an_intact_keyring(store, make_person):
    stranger = make_person("Stranger Danger")
    with pytest.raises(NotAReaderError) as caught:
        _open_keyring(store, stranger)
    assert not isinstance(caught.value, TamperedError)
    assert stranger.recipient[:12] in caught.value.message


def envelope_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_test_log_n_is_the_floor():
    """The fixtures' fast work factor is one panelctl accepts, and one below it is not."""
    assert crypto.check_scrypt_params(TEST_LOG_N, 8, 1)
    assert not crypto.check_scrypt_params(TEST_LOG_N - 1, 8, 1)


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o711, 0o701, 0o770, 0o705])
def test_identity_in_a_folder_others_can_read_or_enter_is_refused_with_chmod_advice(
    make_person, store, mode, cli
):
    """The README: an identity is a 0600 file in a 0700 folder, checked on every load."""
    person = make_person("Open Folder")
    folder = person.path.parent
    os.chmod(folder, mode)
    with pytest.raises(IdentityError, match=f"chmod 700 {folder}") as caught:
        read_identity_file(person.path)
    assert type(caught.value) is IdentityError
    for args in (["identity", "show"], ["--store", str(store.root), "verify"]):
        result = cli(*args, identity=person.path)
        assert result.exit_code == ExitCode.IDENTITY, result.output
        assert result.stderr.count("\n") == 1 and f"chmod 700 {folder}" in result.stderr
    os.chmod(folder, 0o700)
    assert read_identity_file(person.path).recipient == person.recipient
