"""`panelctl rfm`: risk assessments with the panel's risk tool (RFM, SERAF, ...)."""

from __future__ import annotations

import typer

rfm_app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Risk assessments with the panel's risk tool (Risk Factor Matrix, SERAF, ...).",
)
