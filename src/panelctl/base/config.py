"""Settings that come from the environment, in one place, with their defaults.

| variable | meaning | default |
|---|---|---|
| PANELCTL_STORE | the store directory | walk up from the current directory |
| PANELCTL_IDENTITY | path of the identity file to use | CONFIG_DIR/identity.json |
| PANELCTL_PASSPHRASE_FILE | path of a file holding the identity's passphrase | prompt on a terminal |
| PANELCTL_CONFIG_DIR | where `identity new` keeps identities | $XDG_CONFIG_HOME/panelctl |
| PANELCTL_LOCK_TIMEOUT | seconds a write waits for another process's write | 120 |
| VISUAL, then EDITOR | the editor `record edit` opens (a command line, run by the shell) | vi |
"""

from __future__ import annotations

import os
from pathlib import Path

from panelctl.base.errors import InvalidInputError

ENV_STORE = "PANELCTL_STORE"
ENV_IDENTITY = "PANELCTL_IDENTITY"
ENV_PASSPHRASE_FILE = "PANELCTL_PASSPHRASE_FILE"
ENV_CONFIG_DIR = "PANELCTL_CONFIG_DIR"
ENV_LOCK_TIMEOUT = "PANELCTL_LOCK_TIMEOUT"

DEFAULT_LOCK_TIMEOUT = 120.0


def config_dir() -> Path:
    explicit = os.environ.get(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "panelctl"


def default_identity_path() -> Path:
    return config_dir() / "identity.json"


def identity_path(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_IDENTITY)
    return Path(from_env) if from_env else default_identity_path()


def editor() -> str:
    """The editor command for editing a record by hand: $VISUAL, else $EDITOR, else vi."""
    for name in ("VISUAL", "EDITOR"):
        command = os.environ.get(name, "").strip()
        if command:
            return command
    return "vi"


def lock_timeout() -> float:
    raw = os.environ.get(ENV_LOCK_TIMEOUT)
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return max(0.0, float(raw))
    except ValueError:

        raise InvalidInputError(
            f"{ENV_LOCK_TIMEOUT} must be a number of seconds, not {raw!r}."
        ) from None
