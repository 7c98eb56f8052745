"""Who changed what, and when, from git history; decrypted diffs for readers, in memory."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from panelctl.base.dates import LONDON, show_datetime
from panelctl.base.errors import PanelctlError
from panelctl.model import records
from panelctl.store import gitio
from panelctl.store.core import Store
from panelctl.store.verify import signers


@dataclass(frozen=True)
class Change:
    commit: str
    author: str
    when: datetime  # Europe/London
    subject: str

    @property
    def when_text(self) -> str:
        return show_datetime(self.when)


def changes(store: Store, record_id: str | None = None, limit: int | None = None) -> list[Change]:
    """The commits (of one record, or all), newest first; ``author`` is the verified signer."""
    paths = [store.path_of(record_id)] if record_id else []
    entries = gitio.log(store.root, paths, limit)
    signed = signers(store, [entry["commit"] for entry in entries])
    return [
        Change(
            commit=entry["commit"],
            author=signed[entry["commit"]],
            when=datetime.fromisoformat(entry["date"]).astimezone(LONDON),
            subject=entry["subject"],
        )
        for entry in entries
    ]


def patch(store: Store, record_id: str, change: Change) -> str:
    """The record's decrypted change in one commit, as a unified diff (never written to disk)."""
    path = store.path_of(record_id)
    before = _text_at(store, f"{change.commit}^", path)
    after = _text_at(store, change.commit, path)
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{record_id}",
            tofile=f"b/{record_id}",
        )
    )


def _text_at(store: Store, revision: str, path: str) -> str:
    blob = gitio.show_file(store.root, revision, path)
    if blob is None:
        return ""
    try:
        return store.decrypt(path, blob).decode("utf-8")
    except PanelctlError as error:
        return f"[cannot decrypt this version: {error.message}]\n"


def textconv(store: Store, file_name: str, blob: bytes) -> bytes:
    """For git's diff driver: the plaintext of a record blob that git put in ``file_name``.

    git names its temp file ``XXXXXX_<basename>``; the record's path follows from the id.
    """
    base = file_name.rsplit("/", 1)[-1].rsplit("_", 1)[-1]
    record_id = base[:-4] if base.endswith(".enc") else base
    path = records.type_of_id(record_id).path_for(record_id)
    return store.decrypt(path, blob)


def last_changes(store: Store, record_ids: list[str]) -> dict[str, tuple[Change, int]]:
    """Each record's last change and how many commits changed it, from one ``git log`` for
    them all (not one per record): for a subject access bundle's "last changed"."""
    paths = {store.path_of(rid): rid for rid in record_ids}
    if not paths or gitio.head(store.root) is None:
        return {}
    fmt = "%x1e%H%x1f%aI%x1f%s"
    out = gitio.run(store.root, ["log", f"--format={fmt}", "--name-only", "--no-color", "--",
                                 *paths])  # fmt: skip
    first: dict[str, tuple[str, str, str]] = {}
    counts: dict[str, int] = {}
    for chunk in out.split("\x1e"):
        head, _, names = chunk.strip("\n").partition("\n")
        if not head:
            continue
        commit, when, subject = head.split("\x1f", 2)
        for path in names.split("\n"):
            rid = paths.get(path.strip())
            if rid is None:
                continue
            first.setdefault(rid, (commit, when, subject))
            counts[rid] = counts.get(rid, 0) + 1
    signed = signers(store, sorted({commit for commit, _w, _s in first.values()}))
    return {
        rid: (
            Change(
                commit=commit,
                author=signed[commit],
                when=datetime.fromisoformat(when).astimezone(LONDON),
                subject=subject,
            ),
            counts[rid],
        )
        for rid, (commit, when, subject) in first.items()
    }
