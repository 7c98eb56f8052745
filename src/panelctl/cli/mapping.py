"""`panelctl map`: the picture of links between children, persons and locations."""

from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import say


def map_command(
    meeting: Annotated[
        str | None,
        typer.Option(
            "--meeting", help="Only the clusters holding a case on this meeting's agenda."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, svg, dot or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (0600) instead of stdout.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the --out file if it exists.")
    ] = False,
) -> None:
    """Map cases, persons of concern and locations by their links, in clusters, and flag
    the hidden links: two cases linked to one person or location, cases missing at
    overlapping times, a person linked to several cases. Ids, kinds and risk levels only.

    Example: panelctl map --meeting M-0003 --format html --out M-0003-map.html
    """
    import sys

    from panelctl.base.dates import today
    from panelctl.base.errors import InvalidInputError
    from panelctl.outputs import mapping

    fmt = fmt.strip().lower()
    if fmt not in mapping.FORMATS:
        raise InvalidInputError(f"--format {fmt!r} is not one of: {', '.join(mapping.FORMATS)}.")
    store = open_store()
    data = mapping.load(store, meeting)
    panel = None
    if fmt == "html":
        from panelctl.meetings.agenda import panel_context

        panel = panel_context(store)
    text = mapping.render_map(data, fmt, panel=panel, generated=today(), store_root=store.root)
    if out is None:
        sys.stdout.write(text)
        return
    from panelctl.outputs.papers import write_out_file

    path = write_out_file(out, text, overwrite, store_root=store.root)
    say(f"Wrote {path} ({len(data['clusters'])} clusters, {len(data['flags'])} flags).")
