"""`panelctl actions` and `panelctl review`: follow-up between meetings.

Lists come from the encrypted index and are cron-friendly: `--format table|json|csv`,
`--as-of DATE`, and `--check` to exit 1 (PROBLEMS_FOUND) when the list is not empty. An
empty table prints nothing (a line on stderr only when a person is at a terminal).
"""

import sys
from typing import Annotated

import typer

from panelctl.base.dates import now
from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import Format, emit, say

actions_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="The action log between meetings.",
)
review_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Cases due for review.",
)


@review_app.callback()
def review_group() -> None:
    """Cases due for panel review and risk assessments due for refresh.

    Example: panelctl review due --within 14
    """
    # A callback keeps `review` a group of commands though it holds one command today.


Opt = typer.Option
FormatOption = Annotated[Format, Opt("--format", help="table, json or csv.")]
CheckOption = Annotated[
    bool, Opt("--check", help="Exit 1 when the list is not empty, 0 when it is (for cron).")
]
AsOfOption = Annotated[
    str | None, Opt("--as-of", help="Work as of this day, e.g. 01/12/2026 (default today).")
]
ActionId = Annotated[str, typer.Argument(metavar="ID", help="The action id, e.g. A-00042.")]

ACTION_COLUMNS = [
    ("id", "Action"),
    ("case", "Case"),
    ("meeting", "Meeting"),
    ("agency", "Agency"),
    ("owner", "Owner"),
    ("owner_email", "E-mail"),
    ("due", "Due"),
    ("status", "Status"),
    ("completed", "Completed"),
]


def show_list(
    rows: list[dict], columns: list[tuple[str, str]], fmt: Format, check: bool, empty: str
) -> None:
    """Emit a list; nothing for an empty table (a note only on a terminal); --check's code."""
    from panelctl.base.errors import ExitCode

    if rows or fmt is not Format.table:
        emit(rows, columns, fmt)
    elif sys.stderr.isatty():
        say(empty)
    if check and rows:
        raise typer.Exit(int(ExitCode.PROBLEMS_FOUND))


# --- actions ------------------------------------------------------------------------------


@actions_app.command("list")
def actions_list(
    agency: Annotated[str | None, Opt(help="Only this agency's actions.")] = None,
    owner: Annotated[str | None, Opt(help="Only this person's actions.")] = None,
    case: Annotated[str | None, Opt(help="Only this case's actions, e.g. C-0042.")] = None,
    meeting: Annotated[str | None, Opt(help="Only actions from this meeting.")] = None,
    status: Annotated[str | None, Opt(help="open, done or cancelled.")] = None,
    due_before: Annotated[str | None, Opt(help="Due before this day (not on it).")] = None,
    due_after: Annotated[str | None, Opt(help="Due after this day (not on it).")] = None,
    check: CheckOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """List actions (ids, case, agency, owner, due date, status; no descriptions).

    Example: panelctl actions list --agency "Staffordshire Police" --status open --format csv
    """
    from panelctl.base.dates import parse_date
    from panelctl.followup import actions

    rows = actions.list_actions(
        open_store(),
        agency=agency,
        owner=owner,
        case=case,
        meeting=meeting,
        status=status,
        due_before=parse_date(due_before, "due_before", "--due-before") if due_before else None,
        due_after=parse_date(due_after, "due_after", "--due-after") if due_after else None,
    )
    show_list(rows, ACTION_COLUMNS, fmt, check, "No actions match.")


@actions_app.command("overdue")
def actions_overdue(
    as_of: AsOfOption = None, check: CheckOption = False, fmt: FormatOption = Format.table
) -> None:
    """Open actions past their due date, most overdue first (due today is not overdue).

    Example: panelctl actions overdue --check --format csv
    """
    from panelctl.followup import actions

    rows = actions.overdue_actions(open_store(), as_of_day(as_of))
    columns = [*ACTION_COLUMNS[:7], ("days_overdue", "Days overdue")]
    show_list(rows, columns, fmt, check, "No overdue actions.")


@actions_app.command("show")
def actions_show(action_id: ActionId, fmt: FormatOption = Format.table) -> None:
    """One action: its description, owner, due date and every change (who and when).

    With --format json the whole action; with csv its history.

    Example: panelctl actions show A-00042
    """
    from panelctl.followup import actions

    action = actions.get_action(open_store(), action_id)
    entries = action.get("history") or []
    columns = [("at", "When (UK time)"), ("by", "Who"), ("change", "Change"), ("note", "Note")]
    if fmt is not Format.table:
        history = [{**h, "at": h["at"].isoformat()} for h in entries]
        if fmt is Format.csv:
            emit(history, columns, fmt)
        else:
            import json

            whole = {**action, "history": history}
            typer.echo(json.dumps(whole, default=str, ensure_ascii=False, indent=2))
        return
    from panelctl.base.dates import for_display, show_datetime

    for key, heading in [ACTION_COLUMNS[0], ("description", "Description"), *ACTION_COLUMNS[1:]]:
        typer.echo(f"{heading + ':':<13}{for_display(action.get(key))}")
    if entries:
        typer.echo("")
        emit([{**h, "at": show_datetime(h["at"])} for h in entries], columns, fmt)


@actions_app.command("update")
def actions_update(
    action_id: ActionId,
    note: Annotated[str, Opt(help="What has happened; kept with your name and the time.")],
    date: Annotated[
        str | None,
        Opt("--date", help="The day it happened, if not today (not before the action was set)."),
    ] = None,
) -> None:
    """Add a progress note to an action (one commit).

    Example: panelctl actions update A-00042 --note "Strategy meeting booked for 3 December" --date 24/11/2026
    """
    from panelctl.followup import actions

    actions.add_note(open_store(), action_id, note, now(), date)
    say(f"Noted on {action_id.upper()}.")


@actions_app.command("done")
def actions_done(
    action_id: ActionId,
    note: Annotated[str | None, Opt(help="How it was completed.")] = None,
    date: Annotated[
        str | None,
        Opt("--date", help="The day it was done, if not today (not before it was set)."),
    ] = None,
) -> None:
    """Mark an action done, today or on the day it was really done (one commit); an action
    cannot be done twice. Done after its due date, it counts as completed late.

    Example: panelctl actions done A-00042 --note "Referral made to the NRM" --date 24/11/2026
    """
    from panelctl.base.dates import show_date
    from panelctl.followup import actions

    done = actions.complete(open_store(), action_id, now(), note, date)
    late = " (late)" if done["completed"] > done["due"] else ""
    say(f"{action_id.upper()} is done, on {show_date(done['completed'])}{late}.")


@actions_app.command("reassign")
def actions_reassign(
    action_id: ActionId,
    agency: Annotated[str, Opt(help="The agency taking the action on.")],
    owner: Annotated[str, Opt(help="The person taking it on.")],
    email: Annotated[str | None, Opt(help="Their secure e-mail address, for reminders.")] = None,
    note: Annotated[str | None, Opt(help="Why it moves.")] = None,
) -> None:
    """Give an open action to another agency and owner (one commit; the change is kept).

    Example: panelctl actions reassign A-00042 --agency "Children's Services" --owner "Jo Worker" --email jo.worker@council.gov.uk
    """
    from panelctl.followup import actions

    actions.reassign(open_store(), action_id, agency, owner, email, now(), note)
    say(f"{action_id.upper()} reassigned to {agency.strip()} / {owner.strip()}.")


@actions_app.command("extend")
def actions_extend(
    action_id: ActionId,
    due: Annotated[str, Opt(help="The new due date, later than the current one.")],
    reason: Annotated[str, Opt(help="Why more time is needed.")],
) -> None:
    """Move an open action's due date later, with the reason (one commit; the change is kept).

    Example: panelctl actions extend A-00042 --due 10/01/2027 --reason "Awaiting the police disclosure"
    """
    from panelctl.followup import actions

    changed = actions.extend(open_store(), action_id, due, reason, now())
    from panelctl.base.dates import show_date

    say(f"{changed['id']} is now due {show_date(changed['due'])}.")


# --- reviews ------------------------------------------------------------------------------

REVIEW_COLUMNS = [
    ("case", "Case"),
    ("what", "Due"),
    ("due", "Due date"),
    ("days_overdue", "Days overdue"),
    ("lead_professional", "Lead professional"),
    ("lead_agency", "Lead agency"),
]


@review_app.command("due")
def review_due(
    within: Annotated[
        int, Opt(min=0, help="Also list what falls due in the next DAYS days.", metavar="DAYS")
    ] = 0,
    as_of: AsOfOption = None,
    check: CheckOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Open cases due for panel review (the profile's cadence, or the chair's date) and
    risk assessments due for refresh; most overdue first (negative days: days left).

    Example: panelctl review due --within 14 --check --format csv
    """
    from panelctl.followup import reviews

    rows = reviews.reviews_due(open_store(), as_of_day(as_of), within)
    show_list(rows, REVIEW_COLUMNS, fmt, check, "Nothing is due for review.")
