"""Reading a secret (a password) from a file a person names: one set of rules for every such
file (the SMTP password in ``settings.mail``, a PDF paper's password).

The file must be outside the store (symbolic links resolved: inside it, git could commit the
secret), a regular file owned by the user running panelctl with no group or other
permissions, not an identity file or a passphrase file panelctl knows of (by path, or an
identity by its content), and one line of at most ``max_bytes`` bytes. Messages name the
file, never its content.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from panelctl.base import config
from panelctl.base.errors import InvalidInputError


@dataclass(frozen=True)
class SecretFile:
    """What a secret file is called in messages.

    ``what``: "SMTP password file"; ``where``: the setting that named it, or None;
    ``secret``: "the SMTP password"; ``use``: what the secret is for, completing "must
    never be ..." ("sent to a mail server")."""

    what: str
    where: str | None
    secret: str
    use: str


def read_secret_line(
    setting: str | os.PathLike, store_root: Path | None, names: SecretFile, max_bytes: int
) -> str:
    """The secret held, on one line, in the file ``setting`` names (see the module)."""
    where = f" ({names.where})" if names.where else ""
    named_by = names.where or f"The {names.what}"
    given = Path(setting).expanduser()
    if names.where and not given.is_absolute():  # a setting: relative to what?
        raise InvalidInputError(
            f"{named_by} must be an absolute path outside the store (inside it, git could "
            "commit the password); give the full path of the password file."
        )
    if store_root is not None and given.resolve().is_relative_to(Path(store_root).resolve()):
        raise InvalidInputError(
            f"{named_by} must be an absolute path outside the store (inside it, git could "
            "commit the password); move the password file out of the store."
        )
    path = given.resolve()
    if is_panelctl_secret(path):
        raise InvalidInputError(
            f"{named_by} names one of panelctl's own secret files (an identity or its "
            f"passphrase), which must never be {names.use}; give a file holding "
            f"only {names.secret}."
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise InvalidInputError(
            f"Cannot read the {names.what} {path}{where}; check that it exists and is yours."
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidInputError(
            f"The {names.what} {path}{where} is not a regular file; give a file holding "
            f"only {names.secret}."
        )
    with os.fdopen(fd, "rb") as handle:
        if info.st_uid != os.getuid():
            raise InvalidInputError(
                f"The {names.what} {path}{where} belongs to another user; keep it in a file "
                "of your own, with `chmod 600`."
            )
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise InvalidInputError(
                f"The {names.what} {path}{where} can be read by other users; "
                f"run `chmod 600 {path}`."
            )
        data = handle.read(max_bytes + 1)
    if b"panelctl_identity" in data:
        raise InvalidInputError(
            f"The file {path}{where} is a panelctl identity, which must never be {names.use}; "
            f"give a file holding only {names.secret}."
        )
    try:
        value = data.decode("utf-8").strip("\r\n")
    except UnicodeDecodeError:
        value = "\n"  # refused below, as not one line of text
    if len(data) > max_bytes or "\n" in value or "\r" in value:
        raise InvalidInputError(
            f"The {names.what} {path}{where} must hold the password alone, on one "
            f"line of at most {max_bytes} bytes; put only the password in it."
        )
    if not value:
        raise InvalidInputError(f"The {names.what} {path}{where} is empty.")
    return value


def is_panelctl_secret(path: Path) -> bool:
    """True when ``path`` (resolved) is, or is in the folder of, a file panelctl keeps a
    secret in: the identity (PANELCTL_IDENTITY or the default), the passphrase file
    (PANELCTL_PASSPHRASE_FILE), or the folder ``identity new`` keeps identities in."""
    if path.is_relative_to(config.config_dir().expanduser().resolve()):
        return True
    known = [config.identity_path(), config.default_identity_path()]
    passphrase_file = os.environ.get(config.ENV_PASSPHRASE_FILE)
    if passphrase_file:
        known.append(Path(passphrase_file))
    try:
        target = path.stat()
    except OSError:
        return False
    for secret in known:
        try:
            other = secret.expanduser().stat()
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False
