"""The paperwork of a panel meeting: agenda, case papers, action log and minutes in Markdown
and print-ready HTML, calendar invitations for presenters, and private writing of the files.

Every function here is pure (plain dicts in, text out) except :func:`write_papers`. The
papers are Jinja2 templates under ``templates/meeting/``; a store's own ``templates/meeting/``
overrides them, so pass ``store_root`` to let an area brand its papers. Calendar invitations
are built in code, not from a template: they leave the secure boundary (calendar servers,
phones), so what they may say is fixed here and holds ids only, never a child's name.

Context shapes (dates are :class:`datetime.date`, times ``"HH:MM"``):

common
    ``panel`` {name, title, area, confidentiality_statement}, ``marking`` ("OFFICIAL-SENSITIVE"),
    ``generated`` (date).
agenda
    ``meeting`` {id, date, time, venue, papers_due, papers_late}, ``standing`` [{title, start,
    end}], ``items`` [{number, case, start, end, reason, kind, presenter, team, risk}],
    ``closing`` [titles], ``case_items`` [titles].
case paper
    ``meeting``, ``case`` {id, status, nominated, risk, risk_tool, child {name, dob, gender,
    ethnicity, school, area, looked_after}, lead_professional, team, team_manager,
    referring_agency, involved_agencies, concern, consequences, child_views, carer_views,
    exploitation_types}, ``age``, ``decision_sheet`` [{label, value}], ``assessment`` {tool, date,
    assessor, agency, derived, agreed, override_reason, factors} or None, ``open_actions``
    [{id, description, agency, owner, due, overdue}].
action log
    ``meeting``, ``actions`` [{id, case, description, agency, owner, due, status, overdue,
    days_overdue}].
minutes
    ``meeting``, ``draft``, ``approved_by``, ``approved_at`` (datetime or None), ``attendance``
    [{name, agency, status, deputising_for}], ``confidentiality`` [{name, signed}],
    ``declarations`` [{name, interest, excluded_cases}], ``quorate``, ``quorum_note``,
    ``discussions`` [{case, items [{title, text}], risk_agreed, decision, actions [{id,
    description, agency, owner, due}]}].
invitation (:func:`render_ics`)
    ``panel`` {title}, ``meeting`` {id, date, venue}, ``item`` {case, start, end}, and
    ``stamp`` (an aware datetime) or ``generated`` (date) for DTSTAMP.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

from panelctl.base.dates import show_date, show_datetime
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.base.fsutil import PRIVATE_DIR, PRIVATE_FILE, atomic_write
from panelctl.outputs import render

FORMATS = ("md", "html")
MARKING = "OFFICIAL-SENSITIVE"
MISSING = "Not recorded"

#: How a panel's decision on a case reads in the minutes.
DECISIONS = {
    "keep": "Keep open to the panel",
    "step down": "Step down from the panel",
    "close": "Close: all agencies agree the risk is reduced or removed",
}
REASONS = {
    "new nomination": "New nomination",
    "review due": "Review due",
    "risk changed": "Risk changed",
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


# --- filters -------------------------------------------------------------------------------


def ukdate(value: object) -> str:
    """14 Mar 2026; empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return show_date(value)  # type: ignore[arg-type]


def ukdatetime(value: datetime | None) -> str:
    """14 Mar 2026 10:02 in UK time (a naive datetime is taken to be UK time already)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        return f"{show_date(value.date())} {value.strftime('%H:%M')}"
    return show_datetime(value)


def weekday(value: date) -> str:
    """Tuesday (in English whatever the locale)."""
    return _WEEKDAYS[value.weekday()]


def sentence(value: object) -> str:
    """The first letter in capitals, the rest untouched ('summary of risk (a new SERAF)')."""
    text = "" if value is None else str(value)
    return text[:1].upper() + text[1:]


def show(value: object, missing: str = MISSING) -> str:
    """A value as a reader sees it: dates UK style, lists joined, booleans Yes or No."""
    if value is None or value == "" or value == []:
        return missing
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return ukdatetime(value)
    if isinstance(value, date):
        return ukdate(value)
    if isinstance(value, list | tuple):
        return "; ".join(show(v, missing) for v in value)
    return str(value)


def as_list(value: object) -> list:
    """None -> [], a list as it is, anything else a list of one."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def md(value: object) -> str:
    """Text safe in Markdown: markup characters and raw HTML are shown, not interpreted."""
    return _MD_SPECIAL.sub(r"\\\1", "" if value is None else str(value))


def mdcell(value: object) -> str:
    """Text safe in one cell of a GitHub table: escaped, on one line."""
    return " ".join(md(value).split())


def paragraphs(value: object) -> list[str]:
    """Text split at blank lines into paragraphs (single line breaks kept)."""
    if value is None:
        return []
    parts = re.split(r"\n\s*\n", str(value).replace("\r\n", "\n").strip())
    return [part.strip() for part in parts if part.strip()]


def cssstr(value: object) -> str:
    """A CSS string literal: quotes, backslashes, angle brackets and non-ASCII escaped."""
    text = str(value)
    out = []
    for ch in text:
        if ch in "\\\"'<>&" or not 32 <= ord(ch) < 127:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


FILTERS = {
    "ukdate": ukdate,
    "ukdatetime": ukdatetime,
    "weekday": weekday,
    "sentence": sentence,
    "show": show,
    "as_list": as_list,
    "md": md,
    "mdcell": mdcell,
    "paragraphs": paragraphs,
    "cssstr": cssstr,
}


def environment(store_root: Path | None = None):
    """The Jinja environment for papers: store templates first, HTML autoescaped."""
    env = render.paper_environment(store_root)
    env.trim_blocks = env.lstrip_blocks = True  # block tags on their own lines leave none
    env.filters.update(FILTERS)
    env.globals.update(DECISIONS=DECISIONS, REASONS=REASONS, MISSING=MISSING)
    return env


# --- papers --------------------------------------------------------------------------------


def _render(paper: str, ctx: dict, fmt: str, store_root: Path | None) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"Paper format {fmt!r} is not one of: {', '.join(FORMATS)}.")
    name = f"meeting/{paper}.{fmt}.j2"
    context = {"marking": MARKING, **ctx, "fmt": fmt}
    try:
        return environment(store_root).get_template(name).render(**context)
    except render.template_errors() as exc:
        raise InvalidInputError(
            f"Template {name} could not be rendered ({type(exc).__name__}: {exc}); "
            "check the template and the meeting's records."
        ) from None


def render_agenda(ctx: dict, fmt: str, store_root: Path | None = None) -> str:
    """The agenda: standing items, one timed slot per case, closing items."""
    return _render("agenda", ctx, fmt, store_root)


def render_case_paper(ctx: dict, fmt: str, store_root: Path | None = None) -> str:
    """One case's paper: decision sheet, the child, the concern, risk and open actions."""
    return _render("case-paper", ctx, fmt, store_root)


def render_action_log(ctx: dict, fmt: str, store_root: Path | None = None) -> str:
    """Open and overdue actions from earlier meetings, for review at this one."""
    return _render("action-log", ctx, fmt, store_root)


def render_minutes(ctx: dict, fmt: str, store_root: Path | None = None) -> str:
    """The minutes, marked DRAFT until the chair approves them."""
    return _render("minutes", ctx, fmt, store_root)


# --- calendar invitation -------------------------------------------------------------------

_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Europe/London",
    "X-LIC-LOCATION:Europe/London",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0100",
    "TZNAME:BST",
    "DTSTART:19700329T010000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0000",
    "TZNAME:GMT",
    "DTSTART:19701025T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def ics_text(value: object) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and line breaks escaped; no controls."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\n", "\\n")
    return "".join(ch for ch in text if ch == "\t" or ord(ch) >= 32 and ord(ch) != 127)


def ics_fold(line: str, limit: int = 75) -> str:
    """Fold a content line so no line is longer than ``limit`` octets (UTF-8 kept whole)."""
    lines, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            lines.append(current)
            current, size = " ", 1
        current += ch
        size += width
    lines.append(current)
    return "\r\n".join(lines)


def _slot_time(day: date, hhmm: str, what: str) -> datetime:
    match = _TIME.fullmatch(str(hhmm))
    if not match:
        raise InvalidInputError(f"{what} {hhmm!r} is not a time; write it as HH:MM, e.g. 10:30.")
    return datetime.combine(day, time(int(match.group(1)), int(match.group(2))))


def render_ics(ctx: dict) -> str:
    """A calendar invitation for one presenter's slot: one VEVENT, ids only.

    SUMMARY holds the panel's title and the case id, DESCRIPTION a fixed sentence; nothing
    from the case record is read, so a child's name cannot reach a calendar.
    """
    meeting, item = ctx["meeting"], ctx["item"]
    meeting_id, case_id = str(meeting["id"]), str(item["case"])
    where = f"Meeting {meeting_id}, case {case_id}"
    start = _slot_time(meeting["date"], item["start"], f"{where}: start time")
    end = _slot_time(meeting["date"], item["end"], f"{where}: end time")
    if end <= start:
        raise InvalidInputError(f"{where}: the slot ends at {item['end']}, before it starts.")
    stamp = ctx.get("stamp")
    if stamp is None:
        stamp = datetime.combine(ctx["generated"], time(0, 0), tzinfo=UTC)
    elif stamp.tzinfo is None:
        raise InvalidInputError("The invitation's stamp needs a time zone.")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//panelctl//meeting papers//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *_VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:{ics_text(meeting_id)}-{ics_text(case_id)}@panelctl",
        f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=Europe/London:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/London:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{ics_text(ctx['panel']['title'])}: case {ics_text(case_id)}",
    ]
    if meeting.get("venue"):
        lines.append(f"LOCATION:{ics_text(meeting['venue'])}")
    lines += [
        "DESCRIPTION:"
        + ics_text(f"Your slot to present case {case_id}. Papers are OFFICIAL-SENSITIVE."),
        "CLASS:CONFIDENTIAL",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(ics_fold(line) + "\r\n" for line in lines)


# --- writing -------------------------------------------------------------------------------


def check_formats(formats) -> tuple[str, ...]:
    """The paper formats asked for, refused unless each is one of :data:`FORMATS`."""
    chosen = tuple(formats)
    bad = [str(f) for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise InvalidInputError(
            f"Paper formats are {' and '.join(FORMATS)}, not {', '.join(bad) or 'none'}.",
            "formats",
        )
    return chosen


def check_destination(out_dir: Path, names=(), overwrite: bool = False) -> None:
    """Refuse, before anything is made or written, a folder :func:`write_papers` could not
    fill: one that is a file, names that are not plain file names, or (unless
    ``overwrite``) files already there."""
    out_dir = Path(out_dir)
    for name in names:
        if not _SAFE_NAME.fullmatch(name) or ".." in name:
            raise InvalidInputError(
                f"Paper file name {name!r} is not allowed; use letters, digits, '.', '-' "
                "and '_' only, e.g. M-0003-agenda.html."
            )
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir} is not a folder; give a folder for the papers.")
    if not overwrite:
        existing = [name for name in names if os.path.lexists(out_dir / name)]
        if existing:
            raise NotAllowedError(
                f"{out_dir} already holds {', '.join(existing)}; nothing was written. "
                "Choose another folder or ask to overwrite."
            )


def write_papers(out_dir: Path, files: dict[str, str], overwrite: bool = False) -> list[Path]:
    """Write each paper as a 0600 file in ``out_dir`` (made 0700 if missing).

    Names come from the caller and hold ids only; they must be plain file names. An existing
    file is refused, before anything is written, unless ``overwrite`` is true; then it is
    replaced atomically by a new 0600 file.
    """
    out_dir = Path(out_dir)
    check_destination(out_dir, files, overwrite=overwrite)
    if not out_dir.exists():
        out_dir.mkdir(mode=PRIVATE_DIR, parents=True)
        os.chmod(out_dir, PRIVATE_DIR)
    paths = [out_dir / name for name in files]
    for path, text in zip(paths, files.values(), strict=True):
        data = text.encode("utf-8")
        if overwrite:
            atomic_write(path, data)
            continue
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
        except FileExistsError:
            raise NotAllowedError(
                f"{path} appeared while papers were being written; it was left as it is."
            ) from None
        try:
            os.fchmod(fd, PRIVATE_FILE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    return paths
