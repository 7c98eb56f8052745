"""The panelctl command. Each command opens the store and calls one library function.

Only typer, rich and the light panelctl modules are imported at start-up; the library
(cryptography, YAML, git) is imported inside the commands that need it, so `--help` and
cron runs start fast.
"""

import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from panelctl import _interrupt
from panelctl.base.errors import ExitCode, InvalidInputError, PanelctlError
from panelctl.cli import fastparams
from panelctl.cli.common import Options, open_store, options
from panelctl.cli.output import Format, emit, say

fastparams.install()  # option values without importing pydantic (see the module)

#: Commands whose modules are imported only when they run (start-up stays fast):
#: name -> (module, attribute: a Typer app or a command function, one-line help).
LAZY = {
    "nominate": ("cases", "nominate", "Nominate a child under the profile's entry rules."),
    "case": ("cases", "case_app", "Cases: list, show, update, close, missing episodes, flags."),
    "rfm": ("risk", "rfm_app", "Risk assessments with the panel's risk tool; bulk import."),
    "person": ("people", "person_app", "Persons of concern and organised crime groups."),
    "location": ("people", "location_app", "Locations of concern."),
    "link": ("people", "link", "Link two of a case, a person and a location."),
    "restricted": (
        "restricted",
        "restricted_app",
        "Items restricted to a group (e.g. police intelligence): add, list, show.",
    ),
    "agency": ("directory", "agency_app", "The panel's agencies."),
    "member": ("directory", "member_app", "The panel's members."),
    "profile": ("profiles", "profile_app", "Panel profiles and this store's settings."),
    "settings": (
        "profiles",
        "settings_app",
        "Commit edits to the settings, risk tools and templates (coordinators; signed).",
    ),
    "migrate": (
        "profiles",
        "migrate",
        "Upgrade every record and the store to this panelctl's format (coordinators; signed).",
    ),
    "meeting": ("meetings", "meeting_app", "Schedule, list, plan and run meetings."),
    "agenda": ("meetings", "agenda_app", "Build a meeting's agenda and papers."),
    "minutes": ("meetings", "minutes_app", "Render and approve minutes."),
    "decision": ("meetings", "decision_app", "Decisions for team managers and their deadlines."),
    "actions": (
        "followup",
        "actions_app",
        "The action log: list, overdue, update, done, reassign, extend.",
    ),
    "review": ("followup", "review_app", "Cases due for review and assessments due for refresh."),
    "retention": (
        "retention",
        "retention_app",
        "Closed cases past the profile's retention period.",
    ),
    "erase": (
        "erase",
        "erase",
        "Erase a closed case for good: its records, and its keys in every clone (coordinators).",
    ),
    "disclosures": (
        "disclosures",
        "disclosures_command",
        "The log of personal data written out of the store (papers, minutes, mail...).",
    ),
    "export": (
        "export",
        "export_app",
        "Export everything held about one child (subject access), redacted by default.",
    ),
    "remind": (
        "reminders",
        "remind",
        "Send reminder e-mails to action owners, lead professionals and the coordinator.",
    ),
    "report": (
        "reports",
        "report_app",
        "The panel data report (bi-monthly) and the annual review.",
    ),
    "sync": (
        "sync",
        "sync",
        "Take the shared repository's commits (verified), put yours on top, push.",
    ),
    "map": (
        "mapping",
        "map_command",
        "The picture of links between children, persons and locations.",
    ),
    "conflicts": (
        "conflicts",
        "conflicts_command",
        "Conflicts left by merging clones, by record id and field.",
    ),
    "resolve": ("conflicts", "resolve_command", "Settle one conflict (ours, theirs or a value)."),
    "clone": (
        "team",
        "clone",
        "Clone a panel store from its shared git remote, check its history, build the index.",
    ),
}


class PanelctlGroup(TyperGroup):
    """The one error handler: a PanelctlError becomes one sentence and its exit code.

    It also builds the :data:`LAZY` commands only when one of them is run or asked for.
    """

    def list_commands(self, ctx):
        return [*super().list_commands(ctx), *(name for name in LAZY if name not in self.commands)]

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in LAZY:
            self.commands[cmd_name] = _build_lazy(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is not None and command.hidden:
                continue
            short = command.get_short_help_str(formatter.width - 16) if command else LAZY[name][2]
            rows.append((name, short))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: typer.Context):
        quiet = _ctrl_c_raises()
        try:
            return self._invoke(ctx)
        finally:
            if quiet is not None:  # the command is over: nothing left to roll back
                signal.signal(signal.SIGINT, quiet)

    def _invoke(self, ctx: typer.Context):
        debug = bool(ctx.params.get("debug")) or os.environ.get("PANELCTL_DEBUG") == "1"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                try:
                    return super().invoke(ctx)
                finally:
                    for warning in caught:  # panelctl's own (e.g. git's index lagging a commit)
                        if type(warning.message).__module__.startswith("panelctl."):
                            _tell(f"panelctl: warning: {warning.message}")
                    sys.stdout.flush()  # here, so that a broken pipe is caught below
            except PanelctlError as error:
                if debug:
                    raise
                _tell(f"panelctl: {with_option(error)}")
                raise typer.Exit(int(error.exit_code)) from None
            except (KeyboardInterrupt, typer.Abort):
                _tell(
                    "panelctl: interrupted; nothing was half-written (any unfinished change was "
                    "rolled back)."
                )
                raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
            except (typer.Exit, typer.TyperException):
                raise
            except (OSError, UnicodeEncodeError) as error:
                if not debug and _store_without_space(error):
                    _tell(f"panelctl: {_store_without_space(error)}")
                    raise typer.Exit(int(ExitCode.NO_SPACE)) from None
                sentence = None if debug else output_failure(error)
                if sentence is None:
                    raise _internal(error, debug) from None
                _silence_stdout()
                _tell(f"panelctl: {sentence}")
                raise typer.Exit(int(ExitCode.WRITE_FAILED)) from None
            except Exception as error:  # a bug: no traceback (it may hold record data)
                raise _internal(error, debug) from None


def _ctrl_c_raises():
    """From here Ctrl-C raises KeyboardInterrupt, so that a write rolls back and the handler
    says so; until now (start-up, see panelctl._interrupt) it ended the run at once. Returns
    the start-up handler, to put back once the command is over; None if there was none."""
    import threading

    current = signal.getsignal(signal.SIGINT)
    if current is not _interrupt.interrupted_at_start:
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return current


def _internal(error: Exception, debug: bool) -> Exception:
    if debug:
        return error
    _tell(
        f"panelctl: unexpected internal error ({type(error).__name__}); nothing more is "
        "shown so that no record data reaches the screen. Run again with --debug to see it."
    )
    return typer.Exit(int(ExitCode.INTERNAL))


def _store_without_space(error: BaseException) -> str | None:
    """The sentence for a file (not standard output) that could not be written for want of
    space, met outside a store write's own handling (which says so itself)."""
    import errno

    if getattr(error, "errno", None) not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return None
    if not isinstance(getattr(error, "filename", None), str):
        return None  # standard output: see output_failure
    return (
        f"No space is left on the device that holds {error.filename} (or a file there "
        "reached its size limit); a change to the store is saved whole or not at all (see "
        "panelctl log): free some space and try again."
    )


def output_failure(error: BaseException) -> str | None:
    """The sentence for an error of the environment rather than of panelctl: standard output
    closed or a broken pipe, a full disk, a read-only folder, an encoding that cannot show
    the output. None for anything else (a bug)."""
    import errno

    if isinstance(error, UnicodeEncodeError):
        encoding = getattr(sys.stdout, "encoding", None) or error.encoding
        return (
            f"standard output's encoding ({encoding}) cannot show some of the output, so it "
            "is incomplete; set PYTHONIOENCODING=utf-8 (or a UTF-8 locale) and run it again."
        )
    code = getattr(error, "errno", None)
    where = f" ({error.filename})" if isinstance(getattr(error, "filename", None), str) else ""
    if isinstance(error, BrokenPipeError) or code in (errno.EPIPE, errno.EBADF):
        return (
            "standard output was closed before everything was written (a closed or broken "
            "pipe), so the output is incomplete; a change to the store is saved whole or not "
            "at all (see panelctl log)."
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space is left on the device{where}, so the output is incomplete; a change "
            "to the store is saved whole or not at all (see panelctl log): free some space "
            "and run it again."
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"a file could not be written{where}: the folder is read-only or not yours, so "
            "nothing more was written; a change to the store is saved whole or not at all "
            "(see panelctl log)."
        )
    return None


def _tell(message: str) -> None:
    """A message on stderr without flushing stdout first (it may be what failed)."""
    try:
        sys.stderr.write(message.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # no stderr either: the exit code is all there is


def _silence_stdout() -> None:
    """Point a failed standard output at /dev/null, so that nothing more (Python's own flush
    at exit included) fails on it or prints a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's runner): nothing to silence


class _ClosedOutput:
    """Standard output when its descriptor was closed (``>&-`` under cron): writing to it is
    an error the one handler reports, not a crash on ``None``."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, _text: str) -> int:
        import errno

        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise ValueError("standard output is closed")


def _usable_std_streams() -> None:
    """Python sets a closed standard stream to None: stdin becomes empty (as under cron),
    stdout an output that reports itself closed, stderr /dev/null."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the whole run
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def with_option(error: PanelctlError) -> str:
    """The error's message, pointing at the option of the running command that gave the
    field it is about (the library names fields; the command line knows their options)."""
    import traceback

    message = error.message
    if not error.field:
        return message
    options = {}
    for frame, _line in traceback.walk_tb(error.__traceback__):  # outermost command first
        ctx = frame.f_locals.get("ctx")  # a click context (typer's own Context subclasses it)
        for param in getattr(getattr(ctx, "command", None), "params", None) or []:
            if param.param_type_name == "option" and param.opts:
                options[param.name] = max(param.opts, key=len)
    option = options.get(error.field)
    if option is None or option in message:
        return message
    end = len(message.rstrip(".?!"))
    return f"{message[:end]} ({option}){message[end:]}"


app = typer.Typer(
    cls=PanelctlGroup,
    name="panelctl",
    help="Encrypted, git-versioned records for multi-agency child exploitation panels.\n\n"
    "Example: panelctl --store ~/panels/stoke-mace verify",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    # Plain help: Typer's rich help imports rich.markdown and markdown-it (about 50 ms),
    # more than panelctl's whole start-up budget.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
identity_app = typer.Typer(
    rich_markup_mode=None,
    help="Create and show identities (your key to stores).",
    no_args_is_help=True,
)
access_app = typer.Typer(
    rich_markup_mode=None, help="Who may read this store.", no_args_is_help=True
)
record_app = typer.Typer(
    rich_markup_mode=None, help="List, show and edit records of any type.", no_args_is_help=True
)
app.add_typer(identity_app, name="identity")
app.add_typer(access_app, name="access")
group_app = typer.Typer(
    rich_markup_mode=None,
    help="Restricted groups: who may read the items restricted to each.",
    no_args_is_help=True,
)
access_app.add_typer(group_app, name="group")
app.add_typer(record_app, name="record")


def _build_lazy(name: str):
    from importlib import import_module

    module, attribute, _help = LAZY[name]
    target = getattr(import_module(f"panelctl.cli.{module}"), attribute)
    if not isinstance(target, typer.Typer):  # a single command function
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


def _print_version(value: bool) -> None:
    if value:
        from panelctl import __version__

        typer.echo(f"panelctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="The store folder.", envvar="PANELCTL_STORE", show_envvar=True
        ),
    ] = None,
    identity: Annotated[
        str | None,
        typer.Option(
            "--identity", help="Your identity file.", envvar="PANELCTL_IDENTITY", show_envvar=True
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and stop."
        ),
    ] = False,
) -> None:
    os.umask(0o077)
    ctx.obj = Options(store, identity, debug)


# --- identity ----------------------------------------------------------------------------


@identity_app.command("new")
def identity_new(
    name: Annotated[str, typer.Option(help="Your name, as it will appear in the store's history.")],
    email: Annotated[str, typer.Option(help="Your secure e-mail address.")] = "",
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: your config folder).")
    ] = None,
    no_passphrase: Annotated[
        bool, typer.Option("--no-passphrase", help="Unprotected, for a cron job; needs --out.")
    ] = False,
) -> None:
    """Create an identity and print its recipient (give that to your coordinator).

    Example: panelctl identity new --name "Sam Coordinator" --email sam@council.gov.uk
    """
    from panelctl.base import config
    from panelctl.base.fsutil import ensure_private_dir
    from panelctl.crypto.identity import create_identity_file, read_passphrase

    if no_passphrase and out is None:
        raise InvalidInputError(
            "An identity without a passphrase must be written to a path you choose: give --out."
        )
    path = out or config.default_identity_path()
    if out is None:
        ensure_private_dir(config.config_dir())
    if os.path.lexists(path):  # never replaced, whatever it is: a lost key is lost access
        raise InvalidInputError(
            f"Identity file {path} already exists; choose another --out or remove it first."
        )
    if out is not None:  # the same refusals as every other --out (links, read-only folders)
        from panelctl.outputs.papers import check_destination

        check_destination(out.parent, [out.name], plain_names=False)
    passphrase = None if no_passphrase else read_passphrase(confirm=True, prompt="New passphrase: ")
    created = create_identity_file(path, name, email, passphrase)
    say(f"Identity written to {path} (0600). Your recipient, to give to a coordinator:")
    typer.echo(created.recipient)


@identity_app.command("show")
def identity_show() -> None:
    """Show the identity in use: its name, recipient (both its keys), signing key and file.

    An identity made before commits were signed is unlocked once (its passphrase is asked
    for) to work out its signing key.

    Example: panelctl identity show
    """
    from panelctl.base import config
    from panelctl.crypto import sshsig
    from panelctl.crypto.identity import decode_signing_key, read_identity_file

    found = read_identity_file(config.identity_path(options().identity))
    recipient = found.recipient
    if decode_signing_key(recipient) is None:
        recipient = found.unlock().recipient
    typer.echo(f"name:      {found.name}")
    typer.echo(f"recipient: {recipient}")
    signing = sshsig.public_line(decode_signing_key(recipient) or b"", found.name)
    typer.echo(f"signing:   {signing}")
    typer.echo(f"file:      {found.path}")
    typer.echo(f"protected: {'passphrase' if found.protected else 'none (file permissions only)'}")


# --- store -------------------------------------------------------------------------------


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="The new store's folder.")],
    profile: Annotated[
        str, typer.Option(help="The panel's profile: cse-marac, mace, cse-panel, mcse or macse.")
    ],
    name: Annotated[str, typer.Option(help="The panel's name.")],
    agency: Annotated[str, typer.Option(help='Your agency, e.g. "Stoke-on-Trent City Council".')],
    seed: Annotated[
        bool | None,
        typer.Option(
            "--seed-agencies/--no-seed-agencies",
            help="Add the profile's agencies (default: ask on a terminal; without one, no).",
        ),
    ] = None,
) -> None:
    """Create a new store with you as its first coordinator.

    Example: panelctl init ~/panels/stoke-mace --profile mace --name "Stoke-on-Trent MACE" --seed-agencies
    """
    from panelctl.cli.directory import seed_choice
    from panelctl.crypto.identity import load_identity
    from panelctl.panel.directory import seed_agencies
    from panelctl.panel.setup import create_store

    store = create_store(directory, profile, name, load_identity(options().identity), agency)
    say(f"Created the store {store.root} (profile {profile}); you are its coordinator.")
    title, seeds = store.profile["title"], store.profile.get("seed_agencies") or []
    if seed_choice(seed, len(seeds), title):
        added = seed_agencies(store)
        say(f"Added {len(added)} agencies of the {title} profile; see panelctl agency list.")


@app.command("setup")
def setup() -> None:
    """Register the decrypting diff driver and the plaintext guard in a clone of a store.

    Example: git clone git@server:stoke-mace.git && cd stoke-mace && panelctl setup
    """
    from panelctl.store.core import find_root, setup_clone

    setup_clone(find_root(options().store))


@app.command("verify")
def verify(
    since: Annotated[
        str | None, typer.Option("--since", help="Check the commits after this one.")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Check the whole history, from the first commit.")
    ] = False,
) -> None:
    """Check the history and the files: every commit since the last check signed by a reader
    whose role allows it, and the records those commits changed (and any file not
    committed) decrypting and valid. --all checks the whole history and every record.
    Silent when all is well; exits 1 with one line per problem (by commit and path).

    The first run in a new clone checks everything and pins who created the store (as SSH
    pins a server's key).

    Example: panelctl verify || echo "store needs attention"
    """
    from panelctl.store.verify import verify as run_verify

    report = run_verify(open_store(), since=since, everything=everything)
    for note in report.notes:
        say(note)
    for problem in report.problems:
        typer.echo(str(problem))
    if report.problems:
        raise typer.Exit(int(ExitCode.PROBLEMS_FOUND))


@app.command("log")
def log(
    record_id: Annotated[str | None, typer.Argument(help="Only this record's history.")] = None,
    patch: Annotated[
        bool, typer.Option("--patch", "-p", help="Show each change, decrypted.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many changes.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Who changed what, and when: each change's verified signer (name, agency and role),
    never the git author name, which anyone can set.

    Example: panelctl log C-0042 --patch
    """
    from panelctl.store import history

    if patch and not record_id:
        raise InvalidInputError("--patch needs a record id, e.g. panelctl log C-0042 --patch.")
    store = open_store()
    if record_id:
        store.path_of(record_id)  # a clear error for a malformed id
    found = history.changes(store, record_id, limit)
    if patch:
        for change in found:
            typer.echo(
                f"{change.commit[:10]}  {change.when_text}  {change.author}  {change.subject}"
            )
            typer.echo(history.patch(store, record_id, change))
        return
    rows = [
        {
            "commit": c.commit[:10],
            "date": c.when_text,
            "when": c.when.isoformat(),
            "author": c.author,
            "change": c.subject,
        }
        for c in found
    ]
    columns = [
        ("date", "When (UK time)"),
        ("author", "Who"),
        ("change", "What"),
        ("commit", "Commit"),
    ]
    if fmt is not Format.table:
        columns = [("commit", ""), ("when", ""), ("author", ""), ("change", "")]
    emit(rows, columns, fmt)


@app.command("textconv", hidden=True)
def textconv(file: Annotated[Path, typer.Argument()]) -> None:
    """git's diff driver: print a record's decrypted YAML (registered by init and setup)."""
    from panelctl.store import history

    blob = file.read_bytes()
    try:
        store = open_store()
        store.allow_mid_sync = True  # a diff shown while a merge is being resolved
        plaintext = history.textconv(store, str(file), blob)
    except PanelctlError as error:
        plaintext = f"[panelctl cannot show this record: {error.message}]\n".encode()
    sys.stdout.buffer.write(plaintext)


# --- access ------------------------------------------------------------------------------


@access_app.command("list")
def access_list(
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List the readers of this store and their roles.

    Example: panelctl access list --format csv
    """
    store = open_store()
    rows = [
        {
            "name": r.name,
            "agency": r.agency,
            "role": r.role,
            "recipient": r.recipient,
            "added": r.added,
        }
        for r in store.keyring.readers
    ]
    emit(
        rows,
        [
            ("name", "Name"),
            ("agency", "Agency"),
            ("role", "Role"),
            ("added", "Added"),
            ("recipient", "Recipient"),
        ],
        fmt,
        title=f"Readers (key epoch {store.keyring.epoch})",
    )


@access_app.command("add")
def access_add(
    recipient: Annotated[
        str, typer.Argument(help="Their recipient (from `panelctl identity new`).")
    ],
    name: Annotated[str, typer.Option(help="Their name.")],
    agency: Annotated[str, typer.Option(help="Their agency.")],
    role: Annotated[
        str,
        typer.Option(
            help="coordinator, chair, vice-chair, business-support, member, cron or recovery."
        ),
    ],
) -> None:
    """Let one more person (or a cron job) read this store.

    Example: panelctl access add pcr1... --name "Alex Vice-Chair" --agency "Children's Services" --role vice-chair
    """
    from panelctl.panel.access import add_reader, reader_warnings

    store = open_store()
    reader = add_reader(store, recipient, name, agency, role)
    say(f"Added {reader.name} ({reader.role}) as a reader.")
    for warning in reader_warnings(store, reader):
        say(f"Warning: {warning}")


@access_app.command("remove")
def access_remove(
    who: Annotated[str, typer.Argument(help="The reader's name or recipient.")],
) -> None:
    """Remove a reader: a new key, every record re-encrypted, one commit.

    git history stays readable to a removed reader who kept a copy of it.

    Example: panelctl access remove "Alex Vice-Chair"
    """
    from panelctl.panel.access import remove_reader

    store = open_store()
    reader = remove_reader(store, who)
    say(
        f"Removed {reader.name}; records are now under key epoch {store.keyring.epoch}. "
        "Copies of the history they already hold stay readable to them."
    )


@group_app.command("add")
def access_group_add(
    group: Annotated[str, typer.Argument(metavar="GROUP", help="The group, e.g. police.")],
    who: Annotated[str, typer.Argument(metavar="READER", help="The reader's name or recipient.")],
) -> None:
    """Add a reader to a restricted group (made if new); coordinators only, signed.

    Example: panelctl access group add police "Pat Police"
    """
    from panelctl.panel.access import find_reader
    from panelctl.panel.groups import add_member

    store = open_store()
    reader = find_reader(store, who)
    earlier = add_member(store, group, reader)
    say(
        f"Added {reader.name} to group {group}."
        + (
            ""
            if earlier
            else " They can read its items added from now on; a coordinator who is a "
            "member of the group can run this again to give them the earlier ones."
        )
    )


@group_app.command("remove")
def access_group_remove(
    group: Annotated[str, typer.Argument(metavar="GROUP")],
    who: Annotated[str, typer.Argument(metavar="READER", help="The reader's name or recipient.")],
) -> None:
    """Take a reader out of a restricted group: a new group key for the rest.

    Items added before stay readable to them from any copy of the history they kept.

    Example: panelctl access group remove police "Pat Police"
    """
    from panelctl.panel.access import find_reader
    from panelctl.panel.groups import remove_member

    store = open_store()
    reader = find_reader(store, who)
    remaining = remove_member(store, group, reader)
    say(
        f"Removed {reader.name} from group {group} (now at group key epoch "
        f"{remaining.epoch.number}); items added before stay readable to them."
    )


@group_app.command("list")
def access_group_list(
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List the restricted groups and their members (every reader may see this).

    Example: panelctl access group list --format json
    """
    from panelctl.panel.groups import list_groups

    emit(
        list_groups(open_store()),
        [
            ("group", "Group"),
            ("member", "Member"),
            ("agency", "Agency"),
            ("role", "Role"),
            ("epoch", "Key epoch"),
        ],
        fmt,
    )


# --- records -----------------------------------------------------------------------------


@record_app.command("list")
def record_list(
    type_name: Annotated[
        str, typer.Argument(help="case, meeting or action.", metavar="TYPE")
    ] = "case",
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """List records of one type from the encrypted index.

    Example: panelctl record list action --format json
    """
    from panelctl.model.records import number_of, record_type

    rtype = record_type(type_name)
    store = open_store()
    found = sorted(store.index().rows(rtype.name), key=lambda row: number_of(row[0]))
    rows = [{"id": rid, **fields} for rid, fields in found]
    emit(
        rows,
        [("id", "Id")] + [(f, f.replace("_", " ").capitalize()) for f in rtype.index_fields],
        fmt,
    )


@record_app.command("show")
def record_show(record_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Print one record's decrypted YAML to the terminal.

    Example: panelctl record show C-0001
    """
    from panelctl.model import records

    store = open_store()
    plaintext = store.read_plaintext(record_id)
    records.parse(records.type_of_id(record_id), plaintext, record_id)  # shown only when valid
    sys.stdout.write(plaintext.decode("utf-8"))


@record_app.command("edit")
def record_edit(record_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Change one record in your editor ($VISUAL, else $EDITOR, else vi) and save it in one
    commit. The decrypted text is only in a private temporary file, removed afterwards.

    The record is checked when you save; on a terminal a problem re-opens the editor with
    the problem at the top, without one it ends the edit. Saving it unchanged, or emptying
    the file, saves nothing.

    Example: EDITOR=nano panelctl record edit C-0001
    """
    from panelctl.base import config
    from panelctl.store.edit import edit_record, run_editor

    store = open_store()
    editor = run_editor(config.editor())
    edited = edit_record(store, record_id, editor, interactive=sys.stdin.isatty())
    if edited.saved:
        say(f"Saved {record_id} (one commit).")
    elif edited.outcome == "emptied":
        say(f"The file was emptied: {record_id} is as it was; nothing was saved.")
    else:
        say(f"No change to {record_id}; nothing was saved.")


# --- demo --------------------------------------------------------------------------------


@app.command("demo")
def demo(
    source: Annotated[Path, typer.Argument(help="The bundled sample store.")] = Path(
        "sample-store"
    ),
) -> None:
    """Copy the sample store to a temporary folder and show what panelctl does with it.

    The checked-in sample store is never modified.

    Example: panelctl demo sample-store
    """
    from panelctl.panel.demo import prepare_demo

    copy = prepare_demo(source)
    env_line = f"export PANELCTL_STORE={copy.store} PANELCTL_IDENTITY={copy.identity}"
    say(f"Copied the sample store to {copy.store} (a new git repository).")
    say("Using the DEMO-ONLY identity shipped with it.\n")
    state = options()
    state.store, state.identity = str(copy.store), str(copy.identity)
    say("$ panelctl verify   (silent means every record is intact and encrypted)")
    verify()
    say("\n$ panelctl case list")
    _invoke(["case", "list"])
    papers = copy.store.parent / "papers"
    say(f"\n$ panelctl agenda build M-0002 --out {papers}")
    _invoke(["agenda", "build", "M-0002", "--out", str(papers)])
    say("\n$ panelctl log --limit 5")
    log(None, False, 5, Format.table)
    say(
        f"\nThe papers are in {papers} (open the .html files in a browser to print them).\n"
        f"To carry on with this copy:\n  {env_line}\n  panelctl case show C-0002"
    )


def _invoke(args: list[str]) -> None:
    """Run another panelctl command in this process (the demo's global options stay set)."""
    command = typer.main.get_command(app)
    state = options()
    prefix = ["--store", state.store, "--identity", state.identity]
    command.main(args=[*prefix, *args], prog_name="panelctl", standalone_mode=False)


def run() -> None:
    _usable_std_streams()
    app()
