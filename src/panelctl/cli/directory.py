"""`panelctl agency` and `panelctl member`: the panel's agencies and members."""

import sys
from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import Format, emit, say

agency_app = typer.Typer(
    rich_markup_mode=None, add_completion=False, no_args_is_help=True, help="The panel's agencies."
)
member_app = typer.Typer(
    rich_markup_mode=None, add_completion=False, no_args_is_help=True, help="The panel's members."
)

FORMAT = Annotated[Format, typer.Option("--format", help="table, json or csv.")]
SECTOR_HELP = (
    "police, health, local-authority, education, probation, youth-justice, voluntary or other."
)


# --- agency ------------------------------------------------------------------------------


@agency_app.command("add")
def agency_add(
    name: Annotated[str, typer.Option(help="The agency's name, e.g. 'Staffordshire Police'.")],
    sector: Annotated[str, typer.Option(help=SECTOR_HELP)],
    core: Annotated[
        bool,
        typer.Option(
            "--core/--virtual", help="A standing (core) member, or invited for particular cases."
        ),
    ] = True,
) -> None:
    """Add an agency to the panel and print its id.

    Example: panelctl agency add --name "Staffordshire Police" --sector police
    """
    from panelctl.panel.directory import add_agency

    typer.echo(add_agency(open_store(), name, sector, core))


@agency_app.command("list")
def agency_list(fmt: FORMAT = Format.table) -> None:
    """List the panel's agencies with their sector.

    Example: panelctl agency list --format csv
    """
    from panelctl.panel.directory import list_agencies

    rows = list_agencies(open_store())
    emit(rows, [("id", "Id"), ("name", "Agency"), ("sector", "Sector"), ("core", "Core")], fmt)


def seed_choice(flag: bool | None, count: int, title: str) -> bool:
    """`init`'s answer: the flag if given; else ask on a terminal; else (cron) no."""
    if flag is not None:
        return flag
    if count == 0 or not _interactive():
        return False
    return typer.confirm(f"Add the {count} agencies of the {title} profile?", default=True)


def _interactive() -> bool:
    return sys.stdin.isatty()


# --- member ------------------------------------------------------------------------------


@member_app.command("add")
def member_add(
    name: Annotated[str, typer.Option(help="The member's name.")],
    agency: Annotated[str, typer.Option(help="Their agency, as in `panelctl agency list`.")],
    role: Annotated[str, typer.Option(help="chair, vice-chair, coordinator, core or virtual.")],
    email: Annotated[str | None, typer.Option(help="Their secure e-mail address.")] = None,
) -> None:
    """Add a member of the panel and print their id.

    Example: panelctl member add --name "Alex Vice-Chair" --agency "Staffordshire Police" --role vice-chair --email alex@police.gov.uk
    """
    from panelctl.panel.directory import add_member, chair_warnings

    store = open_store()
    typer.echo(add_member(store, name, agency, role, email))
    for warning in chair_warnings(store, role.strip().casefold(), agency):
        say(f"Warning: {warning}")


@member_app.command("list")
def member_list(
    agency: Annotated[str | None, typer.Option(help="Only members of this agency.")] = None,
    role: Annotated[str | None, typer.Option(help="Only members with this role.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include removed members.")] = False,
    fmt: FORMAT = Format.table,
) -> None:
    """List the panel's members (active ones, unless --all).

    Example: panelctl member list --agency "Staffordshire Police" --format json
    """
    from panelctl.panel.directory import list_members

    rows = list_members(open_store(), agency, role, include_inactive=all_)
    columns = [
        ("id", "Id"),
        ("name", "Name"),
        ("agency", "Agency"),
        ("role", "Role"),
        ("email", "E-mail"),
    ]
    if all_:
        columns.append(("active", "Active"))
    emit(rows, columns, fmt)


@member_app.command("remove")
def member_remove(
    who: Annotated[str, typer.Argument(help="The member's id, or their exact name.")],
) -> None:
    """Mark a member as no longer on the panel; their record is kept for the history.

    Example: panelctl member remove MB-0003
    """
    from panelctl.panel.directory import remove_member

    record = remove_member(open_store(), who)
    say(f"Member {record['id']} is no longer active; their record is kept.")
