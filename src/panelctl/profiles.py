"""Built-in panel profiles: one data file per panel, shipped inside the package."""

from __future__ import annotations

from importlib import resources

from . import yamlio
from .errors import InvalidInputError


def names() -> list[str]:
    folder = resources.files("panelctl") / "profiles"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load(name: str) -> dict:
    if name not in names():
        raise InvalidInputError(f"Unknown profile {name!r}; choose one of: {', '.join(names())}.")
    raw = (resources.files("panelctl") / "profiles" / f"{name}.yaml").read_bytes()
    return yamlio.load(raw)
