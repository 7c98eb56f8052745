"""What every command shares: the global options and opening the store.

The global options live on the root command's context (``ctx.obj``), set by the main
callback on every run, so two runs in one process (tests, the demo) never share them.
"""

from __future__ import annotations

from dataclasses import dataclass

from typer.main import get_current_context


@dataclass
class Options:
    """The global options of the running command."""

    store: str | None = None
    identity: str | None = None
    debug: bool = False


def options() -> Options:
    """The global options of the command being run (defaults outside a command)."""
    ctx = get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Options) else Options()


def open_store(*, identity: bool = True):
    """The store named by --store (or found), unlocked with --identity when asked."""
    from panelctl.crypto.identity import load_identity
    from panelctl.store.core import Store, find_root

    given = options()
    root = find_root(given.store)
    _name_disclosures()
    return Store(root, load_identity(given.identity) if identity else None)


def _name_disclosures() -> None:
    """Disclosures made from here on name this command (its words, never option values)."""
    from panelctl.store.disclosures import set_command

    ctx = get_current_context(silent=True)
    if ctx is not None:
        set_command("panelctl " + " ".join(ctx.command_path.split()[1:]))


def as_of_day(as_of: str | None, option: str = "--as-of"):
    """The day a command runs as: the option's date, or today in the UK."""
    from panelctl.base.dates import parse_date, today

    return parse_date(as_of, "as_of", option) if as_of else today()
