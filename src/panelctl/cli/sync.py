"""`panelctl sync`: take the panel's shared repository's commits, put yours on top, push."""

from typing import Annotated

import typer

from panelctl.cli.common import open_store
from panelctl.cli.output import say


def sync(
    remote: Annotated[str, typer.Option("--remote", help="The shared repository's name.")] = "origin",
    no_push: Annotated[
        bool, typer.Option("--no-push", help="Take the remote's commits; push nothing.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Fetch and verify; say what would happen; change nothing."),
    ] = False,
    abort: Annotated[
        bool,
        typer.Option("--abort", help="Go back to before an unfinished sync or git merge/rebase."),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option("--continue", help="Finish an unfinished sync (it is started again)."),
    ] = False,
) -> None:
    """Fetch the shared repository, verify every new commit (signatures, roles, key epochs:
    one that fails and nothing is taken, exit 23), put your own commits on top of the
    remote's (records merged field by field, clashing new ids renumbered, disagreements kept
    as conflicts: see `panelctl conflicts`), and push. Silent when there is nothing to do:
    made for cron, before and after `remind`.

    Example: panelctl sync && panelctl remind && panelctl sync
    """
    from panelctl.panel import sync as syncing

    store = open_store()
    store.allow_mid_sync = True  # sync is the way out of an unfinished sync or git merge
    if abort:
        if not syncing.abort(store):
            say("No sync or git merge was under way; nothing to undo.")
        return
    report = syncing.sync(
        store, remote=remote, push=not no_push, dry_run=dry_run, resume=resume
    )
    _tell(report, resume)


def _tell(report, resume: bool) -> None:
    for note in report.notes:
        say(note)
    for old, new in report.renumbered.items():
        say(
            f"Your {old} is now {new}: the remote had taken {old} meanwhile. Papers already "
            f"written with {old} are yours to make again."
        )
    for record_id, field in report.conflicts:
        say(f"Conflict kept in {record_id}, field {field}: see `panelctl conflicts`.")
    if report.dry_run:
        say(
            f"Would take {report.fetched} commit(s) from the remote and put "
            f"{report.replayed} of yours on top; nothing was changed."
        )
    elif report.fetched and report.replayed and not report.pushed:
        say(f"Took {report.fetched} commit(s); {report.replayed} of yours are on top, not pushed.")
