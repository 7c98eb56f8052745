"""Restricted items: information about a case, person, location or link that only the
members of one group (see :mod:`panelctl.panel.groups`) can read.

A restricted item is a record of its own (``restricted/RI-00001.enc``), encrypted under the
store key like every record. What every reader may see is in its plain fields: the
subject (the record it is about), the group, who added it and when. Its content (a text
note, or the sensitive fields of a person, location or link entered restricted) is in
``sealed``: a fresh content key seals it (AES-256-GCM, with associated data binding it to
the store, the item's id, subject, group and epoch, so it cannot be moved to another item
or subject), and that key is wrapped to the group's current epoch public key. Any reader
who may write records can seal an item to a group; only its members can open it.

The query index, lists, reports, the map, mail and the history never hold the content:
they read only the plain fields. Papers and minutes include the content only when a member
asks for it (``include_restricted``), and are then marked on every page. An item never
changes once written (`verify` and every write refuse a change), so nobody who cannot
read it can destroy or replace its content by editing it; a coordinator may delete it.
"""

from __future__ import annotations

import binascii
import json

from panelctl.base import yamlio
from panelctl.base.dates import today
from panelctl.base.errors import InvalidInputError, NotFoundError, TamperedError
from panelctl.crypto import primitives as crypto
from panelctl.model import records
from panelctl.panel import groups as groupsmod
from panelctl.store.core import Store, Transaction

SUBJECT_TYPES = ("case", "person", "location", "link")
_AAD_TAG = b"panelctl/v1/restricted\0"
MAX_TEXT = 20_000
#: the fields of a record entered restricted that go into the sealed item
SENSITIVE = {
    "person": ("names", "nicknames", "description", "vehicles", "phones", "usernames"),
    "location": ("name", "address", "description"),
    "link": ("source",),
}


def marker(group: str) -> str:
    """What stands in a restricted record's visible text fields."""
    return f"Restricted to {group} (see the restricted items about this record)"


def _aad(store_id: bytes, group: str, epoch: int, by: str, added: object) -> bytes:
    # Not the item's id nor its subject: `sync` renumbers a new record whose id another
    # clone took meanwhile, and the references to it. Both are sealed inside the content
    # instead, and a member is told when they differ (see open_item).
    fields = {
        "store_id": store_id.hex(),
        "group": group,
        "epoch": epoch,
        "by": by,
        "added": str(added),
    }
    return _AAD_TAG + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _seal(store: Store, item: dict, group, content: dict) -> str:
    key = crypto.random_key()
    aad = _aad(store.store_id, group.name, group.epoch.number, item["by"], item["added"])
    inner = {**content, "sealed_as": item["id"], "sealed_about": item["subject"]}
    body = crypto.seal(key, json.dumps(inner, default=str).encode(), aad)
    ephemeral, wrapped = crypto.wrap_key(key, group.epoch.public)
    return crypto.b64(ephemeral + wrapped + body)


def open_item(store: Store, item: dict, keys: dict[int, bytes] | None) -> dict | None:
    """The content of a restricted item, or None when ``keys`` (the group's epoch secrets
    this identity holds) do not include the item's epoch. When the item's id or subject is
    no longer the one it was sealed with (renumbered by `sync`, or the sealed content
    copied to another item), the content says so in ``sealed_as`` / ``sealed_about``."""
    secret = (keys or {}).get(item["epoch"])
    if secret is None:
        return None
    try:
        raw = crypto.unb64(item["sealed"])
        ephemeral, wrapped, body = raw[:32], raw[32:80], raw[80:]
        key = crypto.unwrap_key(secret, ephemeral, wrapped)
        aad = _aad(store.store_id, item["group"], item["epoch"], item["by"], item["added"])
        content = json.loads(crypto.open_sealed(key, body, aad))
        if not isinstance(content, dict):
            raise ValueError
    except (crypto.CryptoFailure, ValueError, binascii.Error):
        raise TamperedError(
            f"restricted item {item['id']}: its sealed content fails its integrity check; "
            "restore it from git."
        ) from None
    if content.get("sealed_as") == item["id"]:
        content.pop("sealed_as")
    if content.get("sealed_about") == item["subject"]:
        content.pop("sealed_about")
    return content


def _subject(store: Store, subject: str) -> str:
    subject = (subject or "").strip()
    rtype = records.type_of_id(subject)
    if rtype.name not in SUBJECT_TYPES:
        raise InvalidInputError(
            f"{subject} is a {rtype.name}; a restricted item is about a case (C-), person "
            "(P-), location (L-) or link (K-).",
            "subject",
        )
    return subject


def stage_item(store: Store, tx: Transaction, subject: str, group_name: str, content: dict) -> str:
    """Seal ``content`` to the group and stage it as a new restricted item in ``tx``."""
    group = groupsmod.require_sealable(store, group_name)
    rtype = records.RESTRICTED
    staged = [p for p in tx.staged if p.startswith(rtype.folder + "/")]
    existing = store.ids(rtype)
    number = max(
        [records.number_of(i) for i in existing]
        + [records.number_of(p.partition("/")[2][:-4]) for p in staged]
        + [0]
    )
    item_id = rtype.format_id(number + 1)
    item = {
        "id": item_id,
        "subject": subject,
        "group": group.name,
        "epoch": group.epoch.number,
        "by": store.me().name,
        "added": today(),
    }
    tx.put({**item, "sealed": _seal(store, item, group, content)})
    return item_id


def add_note(store: Store, subject: str, group_name: str, text: str) -> str:
    """A restricted text note about a record; returns the item's id."""
    text = (text or "").strip()
    if not text:
        raise InvalidInputError("A restricted item needs its text.", "text")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(
            f"A restricted item's text is at most {MAX_TEXT} characters.", "text"
        )
    with store.transaction() as tx:
        subject = _subject(store, subject)
        if not store.exists(subject):
            raise NotFoundError(f"No record {subject} in this store.")
        return stage_item(store, tx, subject, group_name, {"text": text})


def split_sensitive(type_name: str, record: dict, group: str) -> tuple[dict, dict]:
    """(the record as every reader sees it, the fields sealed to ``group``)."""
    sealed = {k: record[k] for k in SENSITIVE[type_name] if record.get(k) not in (None, [], "")}
    visible = {k: v for k, v in record.items() if k not in sealed}
    if type_name == "location":
        visible["name"] = marker(group)
    elif type_name == "link":
        visible["source"] = marker(group)
    else:
        visible["description"] = marker(group)
    return visible, sealed


def create_restricted(
    store: Store, type_name: str, record: dict, group: str, tx: Transaction | None = None
) -> str:
    """Create a person, location or link whose sensitive fields go into a restricted item
    sealed to ``group``, in ``tx`` or in a commit of its own. Returns the record's id."""
    group = groupsmod.check_name(group)
    visible, sealed = split_sensitive(type_name, record, group)
    if tx is None:
        with store.transaction() as own:
            return create_restricted(store, type_name, record, group, own)
    record_id = tx.create(type_name, visible)
    stage_item(store, tx, record_id, group, {"fields": yamlio_safe(sealed)})
    return record_id


def yamlio_safe(fields: dict) -> dict:
    """Fields as JSON can hold them (dates as ISO text)."""
    return json.loads(json.dumps(fields, default=str))


def list_items(store: Store, subject: str | None = None) -> list[dict]:
    """Every restricted item's plain fields (never its content), from the index."""
    mine = set(groupsmod.my_groups(store))
    rows = []
    for rid, f in store.index().rows("restricted"):
        if subject and f.get("subject") != subject.strip():
            continue
        rows.append({"id": rid, **f, "readable": f.get("group") in mine})
    return sorted(rows, key=lambda r: records.number_of(r["id"]))


def show_item(store: Store, item_id: str) -> tuple[dict, dict | None]:
    """(its plain fields, its content or None when this identity is not in its group)."""
    item_id = (item_id or "").strip()
    if records.type_of_id(item_id).name != "restricted":
        raise InvalidInputError(
            f"{item_id} is not a restricted item's id (those look like RI-00001)."
        )
    item = store.read(item_id)
    keys = groupsmod.my_groups(store).get(item["group"])
    plain = {k: v for k, v in item.items() if k != "sealed"}
    return plain, open_item(store, item, keys)


def items_about(store: Store, subjects: set[str], mine: dict | None = None) -> list[dict]:
    """Restricted items about any of ``subjects`` that this identity can open, each with
    its content: for papers and minutes asked to include them."""
    mine = groupsmod.my_groups(store) if mine is None else mine
    found = []
    for rid, f in store.index().rows("restricted"):
        if f.get("subject") in subjects and f.get("group") in mine:
            item = store.read(rid)
            content = open_item(store, item, mine[item["group"]])
            if content is None:
                continue
            found.append(
                {
                    "id": rid,
                    "subject": item["subject"],
                    "group": item["group"],
                    "by": item["by"],
                    "added": item["added"],
                    "sealed_about": content.get("sealed_about"),
                    "text": content.get("text"),
                    "fields": [
                        {
                            "name": k.replace("_", " "),
                            "value": "; ".join(v) if isinstance(v, list) else v,
                        }
                        for k, v in (content.get("fields") or {}).items()
                    ],
                }
            )
    return sorted(found, key=lambda r: records.number_of(r["id"]))


def related_subjects(store: Store, case_id: str) -> set[str]:
    """The case, its links, and the persons and locations those links join it to."""
    subjects = {case_id}
    for rid, f in store.index().rows("link"):
        if case_id in (f.get("a"), f.get("b")):
            subjects.update((rid, f.get("a"), f.get("b")))
    return subjects


def content_text(content: dict) -> str:
    """A content mapping as YAML for a terminal."""
    return yamlio.dump(content).decode("utf-8")
