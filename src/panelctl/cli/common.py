"""What every command shares: the global options and opening the store."""


class State:
    """The global options of the running command (set by the main callback on every run)."""

    def __init__(self) -> None:
        self.store: str | None = None
        self.identity: str | None = None
        self.debug = False


STATE = State()


def _state() -> State:
    return STATE


def open_store(*, identity: bool = True):
    """The store named by --store (or found), unlocked with --identity when asked."""
    from panelctl.crypto.identity import load_identity
    from panelctl.store.core import Store, find_root

    root = find_root(STATE.store)
    return Store(root, load_identity(STATE.identity) if identity else None)


def as_of_day(as_of: str | None, option: str = "--as-of"):
    """The day a command runs as: the option's date, or today in the UK."""
    from panelctl.base.dates import parse_date, today

    return parse_date(as_of, option) if as_of else today()
