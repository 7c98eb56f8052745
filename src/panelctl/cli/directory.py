"""`panelctl agency` and `panelctl member`: the panel's agencies and members."""

from __future__ import annotations

import typer

agency_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="The panel's agencies.")
member_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="The panel's members.")
