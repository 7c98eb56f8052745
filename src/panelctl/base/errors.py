"""One error tree for panelctl, and the exit codes it maps to.

Every error's message is one plain sentence that names what is wrong and where (a path,
a record id or a field, never a child's name) and, where there is one, the fix. The CLI
has one handler that prints the message and exits with the error's code; the README lists
the codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: ``verify`` found problems, or ``--check`` found a non-empty list.
    PROBLEMS_FOUND = 1
    #: Wrong command-line usage (Typer's own code).
    USAGE = 2
    NOT_A_STORE = 3
    IDENTITY = 4
    WRONG_PASSPHRASE = 5
    NOT_A_READER = 6
    TAMPERED = 7
    MISPLACED = 8
    INVALID_RECORD = 9
    NOT_FOUND = 10
    NOT_ALLOWED = 11
    LOCKED = 12
    NO_TERMINAL = 13
    GIT = 14
    INVALID_INPUT = 15
    #: ``remind``: the mail server could not be reached, refused the login, or dropped the
    #: connection (mails it had accepted before that are recorded as sent).
    MAIL = 16
    #: ``remind``: some reminders were not sent (a recipient outside the mail allowlist, or
    #: refused by the server); the rest were sent.
    MAIL_REFUSED = 17
    #: Output could not be written: standard output closed or a broken pipe, a full disk, a
    #: read-only folder, or characters standard output's encoding cannot show.
    WRITE_FAILED = 18
    #: A change to the store could not be saved for want of space (a full disk or quota, or
    #: a file size limit); the store is left as it was.
    NO_SPACE = 19
    #: The store has commits this clone has not verified (made outside panelctl, e.g. by
    #: `git pull`): run `panelctl verify`.
    UNVERIFIED = 20
    #: The store, or one of its records, has a format newer than this panelctl reads:
    #: install the panelctl version named (nothing was read or written).
    NEEDS_NEWER = 21
    #: A merge, rebase, cherry-pick or revert is unfinished in the store, or a sync is under
    #: way: finish it with `panelctl sync --continue` or go back with `--abort`.
    MID_SYNC = 22
    #: `sync` took nothing: the remote's new commits do not verify, or this clone's own
    #: commits cannot be put on top of them; the clone is as it was.
    SYNC_REFUSED = 23
    #: The record is about a case that was erased (`panelctl erase`): its key is gone, so
    #: nothing of it can be read again; or the case is not erased because it cannot be.
    ERASED = 24
    INTERNAL = 70
    INTERRUPTED = 130


class PanelctlError(Exception):
    """Base of every error panelctl raises on purpose.

    ``field`` names the input field the error is about (e.g. ``reason``, ``due``), so that a
    caller can point at it in its own terms: the CLI names the matching option (``--reason``);
    a script can name its own key. The message itself names fields, never options.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class NotAStoreError(PanelctlError):
    exit_code = ExitCode.NOT_A_STORE


class IdentityError(PanelctlError):
    """The identity file is missing, unreadable, malformed or too open."""

    exit_code = ExitCode.IDENTITY


class WrongPassphraseError(IdentityError):
    exit_code = ExitCode.WRONG_PASSPHRASE


class UsageError(PanelctlError):
    """The command cannot run as given: an option it needs here is missing (e.g. a command
    that asks questions, run without a terminal and without its answers file)."""

    exit_code = ExitCode.USAGE


class NoTerminalError(PanelctlError):
    """A passphrase or answer is needed and there is no terminal to ask on."""

    exit_code = ExitCode.NO_TERMINAL


class NotAReaderError(PanelctlError):
    exit_code = ExitCode.NOT_A_READER


class UnverifiedError(PanelctlError):
    """The store's history holds commits this clone has not checked."""

    exit_code = ExitCode.UNVERIFIED


class SyncRefusedError(PanelctlError):
    """`sync` took nothing from the remote (see ExitCode.SYNC_REFUSED)."""

    exit_code = ExitCode.SYNC_REFUSED


class NeedsNewerError(PanelctlError):
    """The store's settings or a record carry a format number above what this panelctl
    knows: a newer panelctl wrote them (see :mod:`panelctl.model.formats`)."""

    exit_code = ExitCode.NEEDS_NEWER


class MidSyncError(PanelctlError):
    """The store is in the middle of a sync: git has an unfinished merge or rebase in it."""

    exit_code = ExitCode.MID_SYNC


class TamperedError(PanelctlError):
    """A file fails authentication: changed, truncated or extended."""

    exit_code = ExitCode.TAMPERED


class ErasedError(PanelctlError):
    """A record sealed under the key of a case that was erased (or not yet synced here)."""

    exit_code = ExitCode.ERASED

    def __init__(self, message: str, field: str | None = None, cases: list[str] | None = None):
        super().__init__(message, field)
        self.cases = list(cases or [])


class MisplacedError(TamperedError):
    """An intact encrypted file that belongs at another path or in another store."""

    exit_code = ExitCode.MISPLACED


class InvalidRecordError(PanelctlError):
    exit_code = ExitCode.INVALID_RECORD


class NotFoundError(PanelctlError):
    exit_code = ExitCode.NOT_FOUND


class NotAllowedError(PanelctlError):
    exit_code = ExitCode.NOT_ALLOWED


class LockedError(PanelctlError):
    exit_code = ExitCode.LOCKED


class GitError(PanelctlError):
    exit_code = ExitCode.GIT


class InvalidInputError(PanelctlError):
    """A value given on the command line or in an input file is not usable."""

    exit_code = ExitCode.INVALID_INPUT


class MailError(PanelctlError):
    """The mail server is down, refused the login, or dropped the connection."""

    exit_code = ExitCode.MAIL


class WriteFailedError(PanelctlError):
    """A folder panelctl must write into is read-only (or not the user's), or a write failed
    for want of space."""

    exit_code = ExitCode.WRITE_FAILED


class NoSpaceError(PanelctlError):
    """A change to the store could not be saved: no space left (disk, quota or file size
    limit). Raised after the change was rolled back."""

    exit_code = ExitCode.NO_SPACE


class MailRefusedError(PanelctlError):
    """Some reminders went to nobody: an address outside the allowlist, or refused by the server."""

    exit_code = ExitCode.MAIL_REFUSED
