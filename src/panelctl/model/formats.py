"""Format numbers: which panelctl reads which records, and how older records are upgraded.

There is one sequence of format numbers for the whole of panelctl. :data:`FORMATS` maps
each number to the panelctl version that introduced it; a new number is added (the next
one up) in the release that changes the shape of a record type, and that type's
``FORMAT`` (:mod:`panelctl.model.types`) becomes it. So a record type's ``FORMAT`` is the
number of the last format that changed it, and :func:`known` (the highest number in the
table) is the newest format this panelctl reads.

Where the numbers are written:

- every record's YAML starts with ``format: N``, its type's ``FORMAT`` when it was written
  (a record without the key is at format 1, as every record written before the key
  existed); above format 1 the line also says, as a comment, the panelctl version that
  introduced the format (``format: 2  # panelctl 0.2.0 or newer``), so that an older
  panelctl, which cannot know that version from its own table, can name it;
- ``panelctl.yaml``'s ``panelctl_store: N`` is the store's format: the highest format the
  store has been migrated to with ``panelctl migrate`` (with the same comment above 1).

A panelctl meeting a store or a record whose format is above what it knows refuses with
:class:`NeedsNewerError` (exit 21) before it checks the record's fields: reading it could
show a field whose meaning has changed, or leave out one it does not know (a concern
added in a newer version would silently be missing from an agenda), and writing it would
drop what it does not know. Older records are brought up to date as they are read, by the
chain of upgrade steps in :data:`UPGRADES` (pure functions over the record's mapping,
format n-1 to n), and written at the current format the next time they are saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from panelctl import __version__
from panelctl.base.errors import InvalidRecordError, NeedsNewerError

#: format number -> the panelctl version that introduced it
FORMATS: dict[int, str] = {1: "0.1.0", 2: "0.2.0", 3: "0.3.0", 4: "0.4.0"}

#: Format 2 (panelctl 0.2.0) lets a record of any type carry ``conflicts`` (left by
#: merging clones, see :mod:`panelctl.model.merge`). Only a record that has conflicts is
#: written at format 2; every other record stays at its type's format, so a clone still
#: on 0.1.0 reads everything but those, which it refuses as needing 0.2.0 (exit 21)
#: rather than as invalid.
CONFLICTS_FORMAT = 2

#: Format 3 (panelctl 0.3.0): a meeting records who chaired, the standing and closing
#: items, a discussion's resources and the role of whoever approved the minutes (see
#: :class:`panelctl.model.types.Meeting`). Only optional fields were added: no upgrade step.

#: Format 4 (panelctl 0.4.0): a store at format 4 seals each record about a child under
#: that child's case key as well as the epoch's key (envelope format 3, see
#: :mod:`panelctl.crypto.casekeys`), so that erasing a case destroys it in every commit;
#: and it has erasure records (tombstones), disclosure records and restricted items. A
#: panelctl before 0.4.0 cannot open those files, so the store's format says so first
#: (exit 21).

#: Optional fields added to a type without changing its ``FORMAT``, with the format that
#: added each. As with conflicts, only a record holding one of them is written at that
#: format, so an older clone reads every other record of the type and refuses just these
#: (exit 21, naming the version needed) rather than calling them invalid. Format 3
#: (panelctl 0.3.0): a case's ``kind`` and ``person`` (a perpetrator referral) and
#: ``age_reason`` (why a young adult is nominated).
FIELD_FORMATS: dict[str, dict[str, int]] = {
    "case": {"kind": 3, "person": 3, "age_reason": 3},
}


def reads_up_to(type_name: str, type_format: int) -> int:
    """The newest format of a type this panelctl reads: its ``FORMAT``, or the format of
    conflicts or of an optional field added since, whichever is newer."""
    return max(type_format, CONFLICTS_FORMAT, *FIELD_FORMATS.get(type_name, {}).values())


def format_of(type_name: str, type_format: int, record: dict) -> int:
    """The format to write ``record`` at: its type's, or newer when it holds conflicts or an
    optional field added later (see :data:`FIELD_FORMATS`)."""
    number = type_format
    if record.get("conflicts"):
        number = max(number, CONFLICTS_FORMAT)
    for name, added in FIELD_FORMATS.get(type_name, {}).items():
        if record.get(name) is not None:
            number = max(number, added)
    return number

#: record type name -> {format n: the step that turns a record at format n-1 into one at n}.
#: A format that did not change a type has no step for it. Steps are pure: they take the
#: record's mapping (without its ``format`` key) and return the upgraded one.
UPGRADES: dict[str, dict[int, Callable[[dict], dict]]] = {}

KEY = "format"
#: the comment beside a format number: the version is said only when it looks like one
_COMMENT = re.compile(
    rb"^\s*(?:format|panelctl_store)\s*:\s*\d+\s*#\s*panelctl\s+"
    rb"([0-9]{1,4}(?:\.[0-9]{1,4}){1,3}(?:[a-z]+[0-9]{0,4})?)\s+or newer"
)


def known() -> int:
    """The newest format this panelctl reads (and the one `migrate` brings a store to)."""
    return max(FORMATS)


def header(number: int) -> bytes:
    """The line that starts a record written at format ``number``."""
    version = FORMATS.get(number)
    if number > 1 and version:
        return f"{KEY}: {number}  # panelctl {version} or newer\n".encode()
    return f"{KEY}: {number}\n".encode()


def needs_version(number: int, text: bytes = b"") -> str:
    """The panelctl version that reads format ``number``: from this panelctl's table, else
    from the comment a newer panelctl wrote beside the number in ``text``."""
    if number in FORMATS:
        return f"panelctl {FORMATS[number]} or newer"
    for line in text.splitlines()[:40]:
        match = _COMMENT.match(line)
        if match:
            return f"panelctl {match.group(1).decode('ascii')} or newer"
    return f"a panelctl newer than {__version__}"


def needs_newer(what: str, number: int, reads_up_to: int, text: bytes = b"") -> NeedsNewerError:
    """The error for ``what`` (a record id, or the settings file) at format ``number``."""
    return NeedsNewerError(
        f"This store needs {needs_version(number, text)} ({what} has format {number}; this "
        f"panelctl, {__version__}, reads up to format {reads_up_to}); install that version "
        "to work with this store: nothing was read or written."
    )


def number_of(value: object, where: str) -> int:
    """A format number as stored (absent: 1), checked to be a whole number from 1."""
    if value is None:
        return 1
    if type(value) is not int or value < 1:
        raise InvalidRecordError(f"{where}: field {KEY} must be a whole number from 1.", KEY)
    return value


def upgrade(type_name: str, data: dict, number: int, to: int) -> dict:
    """``data`` (a record of ``type_name`` at format ``number``) brought to format ``to``."""
    steps = UPGRADES.get(type_name, {})
    for step in range(number + 1, to + 1):
        if step in steps:
            data = steps[step](data)
    return data


def current(type_name: str, what: str, data: dict, reads_up_to: int, text: bytes = b"") -> dict:
    """A stored record's mapping (``format`` key and all) as this panelctl's current
    format, without the key; raises :class:`NeedsNewerError` when it is above it. The key
    is looked at before anything else in the record, so a newer record is refused as
    such, never as an invalid one."""
    number = number_of(data.get(KEY), what)
    body = {k: v for k, v in data.items() if k != KEY} if KEY in data else data
    return brought_up(type_name, what, number, body, reads_up_to, text)


def brought_up(
    type_name: str, what: str, number: int, body: dict, reads_up_to: int, text: bytes = b""
) -> dict:
    """``body`` (a record without its ``format`` key, stored at format ``number``) at
    format ``reads_up_to``; see :func:`current`."""
    if number == reads_up_to:
        return body
    if number > reads_up_to:
        if number <= known():  # a format of this panelctl's own that never changed this type
            raise InvalidRecordError(
                f"{what}: field {KEY} is {number}, a format no panelctl writes this record "
                f"type at (it is at format {reads_up_to}).",
                KEY,
            )
        raise needs_newer(what, number, reads_up_to, text)
    return upgrade(type_name, body, number, reads_up_to)
