"""`panelctl retention due`: closed cases past the profile's retention period."""


import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.followup import AsOfOption, CheckOption, FormatOption, show_list
from panelctl.cli.output import Format

retention_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Closed cases past the profile's retention period.",
)


@retention_app.callback()
def retention_group() -> None:
    """Closed cases kept longer than the profile's retention rule allows.

    Example: panelctl retention due --as-of 01/04/2027
    """


COLUMNS = [
    ("case", "Case"),
    ("closed", "Closed"),
    ("ends", "Retention ended"),
    ("days_past", "Days past"),
    ("rule", "Rule"),
]


@retention_app.command("due")
def retention_due(
    as_of: AsOfOption = None,
    check: CheckOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Closed cases whose retention period (the profile's `retention`: years after
    closure, and the child's age if set) has ended, longest past first, with the rule.

    Example: panelctl retention due --check --format csv
    """
    from panelctl.followup import retention

    rows = retention.retention_due(open_store(), as_of_day(as_of))
    show_list(rows, COLUMNS, fmt, check, "No closed case is past its retention period.")


