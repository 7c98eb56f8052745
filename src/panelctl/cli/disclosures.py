"""`panelctl disclosures`: the log of personal data written out of the store."""

from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.followup import FormatOption, show_list
from panelctl.cli.output import Format

Opt = typer.Option

COLUMNS = [
    ("id", "Disclosure"),
    ("at", "When"),
    ("output", "What"),
    ("form", "Form"),
    ("records", "Records"),
    ("recipients", "To"),
    ("reader", "By (reader)"),
    ("role", "Role"),
    ("agency", "Agency"),
    ("command", "Command"),
]
JSON_COLUMNS = [*COLUMNS[:5], ("kinds", "Kinds"), *COLUMNS[5:]]


def disclosures_command(
    since: Annotated[
        str | None, Opt("--since", help="Only those made on or after this day, e.g. 01/09/2026.")
    ] = None,
    case: Annotated[
        str | None,
        Opt(
            "--case",
            help="Only those holding this case or a record of it (its assessments, actions, "
            "decisions, links, and meetings that discussed it), e.g. C-0042.",
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Every time personal data was written out of the store (papers, minutes, reports
    showing small numbers, e-mails), newest first: when, what, in which form, the record
    ids, to whom where known, and by which reader. Showing records on the terminal is not
    a disclosure.

    Example: panelctl disclosures --case C-0042 --since 01/09/2026 --format csv
    """
    from panelctl.base.dates import parse_date
    from panelctl.store.disclosures import list_disclosures

    day = parse_date(since, "since", "--since") if since else None
    rows = list_disclosures(open_store(), since=day, case=case.strip() if case else None)
    if fmt is not Format.json:  # one cell per list, ids apart by spaces
        rows = [
            {k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()} for row in rows
        ]
    show_list(
        rows,
        JSON_COLUMNS if fmt is not Format.table else COLUMNS,
        fmt,
        False,
        "No disclosure is recorded.",
    )
