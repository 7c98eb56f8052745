"""`panelctl nominate` and `panelctl case`: children's cases from nomination to closure."""

from __future__ import annotations

import typer

case_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True, help="Cases: list, show, update, close."
)
