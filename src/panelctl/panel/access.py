"""Who may read a store: listing, adding and removing readers."""

from __future__ import annotations

from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.crypto.keyring import Reader, new_reader
from panelctl.panel.directory import chair_warnings
from panelctl.panel.groups import remove_from_all
from panelctl.store.core import Store


def add_reader(store: Store, recipient: str, name: str, agency: str, role: str) -> Reader:
    """Wrap the current data key to one more reader (same key epoch), in one commit."""
    reader = new_reader(recipient, name, agency, role)
    with store.transaction(f"Grant access to reader {reader.label}") as tx:
        store.require_role("coordinator")
        tx.set_keyring(store.keyring.add(reader))
    return reader


def reader_warnings(store: Store, reader: Reader) -> list[str]:
    """What to tell the coordinator about a reader just added: a chair or vice-chair from
    another sector than the profile names, or a second reader with the chair role."""
    warnings = chair_warnings(store, reader.role, reader.agency)
    if reader.role == "chair" and sum(r.role == "chair" for r in store.keyring.readers) > 1:
        warnings.append(
            "Another reader also has the chair role; a panel has one chair at a time: "
            "remove the other with `panelctl access remove` when the chair has changed hands."
        )
    return warnings


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
    """Start a new key epoch without ``who`` and re-encrypt every record, in one commit;
    they leave every restricted group too (a new epoch of each)."""
    with store.transaction() as tx:
        store.require_role("coordinator")
        reader = find_reader(store, who)
        old = store.keyring
        remaining = [r for r in old.readers if r.recipient != reader.recipient]
        if not any(r.role == "coordinator" for r in remaining):
            raise NotAllowedError(
                "That would remove the last coordinator; add another coordinator first."
            )
        new = old.remove(reader)
        tx.message = f"Remove reader {reader.label} and re-encrypt under key epoch {new.epoch}"
        tx.rekey(new)
        # and out of every restricted group, each at a new group epoch, in the same commit
        remove_from_all(store, tx, reader.recipient)
    return reader
