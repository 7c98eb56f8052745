"""`panelctl clone`: a working clone of a panel store from any git remote.

It clones (over file, ssh, https or git only; never a transport helper that runs a
program), checks that what came is a store, installs the diff driver and the plaintext
guard, and checks the whole history. That check is the trust-on-first-use point: it pins
the store and its creator's signing key in this clone, as SSH pins a server's key the
first time, so the user should compare the key with their coordinator. A clone whose
history fails the check is removed: nothing half-trusted is left on the disk.

Someone who is not (yet) a reader cannot open the keyring, so cannot check the history:
their clone pins the creator's key from the first commit's signature, and the whole
history is checked once they are a reader (the first `panelctl sync` or `verify`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from panelctl.base.errors import InvalidInputError, NotAReaderError, NotAStoreError
from panelctl.base.fsutil import ensure_private_dir
from panelctl.crypto import sshsig
from panelctl.crypto.identity import Identity
from panelctl.crypto.keyring import Reader
from panelctl.crypto.primitives import b64, unb64
from panelctl.store import casekeys as casekeys_store
from panelctl.store import chain, gitio
from panelctl.store.core import SETTINGS_FILE, Store, read_settings, setup_clone
from panelctl.store.verify import Problem, verify

#: ``<transport>::<address>``: git hands the address to a remote helper (``ext::`` runs
#: any command it is given).
_HELPER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9+.-]*)::")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass
class Cloned:
    """What a clone found. ``root`` is None when nothing was kept (``problems``)."""

    root: Path | None
    recipient: str  # the user's, to give to the coordinator when not a reader
    creator_key: bytes = b""  # the pinned creator's signing key
    creator_name: str = ""  # as the keyring names them ("" when it cannot be opened)
    creator_agency: str = ""
    me: Reader | None = None  # the user as the keyring names them; None: not a reader yet
    records: int = 0  # records indexed
    problems: list[Problem] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.creator_key)


def key_fingerprint(public: bytes) -> str:
    """An Ed25519 key's fingerprint as ``ssh-keygen -l`` shows it: SHA256:<base64>."""
    digest = hashlib.sha256(sshsig.public_blob(public)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def shown(url: str) -> str:
    """The address without any user name or password in it, fit for a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url


def check_url(url: str) -> None:
    """Refuse an address git would hand to a program rather than to one of its transports."""
    if not url.strip():
        raise InvalidInputError("The address of the store to clone is empty.", "url")
    if url.startswith("-"):
        raise InvalidInputError(f"{url!r} is not a git address (it begins with a dash).", "url")
    helper = _HELPER.match(url)
    if helper:
        raise InvalidInputError(
            f"The address {helper.group(1)}::… names a git remote helper, which runs a program; "
            "give an ssh, https, git or file address, or the path of a folder.",
            "url",
        )
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in gitio.ALLOWED_PROTOCOLS:
        raise InvalidInputError(
            f"The address {shown(url)} uses {scheme.group(1)}://, which panelctl does not "
            "clone over; give an ssh, https, git or file address, or the path of a folder.",
            "url",
        )


def default_folder(url: str) -> str:
    """The folder git itself would clone ``url`` into: its last part, less ``.git``."""
    text = url.rstrip("/")
    if text.endswith("/.git"):
        text = text[: -len("/.git")].rstrip("/")
    name = re.split(r"[/:]", text)[-1]
    for suffix in (".git", ".bundle"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if not name or name in (".", ".."):
        raise InvalidInputError(
            f"No folder name can be made from {shown(url)}; give the folder to clone into.",
            "directory",
        )
    return name


def clone_store(url: str, dest: Path | None, identity: Identity) -> Cloned:
    """Clone the store at ``url`` into ``dest`` (default: as git names it, in the current
    folder), which must be absent or empty. Returns what was found; when the history fails
    verification, the clone is removed and the problems are returned (``root`` None).
    Raises (with the folder left as it was) for an address refused, a folder in use, a
    failed git clone, or something that is not a store."""
    check_url(url)
    dest = Path(dest if dest is not None else default_folder(url)).expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInputError(
            f"{dest} already exists and is not empty; choose a new folder.", "directory"
        )
    created_here = not dest.exists()
    if not dest.parent.is_dir():
        raise InvalidInputError(f"The folder {dest.parent} does not exist.", "directory")
    try:
        gitio.clone(url, dest)
        ensure_private_dir(dest)
        cloned = _check(url, dest.resolve(), identity)
        if cloned.problems:
            _remove(dest, created_here)
        return cloned
    except BaseException:
        _remove(dest, created_here)
        raise


def _check(url: str, root: Path, identity: Identity) -> Cloned:
    try:
        settings = read_settings(root)
    except NotAStoreError:
        raise NotAStoreError(
            f"{shown(url)} is not a panelctl store (it has no valid {SETTINGS_FILE} at its "
            "top); nothing of it was kept.",
            "url",
        ) from None
    setup_clone(root)
    store = Store(root, identity)
    cloned = Cloned(root, identity.recipient)
    store.check_history = False  # the history is checked just below
    try:
        store.keyring  # noqa: B018 - opens it: a reader, or NotAReaderError
    except NotAReaderError:
        return _pin_creator_only(store, settings.store_id, cloned)
    finally:
        store.check_history = True
    # the case keys the records need (they are not in git's history: store/casekeys.py)
    if casekeys_store.fetch(root, "origin"):
        store.check_history = False
        try:
            casekeys_store.take_incoming(store)
        finally:
            store.check_history = True
    entries: dict[str, list] = {}
    report = verify(store, everything=True, index_entries=entries)
    if report.problems:
        cloned.problems = report.problems
        cloned.root = None
        return cloned
    if casekeys_store.apply_erasures(store):  # the shared table still had them
        casekeys_store.purge(root)
    casekeys_store.forget_incoming(root)
    trust = chain.read_trust(store.private)
    assert trust is not None  # a verified history pins its creator
    cloned.creator_key = unb64(trust.creator)
    creator = store.keyring.signer(cloned.creator_key)
    cloned.creator_name = trust.creator_name
    cloned.creator_agency = creator.agency if creator else ""
    cloned.me = store.me()
    store.index().build_from(entries)  # the records as verify read them: not twice
    cloned.records = len(entries)
    return cloned


def _pin_creator_only(store: Store, store_id: bytes, cloned: Cloned) -> Cloned:
    """For a user who cannot open the keyring: pin the store and the key that signed its
    first commit (whether that key was a coordinator's is checked once they can read it)."""
    firsts = gitio.first_commits(store.root)
    key = None
    if len(firsts) == 1:
        payload, signature, _parents = gitio.read_commit(store.root, firsts[0])
        try:
            key = sshsig.signer_of(signature or "", payload)
        except sshsig.BadSignature:
            key = None
    if key is None:
        cloned.problems = [
            Problem("", "the history does not begin with one signed commit; it cannot be a "
                    "panelctl store's")
        ]  # fmt: skip
        cloned.root = None
        return cloned
    chain.write_trust(
        store.private, chain.Trust(store_id.hex(), firsts[0], b64(key), "", verified=None)
    )
    cloned.creator_key = key
    return cloned


def _remove(dest: Path, created_here: bool) -> None:
    """Remove what the clone put in ``dest`` (and ``dest`` itself if the clone made it)."""
    if not dest.exists():
        return
    if created_here:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
