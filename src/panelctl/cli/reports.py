"""`panelctl report`: the panel data report (bi-monthly) and the annual review.

Figures only, never a child's name: html (print-ready, OFFICIAL-SENSITIVE on every page),
md, json or csv, to stdout or with --out to a private (0600) file.
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import say

report_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="The panel data report (bi-monthly) and the annual review.",
)


class ReportFormat(StrEnum):
    html = "html"
    md = "md"
    json = "json"
    csv = "csv"


Opt = typer.Option
FormatOption = Annotated[ReportFormat, Opt("--format", help="html, md, json or csv.")]
SuppressOption = Annotated[
    bool,
    Opt("--suppress-small", help='Show counts of 1 to 4 as "<5" (for wider circulation).'),
]
OutOption = Annotated[
    Path | None, Opt("--out", help="Write to this file (0600) instead of standard output.")
]
OverwriteOption = Annotated[bool, Opt("--overwrite", help="Replace the --out file if it exists.")]
AsOfOption = Annotated[
    str | None, Opt("--as-of", help="Work as of this day, e.g. 01/12/2026 (default today).")
]


@report_app.callback()
def report_group() -> None:
    """Panel data reports: figures for the partnership, never a child's name.

    Example: panelctl report bimonthly --period 2026-09..2026-10 --format html --out report.html
    """


def _produce(
    kind,
    start,
    end,
    today,
    fmt: ReportFormat,
    suppress: bool,
    out: Path | None,
    overwrite: bool,
    store=None,
):
    from panelctl.outputs import reports

    store = store or open_store()
    settings = reports.settings_of(store)
    data = reports.gather(store, start, end)
    report = reports.compute(
        data,
        start,
        end,
        refresh_days=settings["refresh_days"],
        levels=settings["levels"],
        kind=kind,
        generated=today,
        panel=settings["panel"],
    )
    if suppress:
        report = reports.suppress_small(report)
    text = reports.render_report(report, fmt.value, store.root)
    written = reports.report_out(
        store,
        report,
        text,
        fmt.value,
        records=reports.counted_cases(data, start, end),
        out=out,
        overwrite=overwrite,
        show=sys.stdout.write,
    )
    if written is not None:
        say(f"Wrote {written}; it is NOT encrypted (OFFICIAL-SENSITIVE).")


@report_app.command("bimonthly")
def bimonthly(
    period: Annotated[
        str | None,
        Opt(help="Whole months, e.g. 2026-09..2026-10 (default: the last two whole months)."),
    ] = None,
    fmt: FormatOption = ReportFormat.html,
    suppress_small: SuppressOption = False,
    out: OutOption = None,
    overwrite: OverwriteOption = False,
    as_of: AsOfOption = None,
) -> None:
    """The panel data report: caseload, nominations, closures, risk, children, missing
    episodes, persons and locations, actions, meetings and assessment compliance.

    Example: panelctl report bimonthly --period 2026-09..2026-10 --format html --out report.html
    """
    from panelctl.outputs import reports

    today = as_of_day(as_of)
    start, end = reports.parse_period(period) if period else reports.default_bimonthly(today)
    _produce("bimonthly", start, end, today, fmt, suppress_small, out, overwrite)


@report_app.command("annual")
def annual(
    year: Annotated[
        int | None,
        Opt(help="The panel's year that ends in this year (default: the last one ended)."),
    ] = None,
    from_: Annotated[
        str | None, Opt("--from", help="The period's first day, e.g. 01/12/2025 (with --to).")
    ] = None,
    to: Annotated[str | None, Opt("--to", help="The period's last day, e.g. 30/11/2026.")] = None,
    fmt: FormatOption = ReportFormat.html,
    suppress_small: SuppressOption = False,
    out: OutOption = None,
    overwrite: OverwriteOption = False,
    as_of: AsOfOption = None,
) -> None:
    """The annual review: the panel data report over the panel's year (the profile's
    annual_review.first_month; January by default), with month-by-month trends in
    nominations, closures, meetings and actions. Warns when the period is not over yet.

    Example: panelctl report annual --year 2026 --format md --suppress-small
    """
    from panelctl.base.dates import parse_date, show_date
    from panelctl.base.errors import InvalidInputError
    from panelctl.outputs import reports

    today = as_of_day(as_of)
    start = parse_date(from_, "from", "--from") if from_ else None
    end = parse_date(to, "to", "--to") if to else None
    if (start is None) != (end is None) or (start is not None and year is not None):
        raise InvalidInputError("Give --from and --to together, or --year, not both.")
    store = open_store()
    start, end = reports.annual_period(
        year, start, end, today, reports.first_month_of(store.profile)
    )
    if end >= today:
        say(
            f"Warning: the period {show_date(start)} to {show_date(end)} is not over yet; "
            f"the review shows figures to {show_date(today)} and says it is interim."
        )
    _produce("annual", start, end, today, fmt, suppress_small, out, overwrite, store)
