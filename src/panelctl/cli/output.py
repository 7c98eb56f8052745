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
    """Print ``rows`` (dicts keyed by the first item of each column) to stdout. An empty
    table prints nothing into a pipe or a file, and says so on a terminal (JSON and CSV
    always print their empty forms: ``[]``, the heading row)."""
    keys = [key for key, _heading in columns]
    if fmt is Format.json:
        import json

        # One row per line through the C encoder: 100,000 rows in well under a second.
        # (One encoder for all: json.dumps with these options would make one per row.)
        encode = json.JSONEncoder(default=_plain, ensure_ascii=False).encode
        lines = (encode({k: row.get(k) for k in keys}) for row in rows)
        body = ",\n  ".join(lines)
        sys.stdout.write(f"[\n  {body}\n]\n" if body else "[]\n")
    elif fmt is Format.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow(["" if row.get(k) is None else _plain(row.get(k)) for k in keys])
    elif not rows:
        # a person at a terminal is told; a pipe, a file or cron gets nothing to parse
        if sys.stdout.isatty():
            say(f"{title}: none." if title else "Nothing to list.")
    elif len(rows) > RICH_LIMIT or not sys.stdout.isatty():
        _plain_table(rows, columns, title)
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from panelctl.base.dates import for_display

        table = Table(title=title or None, show_lines=False)
        for _key, heading in columns:
            table.add_column(heading)
        for row in rows:
            table.add_row(*[escape(for_display(row.get(k))) for k in keys])  # text, never markup
        Console(soft_wrap=False).print(table)


def _plain(value: object) -> str:
    """Dates and moments as ISO text in JSON and CSV (a moment with its UTC offset)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


RICH_LIMIT = 200  # rows: beyond this (or into a pipe or a file) a plain table, which is fast
CELL_LIMIT = 60


def _plain_table(rows: Sequence[dict], columns: Sequence[tuple[str, str]], title: str) -> None:
    """Columns padded with spaces: for pipes, files, cron and long lists (no colour, no box)."""
    from panelctl.base.dates import for_display

    def cell(value: object) -> str:
        text = for_display(value).replace("\n", " ")
        return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"

    headings = [heading for _key, heading in columns]
    table = [[cell(row.get(key)) for key, _heading in columns] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in table)]) for i, h in enumerate(headings)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )
    sys.stdout.write("\n".join(lines) + "\n")


def show_one(record: dict, fmt: Format) -> bool:
    """One record (a `show` command) as JSON on stdout, when ``fmt`` asks for it: whether
    it was shown (False: the caller prints its table). CSV is refused: one record has no
    rows."""
    if fmt is Format.json:
        import json

        json.dump(record, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return True
    if fmt is Format.csv:
        from panelctl.base.errors import InvalidInputError

        raise InvalidInputError("show prints a table or JSON; give --format table or json.")
    return False


def say(message: str) -> None:
    """A message for the person (stderr), never data."""
    sys.stdout.flush()
    sys.stderr.write(message.rstrip("\n") + "\n")
