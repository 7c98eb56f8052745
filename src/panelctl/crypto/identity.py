"""A person's (or a cron job's) X25519 identity, kept in a private JSON file.

The file holds the owner's name and e-mail (for commit authorship), the public recipient
string, and the secret key: sealed with a passphrase (scrypt) for people, or in the clear
for an unattended job, whose file must then be guarded by the file system alone.

Recipient strings look like ``pcr2`` + base32 of the X25519 public key, the Ed25519
signing key and a 4-byte checksum, so a mistyped or truncated recipient is caught before
anyone is given access. (``pcr1`` recipients, from before commits were signed, hold the
X25519 key alone: they can still be read and encrypted to, but a reader added with one
cannot sign, so nothing they write is accepted.) The signing key is derived from the
X25519 secret (see :func:`primitives.signing_seed`), so older identity files have one too.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from panelctl.base import config
from panelctl.base.errors import (
    IdentityError,
    InvalidInputError,
    NoTerminalError,
    WrongPassphraseError,
)
from panelctl.base.fsutil import atomic_write, ensure_private_dir, is_private
from panelctl.crypto import primitives as crypto
from panelctl.crypto import sshsig

FORMAT = 1
RECIPIENT_PREFIX = "pcr1"  # the X25519 key alone
FULL_PREFIX = "pcr2"  # the X25519 key and the Ed25519 signing key
_CHECKSUM_TAG = b"panelctl-recipient"

PassphraseSource = Callable[[], str]


@dataclass(frozen=True)
class Identity:
    """An unlocked identity: enough to unwrap a store's key and to author commits."""

    name: str
    email: str
    secret: bytes
    public: bytes

    @property
    def signing_seed(self) -> bytes:
        return crypto.signing_seed(self.secret)

    @property
    def signing_public(self) -> bytes:
        return crypto.signing_public(self.signing_seed)

    @property
    def recipient(self) -> str:
        return encode_recipient(self.public, self.signing_public)

    def sign(self, message: bytes) -> str:
        """The armored SSH signature (namespace git) of ``message`` by this identity."""
        return sshsig.sign(self.signing_seed, message)

    def __repr__(self) -> str:  # never show the secret, even in a --debug traceback
        return f"Identity(name={self.name!r}, recipient={self.recipient!r})"


@dataclass(frozen=True)
class IdentityFile:
    path: Path
    name: str
    email: str
    recipient: str
    protected: bool
    demo_only: bool
    _secret: dict

    def unlock(self, passphrase: PassphraseSource | None = None) -> Identity:
        public = decode_recipient(self.recipient)
        if self.protected:
            secret = self._open_protected(passphrase or passphrase_from_env_or_terminal, public)
        else:
            secret = _b64(self._secret.get("key"), self.path)
        try:
            derived = crypto.public_from_secret(secret)
        except crypto.CryptoFailure:
            raise IdentityError(f"Identity file {self.path} holds a malformed key.") from None
        signing = decode_signing_key(self.recipient)
        if derived != public or (
            signing is not None and signing != crypto.signing_public(crypto.signing_seed(secret))
        ):
            raise IdentityError(
                f"Identity file {self.path} is inconsistent: its secret key does not match "
                "its recipient."
            )
        return Identity(self.name, self.email, secret, public)

    def _open_protected(self, passphrase: PassphraseSource, public: bytes) -> bytes:
        params = {
            "salt": _b64(self._secret.get("salt"), self.path),
            "sealed": _b64(self._secret.get("sealed"), self.path),
            "log_n": self._secret.get("log_n"),
            "r": self._secret.get("r"),
            "p": self._secret.get("p"),
        }
        if not crypto.check_scrypt_params(params["log_n"], params["r"], params["p"]):
            raise IdentityError(
                f"Identity file {self.path} asks for scrypt parameters out of the accepted "
                f"range (log_n {crypto.SCRYPT_LOG_N_MIN}-{crypto.SCRYPT_LOG_N_MAX}, r 8, p 1)."
            )
        try:
            return crypto.passphrase_open(params, passphrase(), public)
        except crypto.CryptoFailure:
            raise WrongPassphraseError(
                f"Wrong passphrase for identity {self.path}; try again, or set "
                f"{config.ENV_PASSPHRASE_FILE} to a file that holds the right one."
            ) from None


# --- recipients --------------------------------------------------------------------------


def encode_recipient(public: bytes, signing: bytes | None = None) -> str:
    """``pcr2...`` for both keys, or ``pcr1...`` for the X25519 key alone."""
    keys = public + (signing or b"")
    prefix = FULL_PREFIX if signing is not None else RECIPIENT_PREFIX
    checksum = crypto.sha256(_CHECKSUM_TAG + keys)[:4]
    body = base64.b32encode(keys + checksum).decode("ascii").rstrip("=").lower()
    return prefix + body


def _decode(text: str) -> tuple[bytes, bytes | None]:
    text = text.strip() if isinstance(text, str) else ""
    problem = (
        f"{text[:12]!r}… is not a panelctl recipient (it should start pcr2, as "
        "`panelctl identity show` prints it)."
    )
    prefix = text[:4]
    if prefix not in (RECIPIENT_PREFIX, FULL_PREFIX):
        raise InvalidInputError(problem)
    body = text[4:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        raise InvalidInputError(problem) from None
    size = crypto.KEY_SIZE * (2 if prefix == FULL_PREFIX else 1)
    keys, checksum = raw[:-4], raw[-4:]
    public, signing = keys[: crypto.KEY_SIZE], keys[crypto.KEY_SIZE :] or None
    if (
        len(keys) != size
        or crypto.sha256(_CHECKSUM_TAG + keys)[:4] != checksum
        or encode_recipient(public, signing) != text.lower()  # no non-canonical spellings
    ):
        raise InvalidInputError(
            f"Recipient {text[:12]}… has a bad checksum: it was mistyped or cut short."
        )
    return public, signing


def decode_recipient(text: str) -> bytes:
    """The X25519 public key of a recipient (either form)."""
    return _decode(text)[0]


def decode_signing_key(text: str) -> bytes | None:
    """The Ed25519 signing key of a ``pcr2`` recipient; None for a ``pcr1`` one."""
    return _decode(text)[1]


def canonical_recipient(text: str) -> str:
    """The one spelling of a recipient (lower case), after checking it."""
    return encode_recipient(*_decode(text))


def fingerprint(recipient: str) -> str:
    """A short, stable label for a reader, safe for commit messages."""
    return recipient[: len(RECIPIENT_PREFIX) + 8]


# --- creating and reading identity files -------------------------------------------------


def create_identity_file(
    path: Path,
    name: str,
    email: str = "",
    passphrase: str | None = None,
    *,
    demo_only: bool = False,
    log_n: int = crypto.SCRYPT_LOG_N_DEFAULT,
    force: bool = False,
) -> IdentityFile:
    """Make a new identity and write it to ``path`` (0600, in a 0700 directory)."""
    name = name.strip()
    if not name:
        raise InvalidInputError("An identity needs a name.", "name")
    if path.exists() and not force:
        raise IdentityError(
            f"Identity file {path} already exists; choose another path or remove it first.", "out"
        )
    secret, public = crypto.generate_x25519()
    recipient = encode_recipient(public, crypto.signing_public(crypto.signing_seed(secret)))
    if passphrase is None:
        sealed = {"scheme": "none", "key": crypto.b64(secret)}
    else:
        params = crypto.passphrase_seal(secret, passphrase, public, log_n=log_n)
        sealed = {
            "scheme": "scrypt-chacha20poly1305",
            "log_n": params["log_n"],
            "r": params["r"],
            "p": params["p"],
            "salt": crypto.b64(params["salt"]),
            "sealed": crypto.b64(params["sealed"]),
        }
    document = {
        "panelctl_identity": FORMAT,
        "warning": (
            "DEMO ONLY: this key is published; never use it for real records."
            if demo_only
            else "Secret key: never share, e-mail or commit this file."
        ),
        "name": name,
        "email": email.strip(),
        "recipient": recipient,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "demo_only": demo_only,
        "secret": sealed,
    }
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    _check_folder(path)  # before writing: an identity never lands in an open folder
    atomic_write(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    os.chmod(path, 0o600)
    return read_identity_file(path)


def _check_folder(path: Path) -> None:
    """An identity's folder is 0700: others may not list it, enter it or add files to it."""
    folder = path.resolve().parent
    if not is_private(folder):
        raise IdentityError(
            f"The folder {folder} that holds identity file {path} can be read or entered by "
            f"other users; run `chmod 700 {folder}`."
        )


def read_identity_file(path: Path, *, check_permissions: bool = True) -> IdentityFile:
    if not path.exists():
        raise IdentityError(
            f"No identity file at {path}; create one with `panelctl identity new`, or name "
            f"yours in {config.ENV_IDENTITY}.",
            "identity",
        )
    if check_permissions and not is_private(path):
        raise IdentityError(
            f"Identity file {path} can be read by other users; run `chmod 600 {path}`."
        )
    if check_permissions:
        _check_folder(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise IdentityError(f"Identity file {path} is not a readable panelctl identity.") from None
    if not isinstance(document, dict) or document.get("panelctl_identity") != FORMAT:
        raise IdentityError(f"Identity file {path} is not a panelctl identity (format {FORMAT}).")
    secret = document.get("secret")
    recipient = document.get("recipient")
    name = document.get("name")
    if not isinstance(secret, dict) or not isinstance(recipient, str) or not isinstance(name, str):
        raise IdentityError(f"Identity file {path} is incomplete.")
    scheme = secret.get("scheme")
    if scheme not in ("none", "scrypt-chacha20poly1305"):
        raise IdentityError(f"Identity file {path} uses an unknown protection {scheme!r}.")
    try:
        decode_recipient(recipient)
    except InvalidInputError:
        raise IdentityError(f"Identity file {path} holds a malformed recipient.") from None
    return IdentityFile(
        path=path,
        name=name,
        email=str(document.get("email") or ""),
        recipient=recipient,
        protected=scheme != "none",
        demo_only=bool(document.get("demo_only")),
        _secret=secret,
    )


def load_identity(
    explicit: str | os.PathLike | None = None, passphrase: PassphraseSource | None = None
) -> Identity:
    return read_identity_file(config.identity_path(explicit)).unlock(passphrase)


# --- passphrases -------------------------------------------------------------------------


def passphrase_from_env_or_terminal() -> str:
    return read_passphrase(confirm=False)


def read_passphrase(*, confirm: bool, prompt: str = "Passphrase: ") -> str:
    """From PANELCTL_PASSPHRASE_FILE, else a prompt on a terminal; never prompt without one."""
    file_name = os.environ.get(config.ENV_PASSPHRASE_FILE)
    if file_name:
        path = Path(file_name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise IdentityError(
                f"Cannot read the passphrase file {path} named by {config.ENV_PASSPHRASE_FILE}."
            ) from None
        passphrase = text.rstrip("\r\n")
        if not passphrase:
            raise IdentityError(f"The passphrase file {path} is empty.")
        return passphrase
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise NoTerminalError(
            f"A passphrase is needed and there is no terminal to ask on; set "
            f"{config.ENV_PASSPHRASE_FILE}, or use an identity made without a passphrase (for cron)."
        )
    passphrase = getpass.getpass(prompt, stream=sys.stderr)
    if confirm:
        if len(passphrase) < 8:
            raise InvalidInputError("Choose a passphrase of at least 8 characters.")
        if getpass.getpass("Same passphrase again: ", stream=sys.stderr) != passphrase:
            raise InvalidInputError("The two passphrases differ; nothing was written.")
    return passphrase


def _b64(value: object, path: Path) -> bytes:
    if not isinstance(value, str):
        raise IdentityError(f"Identity file {path} is incomplete.")
    try:
        return crypto.unb64(value)
    except (binascii.Error, ValueError):
        raise IdentityError(f"Identity file {path} holds malformed base64.") from None
