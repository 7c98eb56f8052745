"""Git's SSH signature format, so that stock git can check a panelctl commit.

A signed commit carries a ``gpgsig`` header holding an armored SSHSIG (the format of
OpenSSH's PROTOCOL.sshsig, as ``git commit -S`` writes it with ``gpg.format=ssh`` and as
``git verify-commit`` and ``ssh-keygen -Y verify`` check it) over the commit object
without that header. Only the wire format is written here; the signature itself is
Ed25519 from :mod:`panelctl.crypto.primitives`.

The signed blob: ``"SSHSIG" || string(namespace) || string(reserved) || string(hash
algorithm) || string(H(message))``. The signature: ``"SSHSIG" || uint32(1) ||
string(public key) || string(namespace) || string(reserved) || string(hash algorithm) ||
string(signature)``, base64 in 70-column lines between BEGIN and END SSH SIGNATURE.
"""

from __future__ import annotations

import base64
import binascii
import struct

from panelctl.crypto import primitives as crypto

MAGIC = b"SSHSIG"
NAMESPACE = b"git"
HASH = b"sha512"
KEY_TYPE = b"ssh-ed25519"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"


class BadSignature(Exception):
    """The signature is malformed, of another kind, or does not verify. No detail."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def public_blob(public: bytes) -> bytes:
    """An Ed25519 public key as SSH's wire format holds it."""
    return _string(KEY_TYPE) + _string(public)


def public_line(public: bytes, comment: str = "") -> str:
    """``ssh-ed25519 AAAA... comment``, as in an allowed-signers file."""
    text = f"ssh-ed25519 {base64.b64encode(public_blob(public)).decode('ascii')}"
    return f"{text} {comment}".rstrip()


def _signed_data(message: bytes, namespace: bytes) -> bytes:
    return (
        MAGIC + _string(namespace) + _string(b"") + _string(HASH) + _string(crypto.sha512(message))
    )


def sign(seed: bytes, message: bytes, namespace: bytes = NAMESPACE) -> str:
    """The armored SSHSIG of ``message`` by the Ed25519 key ``seed``."""
    public = crypto.signing_public(seed)
    signature = crypto.sign(seed, _signed_data(message, namespace))
    blob = (
        MAGIC
        + struct.pack(">I", 1)
        + _string(public_blob(public))
        + _string(namespace)
        + _string(b"")
        + _string(HASH)
        + _string(_string(KEY_TYPE) + _string(signature))
    )
    text = base64.b64encode(blob).decode("ascii")
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([BEGIN, *lines, END])


def signer_of(armored: str, message: bytes, namespace: bytes = NAMESPACE) -> bytes:
    """The Ed25519 public key whose valid signature of ``message`` ``armored`` is; raises
    :class:`BadSignature` for anything else."""
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise BadSignature
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature from None
    reader = _Reader(blob)
    if reader.take(6) != MAGIC or reader.uint32() != 1:
        raise BadSignature
    key = _Reader(reader.string())
    if key.string() != KEY_TYPE:
        raise BadSignature
    public = key.string()
    key.end()
    if reader.string() != namespace or reader.string() != b"" or reader.string() != HASH:
        raise BadSignature
    sig = _Reader(reader.string())
    if sig.string() != KEY_TYPE:
        raise BadSignature
    signature = sig.string()
    sig.end()
    reader.end()
    if len(public) != 32 or not crypto.verify_signature(
        public, signature, _signed_data(message, namespace)
    ):
        raise BadSignature
    return public


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise BadSignature
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def end(self) -> None:
        if self.at != len(self.data):
            raise BadSignature
