"""The only module that imports ``cryptography``: every primitive panelctl uses, as designed.

- Records, the keyring body and the query index: AES-256-GCM with a fresh random 96-bit
  nonce per write and the caller's associated data.
- Wrapping a data key to a reader: ephemeral-static X25519, HKDF-SHA256 over the shared
  secret with both public keys as salt, then ChaCha20-Poly1305 under that one-use key (the
  construction of age's X25519 recipient stanza). Low-order public keys are refused.
- Signing commits: Ed25519. A person's signing key is derived from their X25519 secret
  with HKDF-SHA256 (info ``panelctl/v1/ed25519-signing``), so every identity has one
  without a new secret to keep; the two keys are never used for each other's purpose.
- Protecting an identity with a passphrase: scrypt (N = 2^18, r = 8, p = 1 by default, as
  age), then ChaCha20-Poly1305. Parameters read from a file are range-checked first.

Failures raise :class:`CryptoFailure` with no detail; callers turn it into the right
panelctl error, since only they know which file and which cause is meant.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# (Raw key bytes come from private_bytes_raw/public_bytes_raw, not the serialization module:
# importing that loads RSA, DSA, EC, DH and SSH support, ~12 ms of every command's start-up.)

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
WRAP_INFO = b"panelctl/v1/x25519-wrap"
SCRYPT_INFO_AAD = b"panelctl/v1/identity"
SIGNING_INFO = b"panelctl/v1/ed25519-signing"
SCRYPT_LOG_N_DEFAULT = 18
SCRYPT_LOG_N_MIN = 14
SCRYPT_LOG_N_MAX = 22
SCRYPT_R = 8
SCRYPT_P = 1
_ZERO_NONCE = bytes(NONCE_SIZE)


class CryptoFailure(Exception):
    """Authentication or key agreement failed. Deliberately carries no detail."""


def random_key() -> bytes:
    return os.urandom(KEY_SIZE)


# --- AEAD for records, keyring body and index -------------------------------------------


@lru_cache(maxsize=8)
def _aesgcm(key: bytes) -> AESGCM:
    """One cipher object per key: bulk reads open 100,000 files with the same key."""
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate; returns nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + _aesgcm(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise CryptoFailure
    try:
        return _aesgcm(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
    except InvalidTag:
        raise CryptoFailure from None


# --- X25519 identities and key wrapping --------------------------------------------------


def generate_x25519() -> tuple[bytes, bytes]:
    """A new (secret, public) pair as raw 32-byte strings."""
    private = X25519PrivateKey.generate()
    return _raw_private(private), _raw_public(private.public_key())


def public_from_secret(secret: bytes) -> bytes:
    try:
        return _raw_public(X25519PrivateKey.from_private_bytes(secret).public_key())
    except ValueError:
        raise CryptoFailure from None


def wrap_key(data_key: bytes, recipient_public: bytes) -> tuple[bytes, bytes]:
    """Wrap ``data_key`` to a recipient; returns (ephemeral public key, wrapped key)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw_public(ephemeral.public_key())
    shared = _exchange(ephemeral, recipient_public)
    wrap = _wrap_key_for(shared, ephemeral_public, recipient_public)
    return ephemeral_public, ChaCha20Poly1305(wrap).encrypt(_ZERO_NONCE, data_key, None)


def unwrap_key(secret: bytes, ephemeral_public: bytes, wrapped: bytes) -> bytes:
    try:
        private = X25519PrivateKey.from_private_bytes(secret)
    except ValueError:
        raise CryptoFailure from None
    shared = _exchange(private, ephemeral_public)
    wrap = _wrap_key_for(shared, ephemeral_public, _raw_public(private.public_key()))
    try:
        key = ChaCha20Poly1305(wrap).decrypt(_ZERO_NONCE, wrapped, None)
    except InvalidTag:
        raise CryptoFailure from None
    if len(key) != KEY_SIZE:
        raise CryptoFailure
    return key


def is_usable_public_key(public: bytes) -> bool:
    """False for a malformed or low-order X25519 public key (one no secret can match)."""
    try:
        _exchange(X25519PrivateKey.generate(), public)
    except CryptoFailure:
        return False
    return True


def _exchange(private: X25519PrivateKey, peer_public: bytes) -> bytes:
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:
        # Wrong length, or a low-order point (OpenSSL refuses the all-zero shared secret).
        raise CryptoFailure from None
    if shared == bytes(len(shared)):
        raise CryptoFailure
    return shared


def _wrap_key_for(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + recipient_public,
        info=WRAP_INFO,
    ).derive(shared)


def _raw_private(private: X25519PrivateKey) -> bytes:
    return private.private_bytes_raw()


def _raw_public(public: X25519PublicKey) -> bytes:
    return public.public_bytes_raw()


# --- passphrase protection ---------------------------------------------------------------


def check_scrypt_params(log_n: object, r: object, p: object) -> bool:
    """True when the parameters are ones panelctl will run (refuses absurd work factors)."""
    return (
        isinstance(log_n, int)
        and not isinstance(log_n, bool)
        and SCRYPT_LOG_N_MIN <= log_n <= SCRYPT_LOG_N_MAX
        and r == SCRYPT_R
        and p == SCRYPT_P
    )


def passphrase_seal(
    secret: bytes, passphrase: str, aad: bytes, log_n: int = SCRYPT_LOG_N_DEFAULT
) -> dict:
    if not check_scrypt_params(log_n, SCRYPT_R, SCRYPT_P):
        raise ValueError("scrypt work factor out of range")
    salt = os.urandom(16)
    key = _scrypt(passphrase, salt, log_n)
    sealed = ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, secret, SCRYPT_INFO_AAD + aad)
    return {"salt": salt, "log_n": log_n, "r": SCRYPT_R, "p": SCRYPT_P, "sealed": sealed}


def passphrase_open(params: dict, passphrase: str, aad: bytes) -> bytes:
    """Open a sealed secret; raises CryptoFailure for a wrong passphrase or altered file."""
    if not check_scrypt_params(params.get("log_n"), params.get("r"), params.get("p")):
        raise ValueError("scrypt parameters out of range")
    key = _scrypt(passphrase, params["salt"], params["log_n"])
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, params["sealed"], SCRYPT_INFO_AAD + aad)
    except InvalidTag:
        raise CryptoFailure from None


def _scrypt(passphrase: str, salt: bytes, log_n: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_SIZE, n=2**log_n, r=SCRYPT_R, p=SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )


def derive_key(material: bytes, salt: bytes, info: bytes) -> bytes:
    """A 32-byte key from ``material`` by HKDF-SHA256 (a record file's key from the epoch's
    data key and its cases' keys: crypto/casekeys.py)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material)


# --- Ed25519 signatures -----------------------------------------------------------------


def signing_seed(x25519_secret: bytes) -> bytes:
    """The Ed25519 private seed that belongs to an X25519 identity secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_INFO).derive(
        x25519_secret
    )


@lru_cache(maxsize=8)
def _signer(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_public(seed: bytes) -> bytes:
    return _signer(seed).public_key().public_bytes_raw()


def sign(seed: bytes, data: bytes) -> bytes:
    return _signer(seed).sign(data)


def verify_signature(public: bytes, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is ``public``'s Ed25519 signature of ``data``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def sha512(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA512())
    digest.update(data)
    return digest.finalize()


def sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def b64(raw: bytes) -> str:
    """Bytes as the base64 text that keyrings and identity files hold."""
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    """The bytes of strict base64 text (binascii.Error or ValueError when it is not)."""
    return base64.b64decode(text, validate=True)
