"""`panelctl remind`: reminder e-mails, for cron."""

from typing import Annotated

import typer

from panelctl.cli.common import as_of_day, open_store
from panelctl.cli.output import Format, emit, say


def remind(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run as of this day (default: today, UK time).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print who would get which reminder; send and record nothing."
        ),
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", help="For --dry-run: table, json or csv.")
    ] = Format.table,
) -> None:
    """Send today's reminder e-mails: overdue and soon-due actions to their owners, reviews
    and risk assessment refreshes to lead professionals, a digest to the coordinator.

    Mail goes only to addresses on the store's allowlist (settings: mail: in panelctl.yaml);
    subjects never name a child. Each mail sent is recorded, so a second run the same day
    sends nothing. Silent on success, never prompts: made for cron.

    Example: panelctl remind --dry-run --as-of 02/03/2026
    """
    from panelctl.base.errors import MailRefusedError
    from panelctl.notify.reminders import remind as run_remind

    day = as_of_day(as_of)
    outcome = run_remind(open_store(), day, dry_run=dry_run)
    if dry_run:
        _show(outcome.to_send, fmt)
    for refusal in outcome.refused:
        say(f"panelctl: {refusal.message}")
    for warning in outcome.warnings:
        say(f"panelctl: warning: {warning}")
    if outcome.failure is not None:
        raise outcome.failure
    if outcome.refused:
        count = len(outcome.refused)
        verb = "would not be" if dry_run else ("was not" if count == 1 else "were not")
        rest = "the others would be sent" if dry_run else "the others were sent"
        raise MailRefusedError(
            f"{count} reminder{'s' if count != 1 else ''} {verb} sent (see above); {rest}."
        )
    if not dry_run and _terminal():
        say(f"Sent {len(outcome.sent)} reminders; {len(outcome.skipped)} already sent today.")


def _show(mails, fmt: Format) -> None:
    """What would be sent: one block per mail on a terminal (ids in full), or rows."""
    if fmt is Format.table:
        blocks = [
            f"To:      {m.recipient} ({m.role})\nSubject: {m.subject}\nItems:   {' '.join(m.ids)}\n"
            for m in mails
        ]
        typer.echo("\n".join(blocks), nl=False) if blocks else say("Nothing to send.")
        return
    rows = [
        {
            "recipient": m.recipient,
            "role": m.role,
            "kind": m.kind,
            "subject": m.subject,
            "items": m.ids if fmt is Format.json else " ".join(m.ids),
        }
        for m in mails
    ]
    emit(rows, [(k, k) for k in ("recipient", "role", "kind", "subject", "items")], fmt)


def _terminal() -> bool:
    import sys

    return sys.stderr.isatty()
