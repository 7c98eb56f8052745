"""`panelctl person`, `panelctl location` and `panelctl link`: persons and places of concern."""

from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import Format, emit, say, show_one

person_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Persons of concern and organised crime groups.",
)
location_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Locations of concern: addresses, areas, schools, venues, hotspots.",
)

FORMAT = Annotated[Format, typer.Option("--format", help="table, json or csv.")]
SHOW_FORMAT = Annotated[Format, typer.Option("--format", help="table or json.")]
POLICE_ONLY = Annotated[
    bool, typer.Option("--police-only", help="Mark it as police-only intelligence.")
]
RESTRICTED_TO = Annotated[
    str | None,
    typer.Option(
        "--restricted-to",
        metavar="GROUP",
        help="Seal its details to this group (e.g. police); other readers see only a marker.",
    ),
]
MANY = list[str] | None


def _police_only_note(police_only: bool, restricted_to: str | None) -> None:
    if police_only and not restricted_to:
        say(
            "Note: --police-only is a label; every reader of the store can still read it. "
            "To make it readable to police readers only, use --restricted-to police."
        )
LINK_COLUMNS = [
    ("id", "Link"),
    ("with", "With"),
    ("type", "Type"),
    ("nature", "Nature"),
    ("source", "Source"),
    ("date", "Date"),
    ("police_only", "Police only"),
]


def _show(record: dict, links: list[dict], fmt: Format) -> None:
    """One record's fields, then its links; as text or as one JSON object."""
    if show_one({**record, "links": links}, fmt):
        return
    from panelctl.base.dates import for_display

    if record.get("police_only"):
        typer.echo("POLICE-ONLY INTELLIGENCE")
    for key, value in record.items():
        if key == "police_only":
            continue
        shown = "; ".join(value) if isinstance(value, list) else for_display(value)
        typer.echo(f"{key.replace('_', ' ')}: {shown}")
    if links:
        typer.echo("")
        emit(links, LINK_COLUMNS, Format.table, title="Links")
    else:
        typer.echo("links: none")


def _restricted_items(store, record_id: str, fmt: Format) -> None:
    """After a record shown as a table: the restricted items about it, and which of them
    this reader can open (`panelctl restricted show`)."""
    if fmt is not Format.table:
        return
    from panelctl.casework.restricted import list_items

    for item in list_items(store, record_id):
        can = "you can read it" if item["readable"] else "you are not in this group"
        typer.echo(f"restricted: {item['id']} (to {item['group']}; {can})")


# --- person ------------------------------------------------------------------------------


@person_app.command("add")
def person_add(
    kind: Annotated[str, typer.Option(help="person, or group (an organised crime group).")],
    name: Annotated[MANY, typer.Option(help="A name (repeat for aliases).")] = None,
    nickname: Annotated[MANY, typer.Option(help="A nickname or street name (repeatable).")] = None,
    description: Annotated[str | None, typer.Option(help="What they look like, do.")] = None,
    vehicle: Annotated[MANY, typer.Option(help="A vehicle, e.g. 'silver Astra AB12 CDE'.")] = None,
    phone: Annotated[MANY, typer.Option(help="A phone number (repeatable).")] = None,
    username: Annotated[MANY, typer.Option(help="An online username (repeatable).")] = None,
    police_only: POLICE_ONLY = False,
    restricted_to: RESTRICTED_TO = None,
) -> None:
    """Add a person of concern or an organised crime group and print its id.

    With --restricted-to GROUP their names, nicknames, description, vehicles, phones and
    usernames go into a restricted item only that group can read.

    Example: panelctl person add --kind person --name "Dax Ferrowby" --nickname Ferro --vehicle "black Golf" --restricted-to police
    """
    from panelctl.casework.people import add_person

    typer.echo(
        add_person(
            open_store(),
            kind,
            names=name,
            nicknames=nickname,
            description=description,
            vehicles=vehicle,
            phones=phone,
            usernames=username,
            police_only=police_only,
            restricted_to=restricted_to,
        )
    )
    _police_only_note(police_only, restricted_to)


@person_app.command("refer")
def person_refer(
    person_id: Annotated[str, typer.Argument(metavar="PERSON")],
    lead_agency: Annotated[
        str, typer.Option(help="The police agency leading the referral (it is listed first).")
    ],
    concern: Annotated[str | None, typer.Option(help="Why the person is referred.")] = None,
    date: Annotated[str | None, typer.Option(help="The referral's date (default today).")] = None,
) -> None:
    """Refer a person of concern to the panel as a perpetrator referral and print its case id.

    Led by the police; on the agenda after the victims' cases (where the profile says so);
    never reviewed as a child's case.

    Example: panelctl person refer P-0003 --lead-agency "Dyfed-Powys Police" --concern "links to three open cases"
    """
    from panelctl.casework.people import refer_perpetrator
    from panelctl.cli.common import as_of_day

    when = as_of_day(date, "--date")
    typer.echo(refer_perpetrator(open_store(), person_id, lead_agency, concern, when))


@person_app.command("list")
def person_list(fmt: FORMAT = Format.table) -> None:
    """List persons of concern by id, kind and number of links (names: person show).

    Example: panelctl person list --format json
    """
    from panelctl.casework.people import list_persons

    columns = [
        ("id", "Id"),
        ("kind", "Kind"),
        ("police_only", "Police only"),
        ("links", "Links"),
        ("added", "Added"),
    ]
    emit(list_persons(open_store()), columns, fmt)


@person_app.command("show")
def person_show(
    record_id: Annotated[str, typer.Argument(metavar="ID")], fmt: SHOW_FORMAT = Format.table
) -> None:
    """Show a person of concern, decrypted, with their links to cases and locations.

    Example: panelctl person show P-0001
    """
    from panelctl.casework.people import show

    store = open_store()
    _show(*show(store, record_id, "person"), fmt)
    _restricted_items(store, record_id, fmt)


# --- location ----------------------------------------------------------------------------


@location_app.command("add")
def location_add(
    kind: Annotated[
        str, typer.Option(help="address, area, school, venue, hotspot, safe-space or other.")
    ],
    name: Annotated[str, typer.Option(help="What the panel calls it.")],
    address: Annotated[str | None, typer.Option(help="Its address.")] = None,
    area: Annotated[str | None, typer.Option(help="The area or ward it is in.")] = None,
    description: Annotated[str | None, typer.Option(help="Why it is of concern.")] = None,
    police_only: POLICE_ONLY = False,
    restricted_to: RESTRICTED_TO = None,
) -> None:
    """Add a location of concern and print its id.

    With --restricted-to GROUP its name, address and description go into a restricted item
    only that group can read (its kind and area stay visible).

    Example: panelctl location add --kind hotspot --name "Bus station" --area Hanley
    """
    from panelctl.casework.people import add_location

    typer.echo(
        add_location(
            open_store(), kind, name, address, area, description, police_only,
            restricted_to=restricted_to,
        )
    )
    _police_only_note(police_only, restricted_to)


@location_app.command("list")
def location_list(fmt: FORMAT = Format.table) -> None:
    """List locations of concern by id, kind, area and number of links.

    Example: panelctl location list --format csv
    """
    from panelctl.casework.people import list_locations

    columns = [
        ("id", "Id"),
        ("kind", "Kind"),
        ("area", "Area"),
        ("police_only", "Police only"),
        ("links", "Links"),
        ("added", "Added"),
    ]
    emit(list_locations(open_store()), columns, fmt)


@location_app.command("show")
def location_show(
    record_id: Annotated[str, typer.Argument(metavar="ID")], fmt: SHOW_FORMAT = Format.table
) -> None:
    """Show a location of concern, decrypted, with its links to cases and persons.

    Example: panelctl location show L-0001
    """
    from panelctl.casework.people import show

    store = open_store()
    _show(*show(store, record_id, "location"), fmt)
    _restricted_items(store, record_id, fmt)


# --- link --------------------------------------------------------------------------------


def link(
    a: Annotated[str, typer.Argument(metavar="A", help="A case, person or location id.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Another case, person or location id.")],
    nature: Annotated[str, typer.Option(help="How they are linked, e.g. 'seen together'.")],
    source: Annotated[str, typer.Option(help="Where this comes from, e.g. 'police'.")],
    when: Annotated[
        str | None,
        typer.Option("--date", help="When, as 14/03/2026 or 2026-03-14 (default: today)."),
    ] = None,
    police_only: POLICE_ONLY = False,
    restricted_to: RESTRICTED_TO = None,
) -> None:
    """Link two of a case, a person of concern and a location, and print the link's id.

    With --restricted-to GROUP its source goes into a restricted item only that group can
    read.

    Example: panelctl link C-0042 P-0003 --nature "seen together" --source police --date 14/03/2026
    """
    from panelctl.base.dates import parse_date
    from panelctl.casework.people import add_link

    day = parse_date(when, "when", "--date") if when else None
    typer.echo(
        add_link(open_store(), a, b, nature, source, day, police_only, restricted_to=restricted_to)
    )
    _police_only_note(police_only, restricted_to)
