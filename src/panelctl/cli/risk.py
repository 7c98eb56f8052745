"""`panelctl rfm`: risk assessments with the panel's risk tool (RFM, SERAF, ...)."""

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store, options
from panelctl.cli.output import Format, emit, say

rfm_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Risk assessments with the panel's risk tool (Risk Factor Matrix, SERAF, ...).",
)

FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv.")]


@rfm_app.command("add")
def rfm_add(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id, e.g. C-0042.")],
    on: Annotated[
        str, typer.Option("--date", help="When it was assessed: 14/03/2026 or 2026-03-14.")
    ],
    assessor: Annotated[str, typer.Option(help="Who completed the assessment.")],
    agency: Annotated[str, typer.Option(help="The assessor's agency.")],
    factor: Annotated[
        list[str] | None,
        typer.Option("--factor", help="A factor present (repeat it); see `panelctl rfm factors`."),
    ] = None,
    agreed: Annotated[
        str | None, typer.Option(help="The level the panel agreed, if not the derived one.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why the agreed level overrides the derived one.")
    ] = None,
    tool: Annotated[
        str | None, typer.Option(help="The risk tool (default: the panel's, e.g. rfm or seraf).")
    ] = None,
    allow_closed: Annotated[
        bool, typer.Option("--allow-closed", help="Record it even though the case is closed.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the levels; record nothing.")
    ] = False,
) -> None:
    """Record a risk assessment of a case; the case's risk becomes its latest agreed level.

    Prints the new assessment's id with the derived and agreed levels.

    Example: panelctl rfm add C-0042 --date 14/03/2026 --assessor "Jo Lead" --agency "Children's Services" --factor missing_episodes --factor older_associates
    """
    from panelctl.base.dates import parse_date, show_date
    from panelctl.casework import assessments

    store = open_store()
    given = {
        "date": parse_date(on, "on", "--date"),
        "assessor": assessor,
        "agency": agency,
        "factors": factor or [],
        "agreed": agreed,
        "reason": reason,
        "tool": tool,
        "allow_closed": allow_closed,
    }
    if dry_run:
        record = assessments.prepare(store, case_id, **given)
        typer.echo(f"(dry run) {_levels(record)}")
        say("Dry run: nothing was recorded.")
        return
    done = assessments.add_assessment(store, case_id, **given)
    typer.echo(f"{done.id}: {_levels(done.record)}")
    if not done.sets_risk:
        say(
            f"{case_id} keeps its current risk ({done.case_risk}): a later assessment, dated "
            f"{show_date(done.latest)}, sets it."
        )


def _levels(record: dict) -> str:
    score = f" (score {record['score']})" if record.get("score") is not None else ""
    override = " (override)" if record["agreed"] != record["derived"] else ""
    return (
        f"{record['tool']} derived {record['derived']}{score}; agreed {record['agreed']}{override}"
    )


@rfm_app.command("list")
def rfm_list(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id, e.g. C-0042.")],
    fmt: FormatOption = Format.table,
) -> None:
    """A case's risk assessments, oldest first; the last one sets its current risk.

    Example: panelctl rfm list C-0042 --format csv
    """
    from panelctl.casework import assessments

    rows = assessments.history(open_store(), case_id)
    if not rows and fmt is Format.table:
        say(f"No risk assessments of {case_id} yet; add one with `panelctl rfm add {case_id}`.")
        return
    columns = [
        ("id", "Id"),
        ("date", "Date"),
        ("tool", "Tool"),
        ("score", "Score"),
        ("derived", "Derived"),
        ("agreed", "Agreed"),
        ("override", "Override"),
        ("assessor", "Assessor"),
        ("agency", "Agency"),
    ]
    if fmt is Format.table:
        rows = [{**row, "override": "yes" if row["override"] else ""} for row in rows]
        if all(row["score"] is None for row in rows):
            columns.remove(("score", "Score"))
    emit(rows, columns, fmt, title=f"Risk assessments of {case_id}")


@rfm_app.command("tools")
def rfm_tools(fmt: FormatOption = Format.table) -> None:
    """The risk tools this store can use: packaged ones and the store's own.

    A store adds or replaces a tool with .panelctl/risktools/NAME.yaml.

    Example: panelctl rfm tools
    """
    from panelctl.model import risk

    store = _store_if_any()
    root = store.root if store else None
    default = store.profile["risk_tool"] if store else None
    rows = []
    for name in risk.names(root):
        tool = risk.load_tool(name, root)
        rows.append(
            {
                "name": name,
                "title": tool["title"],
                "method": tool["derive"]["method"],
                "levels": " / ".join(tool["levels"]),
                "source": risk.source_of(name, root),
                "default": name == default,
            }
        )
    columns = [
        ("name", "Name"),
        ("title", "Title"),
        ("method", "Method"),
        ("levels", "Levels (highest first)"),
        ("source", "From"),
        ("default", "Panel's tool"),
    ]
    if fmt is Format.table:
        rows = [{**row, "default": "yes" if row["default"] else ""} for row in rows]
    emit(rows, columns, fmt, title="Risk tools")


@rfm_app.command("factors")
def rfm_factors(
    tool_name: Annotated[
        str | None, typer.Argument(metavar="TOOL", help="The tool (default: the panel's).")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A tool's sections and factors, with the ids to give `rfm add --factor`.

    Example: panelctl rfm factors seraf
    """
    from panelctl.base.errors import InvalidInputError
    from panelctl.model import risk

    store = _store_if_any()
    if tool_name is None and store is None:
        raise InvalidInputError("Outside a store, name the tool: e.g. panelctl rfm factors rfm.")
    tool = risk.load_tool(tool_name or store.profile["risk_tool"], store.root if store else None)
    weight = (
        ("points", "Points") if tool["derive"]["method"] == "bands" else ("indicator", "Indicator")
    )
    columns = [("id", "Factor id"), weight, ("text", "Factor"), ("section", "Section")]
    if fmt is Format.table:
        say(f"{tool['title']}. {risk.describe(tool)}")
        if not tool["sections"]:
            return
    emit(risk.factor_rows(tool), columns, fmt, title=f"Factors of {tool['name']}")


def _store_if_any():
    """The store in use, without unlocking it; None outside a store unless one was named."""
    from panelctl.base.errors import NotAStoreError

    try:
        return open_store(identity=False)
    except NotAStoreError:
        if options().store:
            raise
        return None


@rfm_app.command("import")
def rfm_import(
    file: Annotated[
        Path, typer.Argument(help="A .csv, .xlsx, .yaml or .json file of risk matrices.")
    ],
    mapping: Annotated[
        Path | None, typer.Option(help="A YAML file mapping your columns to panelctl's.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--date", help="Today's date for the import (default today).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
    max_size: Annotated[
        int,
        typer.Option("--max-size", min=1, help="Largest file to read, in MB (default 10)."),
    ] = 10,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="A CSV file's encoding, e.g. cp1252 (default: UTF-8, UTF-16 or Windows-1252, "
            "found from the file).",
        ),
    ] = None,
) -> None:
    """Import risk matrices: create or update cases and record their assessments.

    All or nothing: one bad row means nothing is written, and every bad row is named by
    row number and column. Importing the same file twice changes nothing the second time.
    The column layout is in the README.

    Example: panelctl rfm import rfms.xlsx --mapping our-columns.yaml --dry-run
    """
    from panelctl.casework import importer

    store = open_store()
    today = as_of_day(as_of, "--date")
    with _progress_bar() as progress:
        outcome = importer.run_import(
            store,
            file,
            mapping,
            dry_run=dry_run,
            today=today,
            progress=progress,
            max_bytes=max_size * 1024 * 1024,
            encoding=encoding,
        )
    rows = [
        {"row": s.row, "action": s.action, "case": s.case_id, "level": s.level}
        for s in outcome.steps
    ]
    emit(rows, [("row", "Row"), ("action", "Action"), ("case", "Case"), ("level", "Level")], fmt)
    for note in outcome.notes:
        say(note)
    reading = outcome.reading
    if reading.unmapped:
        say(f"Columns not imported: {', '.join(reading.unmapped)}.")
    counts = outcome.counts()
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "no rows"
    if reading.skipped:
        summary += f"; {_rows(reading.skipped)} skipped (blank or a total)"
    if reading.unimported:
        summary += f"; {_rows(reading.unimported)} skipped (nothing in an imported column)"
    if dry_run:
        say(f"Dry run: {summary}. Nothing was written.")
    elif outcome.committed:
        say(f"Imported: {summary} (one commit).")
    else:
        say(f"Nothing to import: {summary}.")


def _rows(numbers: list[int]) -> str:
    """"1 row (7)", "3 rows (4, 9, 12)", or the first ten and how many more."""
    shown = ", ".join(map(str, numbers[:10]))
    if len(numbers) > 10:
        shown += f" and {len(numbers) - 10} more"
    return f"{len(numbers)} row{'s' if len(numbers) != 1 else ''} ({shown})"


@contextmanager
def _progress_bar():
    """A progress bar on a terminal; nothing at all for cron or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Importing", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@rfm_app.command("compliance")
def rfm_compliance(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Work as of this day (default today).")
    ] = None,
    cases: Annotated[
        bool, typer.Option("--list", help="List the cases behind, not the counts.")
    ] = False,
    everyone: Annotated[
        bool,
        typer.Option("--all", help="Count every agency and practitioner, not only those behind."),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the list is not empty (for cron).")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Which lead agencies and lead professionals are behind on risk assessments: open
    cases, refreshes overdue under the profile's interval, and cases never assessed.

    Example: panelctl rfm compliance --as-of 01/12/2026 --list --format csv
    """
    from panelctl.cli.common import as_of_day
    from panelctl.cli.followup import show_list
    from panelctl.followup import reviews

    store = open_store()
    today = as_of_day(as_of)
    no_rule = (store.profile.get("reviews") or {}).get("assessment_refresh_days") is None
    if no_rule and sys.stderr.isatty():
        say(
            "This panel's profile sets no assessment refresh interval "
            "(reviews.assessment_refresh_days), so no assessment is ever overdue."
        )
    if cases:
        rows = reviews.behind_on_assessments(store, today)
        columns = [
            ("case", "Case"),
            ("state", "Assessment"),
            ("assessed", "Last assessed"),
            ("due", "Due"),
            ("days_overdue", "Days overdue"),
            ("lead_professional", "Lead professional"),
            ("lead_agency", "Lead agency"),
        ]
        show_list(rows, columns, fmt, check, "No open case is behind on its risk assessment.")
        return
    rows = reviews.compliance(store, today, everyone=everyone)
    columns = [
        ("level", "Level"),
        ("lead_agency", "Lead agency"),
        ("lead_professional", "Lead professional"),
        ("open_cases", "Open cases"),
        ("overdue_refreshes", "Overdue refreshes"),
        ("never_assessed", "Never assessed"),
    ]
    show_list(rows, columns, fmt, check, "No agency or practitioner is behind on assessments.")
