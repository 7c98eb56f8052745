"""`panelctl erase`: a closed case, and everything only it refers to, gone for good."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import say

Opt = typer.Option


def _listing(plan) -> str:
    parts = [f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in plan.counts.items()]
    return ", ".join(parts)


def erase(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The closed case to erase.")],
    reason: Annotated[
        str,
        Opt("--reason", help="Why, in a few words and without names (kept in the erasure record)."),
    ],
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Only list what would be erased and changed.")
    ] = False,
    yes: Annotated[
        bool, Opt("--yes", help="Do not ask to confirm (for a script that has checked the list).")
    ] = False,
    as_of: Annotated[
        str | None, Opt("--as-of", help="The day the retention rule is judged on (default today).")
    ] = None,
) -> None:
    """Erase a closed case (coordinators): the case, its assessments, actions, decisions,
    links and reminders are deleted, it is taken out of the meetings that discussed it, and
    its keys are destroyed, so no commit in any clone that syncs can be read for it again.
    A signed erasure record (ids, counts, date, rule, who; no names) is kept.

    Example: panelctl erase C-0042 --reason "retention period ended" --dry-run
    """
    from panelctl.base.errors import InvalidInputError, NoTerminalError
    from panelctl.casework import erase as erasing

    store = open_store()
    day = as_of_day(as_of)
    plan = erasing.erase(store, case_id, reason, dry_run=True, as_of=day)
    changed = f"; taken out of {', '.join(plan.changed)}" if plan.changed else ""
    if dry_run:
        say(f"Dry run: erasing {plan.case} would delete {_listing(plan)}{changed}.")
        say(f"Rule: {plan.rule}.")
        for record_id in plan.ids:
            typer.echo(record_id)  # the list itself: data, on standard output
        _warn_unshredded(plan)
        return
    if not yes:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise NoTerminalError(
                "Erasing needs a confirmation and there is no terminal to ask on; check the "
                "list with --dry-run, then give --yes."
            )
        say(f"This deletes {_listing(plan)}{changed}, for good: it cannot be undone.")
        answer = typer.prompt(f"Type {plan.case} to erase it", default="", show_default=False)
        if answer.strip() != plan.case:
            raise InvalidInputError(f"Not confirmed; case {plan.case} was not erased.", "confirm")
    done = erasing.erase(store, case_id, reason, as_of=day)
    say(
        f"Erased case {done.case} ({done.tombstone}): {_listing(done)}{changed}. Its keys "
        "are gone from this clone; run `panelctl sync` to carry the erasure to the shared "
        "repository and every clone (then the server's administrator runs `git gc "
        "--prune=now`: see the README, Data protection)."
    )
    _warn_unshredded(done)


def _warn_unshredded(plan) -> None:
    if plan.unshredded:
        say(
            f"Warning: {plan.unshredded} earlier version(s) of these records were written "
            "before this store had case keys; they stay readable in history to anyone who "
            "could read the store then (see the README, Data protection)."
        )
