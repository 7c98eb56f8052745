"""The bundled demo: a temporary, git-initialised copy of ``sample-store/``.

The sample store is kept in the repository as plain files (a store's own ``.git`` cannot be
checked in), with a DEMO-ONLY identity beside them. The copy gets its own git repository
and a first commit; the checked-in folder is only read.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from panelctl.base.errors import NotAStoreError
from panelctl.crypto.identity import read_identity_file
from panelctl.store import gitio
from panelctl.store.core import SETTINGS_FILE, Store, pin_creator, setup_clone

DEMO_IDENTITY = "DEMO-ONLY-identity.json"


@dataclass(frozen=True)
class DemoCopy:
    store: Path
    identity: Path


def prepare_demo(source: Path, destination: Path | None = None) -> DemoCopy:
    source = Path(source)
    if not (source / SETTINGS_FILE).is_file() or not (source / DEMO_IDENTITY).is_file():
        raise NotAStoreError(
            f"No sample store at {source}; run this from the panelctl repository root, or give "
            "the path of sample-store/."
        )
    base = Path(destination) if destination else Path(tempfile.mkdtemp(prefix="panelctl-demo-"))
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = base / "store"
    shutil.copytree(source, store, ignore=shutil.ignore_patterns(DEMO_IDENTITY, ".git"))
    identity = base / "identity.json"
    shutil.copyfile(source / DEMO_IDENTITY, identity)
    identity.chmod(0o600)
    for path in [store, *store.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    gitio.init(store)
    setup_clone(store)
    paths = sorted(
        str(p.relative_to(store)) for p in store.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    demo = read_identity_file(identity).unlock()  # DEMO ONLY: a published, unprotected key
    first = gitio.commit(
        store,
        paths,
        "Import the sample store",
        gitio.Author(demo.name, "demo@panelctl.invalid"),
        demo.sign,
    )
    assert first is not None
    pin_creator(store, Store(store).store_id, first, demo.signing_public, demo.name)
    return DemoCopy(store, identity)
