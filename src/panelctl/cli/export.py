"""`panelctl export subject`: a subject access bundle of everything held about one child."""

from pathlib import Path
from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import say

export_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Export personal data out of the store (subject access).",
)
Opt = typer.Option


@export_app.callback()
def export_group() -> None:
    """Export personal data out of the store, to a private folder (subject access).

    Example: panelctl export subject C-0042 --out ~/sar/C-0042
    """


@export_app.command("subject")
def export_subject(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="The child's case, e.g. C-0042.")],
    out: Annotated[
        Path,
        Opt(help="The folder to write the bundle into (made private, 0700, if missing)."),
    ],
    unredacted: Annotated[
        bool,
        Opt(
            "--unredacted",
            help="Keep third parties' names in (coordinators only): the bundle then says on "
            "every page that it must be redacted by hand before release.",
        ),
    ] = False,
    formats: Annotated[
        str,
        Opt(
            "--formats",
            help="Comma-separated: html, pdf (password-protected), json.",
        ),
    ] = "html,json",
    overwrite: Annotated[
        bool, Opt("--overwrite", help="Replace a bundle of the same case already in --out.")
    ] = False,
    password_file: Annotated[
        Path | None,
        Opt(
            help="With pdf: read the PDF password from this file (yours, chmod 600, one line, "
            "outside the store) instead of asking on the terminal."
        ),
    ] = None,
    as_of: Annotated[
        str | None, Opt("--as-of", help="The date the bundle is prepared on (default today).")
    ] = None,
) -> None:
    """Write everything the store holds about one child (the case, risk assessments,
    chronology, this case's part of each meeting's minutes, decisions, actions with their
    updates, links, reminders, and when each record last changed) as print-ready HTML,
    an encrypted PDF and JSON, each file 0600, named by the case id only.

    Third parties' names (persons of concern, other children) are redacted unless
    --unredacted. A coordinator or the chair may export; only a coordinator unredacted.
    An existing bundle in --out is refused unless --overwrite.

    Example: panelctl export subject C-0042 --out ~/sar/C-0042 --formats html,pdf,json
    """
    from panelctl.casework import subject
    from panelctl.cli.meetings import _pdf_password
    from panelctl.outputs.papers import ProtectedPdf

    asked = subject.check_formats(f.strip() for f in formats.split(",") if f.strip())
    prepared = as_of_day(as_of)
    store = open_store()
    subject.check_allowed(store, unredacted)  # before a password is asked for
    if "pdf" not in asked and password_file is not None:
        from panelctl.base.errors import InvalidInputError

        raise InvalidInputError("--password-file is for a PDF; ask for pdf too.")
    if "pdf" in asked:
        password = ProtectedPdf(_pdf_password(password_file, store.root))
        asked = tuple(password if f == "pdf" else f for f in asked)
    done = subject.export_subject(
        store,
        case_id,
        out,
        formats=asked,
        prepared=prepared,
        unredacted=unredacted,
        overwrite=overwrite,
    )
    state = "UNREDACTED: redact it by hand before release" if unredacted else "redacted"
    say(
        f"Wrote the subject access bundle of {case_id} ({state}, {len(done.records)} records) "
        f"to {out}: {', '.join(p.name for p in done.paths)}. The HTML and JSON are NOT "
        "encrypted (OFFICIAL-SENSITIVE): read the bundle before release, and delete it when "
        "the request is answered."
    )
