"""`panelctl nominate` and `panelctl case`: children's cases from nomination to closure."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import Format, emit, say

case_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Cases: list, show, update, close.",
)

Opt = typer.Option
TextList = list[str] | None


def nominate(
    from_file: Annotated[Path | None, Opt("--from", help="A YAML or JSON nomination file.")] = None,
    name: Annotated[str | None, Opt(help="The child's name.")] = None,
    dob: Annotated[str | None, Opt(help="Date of birth, e.g. 14/03/2011.")] = None,
    gender: Annotated[str | None, Opt()] = None,
    ethnicity: Annotated[str | None, Opt()] = None,
    school: Annotated[str | None, Opt(help="School or college.")] = None,
    area: Annotated[str | None, Opt(help="Home area (not the address).")] = None,
    looked_after: Annotated[bool | None, Opt("--looked-after/--not-looked-after")] = None,
    out_of_area: Annotated[bool | None, Opt("--out-of-area/--in-area")] = None,
    lead_professional: Annotated[str | None, Opt(help="The allocated worker.")] = None,
    team: Annotated[str | None, Opt()] = None,
    team_manager: Annotated[str | None, Opt()] = None,
    referring_agency: Annotated[str | None, Opt()] = None,
    involved_agency: Annotated[TextList, Opt(help="Repeat for each agency involved.")] = None,
    known_to: Annotated[
        TextList, Opt(help="A sector the child is known to (police, social care...); repeat.")
    ] = None,
    first_referral: Annotated[bool | None, Opt("--first-referral/--not-first-referral")] = None,
    protocol_followed: Annotated[
        bool | None, Opt("--protocol-followed/--protocol-not-followed")
    ] = None,
    concern: Annotated[str | None, Opt(help="The nature of the concern.")] = None,
    exploitation_type: Annotated[
        TextList, Opt(help="sexual, criminal, trafficking...; repeat.")
    ] = None,
    consequences: Annotated[
        str | None, Opt(help="Potential consequences if the risk is not reduced.")
    ] = None,
    child_views: Annotated[str | None, Opt(help="The child's views.")] = None,
    carer_views: Annotated[str | None, Opt(help="The parents' or carers' views.")] = None,
    age_reason: Annotated[
        str | None,
        Opt(help="Why a young adult above the panel's age range is nominated (shown on the case paper)."),
    ] = None,
    risk_level: Annotated[
        str | None, Opt(help="The completed assessment's level (e.g. Medium).")
    ] = None,
    risk_tool: Annotated[
        str | None, Opt(help="The assessment's tool (default: the profile's).")
    ] = None,
    assessed: Annotated[str | None, Opt(help="The assessment's date.")] = None,
    factor: Annotated[TextList, Opt(help="An assessment factor id; repeat.")] = None,
    as_of: Annotated[str | None, Opt("--date", help="The nomination date (default today).")] = None,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Check the nomination and say any warnings; save nothing.")
    ] = False,
) -> None:
    """Nominate a child: applies the profile's entry rules and prints the new case id.

    Warns (by case id) when the child may already be known, before anything is saved (on a
    terminal it then asks whether to go on); --dry-run checks and warns, and saves nothing.
    Without --from and with details missing, asks for them on a terminal.

    Example: panelctl nominate --name "Kasey Brightwater" --dob 14/03/2011 --referring-agency Police --risk-level Medium
    """
    from panelctl.casework import cases

    store = open_store()
    child = {
        "name": name,
        "dob": dob,
        "gender": gender,
        "ethnicity": ethnicity,
        "school": school,
        "area": area,
        "looked_after": looked_after,
        "out_of_area": out_of_area,
    }
    case = {
        "lead_professional": lead_professional,
        "team": team,
        "team_manager": team_manager,
        "referring_agency": referring_agency,
        "involved_agencies": involved_agency,
        "known_to": known_to,
        "first_referral": first_referral,
        "protocol_followed": protocol_followed,
        "concern": concern,
        "exploitation_types": exploitation_type,
        "consequences": consequences,
        "child_views": child_views,
        "carer_views": carer_views,
        "age_reason": age_reason,
    }
    assessment = {"level": risk_level, "tool": risk_tool, "date": assessed, "factors": factor}
    raw = _given(_read_nomination(from_file), child, case, assessment)
    if from_file is None and sys.stdin.isatty():
        _ask_missing(raw, store.profile)
    def go_on(warnings: list[str]) -> bool:
        """Said before the case is saved; on a terminal, the coordinator may stop here."""
        for warning in warnings:
            say(f"Warning: {warning}")
        if warnings and not dry_run and sys.stdin.isatty() and sys.stdout.isatty():
            return typer.confirm("Nominate this child as a new case all the same?", default=False)
        return True

    result = cases.nominate(
        store, raw, as_of_day(as_of, "--date"), dry_run=dry_run, go_on=go_on
    )
    if dry_run:
        go_on(result.warnings)
        say(f"Dry run: the nomination passes the checks and would be {result.would_be}; "
            "nothing was saved.")  # fmt: skip
    elif result.case_id is None:
        say("Not nominated: nothing was saved.")
    else:
        typer.echo(result.case_id)


def _read_nomination(path: Path | None) -> dict:
    from panelctl.base import yamlio
    from panelctl.base.errors import InvalidInputError

    if path is None:
        return {}
    raw = yamlio.read_hand_written(path, "nomination file") or {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{path} must hold a mapping of nomination fields.")
    return raw


def _given(raw: dict, child: dict, case: dict, assessment: dict) -> dict:
    """The nomination file's fields, with those given as options on top (a flag given as
    --no-... is kept: False is an answer)."""
    def merged(key: str, given: dict) -> object:
        inside = raw.get(key) or {}
        if not isinstance(inside, dict):
            return inside  # the library names the field that is not a mapping
        return {**inside, **given}

    nomination = dict(raw)
    nomination["child"] = merged("child", {k: v for k, v in child.items() if v is not None})
    nomination.update({k: v for k, v in case.items() if v or isinstance(v, bool)})
    if assessment["level"] or assessment["factors"]:
        nomination["assessment"] = merged(
            "assessment", {k: v for k, v in assessment.items() if v}
        )
    return nomination


def _ask_missing(raw: dict, profile: dict) -> None:
    """On a terminal, ask for the details a nomination needs and has not been given."""
    child = raw["child"]
    if not child.get("name"):
        child["name"] = typer.prompt("Child's name")
    if not child.get("dob"):
        child["dob"] = typer.prompt("Date of birth (e.g. 14/03/2011)")
    if not raw.get("referring_agency"):
        raw["referring_agency"] = typer.prompt("Referring agency")
    if not raw.get("concern"):
        raw["concern"] = typer.prompt("Nature of the concern")
    if not raw.get("exploitation_types"):
        raw["exploitation_types"] = [
            typer.prompt("Exploitation type (sexual, criminal, trafficking...)")
        ]
    needs_assessment = any(r.get("rule") == "assessment" for r in profile["entry_rules"])
    if needs_assessment and not raw.get("assessment"):
        raw["assessment"] = {"level": typer.prompt(f"{profile['risk_tool'].upper()} level")}


@case_app.command("list")
def case_list(
    status: Annotated[str | None, Opt(help="open or closed.")] = None,
    risk: Annotated[str | None, Opt(help="A risk level, e.g. High.")] = None,
    lead_agency: Annotated[str | None, Opt()] = None,
    exploitation_type: Annotated[str | None, Opt("--type", help="An exploitation type.")] = None,
    fmt: Annotated[Format, Opt("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List cases (ids, status, risk, agencies; no names), from the encrypted index.

    Example: panelctl case list --status open --risk High --format csv
    """
    from panelctl.casework import cases

    rows = cases.list_cases(open_store(), status, risk, lead_agency, exploitation_type)
    columns = [
        ("id", "Case"),
        ("status", "Status"),
        ("risk", "Risk"),
        ("nominated", "Nominated"),
        ("lead_agency", "Lead agency"),
        ("lead_professional", "Lead professional"),
        ("exploitation_types", "Exploitation"),
        ("closed", "Closed"),
    ]
    for row in rows:
        if fmt is not Format.json:
            row["exploitation_types"] = ", ".join(row.get("exploitation_types") or [])
    emit(rows, columns, fmt)


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    fmt: Annotated[
        Format, Opt("--format", help="table (details and chronology) or json.")
    ] = Format.table,
) -> None:
    """Show a case's details and its chronology: nomination, assessments, meetings,
    actions, missing episodes and flags.

    Example: panelctl case show C-0042
    """
    from datetime import timedelta

    from panelctl.base.dates import for_display, today
    from panelctl.casework import cases
    from panelctl.meetings.agenda import panel_risk

    store = open_store()
    case = cases.get_case(store, case_id)
    events = cases.chronology(store, case_id)
    if fmt is Format.json:
        import json

        json.dump({"case": case, "chronology": events}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    lines = [f"{case_id}  {case['status']}  risk {case.get('risk') or 'not assessed'}"]
    if case.get("kind") == "perpetrator":
        lines.append(f"Perpetrator referral of {case['person']}")
    else:
        child = case["child"]
        lines.append(
            f"Child: {child['name']}"
            + (f", born {for_display(child['dob'])}" if child.get("dob") else "")
        )
    if case.get("age_reason"):
        lines.append(f"Why a young adult is nominated: {case['age_reason']}")
    if case.get("assessed"):
        lines.append(f"Last risk assessment: {for_display(case['assessed'])}")
    agreed = panel_risk(store, case_id, today() + timedelta(days=1))
    if agreed:  # the panel's own level, beside the assessment and never counted as one
        lines.append(
            f"Risk agreed by the panel: {agreed['level']} ({agreed['meeting']}, "
            f"{for_display(agreed['date'])})"
        )
    for label, key in (
        ("Lead professional", "lead_professional"),
        ("Team", "team"),
        ("Referring agency", "referring_agency"),
        ("Nature of concern", "concern"),
    ):
        if case.get(key):
            lines.append(f"{label}: {case[key]}")
    typer.echo("\n".join(lines))
    emit(
        [{**e, "date": for_display(e["date"])} for e in events],
        [("date", "Date"), ("what", "What"), ("ref", "Record")],
        Format.table,
        title="Chronology",
    )


@case_app.command("update")
def case_update(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    lead_professional: Annotated[str | None, Opt()] = None,
    team: Annotated[str | None, Opt()] = None,
    team_manager: Annotated[str | None, Opt()] = None,
    lead_agency: Annotated[str | None, Opt()] = None,
    concern: Annotated[str | None, Opt()] = None,
    consequences: Annotated[str | None, Opt()] = None,
    child_views: Annotated[str | None, Opt()] = None,
    carer_views: Annotated[str | None, Opt()] = None,
    school: Annotated[str | None, Opt()] = None,
    review_due: Annotated[str | None, Opt(help="A review date the chair set.")] = None,
    as_of: Annotated[str | None, Opt("--date")] = None,
) -> None:
    """Change a case's details (risk changes come from `panelctl rfm add`).

    Example: panelctl case update C-0042 --lead-professional "Jo Worker" --team "Adolescent Team"
    """
    from panelctl.base.dates import parse_date
    from panelctl.casework import cases

    changes = {
        k: v
        for k, v in {
            "lead_professional": lead_professional,
            "team": team,
            "team_manager": team_manager,
            "lead_agency": lead_agency,
            "concern": concern,
            "consequences": consequences,
            "child_views": child_views,
            "carer_views": carer_views,
            "child.school": school,
            "review_due": parse_date(review_due, "review_due", "--review-due") if review_due else None,
        }.items()
        if v is not None
    }
    if not cases.update_case(open_store(), case_id, changes, as_of_day(as_of, "--date")):
        say(f"{case_id} already had those details; nothing changed.")
    else:
        fields = ", ".join(k.replace("child.", "").replace("_", " ") for k in changes)
        say(f"{case_id} updated: {fields}.")  # the fields, never their values


@case_app.command("close")
def case_close(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    reason: Annotated[str, Opt(help="Why: e.g. risk reduced and normal management in place.")],
    agreed_by: Annotated[
        TextList, Opt(help="An agency that agrees the risk is reduced or removed; repeat.")
    ] = None,
    open_actions: Annotated[
        str | None,
        Opt("--actions", help="The case's open actions: close (cancel them) or carry them on."),
    ] = None,
    actions_reason: Annotated[
        str | None, Opt(help="Why the open actions are closed or carried.")
    ] = None,
    as_of: Annotated[str | None, Opt("--date")] = None,
) -> None:
    """Close a case, recording the reason and the agencies that agreed. Under a profile
    where every core agency must agree (MACSE), the agencies still to agree are named.
    Open actions on the case are listed; close or carry them with --actions and a reason.

    Example: panelctl case close C-0042 --reason "Risk reduced" --agreed-by Police --agreed-by "Children's Services" --actions carry --actions-reason "Support continues"
    """
    from panelctl.casework import cases

    closure = cases.Closure(reason, list(agreed_by or []), open_actions, actions_reason)
    settled = cases.close_case(open_store(), case_id, closure, as_of_day(as_of, "--date"))
    done = {"close": "closed with it", "carry": "carried on"}.get(open_actions or "", "")
    extra = f"; open actions {done}: {', '.join(settled)}" if settled else ""
    say(f"{case_id} closed{extra}.")


@case_app.command("reopen")
def case_reopen(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    as_of: Annotated[str | None, Opt("--date")] = None,
) -> None:
    """Reopen a closed case.

    Example: panelctl case reopen C-0042
    """
    from panelctl.casework import cases

    cases.reopen_case(open_store(), case_id, as_of_day(as_of, "--date"))
    say(f"{case_id} reopened.")


@case_app.command("missing")
def case_missing(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    start: Annotated[str, Opt("--from", help="When the child went missing: '14/03/2026 18:30'.")],
    end: Annotated[str | None, Opt("--to", help="When the child returned.")] = None,
    note: Annotated[str | None, Opt()] = None,
) -> None:
    """Record a missing episode (times in UK time).

    Example: panelctl case missing C-0042 --from "14/03/2026 18:30" --to "15/03/2026 09:10"
    """
    from panelctl.casework import cases

    cases.add_missing(open_store(), case_id, start, end, note)
    say(f"Missing episode recorded on {case_id}.")


@case_app.command("flag")
def case_flag(
    case_id: Annotated[str, typer.Argument(metavar="CASE")],
    flag: Annotated[str, Opt(help="What to watch for.")],
    owner: Annotated[str, Opt(help="Who owns the flag.")],
    review: Annotated[str, Opt(help="When to review it.")],
    as_of: Annotated[str | None, Opt("--date")] = None,
) -> None:
    """Add a flag with an owner and a review date.

    Example: panelctl case flag C-0042 --flag "Contact with older males" --owner "Jo Worker" --review 01/04/2026
    """
    from panelctl.casework import cases

    cases.add_flag(open_store(), case_id, flag, owner, review, as_of_day(as_of, "--date"))
    say(f"Flag added to {case_id}.")
