"""Ctrl-C while panelctl is starting: one line and exit 130, never a traceback.

When panelctl is the program being run (``python -m panelctl`` or the ``panelctl``
script), importing the package sets this handler first, before the rest of panelctl is
imported: Ctrl-C then ends the run at once, as nothing has been written yet. The command's
own handler takes over when the command starts (``cli.main``), so that Ctrl-C during a
write rolls it back. Imported as a library (by a script or a test), panelctl leaves Ctrl-C
alone. Before the interpreter reaches panelctl (its own start-up: site, .pth files), a
Ctrl-C is Python's own affair.
"""

import os
import signal
import sys


def interrupted_at_start(_signum, _frame) -> None:
    try:
        os.write(2, b"panelctl: interrupted; nothing was changed.\n")
    finally:
        os._exit(130)


def is_the_program() -> bool:
    """True in ``python [options] -m panelctl ...`` and in the ``panelctl`` script."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-m" in argv[1:]:
        at = argv.index("-m", 1)
        return argv[at + 1 : at + 2] == ["panelctl"]
    return bool(sys.argv) and os.path.basename(sys.argv[0]) == "panelctl"


def install() -> None:
    if is_the_program() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_at_start)  # not when Ctrl-C is ignored
