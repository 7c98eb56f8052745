"""`panelctl profile`: the built-in panel profiles and a store's effective settings."""

import sys
from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import Format, emit, say

profile_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Panel profiles and settings.",
)


@profile_app.command("list")
def profile_list(
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List the built-in panel profiles.

    Example: panelctl profile list
    """
    from panelctl.model import profiles

    rows = []
    for name in profiles.names():
        profile = profiles.load(name)
        rows.append(
            {
                "name": name,
                "title": profile["title"],
                "area": profile["area"],
                "risk_tool": profile["risk_tool"],
                "frequency": profile["meetings"]["frequency"],
            }
        )
    emit(
        rows,
        [
            ("name", "Profile"),
            ("title", "Panel"),
            ("area", "Area"),
            ("risk_tool", "Risk tool"),
            ("frequency", "Meets"),
        ],
        fmt,
    )


@profile_app.command("show")
def profile_show(
    name: Annotated[
        str | None,
        typer.Argument(help="A built-in profile; default: this store's effective settings."),
    ] = None,
) -> None:
    """Print a built-in profile, or (with no name) this store's effective settings: its
    profile with the store's own overrides applied.

    Example: panelctl profile show macse
    """
    from panelctl.base import yamlio
    from panelctl.model import profiles

    settings = profiles.load(name) if name else open_store(identity=False).profile
    sys.stdout.write(yamlio.dump(settings).decode("utf-8"))


settings_app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    help="The store's settings (panelctl.yaml), own profile, risk tools and templates: they "
    "take effect only once a coordinator commits them here, signed.",
    no_args_is_help=True,
)


@settings_app.callback()
def settings_group() -> None:
    """The store's settings, own profile, risk tools and templates."""


@settings_app.command("commit")
def settings_commit(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and list the changed files; commit nothing.")
    ] = False,
) -> None:
    """Check and commit your edits to panelctl.yaml, .panelctl/profile.yaml,
    .panelctl/risktools/ and templates/ in one signed commit (coordinators only).

    Until they are committed this way, panelctl refuses to run with them (an edit by hand,
    or one committed with plain git, is not signed by a coordinator).

    Example: panelctl settings commit --dry-run
    """
    from panelctl.panel.settings import commit_settings

    changed = commit_settings(open_store(), dry_run=dry_run)
    if not changed:
        say("No settings, risk tool or template has changed; nothing was committed.")
    elif dry_run:
        say(f"Would commit {', '.join(changed)}. Nothing was written.")
    else:
        say(f"Committed {', '.join(changed)} (one signed commit).")


def migrate(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Say how many records of each type would change; write nothing."
        ),
    ] = False,
) -> None:
    """Upgrade every record written by an older panelctl to this panelctl's format, and raise
    the store's format in panelctl.yaml, in one signed commit (coordinators only). Clones
    still on an older panelctl are then told which version they need.

    Example: panelctl migrate --dry-run
    """
    from panelctl.store.migrate import migrate as run_migrate

    plan = run_migrate(open_store(), dry_run=dry_run)
    if plan.nothing_to_do:
        say(
            f"The store and every record are at this panelctl's format ({plan.store_to}); nothing to do."
        )
        return
    parts = [f"{n} {name} record{'s' if n != 1 else ''}" for name, n in plan.changed.items()]
    if plan.store_from < plan.store_to:
        parts.append(f"the store's format from {plan.store_from} to {plan.store_to}")
    if dry_run:
        say(f"Would upgrade {', '.join(parts)}. Nothing was written.")
    else:
        say(f"Upgraded {', '.join(parts)} (one signed commit).")
