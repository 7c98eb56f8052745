"""`panelctl migrate`: every record, and the store's format, brought up to this panelctl's.

A newer panelctl upgrades an older record whenever it writes it (see
:mod:`panelctl.model.formats`); ``migrate`` does them all at once, in one signed commit by
a coordinator, and raises the store's format in ``panelctl.yaml`` (``panelctl_store``) to
the newest this panelctl knows, so that a clone still on an older panelctl is told which
version it needs before it reads anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from panelctl.base.errors import NotAStoreError
from panelctl.crypto import envelope
from panelctl.model import formats, records
from panelctl.store.core import (
    CASE_KEYS_FORMAT,
    SETTINGS_FILE,
    STORE_FORMAT_KEY,
    Store,
    settings_format_line,
)


@dataclass
class Migration:
    #: record type name -> how many of its records change (are, or would be, upgraded)
    changed: dict[str, int] = field(default_factory=dict)
    store_from: int = 1
    store_to: int = 1

    @property
    def nothing_to_do(self) -> bool:
        return not self.changed and self.store_from >= self.store_to


def migrate(store: Store, dry_run: bool = False) -> Migration:
    """Upgrade every record below its type's current format and raise the store's format,
    in one commit (none when there is nothing to do); ``dry_run``: only count them."""
    with store.transaction() as tx:
        store.require_role("coordinator")
        store.signed_files_unchanged()  # the settings rewritten are the committed ones
        plan = Migration(store_from=store.settings.format, store_to=formats.known())
        # format 4: every record about a child is sealed under its case key from now on
        # (its earlier versions stay as they were: see casework/erase.py)
        sealing = plan.store_from < CASE_KEYS_FORMAT <= plan.store_to
        tx.case_keyed = tx.case_keyed or sealing
        for rtype in records.TYPES.values():
            if rtype.format == 1 and not sealing:
                continue  # no record of this type can be older than format 1
            for record_id in store.ids(rtype):
                path = rtype.path_for(record_id)
                blob = (store.root / path).read_bytes()
                plaintext = store.decrypt(path, blob)
                number, data = records.load_stored(rtype, plaintext, record_id)
                reseal = (
                    sealing
                    and not blob.startswith(envelope.MAGIC_CASES)
                    and bool(records.case_scope(rtype, data))
                )
                if number == rtype.format and not reseal:
                    continue
                plan.changed[rtype.name] = plan.changed.get(rtype.name, 0) + 1
                if dry_run:
                    continue
                if number == rtype.format:
                    tx.reseal(record_id)
                else:
                    tx.put(records.parse(rtype, plaintext, record_id))
        if dry_run or plan.nothing_to_do:
            return plan
        if plan.store_from < plan.store_to:
            tx.put_file(SETTINGS_FILE, _raised(store, plan.store_to))
        counts = ", ".join(f"{n} {name}" for name, n in plan.changed.items())
        tx.message = f"Migrate the store to format {plan.store_to}" + (
            f": upgrade {counts}" if counts else ""
        )
    return plan


def _raised(store: Store, number: int) -> bytes:
    """panelctl.yaml as committed, with its format line (only) changed to ``number``."""
    raw = (store.root / SETTINGS_FILE).read_bytes()
    line = re.compile(rb"^" + STORE_FORMAT_KEY.encode() + rb"[ \t]*:[^\n]*\n?", re.M)
    new, found = line.subn(settings_format_line(number), raw, count=1)
    if not found:
        raise NotAStoreError(
            f"{SETTINGS_FILE} does not have its {STORE_FORMAT_KEY} field on a line of its own; "
            "put it back as the file's first line and commit it with `panelctl settings commit`."
        )
    return new
