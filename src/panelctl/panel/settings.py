"""Committing a coordinator's edits to the files that change what panelctl does.

``panelctl.yaml`` (the settings, including mail), ``.panelctl/profile.yaml`` (a store's
own profile), ``.panelctl/risktools/*.yaml`` and ``templates/`` take effect only as
committed by a coordinator, signed: an edit left uncommitted, or committed with plain git,
is refused (and `verify` names it). This is how a coordinator makes an edit count.
"""

from __future__ import annotations

from panelctl.base.errors import InvalidInputError
from panelctl.model import profiles, risk
from panelctl.store import gitio
from panelctl.store.core import (
    KEYRING_PATH,
    PROFILE_COPY,
    SIGNED_AREAS,
    Store,
    read_settings,
)


def commit_settings(store: Store, dry_run: bool = False) -> list[str]:
    """Check and commit, in one signed commit, every changed settings, profile, risk-tool
    and template file; the paths committed (none when nothing changed). ``dry_run``: check
    and return them, commit nothing."""
    with store.transaction() as tx:
        store.require_role("coordinator")
        changed = gitio.dirty_paths(store.root, SIGNED_AREAS)
        if KEYRING_PATH in changed:
            raise InvalidInputError(
                f"{KEYRING_PATH} has changes made outside panelctl; readers change only with "
                "`panelctl access`: restore it with `git checkout -- .panelctl/keyring.json`."
            )
        if not changed:
            return []
        settings = read_settings(store.root)
        base = (
            profiles.load(str(store.root / PROFILE_COPY))
            if (store.root / PROFILE_COPY).is_file()
            else profiles.builtin(settings.profile)
        )
        effective = profiles.effective(base, settings.overrides)
        for path in changed:
            if path.startswith(".panelctl/risktools/") and (store.root / path).is_file():
                risk.load_tool(path.rsplit("/", 1)[-1].removesuffix(".yaml"), store.root)
        risk.load_tool(effective["risk_tool"], store.root)
        if dry_run:
            return changed
        for path in changed:
            target = store.root / path
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise InvalidInputError(f"{path} is not a regular file; only files are committed.")
            tx.put_file(path, target.read_bytes() if target.exists() else None)
        tx.message = f"Change settings: {', '.join(changed)}"
    return changed
