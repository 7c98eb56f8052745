"""Making a new store: its settings, its first coordinator and its README."""

from __future__ import annotations

from pathlib import Path

from panelctl.base.dates import show_date, today
from panelctl.crypto.identity import Identity
from panelctl.model import profiles, records
from panelctl.outputs import render
from panelctl.store.core import Store, init_store


def create_store(root: Path, profile: str, name: str, identity: Identity, agency: str) -> Store:
    """Create ``root`` as a new store for a panel, with ``identity`` as its first coordinator."""
    profile_data = profiles.load(profile)
    readme = render.render(
        "store/README.md.j2",
        name=name.strip(),
        profile_title=profile_data["title"],
        area=profile_data["area"],
        created=show_date(today()),
        folders=[(t.folder, t.plural) for t in records.TYPES.values()],
    )
    return init_store(root, profile, name, identity, agency, readme)
