"""`panelctl conflicts` and `panelctl resolve`: changes met in a merge of clones, settled.

`sync` merges records field by field; where two clones changed one field differently the
record keeps the shared copy's value and records both sides as a conflict. These commands
list those conflicts (by record id and field; the values only when asked for) and settle
one at a time, each in one signed commit.
"""

from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.followup import CheckOption, FormatOption, show_list
from panelctl.cli.output import Format, say

COLUMNS = [("id", "Record"), ("type", "Type"), ("field", "Field"), ("recorded", "Recorded")]
VALUE_COLUMNS = [("base", "Before"), ("ours", "Ours"), ("theirs", "Theirs (kept)")]


def conflicts_command(
    show: Annotated[
        bool,
        typer.Option(
            "--show", help="Also print each conflict's values: before, ours and theirs (kept)."
        ),
    ] = False,
    check: CheckOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """List the open conflicts left by merging clones: record id, type, field and when it
    was recorded. The record keeps the shared copy's value (theirs) until it is resolved.

    Example: panelctl conflicts --show
    """
    from panelctl.casework.conflicts import open_conflicts

    rows = open_conflicts(open_store(), with_values=show)
    show_list(rows, COLUMNS + VALUE_COLUMNS if show else COLUMNS, fmt, check, "No open conflicts.")


def resolve_command(
    record_id: Annotated[str, typer.Argument(metavar="ID", help="The record, e.g. C-0042.")],
    field: Annotated[
        str,
        typer.Argument(
            metavar="FIELD", help="The conflict's field, as `conflicts` lists it (e.g. risk)."
        ),
    ],
    take: Annotated[
        str,
        typer.Option(
            "--take",
            help="ours (this clone's value), theirs (the value kept) or a value, read as YAML.",
        ),
    ],
) -> None:
    """Settle one conflict: set the field to ours, theirs or a value you give, in one signed
    commit. A conflict on (record) is a deletion against an edit: taking the side that
    deleted deletes the record.

    Example: panelctl resolve C-0042 risk --take ours
    """
    from panelctl.casework.conflicts import resolve_conflict

    kept = resolve_conflict(open_store(), record_id, field, take)
    say(f"Settled the conflict on {field} of {record_id}" + ("." if kept else "; it is deleted."))
