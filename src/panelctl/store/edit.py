"""Editing one record by hand in a text editor, as ``pass edit`` and ``sops`` do.

The record is decrypted into a private temporary file (0600, in a 0700 folder of its own,
on memory-backed ``/dev/shm`` where there is one), the editor is run on it, and the file
and its folder (with any backup or swap file the editor left there) are overwritten and
removed afterwards, whatever happens: a save, an error, Ctrl-C, the terminal closing.

The buffer is YAML 1.2 (:func:`yamlio.dump_for_editing`), read back with the loader for
hand-written files. On a save the record is checked like any other (:func:`records.validate`)
and written in one commit. When it does not pass and a person is at the terminal, the
editor opens again on their own text (comments and key order as they left them) with the
problem as a comment at the top; without a terminal the error ends the edit. Saving the
text unchanged, or emptying it, saves nothing and makes no commit.

The editor is injected (``editor(path) -> exit status``), so a test or another front end
can drive it; :func:`run_editor` runs a command line such as ``$VISUAL``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError, InvalidRecordError, NotAllowedError
from panelctl.model import records
from panelctl.store.core import Store

Editor = Callable[[Path], int]

#: Memory-backed storage: the decrypted buffer never reaches a disk when it exists.
SHM = Path("/dev/shm")
_HEADER = "# panelctl could not save this: "
_HINT = "# Correct it and save, or empty the file to give up.\n"


@dataclass
class Edited:
    record_id: str
    #: "saved" (one commit made), "unchanged" or "emptied" (nothing saved).
    outcome: str

    @property
    def saved(self) -> bool:
        return self.outcome == "saved"


def edit_record(
    store: Store,
    record_id: str,
    editor: Editor,
    *,
    interactive: bool,
    folder: Path | None = None,
) -> Edited:
    """Let a person change record ``record_id`` in ``editor``; see the module's description.
    ``interactive``: a person is at a terminal, so a problem re-opens the editor.
    ``folder``: where the private folder is made (default: /dev/shm, else the temp folder)."""
    rtype = records.type_of_id(record_id)
    if rtype is records.RESTRICTED:
        # its content is sealed to a group: an edit could only lose or replace it unseen
        raise NotAllowedError(
            f"{record_id} is a restricted item, which is written once and never edited; add "
            "a new restricted item to correct it (a coordinator may delete this one)."
        )
    stored = store.read_plaintext(record_id)
    original = records.parse(rtype, stored, record_id)
    text = yamlio.dump_for_editing(original)
    with private_file(f"{record_id}.yaml", folder) as path:
        _write(path, text)
        while True:
            status = editor(path)
            if status != 0:
                _editor_failed(status)
            text = _read(path)
            try:
                data = _parse(rtype, record_id, text)
            except InvalidRecordError as problem:
                if not interactive:
                    raise
                _write(path, _with_problem(text, problem.message))
                continue
            if data is None:
                return Edited(record_id, "emptied")
            if yamlio.dump_for_editing(data) == yamlio.dump_for_editing(original):
                return Edited(record_id, "unchanged")  # only comments or layout changed
            return Edited(record_id, _save(store, rtype, data, stored))


def _parse(rtype: records.RecordType, record_id: str, text: str) -> dict | None:
    """The edited record, checked; None when the buffer holds nothing but comments."""
    try:
        data = yamlio.load_hand_written(text)
    except yamlio.YamlProblem as problem:
        raise InvalidRecordError(
            f"{rtype.name} {record_id} as edited is not valid YAML: {problem.where}: {problem.reason}."
        ) from None
    if data is None:
        return None
    if isinstance(data, dict) and data.get("id") != record_id:
        raise InvalidRecordError(
            f"{rtype.name} {record_id}: the id field must stay {record_id} (a record keeps its id)."
        )
    return records.validate(rtype, data, expected_id=record_id)


def _save(store: Store, rtype: records.RecordType, data: dict, stored: bytes) -> str:
    record_id = data["id"]
    with store.transaction(f"Edit {rtype.name} {record_id} by hand") as tx:
        if store.read_plaintext(record_id) != stored:
            raise NotAllowedError(
                f"{rtype.name} {record_id} was changed by another write while it was being "
                "edited; nothing was saved. Edit it again to start from the new version."
            )
        tx.put(data)
    return "saved" if tx.committed else "unchanged"


def _with_problem(text: str, problem: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and (lines[0].startswith(_HEADER) or lines[0] == _HINT):
        lines.pop(0)
    return f"{_HEADER}{problem}\n{_HINT}{''.join(lines)}"


def _editor_failed(status: int) -> None:
    if status in (-signal.SIGINT, 128 + signal.SIGINT):
        raise KeyboardInterrupt
    raise InvalidInputError(f"The editor stopped with status {status}; nothing was saved.")


# --- the private buffer -----------------------------------------------------------------


@contextmanager
def private_file(name: str, folder: Path | None = None) -> Iterator[Path]:
    """A path for plaintext in a new private folder, overwritten and removed on the way out,
    also on an error, Ctrl-C, SIGTERM or the terminal closing (SIGHUP)."""
    base = folder if folder is not None else (SHM if _usable(SHM) else None)
    with _signals_end_the_edit():
        private = Path(tempfile.mkdtemp(prefix="panelctl-edit-", dir=base))  # mode 0700
        try:
            yield private / name
        finally:
            _destroy(private)


def _usable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _write(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(yamlio.MAX_HAND_WRITTEN + 1)
    except FileNotFoundError:
        return ""  # the editor removed it: as good as emptied
    if len(raw) > yamlio.MAX_HAND_WRITTEN:
        raise InvalidInputError("The edited record is larger than 10 MB; nothing was saved.")
    return raw.decode("utf-8", errors="replace")


def _destroy(private: Path) -> None:
    """Overwrite every file the edit left (the buffer, an editor's backup or swap file) with
    zeros, then remove them and the folder."""
    for root, dirs, files in os.walk(private, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            with suppress(OSError):
                if not os.path.islink(path):
                    size = os.path.getsize(path)
                    with open(path, "r+b") as handle:
                        handle.write(b"\0" * size)
                        handle.flush()
                        os.fsync(handle.fileno())
            with suppress(OSError):
                os.unlink(path)
        for name in dirs:
            with suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with suppress(OSError):
        os.rmdir(private)


class _EndEdit(KeyboardInterrupt):
    """SIGTERM or SIGHUP during an edit: unwind like Ctrl-C, so the buffer is removed."""


@contextmanager
def _signals_end_the_edit() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def end(signum, frame):
        raise _EndEdit

    previous = {sig: signal.signal(sig, end) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- running a real editor -----------------------------------------------------------------


def run_editor(command: str) -> Editor:
    """An editor that runs ``command`` (e.g. ``vi`` or ``code --wait``) through the shell, as
    git does, on the terminal panelctl was started from. While it runs, Ctrl-C belongs to
    the editor (vi uses it); panelctl ignores it."""

    def edit(path: Path) -> int:
        process = subprocess.Popen(["/bin/sh", "-c", f'{command} "$@"', command, str(path)])
        ignored = {}
        if threading.current_thread() is threading.main_thread():
            ignored = {
                sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGQUIT)
            }
        try:
            status = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            for sig, handler in ignored.items():
                signal.signal(sig, handler)
        if status == 127:  # the shell's "command not found"
            raise InvalidInputError(
                f"The editor {command!r} was not found; set VISUAL or EDITOR to one that is "
                "installed (e.g. nano or vi)."
            )
        return status

    return edit
