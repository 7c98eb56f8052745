"""`panelctl profile`: the built-in panel profiles and a store's effective settings."""

from __future__ import annotations

import typer

profile_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True, help="Panel profiles and settings."
)
