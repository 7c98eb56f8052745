"""`panelctl restricted`: items only one group of readers can read."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import Format, emit, say, show_one

restricted_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Items restricted to a group (e.g. police intelligence): add, list, show.",
)

COLUMNS = [
    ("id", "Item"),
    ("subject", "About"),
    ("group", "Group"),
    ("by", "Added by"),
    ("added", "Added"),
    ("readable", "You can read it"),
]


@restricted_app.command("add")
def restricted_add(
    subject: Annotated[
        str,
        typer.Argument(metavar="SUBJECT", help="The case, person, location or link it is about."),
    ],
    group: Annotated[str, typer.Option(help="The group that may read it, e.g. police.")],
    text: Annotated[
        str | None, typer.Option(help="The text (else --file, else standard input).")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="Read the text from this file.")] = None,
) -> None:
    """Add an item only the group's members can read, about a record, and print its id.

    Everyone who reads the store sees that it exists, what it is about, by whom and when.

    Example: panelctl restricted add C-0042 --group police --file intel.txt
    """
    from panelctl.base.errors import InvalidInputError
    from panelctl.casework.restricted import add_note

    if text is not None and file is not None:
        raise InvalidInputError("Give the text with --text or --file, not both.")
    if file is not None:
        try:
            body = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InvalidInputError(f"Cannot read {file} as UTF-8 text.", "file") from None
    elif text is not None:
        body = text
    elif sys.stdin.isatty():
        raise InvalidInputError("Give the text with --text, --file or on standard input.")
    else:
        body = sys.stdin.read()
    typer.echo(add_note(open_store(), subject, group, body))


@restricted_app.command("list")
def restricted_list(
    subject: Annotated[str | None, typer.Option(help="Only the items about this record.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List restricted items: what each is about, its group, by whom and when (never its
    content).

    Example: panelctl restricted list --subject C-0042
    """
    from panelctl.casework.restricted import list_items

    emit(list_items(open_store(), subject), COLUMNS, fmt)


@restricted_app.command("show")
def restricted_show(
    item_id: Annotated[str, typer.Argument(metavar="ID")],
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Show a restricted item: its content to the group's members, what it is about to
    everyone else.

    Example: panelctl restricted show RI-00001
    """

    from panelctl.base.dates import for_display
    from panelctl.casework.restricted import content_text, show_item

    plain, content = show_item(open_store(), item_id)
    if show_one({**plain, "content": content}, fmt):
        return
    typer.echo(f"RESTRICTED TO: {plain['group']}")
    for key in ("id", "subject", "group", "by", "added"):
        typer.echo(f"{key}: {for_display(plain[key])}")
    if content is None:
        say(f"Restricted to {plain['group']}: you are not in this group.")
        return
    typer.echo("")
    typer.echo(content_text(content).rstrip("\n"))
