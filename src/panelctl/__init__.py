"""panelctl: encrypted, git-versioned records for multi-agency child exploitation panels."""

from panelctl import _interrupt

_interrupt.install()  # only when panelctl is the program run (see the module)

__version__ = "0.4.0"  # the one place the version is written (pyproject.toml reads it)
