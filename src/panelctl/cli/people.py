"""`panelctl person`, `panelctl location` and `panelctl link`: persons and places of concern."""

from __future__ import annotations

import typer

person_app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Persons of concern and organised crime groups.",
)
location_app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Locations of concern: addresses, areas, schools, venues, hotspots.",
)
