"""`panelctl verify`: every record decrypts and validates, and nothing under the record
folders is plaintext or uncommitted. Returns the problems; an empty list means all is well."""

from __future__ import annotations

import os
from dataclasses import dataclass

from panelctl.base.errors import PanelctlError
from panelctl.crypto import envelope
from panelctl.model import records
from panelctl.store import gitio
from panelctl.store.core import RECORD_FOLDERS, Store


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return (
            self.message if self.message.startswith(self.path) else f"{self.path}: {self.message}"
        )


def verify(store: Store) -> list[Problem]:
    store.keyring  # noqa: B018 - a keyring that does not open is an error, not a list item
    problems: list[Problem] = []
    for folder in RECORD_FOLDERS:
        directory = store.root / folder
        if not directory.is_dir():
            continue
        rtype = records.BY_FOLDER[folder]
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = f"{folder}/{entry.name}"
            problem = _check_entry(store, rtype, entry, path)
            if problem:
                problems.append(Problem(path, problem))
    for path in gitio.dirty_paths(store.root, RECORD_FOLDERS):
        problems.append(
            Problem(path, "has changes that were never committed; commit or restore them with git.")
        )
    return problems


def _check_entry(
    store: Store, rtype: records.RecordType, entry: os.DirEntry, path: str
) -> str | None:
    if not entry.is_file(follow_symlinks=False):
        return "is not a regular file; record folders hold only encrypted record files."
    with open(entry.path, "rb") as handle:
        blob = handle.read()
    if not envelope.is_encrypted(blob):
        return "is not encrypted: plaintext must never be kept in a record folder; remove it."
    record_id = entry.name[:-4] if entry.name.endswith(".enc") else ""
    match = records.ID_PATTERN.match(record_id)
    if not match or match.group(1) != rtype.prefix:
        return f"is not named like a {rtype.name} record ({rtype.format_id(42)}.enc)."
    try:
        records.parse(rtype, store.decrypt(path, blob), record_id)
    except PanelctlError as error:
        return error.message
    return None
