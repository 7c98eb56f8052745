"""Working as a team: commands that move a store between clones (`clone`; `sync` later)."""

from pathlib import Path
from typing import Annotated

import typer

from panelctl.base.errors import ExitCode
from panelctl.cli.common import options
from panelctl.cli.output import say


def clone(
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            help="The shared store: an ssh, https, git or file address, or a folder's path.",
        ),
    ],
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR", help="The new clone's folder (default: named after the address)."
        ),
    ] = None,
) -> None:
    """Make your own clone of a panel store from its shared git remote: clone it, install
    the diff driver and the plaintext guard, check the whole history (which pins who
    created the store: compare the key shown with your coordinator, as with SSH), and build
    the query index. A clone whose history fails the check is removed and each problem is
    printed (exit 1). If you are not yet a reader, it says so and prints your recipient to
    give to the coordinator.

    Example: panelctl clone git@git.example.gov.uk:panels/stoke-mace.git ~/panels/stoke-mace
    """
    from panelctl.crypto import sshsig
    from panelctl.crypto.identity import load_identity
    from panelctl.panel.clone import clone_store, shown

    cloned = clone_store(url, directory, load_identity(options().identity))
    if cloned.problems:
        for problem in cloned.problems:
            typer.echo(str(problem))
        say(
            f"panelctl: the history of {shown(url)} fails its check (above), so the clone was "
            "removed and nothing of it kept; tell your coordinator."
        )
        raise typer.Exit(int(ExitCode.PROBLEMS_FOUND))
    who = cloned.creator_name or "the holder of the key that signed its first commit"
    if cloned.creator_agency:
        who += f" ({cloned.creator_agency})"
    say(f"Cloned the store into {cloned.root}.")
    say(
        f"It was created by {who}, signing key {cloned.fingerprint}\n"
        f"  ({sshsig.public_line(cloned.creator_key)}).\n"
        "This is the trust-on-first-use point: from now on this clone trusts that key as the "
        "store's creator, as SSH trusts a server's key the first time it connects. Check the "
        "fingerprint with your coordinator (by phone or in person) before you rely on the store."
    )
    if cloned.me is None:
        say(
            "Your identity is not (yet) a reader of this store, so nothing in it can be read "
            "or checked yet. Give your coordinator your recipient (below) to add you with "
            "`panelctl access add`; then run `panelctl sync` in the clone to check its history "
            "and pick up your access."
        )
        typer.echo(cloned.recipient)
        return
    plural = "" if cloned.records == 1 else "s"
    say(
        f"You are a reader: {cloned.me.role} ({cloned.me.agency}). History checked; query "
        f"index built ({cloned.records} record{plural})."
    )
