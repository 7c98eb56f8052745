"""Restricted groups: named sets of readers (``police``, ``chair-and-police``) who alone can
read the restricted items sealed to them (see :mod:`panelctl.casework.restricted`).

``.panelctl/groups.json`` is tracked in git, in the signed area: only a coordinator's
signed commit may change it (the rule `verify` checks every commit against, and every
write before it is made), and a copy edited in the working tree is refused until it is
committed. For each group it holds key epochs. An epoch's key is an X25519 key pair: its
public half is written in the file, so any reader who may write records can seal an item
to the group without being able to read it; its secret half is wrapped (as the store
keyring wraps data keys, see :func:`panelctl.crypto.primitives.wrap_key`) to each member
of that epoch. A reader holds the keys of every epoch with a stanza to them.

- Adding a member, by a coordinator who is a member (and so holds the group's keys):
  every epoch's secret is wrapped to the newcomer too, so they read earlier items as well.
  By a coordinator who is not a member: a new epoch, wrapped to everyone in the group, and
  the newcomer reads only items sealed from then on (a member can later run the add again
  to give them the earlier ones).
- Removing a member (or removing the reader from the store): a new epoch, wrapped to the
  rest. Items sealed from then on are closed to them; items sealed before stay readable to
  them from any copy of the history they kept, as with removal from the store.

Everyone who can read the store sees who is in which group (names, from the keyring) and
the number of epochs; nothing in the file is secret but the wrapped secrets.
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass, field, replace

from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError, TamperedError
from panelctl.crypto import primitives as crypto
from panelctl.crypto.identity import Identity, decode_recipient, fingerprint
from panelctl.crypto.keyring import Reader
from panelctl.store.core import Store, Transaction

GROUPS_PATH = ".panelctl/groups.json"
FORMAT = 1
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


@dataclass(frozen=True)
class Epoch:
    number: int
    public: bytes
    #: recipient -> (ephemeral public key, the epoch's secret wrapped to that recipient)
    stanzas: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    name: str
    epochs: tuple[Epoch, ...]
    members: tuple[str, ...]  # recipients of the current members

    @property
    def epoch(self) -> Epoch:
        return self.epochs[-1]

    def member(self, recipient: str) -> bool:
        key = decode_recipient(recipient)
        return any(decode_recipient(m) == key for m in self.members)

    def keys_for(self, identity: Identity) -> dict[int, bytes]:
        """The secret of every epoch wrapped to ``identity`` (empty: never a member)."""
        found = {}
        for epoch in self.epochs:
            stanza = next(
                (s for to, s in epoch.stanzas.items() if decode_recipient(to) == identity.public),
                None,
            )
            if stanza is None:
                continue
            try:
                secret = crypto.unwrap_key(identity.secret, *stanza)
                genuine = crypto.public_from_secret(secret) == epoch.public
            except crypto.CryptoFailure:
                genuine = False
            if not genuine:
                raise TamperedError(
                    f"{GROUPS_PATH}: the key of group {self.name}, epoch {epoch.number}, "
                    "wrapped to you does not open; ask a coordinator."
                )
            found[epoch.number] = secret
        return found


@dataclass(frozen=True)
class Groups:
    store_id: bytes
    groups: dict[str, Group]

    def get(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise NotFoundError(f"No group {name} in this store; see `panelctl access group list`.")
        return group

    def to_bytes(self) -> bytes:
        document = {
            "panelctl_groups": FORMAT,
            "store_id": self.store_id.hex(),
            "groups": {
                name: {
                    "members": list(group.members),
                    "epochs": [
                        {
                            "epoch": e.number,
                            "public": crypto.b64(e.public),
                            "stanzas": [
                                {"to": to, "ephemeral": crypto.b64(eph), "key": crypto.b64(key)}
                                for to, (eph, key) in e.stanzas.items()
                            ],
                        }
                        for e in group.epochs
                    ],
                }
                for name, group in sorted(self.groups.items())
            },
        }
        return (json.dumps(document, indent=2) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, raw: bytes, store_id: bytes) -> Groups:
        damaged = TamperedError(
            f"{GROUPS_PATH} is not a groups file panelctl wrote; restore it from git "
            f"(`git checkout -- {GROUPS_PATH}`)."
        )
        try:
            document = json.loads(raw.decode("utf-8"))
            if document["panelctl_groups"] != FORMAT or document["store_id"] != store_id.hex():
                raise damaged
            groups = {}
            for name, entry in document["groups"].items():
                if not NAME_PATTERN.match(name):
                    raise damaged
                epochs = tuple(
                    Epoch(
                        int(e["epoch"]),
                        crypto.unb64(e["public"]),
                        {
                            s["to"]: (crypto.unb64(s["ephemeral"]), crypto.unb64(s["key"]))
                            for s in e["stanzas"]
                        },
                    )
                    for e in entry["epochs"]
                )
                members = tuple(str(m) for m in entry["members"])
                numbers = [e.number for e in epochs]
                if not epochs or numbers != list(range(1, len(epochs) + 1)):
                    raise damaged
                current = {decode_recipient(to) for to in epochs[-1].stanzas}
                if {decode_recipient(m) for m in members} != current:
                    raise damaged  # the members are exactly those the current key is wrapped to
                groups[name] = Group(name, epochs, members)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, InvalidInputError):
            raise damaged from None
        return cls(store_id, groups)


def read_groups(store: Store) -> Groups:
    """The store's groups as committed (and so signed by a coordinator and verified)."""
    store.signed_files_unchanged()
    path = store.root / GROUPS_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Groups(store.store_id, {})
    return Groups.parse(raw, store.store_id)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            "A group's name is lowercase letters, digits and hyphens, starting with a letter "
            "(e.g. police), at most 32 characters.",
            "group",
        )
    return name


def _new_epoch(number: int, recipients) -> tuple[Epoch, bytes]:
    secret, public = crypto.generate_x25519()
    stanzas = {to: crypto.wrap_key(secret, decode_recipient(to)) for to in recipients}
    return Epoch(number, public, stanzas), secret


def _stage(tx: Transaction, groups: Groups) -> None:
    tx.put_file(GROUPS_PATH, groups.to_bytes())


def add_member(store: Store, group_name: str, reader: Reader) -> bool:
    """Add a store reader to a group (made if new), in one coordinator's commit. True when
    they can read the group's earlier items too (the coordinator holds its keys)."""
    name = check_name(group_name)
    with store.transaction() as tx:
        store.require_role("coordinator")
        found = store.keyring.reader(reader.recipient)
        if found is None:
            raise NotFoundError(
                f"Recipient {reader.label}… is not a reader of this store; add them with "
                "`panelctl access add` first."
            )
        reader = found
        groups = read_groups(store)
        group = groups.groups.get(name)
        earlier = True
        if group is None:
            epoch, _secret = _new_epoch(1, [reader.recipient])
            group = Group(name, (epoch,), (reader.recipient,))
        elif group.member(reader.recipient):
            raise InvalidInputError(f"{reader.name} is already a member of group {name}.")
        else:
            mine = group.keys_for(store.identity)
            members = (*group.members, reader.recipient)
            if group.members and mine.get(group.epoch.number):
                epochs = tuple(
                    replace(
                        e,
                        stanzas={
                            **e.stanzas,
                            reader.recipient: crypto.wrap_key(mine[e.number], reader.key),
                        },
                    )
                    if e.number in mine
                    else e
                    for e in group.epochs
                )
                earlier = set(mine) == {e.number for e in group.epochs}
            else:
                epoch, _secret = _new_epoch(group.epoch.number + 1, members)
                epochs = (*group.epochs, epoch)
                earlier = False
            group = Group(name, epochs, members)
        tx.message = f"Add reader {reader.label} to group {name}"
        _stage(tx, Groups(groups.store_id, {**groups.groups, name: group}))
    return earlier


def remove_member(store: Store, group_name: str, reader: Reader) -> Group:
    """Take a reader out of a group: a new epoch wrapped to the rest, in one commit."""
    name = check_name(group_name)
    with store.transaction() as tx:
        store.require_role("coordinator")
        groups = read_groups(store)
        group = groups.get(name)
        if not group.member(reader.recipient):
            raise NotFoundError(f"{reader.name} is not a member of group {name}.")
        tx.message = f"Remove reader {reader.label} from group {name}"
        groups = without(groups, reader.recipient, only=name)
        _stage(tx, groups)
    return groups.groups[name]


def without(groups: Groups, recipient: str, only: str | None = None) -> Groups:
    """The groups with ``recipient`` taken out of each (or of ``only``) they are in, each
    of those at a new epoch wrapped to the members who remain."""
    key = decode_recipient(recipient)
    changed = {}
    for name, group in groups.groups.items():
        if (only is not None and name != only) or not group.member(recipient):
            continue
        members = tuple(m for m in group.members if decode_recipient(m) != key)
        epoch, _secret = _new_epoch(group.epoch.number + 1, members)
        changed[name] = Group(name, (*group.epochs, epoch), members)
    return Groups(groups.store_id, {**groups.groups, **changed})


def remove_from_all(store: Store, tx: Transaction, recipient: str) -> list[str]:
    """Within ``tx`` (a reader's removal from the store): take them out of every group."""
    groups = read_groups(store)
    names = [n for n, g in groups.groups.items() if g.member(recipient)]
    if names:
        _stage(tx, without(groups, recipient))
    return names


def list_groups(store: Store) -> list[dict]:
    """Every group with its members' names and agencies: anyone who can read the store may
    see who is in which group."""
    keyring = store.keyring
    rows = []
    for name, group in sorted(read_groups(store).groups.items()):
        for recipient in group.members or ("",):
            reader = keyring.reader(recipient) if recipient else None
            rows.append(
                {
                    "group": name,
                    "epoch": group.epoch.number,
                    "member": reader.name
                    if reader
                    else ("(none)" if not recipient else "(not a reader)"),
                    "agency": reader.agency if reader else None,
                    "role": reader.role if reader else None,
                    "recipient": fingerprint(recipient) + "…" if recipient else None,
                }
            )
    return rows


def my_groups(store: Store) -> dict[str, dict[int, bytes]]:
    """The groups whose keys this store's identity holds: name -> {epoch: secret}."""
    found = {}
    for name, group in read_groups(store).groups.items():
        keys = group.keys_for(store.identity)
        if keys:
            found[name] = keys
    return found


def require_sealable(store: Store, name: str) -> Group:
    """The group an item is to be sealed to: it exists and has members."""
    group = read_groups(store).get(check_name(name))
    if not group.members:
        raise NotAllowedError(
            f"Group {name} has no members now; nothing sealed to it could be read. Add a "
            "member with `panelctl access group add` first."
        )
    return group
