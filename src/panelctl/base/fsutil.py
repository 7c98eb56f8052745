"""Private directories and atomic writes: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from panelctl.base.errors import NoSpaceError, WriteFailedError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def is_private(path: Path) -> bool:
    """True when neither group nor others may read, write or enter ``path``."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def atomic_write(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole.

    The temp file has a random name (never the record's) and lives in ``tmp_dir`` (on the
    same file system) or beside ``path``.
    """
    directory = tmp_dir or path.parent
    tmp = directory / f".tmp-{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as error:
        if no_space(error, path.parent) is None:
            raise
        raise no_space(error, path.parent) from None
    fsync_dir(path.parent)


def no_space(error: OSError, folder: Path) -> NoSpaceError | None:
    """A write that failed for want of space (a full disk or quota, or a file size limit),
    as its own error naming the folder; None for any other failure."""
    if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return None
    return NoSpaceError(
        f"No space is left on the device that holds {folder} (or a file there reached its "
        "size limit), so nothing was written there: free some space and try again."
    )


def atomic_write_many(items: list[tuple[Path, bytes]], tmp_dir: Path) -> None:
    """Replace many files at once: all temp files, one sync, then the renames.

    One ``os.sync()`` instead of an fsync per file keeps a 100,000-file re-encryption
    within seconds; the caller's journal rolls back renames a crash leaves half done.
    """
    staged = []
    try:
        for path, data in items:
            tmp = tmp_dir / f".tmp-{secrets.token_hex(8)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        os.sync()
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as error:
        if no_space(error, tmp_dir) is None:
            raise
        raise no_space(error, tmp_dir) from None
    finally:
        for tmp, _path in staged:
            tmp.unlink(missing_ok=True)
    for directory in {path.parent for _tmp, path in staged}:
        fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def is_writable_folder(folder: Path) -> bool:
    """True when ``folder`` has its owner's write permission and this process may write in
    it. The permission bit is checked as well as access(2), so that a folder made read-only
    on purpose is respected even by root (who may write anywhere)."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWUSR) and os.access(folder, os.W_OK | os.X_OK)


def check_writable(folders, what: str = "folder") -> None:
    """Refuse, before anything is written, to write into a read-only folder."""
    for folder in folders:
        if not is_writable_folder(folder):
            raise WriteFailedError(
                f"The {what} {folder} is read-only (or not yours); nothing was changed: "
                "make it writable and try again."
            )
