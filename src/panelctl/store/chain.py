"""Who may change what: the rules every commit is checked against, and this clone's trust.

A commit is valid only if it is signed (git's SSH signature format, see
:mod:`panelctl.crypto.sshsig`) by a reader of the keyring in force *before* it (its first
parent's keyring; for the store's first commit, its own keyring, whose creator this clone
pins the first time it sees the store), and that reader's role allows every change in it:

- the keyring (who may read, roles), the settings (``panelctl.yaml``), anything under
  ``.panelctl/`` (a profile copy, risk tools), ``templates/``, and every file outside the
  record folders: a coordinator;
- deleting a record: a coordinator;
- erasing a case (adding an erasure record): a coordinator; an erasure record never
  changes and is never deleted; the commit that adds one may take that case (and only it)
  out of meetings whose minutes were approved;
- approving a meeting's minutes: the chair or vice-chair; a meeting whose minutes are
  approved never changes again;
- any other record: a reader whose role writes records; ``cron`` writes reminder and
  disclosure records only, and ``recovery`` (a key kept for emergencies) writes nothing;
- a disclosure record (the log of personal data written out of the store) is written once,
  by the reader it names, and never changed or deleted by anyone: a new key epoch may
  re-encrypt it, but its content stays as it was;
- a restricted item (``restricted/``) is added in the name of the reader who signs it,
  and never changes once written (only a coordinator may delete it, as any record).

A keyring never goes back to an older key epoch, keeps every earlier epoch's key, and
moves to a new epoch whenever a reader is removed. A record written in a commit is
encrypted under the epoch in force after that commit: a removed reader, who knows only the
old keys, cannot write one that is accepted.

The same rules are applied to panelctl's own writes before they are made (so a library
caller with the wrong role is refused at once) and to every commit by `verify`, however it
was made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from panelctl.base.errors import PanelctlError
from panelctl.base.fsutil import atomic_write
from panelctl.crypto.keyring import KEYRING_PATH, Keyring, Reader
from panelctl.model import formats, records

RECORD_FOLDERS = tuple(t.folder for t in records.TYPES.values())
WRITER_ROLES = ("coordinator", "chair", "vice-chair", "business-support", "member")
APPROVER_ROLES = ("chair", "vice-chair")
#: record types each limited role may write
LIMITED = {"cron": ("reminder", "disclosure"), "recovery": ()}
TRUST_FILE = "trust.json"


@dataclass(frozen=True)
class Change:
    status: str  # A (added), M (changed) or D (deleted)
    path: str


@dataclass(frozen=True)
class Finding:
    commit: str  # a commit id, or "" for a change not yet committed
    path: str
    message: str

    def __str__(self) -> str:
        where = f"commit {self.commit[:12]}" if self.commit else "this change"
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message}"


def record_type_of(path: str) -> records.RecordType | None:
    folder, _, name = path.partition("/")
    rtype = records.BY_FOLDER.get(folder)
    if rtype is None or not name.endswith(".enc") or "/" in name:
        return None
    return rtype


def check_change(
    commit: str,
    signer: Reader | None,
    before: Keyring | None,
    after: Keyring,
    changes: list[Change],
    epoch_of: Callable[[str], int | None],
    meeting_versions: Callable[[str], tuple[dict | None, dict | None]],
) -> list[Finding]:
    """The findings against one commit (or one change about to be committed).

    ``signer`` is the reader whose key signed it, looked up in ``before`` (or, for the
    first commit, in ``after``); None when it is unsigned or signed by a key no reader
    holds. ``epoch_of(path)`` is the key epoch of the file the change writes there;
    ``meeting_versions(path)`` gives a meeting or disclosure record before and after the
    change."""
    if signer is None:
        return [
            Finding(
                commit,
                "",
                "is not signed by a reader of this store (unsigned, or signed by a key no "
                "reader holds, or by a removed reader)",
            )
        ]
    role = signer.role
    who = f"{signer.name} ({role})"
    found: list[Finding] = []

    def refuse(path: str, message: str) -> None:
        found.append(Finding(commit, path, message))

    # cases this change erases (a coordinator's new erasure records): the approved minutes
    # of a meeting that discussed one may lose it, and only it
    erased_here: set[str] = set()
    for change in changes:
        rtype = record_type_of(change.path)
        if rtype is not None and rtype.name == "erasure" and change.status == "A":
            tombstone = meeting_versions(change.path)[1]
            if isinstance(tombstone, dict) and isinstance(tombstone.get("case"), str):
                erased_here.add(tombstone["case"])

    for change in changes:
        path = change.path
        rtype = record_type_of(path)
        if path == KEYRING_PATH:
            if role != "coordinator":
                refuse(path, f"changes who may read, but {who} is not a coordinator")
            if change.status == "D":
                refuse(path, "deletes the keyring")
            continue
        if rtype is None:
            if role != "coordinator":
                refuse(
                    path,
                    f"changes the store's settings, templates or other files, which only a "
                    f"coordinator may do, but {who} is not one",
                )
            continue
        if rtype.name == "erasure":
            if change.status != "A":
                refuse(path, "changes or deletes an erasure record, which never changes")
            elif role != "coordinator":
                refuse(path, f"erases a case, which only a coordinator may do ({who})")
            continue
        if rtype.name == "disclosure" and change.status == "D":
            refuse(path, "deletes a disclosure record, which nobody may do")
            continue
        if change.status == "D":
            if role != "coordinator":
                refuse(path, f"deletes a record, which only a coordinator may do ({who})")
            continue
        allowed = LIMITED.get(role, None if role in WRITER_ROLES else ())
        if allowed is not None and rtype.name not in allowed:
            refuse(path, f"writes a {rtype.name} record, which {who} may not")
            continue
        epoch = epoch_of(path)
        if epoch != after.epoch:
            refuse(
                path,
                f"is encrypted under key epoch {epoch}, not the epoch in force ({after.epoch}): "
                "written with an old key (by a removed reader?) or restored from an older "
                "version",
            )
        if rtype.name == "disclosure":
            message = _disclosure_finding(rtype, signer, change.status, *meeting_versions(path))
            if message:
                refuse(path, message)
        if rtype.name == "restricted":
            old, new = (_same_format(rtype, v) for v in meeting_versions(path))
            if change.status == "M" and old != new:
                refuse(
                    path,
                    "changes a restricted item, which is written once and never changed "
                    "(its sealed content could be lost or replaced)",
                )
            # (an item no key opens any more, an erased case's, was checked when taken)
            elif change.status == "A" and new is not None and new.get("by") != signer.name:
                refuse(path, f"adds a restricted item in another reader's name ({who})")
        if rtype.name == "meeting":
            old, new = (_same_format(rtype, v) for v in meeting_versions(path))
            old_minutes = (old or {}).get("minutes") or {}
            new_minutes = (new or {}).get("minutes") or {}
            if old_minutes.get("status") == "approved":
                erasing = erased_here and role == "coordinator"
                if old != new and not (
                    erasing and _same_format(rtype, records.without_cases(old, erased_here)) == new
                ):
                    refuse(path, "changes a meeting whose minutes the chair approved")
            elif (
                new_minutes.get("status") == "approved"
                and role not in APPROVER_ROLES
                # an erasure's meeting whose earlier version no key opens any more (the
                # erased case's): checked when each clone took the commit, while it could
                and not (erased_here and role == "coordinator" and change.status == "M" and old is None)
            ):
                refuse(path, f"approves minutes, which only the chair or vice-chair may ({who})")
    if before is not None and any(c.path == KEYRING_PATH for c in changes):
        found += _keyring_findings(commit, before, after)
    return found


def _disclosure_finding(
    rtype: records.RecordType, signer: Reader, status: str, old: dict | None, new: dict | None
) -> str | None:
    """What is wrong with a disclosure record written in a change: one changed (other than
    re-encrypted as it was), or a new one naming another reader than its signer."""
    if status != "A":
        if _same_format(rtype, old) != _same_format(rtype, new):
            return "changes a disclosure record, which nobody may do"
        return None
    by = (new or {}).get("by") if isinstance(new, dict) else None
    if not isinstance(by, dict) or by.get("reader") != signer.label or by.get("role") != signer.role:
        return "adds a disclosure record that names another reader than the one who signed it"
    return None


def _same_format(rtype: records.RecordType, record: dict | None) -> dict | None:
    """A record's mapping at this panelctl's format, so that a format upgrade alone (of an
    approved meeting, by `panelctl migrate`) is not taken for a change of its content."""
    if not isinstance(record, dict):
        return record
    try:
        return formats.current(rtype.name, rtype.name, record, rtype.format)
    except PanelctlError:
        return record


def _keyring_findings(commit: str, before: Keyring, after: Keyring) -> list[Finding]:
    found = []
    if after.epoch < before.epoch:
        found.append(
            Finding(
                commit,
                KEYRING_PATH,
                f"goes back from key epoch {before.epoch} to {after.epoch}: an older keyring "
                "was restored (a removed reader put back?)",
            )
        )
    missing = [e for e in before.keys if after.keys.get(e) != before.keys[e]]
    if missing:
        found.append(
            Finding(commit, KEYRING_PATH, "drops or changes the key of an earlier epoch")
        )
    kept = {r.key for r in after.readers}
    if any(r.key not in kept for r in before.readers) and after.epoch <= before.epoch:
        found.append(
            Finding(
                commit,
                KEYRING_PATH,
                "removes a reader without starting a new key epoch, so they could still "
                "read what is written next",
            )
        )
    return found


# --- this clone's trust --------------------------------------------------------------------


@dataclass
class Trust:
    """What this clone has checked: the store and its first commit and creator (pinned the
    first time this clone saw them: trust on first use), and the newest commit verified."""

    store_id: str
    root: str
    creator: str  # the creator's signing key, base64
    creator_name: str
    verified: str | None  # the history is checked up to here (what commands require)
    checked: str | None = None  # the record files are checked up to here (by `verify`)


def read_trust(private: Path) -> Trust | None:
    try:
        data = json.loads((private / TRUST_FILE).read_text())
        return Trust(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_trust(private: Path, trust: Trust) -> None:
    atomic_write(private / TRUST_FILE, json.dumps(asdict(trust)).encode())
