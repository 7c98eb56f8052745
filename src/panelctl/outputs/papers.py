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
import secrets
import stat
from datetime import UTC, date, datetime, time
from pathlib import Path

from panelctl.base.dates import show_date, show_datetime
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.base.fsutil import PRIVATE_DIR, PRIVATE_FILE, fsync_dir, is_writable_folder
from panelctl.outputs import pdf, render
from panelctl.store.disclosures import log_disclosure

#: The formats written when none are asked for.
FORMATS = ("md", "html")
#: Every paper format: ``pdf`` only as a :class:`ProtectedPdf`, which holds its password.
ALL_FORMATS = ("md", "html", "pdf")
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


class ProtectedPdf(str):
    """The paper format ``pdf``, holding the password its files are encrypted with.

    It is the string ``"pdf"`` wherever a format is used (in file names, in ``formats``
    tuples passed through the meeting's paper engine), so a PDF paper can only be asked
    for together with its password: a plain ``"pdf"`` is refused, and rendering one gives
    the encrypted bytes (:func:`panelctl.outputs.pdf.protected_pdf`). Its ``repr`` hides
    the password.
    """

    password: str

    def __new__(cls, password: str) -> ProtectedPdf:
        made = super().__new__(cls, "pdf")
        made.password = pdf.check_password(password)
        return made

    def __repr__(self) -> str:
        return "ProtectedPdf(password hidden)"


def _render(paper: str, ctx: dict, fmt: str, store_root: Path | None) -> str | bytes:
    if fmt not in ALL_FORMATS:
        raise InvalidInputError(f"Paper format {fmt!r} is not one of: {', '.join(ALL_FORMATS)}.")
    if fmt == "pdf" and not isinstance(fmt, ProtectedPdf):
        raise InvalidInputError(_NO_PASSWORD, "password")
    hint = "check the template and the meeting's records"
    if fmt == "pdf":
        name = f"meeting/{paper}.html.j2"
        context = {"marking": MARKING, **ctx, "fmt": "pdf", "pdf_fonts": pdf.font_faces()}
        html = render.run(environment(store_root), name, context, hint)
        return pdf.protected_pdf(html, fmt.password, name=paper.replace("-", " "))
    name = f"meeting/{paper}.{fmt}.j2"
    context = {"marking": MARKING, **ctx, "fmt": fmt}
    return render.run(environment(store_root), name, context, hint)


_NO_PASSWORD = "A PDF paper is always encrypted, and no password was given for it."


def render_agenda(ctx: dict, fmt: str, store_root: Path | None = None) -> str | bytes:
    """The agenda: standing items, one timed slot per case, closing items."""
    return _render("agenda", ctx, fmt, store_root)


def render_case_paper(ctx: dict, fmt: str, store_root: Path | None = None) -> str | bytes:
    """One case's paper: decision sheet, the child, the concern, risk and open actions."""
    return _render("case-paper", ctx, fmt, store_root)


def render_action_log(ctx: dict, fmt: str, store_root: Path | None = None) -> str | bytes:
    """Open and overdue actions from earlier meetings, for review at this one."""
    return _render("action-log", ctx, fmt, store_root)


def render_minutes(ctx: dict, fmt: str, store_root: Path | None = None) -> str | bytes:
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


def check_formats(formats, *, password: bool = True) -> tuple[str, ...]:
    """The paper formats asked for, refused unless each is one of :data:`ALL_FORMATS`
    (``pdf`` only as a :class:`ProtectedPdf`, with its password, unless ``password`` is
    False: the names alone checked, before the password is asked for)."""
    chosen = tuple(formats)
    bad = [str(f) for f in chosen if f not in ALL_FORMATS]
    if bad or not chosen:
        raise InvalidInputError(
            f"Paper formats are {', '.join(ALL_FORMATS[:-1])} and {ALL_FORMATS[-1]}, "
            f"not {', '.join(bad) or 'none'}.",
            "formats",
        )
    if password and any(f == "pdf" and not isinstance(f, ProtectedPdf) for f in chosen):
        raise InvalidInputError(_NO_PASSWORD, "password")
    return chosen


def check_destination(
    out_dir: Path,
    names=(),
    overwrite: bool = False,
    *,
    store_root: Path | None = None,
    plain_names: bool = True,
) -> None:
    """Refuse, before anything is made or written, a folder :func:`write_papers` could not
    safely fill: one inside the store (papers are not encrypted), one reached through a
    symbolic link, a file, a read-only folder or one that is not the user's, names that are
    not plain file names, anything there that is not a regular file (a device, a FIFO, a
    socket, a link, a folder), or (unless ``overwrite``) regular files already there."""
    out_dir = Path(out_dir)
    for name in names:
        plain = _SAFE_NAME.fullmatch(name) and ".." not in name
        if not (plain if plain_names else name not in ("", ".", "..") and "/" not in name):
            raise InvalidInputError(
                f"Paper file name {name!r} is not allowed; use letters, digits, '.', '-' "
                "and '_' only, e.g. M-0003-agenda.html."
            )
    absolute = Path(os.path.abspath(out_dir))
    for folder in (absolute, *absolute.parents):
        if folder.is_symlink():
            raise InvalidInputError(
                f"{out_dir} goes through a symbolic link ({folder}); give the real folder, "
                "so that the papers land where you can see them.",
                "out",
            )
    if store_root is not None:
        store = Path(store_root).resolve()
        if absolute.resolve() == store or store in absolute.resolve().parents:
            raise InvalidInputError(
                f"{out_dir} is inside the store ({store_root}); the papers are not encrypted, "
                "so write them to a folder outside it.",
                "out",
            )
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir} is not a folder; give a folder for the papers.", "out")
    existing_folder = next(f for f in (absolute, *absolute.parents) if f.exists())
    if not is_writable_folder(existing_folder) or existing_folder.stat().st_uid != os.geteuid():
        raise InvalidInputError(
            f"{existing_folder} is read-only or not yours; nothing was written: give a folder "
            "you own and may write in.",
            "out",
        )
    existing = []
    for name in names:
        path = out_dir / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise InvalidInputError(
                f"{path} is {kind}; nothing was written: give the path of a new file.", "out"
            )
        existing.append(name)
    if existing and not overwrite:
        raise NotAllowedError(
            f"{out_dir} already holds {', '.join(existing)}; nothing was written: choose "
            "another place, or overwrite it.",
            "overwrite",
        )


_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def write_papers(
    out_dir: Path,
    files: dict[str, str | bytes],
    overwrite: bool = False,
    *,
    store_root: Path | None = None,
    plain_names: bool = True,
) -> list[Path]:
    """Write each paper as a 0600 regular file in ``out_dir`` (made 0700 if missing): the
    one way panelctl writes files outside the store (see :func:`stage_papers`; a command
    writing personal data out logs it as it writes them: :func:`write_disclosed`)."""
    return stage_papers(
        out_dir, files, overwrite, store_root=store_root, plain_names=plain_names
    ).land()


def stage_papers(
    out_dir: Path,
    files: dict[str, str | bytes],
    overwrite: bool = False,
    *,
    store_root: Path | None = None,
    plain_names: bool = True,
) -> StagedFiles:
    """Write each paper whole (fsynced, 0600) to a private temp file beside its name in
    ``out_dir`` (made 0700 if missing), not yet in place: :meth:`StagedFiles.land` puts
    them there, :meth:`StagedFiles.discard` removes them.

    Everything :func:`check_destination` refuses is refused before anything is written
    (pass ``store_root`` so that the store itself is refused), and so is a ``.pdf`` that
    is not encrypted (a plain PDF never reaches the disk).
    """
    out_dir = Path(out_dir)
    check_destination(
        out_dir, files, overwrite=overwrite, store_root=store_root, plain_names=plain_names
    )
    data = {name: _bytes(name, content) for name, content in files.items()}
    if not out_dir.exists():
        out_dir.mkdir(mode=PRIVATE_DIR, parents=True)
        os.chmod(out_dir, PRIVATE_DIR)
    staged = StagedFiles(overwrite)
    try:
        for name, content in data.items():
            staged.items.append((_stage_one(out_dir, content), out_dir / name))
    except BaseException:
        staged.discard()
        raise
    return staged


class Pending:
    """Papers staged inside a transaction (``staged``): on an error there (a commit that
    fails included), their temp files are removed."""

    def __init__(self) -> None:
        self.staged: StagedFiles | None = None

    def __enter__(self) -> Pending:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None and self.staged is not None:
            self.staged.discard()


class StagedFiles:
    """Papers written to temp names in their folder, waiting to be put in place."""

    def __init__(self, overwrite: bool):
        self.overwrite = overwrite
        self.items: list[tuple[Path, Path]] = []  # (temp file, its final path)

    def land(self) -> list[Path]:
        """Put each file in place: linked (so that a file appearing meanwhile is not
        replaced) or, with ``overwrite``, renamed over the old one."""
        try:
            for tmp, path in self.items:
                if self.overwrite:
                    os.replace(tmp, path)
                else:
                    try:
                        os.link(tmp, path, follow_symlinks=False)
                    except FileExistsError:
                        raise NotAllowedError(
                            f"{path} appeared while papers were being written; it was left "
                            "as it is."
                        ) from None
        finally:
            self.discard()
        for folder in {path.parent for _tmp, path in self.items}:
            fsync_dir(folder)
        return [path for _tmp, path in self.items]

    def discard(self) -> None:
        """Remove the temp files (those not yet put in place)."""
        for tmp, _path in self.items:
            tmp.unlink(missing_ok=True)


def _bytes(name: str, content: str | bytes) -> bytes:
    """A paper's bytes; a PDF only when it is encrypted."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if name.lower().endswith(".pdf") and not pdf.is_encrypted(content):
        raise InvalidInputError(
            f"{name} is not an encrypted PDF; PDF papers are written only encrypted, "
            "so nothing was written."
        )
    return content


def _stage_one(folder: Path, data: bytes) -> Path:
    tmp = folder / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def forms_of(names) -> str:
    """The forms of files named ``names`` (their extensions), comma-separated, for the
    disclosure log."""
    return ",".join(dict.fromkeys(Path(name).suffix.lstrip(".").lower() for name in names))


def write_disclosed(
    store,
    out_dir: Path,
    files: dict[str, str | bytes],
    *,
    output: str,
    records: list[str],
    form: str | None = None,
    overwrite: bool = False,
    plain_names: bool = True,
) -> list[Path]:
    """Write papers out of the store as :func:`write_papers` does, and log them as one
    disclosure (:mod:`panelctl.store.disclosures`): written to temp names first, then the
    disclosure committed, then put in place. A disclosure that cannot be committed leaves
    no file; a file that cannot be written leaves no disclosure."""

    staged = stage_papers(
        out_dir, files, overwrite, store_root=store.root, plain_names=plain_names
    )
    try:
        log_disclosure(store, output=output, form=form or forms_of(files), records=records)
    except BaseException:
        staged.discard()
        raise
    return staged.land()


def write_out_file(
    path: Path,
    text: str | bytes,
    overwrite: bool = False,
    *,
    store_root: Path | None = None,
    disclose: tuple | None = None,
) -> Path:
    """Write one output (a report, a map) to the file ``path``, as :func:`write_papers` does;
    with ``disclose`` (the store, the output, its form, the record ids), logged as a
    disclosure as :func:`write_disclosed` does."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise InvalidInputError(
            f"{path} is a folder; give the name of a file to write, e.g. {path / 'report.html'}.",
            "out",
        )
    if disclose is not None:
        store, output, form, ids = disclose
        (written,) = write_disclosed(
            store,
            path.parent,
            {path.name: text},
            output=output,
            form=form,
            records=ids,
            overwrite=overwrite,
            plain_names=False,
        )
        return written
    (written,) = write_papers(
        path.parent, {path.name: text}, overwrite, store_root=store_root, plain_names=False
    )
    return written
