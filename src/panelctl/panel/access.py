"""Who may read a store: listing, adding and removing readers."""

from __future__ import annotations

from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.crypto import envelope
from panelctl.crypto.keyring import KEYRING_PATH, Reader, new_reader
from panelctl.model import records
from panelctl.store.core import Store


def add_reader(store: Store, recipient: str, name: str, agency: str, role: str) -> Reader:
    """Wrap the current data key to one more reader (same key epoch), in one commit."""
    reader = new_reader(recipient, name, agency, role)
    with store.transaction(f"Grant access to reader {reader.label}") as tx:
        store.require_role("coordinator")
        keyring = store.keyring.add(reader)
        tx.write_raw(KEYRING_PATH, keyring.to_bytes(), "", "")
    store.use_keyring(keyring)
    return reader


def find_reader(store: Store, who: str) -> Reader:
    """A reader by recipient, or by name (case-insensitive); refuses an ambiguous name."""
    who = who.strip()
    matches = [r for r in store.keyring.readers if r.recipient == who]
    if not matches:
        matches = [r for r in store.keyring.readers if r.name.casefold() == who.casefold()]
    if not matches:
        raise NotFoundError(
            "No reader of this store has that name or recipient; see `panelctl access list`."
        )
    if len(matches) > 1:
        raise InvalidInputError(
            f"{len(matches)} readers have that name; remove one by its recipient instead."
        )
    return matches[0]


def remove_reader(store: Store, who: str) -> Reader:
    """Start a new key epoch without ``who`` and re-encrypt every record, in one commit."""
    with store.transaction() as tx:
        store.require_role("coordinator")
        reader = find_reader(store, who)
        old = store.keyring
        remaining = [r for r in old.readers if r.recipient != reader.recipient]
        if not any(r.role == "coordinator" for r in remaining):
            raise NotAllowedError(
                "That would remove the last coordinator; add another coordinator first."
            )
        tx.index = store.index()  # read under the old key before the epoch changes
        tx.index.prepare(records.TYPES)
        tx.reindex_all = True
        new = old.remove(reader)
        tx.message = f"Remove reader {reader.label} and re-encrypt under key epoch {new.epoch}"
        for rtype in records.TYPES.values():
            for record_id in store.ids(rtype):
                path = rtype.path_for(record_id)
                plaintext = store.decrypt(path, (store.root / path).read_bytes())
                blob = envelope.encrypt(new.key, new.epoch, store.store_id, path, plaintext)
                tx.write_raw(path, blob, "", "")
        tx.write_raw(KEYRING_PATH, new.to_bytes(), "", "")
        store._keyring = new  # the index is saved under the new key as the commit lands
    store.use_keyring(new)
    return reader
