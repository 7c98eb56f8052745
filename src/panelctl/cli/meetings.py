"""`panelctl meeting`, `panelctl agenda`, `panelctl minutes` and `panelctl decision`."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from panelctl.base.dates import now
from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import Format, emit, say

meeting_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Schedule, list and run meetings.",
)
agenda_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Build a meeting's agenda and papers.",
)
minutes_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Render and approve minutes.",
)
decision_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Decisions sent to team managers.",
)

Opt = typer.Option


@agenda_app.callback()
def agenda() -> None:
    """Build a meeting's agenda and papers (`panelctl agenda build`)."""


@meeting_app.command("schedule")
def meeting_schedule(
    on: Annotated[str, typer.Argument(metavar="DATE", help="e.g. 14/03/2026.")],
    time: Annotated[str, Opt("--time", help="Start time, e.g. 09:30.")],
    venue: Annotated[str | None, Opt(help="Where the panel meets.")] = None,
) -> None:
    """Schedule a meeting; prints its id.

    Example: panelctl meeting schedule 14/03/2026 --time 09:30 --venue "Civic Centre, Room 2"
    """
    from panelctl.base.dates import parse_date
    from panelctl.meetings.schedule import date_warnings, schedule

    store = open_store()
    day = parse_date(on, "on", "The meeting date")
    typer.echo(schedule(store, day, time, venue))
    for warning in date_warnings(store, day):
        say(f"Warning: {warning}")


@meeting_app.command("list")
def meeting_list(
    fmt: Annotated[Format, Opt("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List meetings, oldest first.

    Example: panelctl meeting list --format csv
    """
    from panelctl.meetings.schedule import list_meetings

    rows = list_meetings(open_store())
    for row in rows:
        row["cases"] = len(row.get("cases") or [])
    emit(
        rows,
        [
            ("id", "Meeting"),
            ("date", "Date"),
            ("time", "Time"),
            ("status", "Status"),
            ("cases", "Cases"),
            ("quorate", "Quorate"),
        ],
        fmt,
    )


@meeting_app.command("plan")
def meeting_plan(
    until: Annotated[str, Opt(help="Propose dates up to this date.")],
    as_of: Annotated[str | None, Opt("--as-of", help="Today's date (default today).")] = None,
) -> None:
    """Propose meeting dates from the profile's frequency (skipping bank holidays).

    Example: panelctl meeting plan --until 31/03/2027
    """
    from panelctl.base.dates import parse_date, show_date
    from panelctl.meetings.schedule import plan

    store = open_store()
    proposed = plan(store, parse_date(until, "until", "--until"), as_of_day(as_of))
    if not proposed:
        say(
            f"The {store.profile['name']} profile meets {store.profile['meetings']['frequency']}: no dates to propose."
        )
    for day in proposed:
        typer.echo(f"{day.isoformat()}  {day:%A} {show_date(day)}")


_RESTRICTED_HELP = (
    "Include the restricted items of your groups about each case; every page is then marked "
    "with the groups."
)
_PASSWORD_FILE_HELP = (
    "With pdf: read the PDF password from this file (yours, chmod 600, one line, outside "
    "the store) instead of asking on the terminal."
)


def _with_pdf_password(
    formats: tuple[str, ...] | list[str], password_file: Path | None, store_root: Path, writing: bool
) -> tuple[str, ...]:
    """The formats, ``pdf`` bound to its password: read from ``password_file`` or asked
    twice, hidden, on the terminal. A password is never taken from the command line."""
    from panelctl.base.errors import InvalidInputError
    from panelctl.outputs.papers import ProtectedPdf, check_formats

    if "pdf" not in formats and password_file is not None:
        raise InvalidInputError("--password-file is for PDF papers; ask for pdf too.")
    if "pdf" not in formats or not writing:  # nothing encrypted: no password asked for
        return tuple(formats)
    protected = ProtectedPdf(_pdf_password(password_file, store_root))
    return check_formats(protected if f == "pdf" else f for f in formats)


def _pdf_password(password_file: Path | None, store_root: Path) -> str:
    import getpass

    from panelctl.base.errors import InvalidInputError, NoTerminalError
    from panelctl.base.secretfile import SecretFile, read_secret_line
    from panelctl.outputs.pdf import MAX_PASSWORD_BYTES, check_password

    if password_file is not None:
        names = SecretFile(
            what="PDF password file",
            where=None,
            secret="the PDF password",
            use="used as a PDF password",
        )
        return check_password(
            read_secret_line(password_file, store_root, names, MAX_PASSWORD_BYTES)
        )
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise NoTerminalError(
            "A PDF password is needed and there is no terminal to ask on; give "
            "--password-file FILE (a file of your own, chmod 600, holding the password)."
        )
    password = check_password(getpass.getpass("Password for the PDF: ", stream=sys.stderr))
    if getpass.getpass("Same password again: ", stream=sys.stderr) != password:
        raise InvalidInputError("The two passwords differ; nothing was written.")
    return password


def _written_note(written: list[Path]) -> str:
    """What the person who wrote papers must know about them before sending them."""
    plain = [p for p in written if p.suffix in (".md", ".html")]
    if not plain:
        return (
            "The PDFs are encrypted (AES-256): send the password by another route than "
            "the papers."
        )
    note = "They are NOT encrypted (OFFICIAL-SENSITIVE): send them only by secure e-mail and delete them when done."
    if any(p.suffix == ".pdf" for p in written):
        note = (
            "The PDFs are encrypted (AES-256); the Markdown and HTML papers are NOT "
            "(OFFICIAL-SENSITIVE): send those only by secure e-mail and delete them when done."
        )
    return note


@agenda_app.command("build")
def agenda_build(
    meeting_id: Annotated[
        str | None, typer.Argument(metavar="MEETING", help="Default: the next planned meeting.")
    ] = None,
    out: Annotated[
        Path | None, Opt(help="Write the papers (unencrypted) into this folder.")
    ] = None,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Show the agenda; save and write nothing.")
    ] = False,
    as_of: Annotated[str | None, Opt("--as-of", help="Today's date (default today).")] = None,
    formats: Annotated[
        str,
        Opt(
            "--formats",
            help="Paper formats, comma-separated: md, html, pdf (password-protected), "
            "e.g. html,pdf.",
        ),
    ] = "md,html",
    overwrite: Annotated[
        bool, Opt("--overwrite", help="Replace papers of the same names already in --out.")
    ] = False,
    password_file: Annotated[Path | None, Opt(help=_PASSWORD_FILE_HELP)] = None,
    include_restricted: Annotated[bool, Opt("--include-restricted", help=_RESTRICTED_HELP)] = False,
) -> None:
    """Choose the cases for a meeting, give each a time slot, work out when papers must go
    out, and write the agenda, case papers, action log and calendar invitations.

    PDF papers are encrypted (AES-256) with a password asked twice on the terminal, or read
    from --password-file; never given on the command line.

    Example: panelctl agenda build M-0003 --out ~/papers/M-0003 --formats html,pdf
    """
    from panelctl.base.dates import show_date
    from panelctl.meetings.agenda import build_agenda
    from panelctl.meetings.schedule import next_meeting
    from panelctl.outputs.papers import check_formats

    asked = check_formats(
        (f.strip() for f in formats.split(",") if f.strip()), password=False
    )  # before the store
    today = as_of_day(as_of)
    store = open_store()
    chosen = _with_pdf_password(asked, password_file, store.root, out is not None and not dry_run)
    mid = meeting_id or next_meeting(store, today)
    papers_to = out if out is not None and not dry_run else None
    agenda = build_agenda(
        store,
        mid,
        today,
        dry_run=dry_run,
        papers_to=papers_to,
        formats=chosen,
        overwrite=overwrite,
        include_restricted=include_restricted,
    )
    emit(
        _agenda_rows(agenda),
        [
            ("time", "Time"),
            ("item", "Item"),
            ("case", "Case"),
            ("reason", "Why"),
            ("presenter", "Presenting"),
        ],
        Format.table,
        title=f"Agenda {mid}, {show_date(agenda.meeting['date'])}",
    )
    if agenda.papers_due:
        say(f"Papers must go out by {show_date(agenda.papers_due)}.")
    for warning in agenda.warnings:
        say(f"Warning: {warning}")
    if agenda.written:
        say(f"Wrote {len(agenda.written)} files to {out}. {_written_note(agenda.written)}")
    elif dry_run:
        say("Dry run: nothing was saved or written.")


def _agenda_rows(agenda) -> list[dict]:
    """The agenda as a table on screen: the standing items, then each case's slot, each
    named as the papers name it, with its number."""
    from panelctl.outputs.papers import REASONS

    rows = [
        {
            "time": f"{s['start']}-{s['end']}",
            "item": f"{n}. {s['title'][:1].upper()}{s['title'][1:]}",
            "case": "",
            "reason": "",
        }
        for n, s in enumerate(agenda.standing, start=1)
    ]
    return rows + [
        {
            "time": f"{i['start']}-{i['end']}",
            "item": f"{i['number']}. "
            + ("Perpetrator referral" if i.get("kind") == "perpetrator" else "Case discussion"),
            "case": i["case"],
            "reason": REASONS.get(i["reason"], i["reason"]),
            "presenter": i.get("presenter") or "",
        }
        for i in agenda.items
    ]


@meeting_app.command("run")
def meeting_run(
    meeting_id: Annotated[str, typer.Argument(metavar="MEETING")],
    script: Annotated[
        Path | None, Opt(help="Take the answers from a YAML file instead of asking.")
    ] = None,
) -> None:
    """Walk through the meeting in agenda order, saving after every step; run it again to
    resume where it stopped.

    Example: panelctl meeting run M-0003
    """
    from panelctl.base import yamlio
    from panelctl.base.errors import UsageError
    from panelctl.meetings import run as meetingrun

    store = open_store()
    if script is not None:
        answers = meetingrun.ScriptAnswers(yamlio.read_hand_written(script, "meeting script"))
    elif sys.stdin.isatty():
        from panelctl.cli.meetingprompts import PromptAnswers

        answers = PromptAnswers()
    else:
        raise UsageError(  # exit 2: the fix is in the command line, not a passphrase (13)
            "meeting run asks questions and there is no terminal to ask on: give the answers "
            "with --script FILE (see the README's meeting script), or run it on a terminal."
        )
    result = meetingrun.run_meeting(store, meeting_id, answers, now())
    for note in getattr(answers, "notes", []):
        say(note)
    say(
        f"{meeting_id} is finished ({'quorate' if result.quorate else 'NOT quorate'}); "
        f"render the draft minutes with `panelctl minutes render {meeting_id}`."
    )


@minutes_app.command("render")
def minutes_render(
    meeting_id: Annotated[str, typer.Argument(metavar="MEETING")],
    fmt: Annotated[str, Opt("--format", help="md, html or pdf (password-protected).")] = "md",
    out: Annotated[Path | None, Opt(help="Write into this folder instead of stdout.")] = None,
    overwrite: Annotated[
        bool, Opt("--overwrite", help="Replace minutes of the same name already in --out.")
    ] = False,
    password_file: Annotated[Path | None, Opt(help=_PASSWORD_FILE_HELP)] = None,
    include_restricted: Annotated[bool, Opt("--include-restricted", help=_RESTRICTED_HELP)] = False,
) -> None:
    """Render the minutes (marked DRAFT until the chair approves them).

    A PDF is encrypted (AES-256) with a password asked twice on the terminal, or read from
    --password-file; never given on the command line.

    Example: panelctl minutes render M-0003 --format pdf --out ~/papers/M-0003
    """
    from panelctl.base.errors import InvalidInputError
    from panelctl.meetings.minutes import minutes_out

    if fmt not in ("md", "html", "pdf"):
        raise InvalidInputError(f"--format takes md, html or pdf, not {fmt}.")
    if fmt == "pdf" and out is None:
        raise InvalidInputError(
            "A PDF is written only to a file: give --out FOLDER (stdout takes md or html)."
        )
    store = open_store()
    (chosen,) = _with_pdf_password([fmt], password_file, store.root, out is not None)
    written = minutes_out(
        store,
        meeting_id,
        chosen,
        out=out,
        overwrite=overwrite,
        show=sys.stdout.write,
        include_restricted=include_restricted,
    )
    if out is None:
        return
    if fmt == "pdf":
        say(f"Wrote {written[0]}. {_written_note(written)}")
    else:
        say(f"Wrote {written[0]}; it is NOT encrypted (OFFICIAL-SENSITIVE).")


@minutes_app.command("approve")
def minutes_approve(meeting_id: Annotated[str, typer.Argument(metavar="MEETING")]) -> None:
    """Approve the minutes as chair (recorded with who and when); they are then frozen.

    Example: panelctl minutes approve M-0003
    """
    from panelctl.meetings.minutes import approve_minutes

    approve_minutes(open_store(), meeting_id, now())
    say(f"Minutes of {meeting_id} approved.")


@decision_app.command("list")
def decision_list(
    overdue: Annotated[
        bool, Opt("--overdue", help="Only decisions not confirmed in time.")
    ] = False,
    check: Annotated[bool, Opt("--check", help="Exit 1 when the list is not empty.")] = False,
    fmt: Annotated[Format, Opt("--format", help="table, json or csv.")] = Format.table,
    as_of: Annotated[
        str | None,
        Opt("--as-of", help="Judge overdue as at the end of this day (default: now)."),
    ] = None,
) -> None:
    """Decisions for team managers and their written-confirmation deadline (UK time).

    Example: panelctl decision list --overdue --check --as-of 16/03/2026
    """
    from datetime import datetime, time, timedelta

    from panelctl.base.dates import LONDON
    from panelctl.meetings.minutes import decisions

    moment = now()
    if as_of is not None:  # the end of that day: what was overdue by then
        day = as_of_day(as_of) + timedelta(days=1)
        moment = datetime.combine(day, time(0, 0), tzinfo=LONDON)
    rows = decisions(open_store(), moment, overdue_only=overdue)
    emit(
        rows,
        [
            ("id", "Decision"),
            ("case", "Case"),
            ("meeting", "Meeting"),
            ("decision", "Decision"),
            ("team_manager", "Team manager"),
            ("due", "Confirm by"),
            ("confirmed", "Confirmed"),
            ("overdue", "Overdue"),
        ],
        fmt,
    )
    if check and rows:
        raise typer.Exit(1)


@decision_app.command("confirm")
def decision_confirm(decision_id: Annotated[str, typer.Argument(metavar="DECISION")]) -> None:
    """Record that the written decision went to the team manager.

    Example: panelctl decision confirm D-00012
    """
    from panelctl.meetings.minutes import confirm_decision

    confirm_decision(open_store(), decision_id, now())
    say(f"{decision_id}: the written decision is recorded as sent.")


@meeting_app.command("adjourn")
def meeting_adjourn(
    meeting_id: Annotated[str, typer.Argument(metavar="MEETING")],
    to: Annotated[str, Opt("--to", help="The day it is adjourned to, e.g. 26/11/2026.")],
    time: Annotated[str | None, Opt("--time", help="A new start time, e.g. 14:00.")] = None,
    as_of: Annotated[str | None, Opt("--date", help="When it was adjourned (default: today).")] = None,
) -> None:
    """Adjourn a planned meeting to a later day; its agenda and cases move with it, and
    each case's history says so.

    Example: panelctl meeting adjourn M-0007 --to 26/11/2026 --time 14:00
    """
    from panelctl.base.dates import parse_date, show_date
    from panelctl.meetings.schedule import adjourn

    day = parse_date(to, "to", "The day the meeting is adjourned to")
    moved = adjourn(open_store(), meeting_id, day, time, as_of_day(as_of, "--date"))
    cases = f"; its cases move with it: {', '.join(moved)}" if moved else ""
    say(f"{meeting_id} adjourned to {show_date(day)}{cases}.")


@meeting_app.command("cancel")
def meeting_cancel(
    meeting_id: Annotated[str, typer.Argument(metavar="MEETING")],
    reason: Annotated[str, Opt("--reason", help="Why it is cancelled.")],
    as_of: Annotated[str | None, Opt("--date", help="When it was cancelled (default: today).")] = None,
) -> None:
    """Cancel a meeting that has made no decision (planned, or stopped without quorum); its
    cases go back to being due and onto the next agenda, with the reason in their history.

    Example: panelctl meeting cancel M-0007 --reason "Not quorate: no health representative"
    """
    from panelctl.meetings.schedule import cancel

    moved = cancel(open_store(), meeting_id, reason, as_of_day(as_of, "--date"))
    cases = f"; back to due for the next agenda: {', '.join(moved)}" if moved else ""
    say(f"{meeting_id} cancelled{cases}.")
