"""Subject access (UK GDPR article 15): everything the store holds about one child, as one
bundle (HTML, PDF, JSON) written to a folder outside the store, third parties' names
redacted unless a coordinator asks for them.

:func:`gather` reads the store (the case, its assessments, actions with their updates,
decisions, links, reminders, the meetings that discussed it, each record's last change);
:func:`bundle` is pure (records in, the bundle's content out, redacted);
:mod:`panelctl.outputs.subject` renders it; :func:`export_subject` writes the files and
returns the ids of every record whose data went out (for the disclosure log).

What a meeting gives is an extract: the date, and only this case's discussion, decision and
actions, never another child's, nor the attendance; a standing or closing item only where
it names the case (by id or by the child's name).

Who may export: a coordinator or the chair (redacted); only a coordinator unredacted. A
police-only link, person or location (the ``police_only`` marking) is left out of a
redacted bundle and only its id is listed, for the coordinator to decide with the police.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from panelctl.base.errors import InvalidInputError, NotAllowedError, PanelctlError
from panelctl.base.names import name_key
from panelctl.casework.cases import chronology, get_case
from panelctl.model import records, risk, types
from panelctl.model.fields import field_rows
from panelctl.outputs import subject as render
from panelctl.outputs.papers import check_destination, write_disclosed
from panelctl.outputs.redaction import NOTHING, Redactor
from panelctl.store import history
from panelctl.store.core import Store

#: who may export a bundle; only the first unredacted
EXPORTERS = ("coordinator", "chair")
UNREDACTED_BY = ("coordinator",)
FORMATS = ("html", "pdf", "json")

#: labels as the papers give them; any other field is labelled by its description
LABELS = {
    "id": "Case",
    "status": "Status",
    "kind": "Kind of case",
    "child.name": "Name",
    "child.dob": "Date of birth",
    "child.gender": "Gender",
    "child.ethnicity": "Ethnicity",
    "child.school": "School or college",
    "child.area": "Area",
    "child.looked_after": "Looked after",
    "child.out_of_area": "Placed out of area",
    "nominated": "Nominated",
    "referring_agency": "Referring agency",
    "involved_agencies": "Involved agencies",
    "lead_agency": "Lead agency",
    "lead_professional": "Lead professional (allocated worker)",
    "team": "Team / service",
    "team_manager": "Team manager",
    "risk": "Current risk",
    "risk_tool": "Risk tool",
    "assessed": "Risk last assessed",
    "exploitation_types": "Types of exploitation",
    "concern": "Nature of concern",
    "consequences": "Potential consequences if the risk is not reduced",
    "child_views": "Voice of the child",
    "carer_views": "Views of parents or carers",
    "history": "Chronology entry",
    "missing": "Missing episode",
    "flags": "Flag",
}


@dataclass
class Gathered:
    """What the store holds about one case, read once."""

    case: dict
    assessments: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    reminders: list[dict] = field(default_factory=list)
    meetings: list[dict] = field(default_factory=list)
    chronology: list[dict] = field(default_factory=list)
    #: the other end of each link: {id: {kind, names, police_only}}
    ends: dict[str, dict] = field(default_factory=dict)
    #: cases of the same child (an earlier or later nomination)
    related: list[str] = field(default_factory=list)
    #: each record's last change: {id: {changed, by, changes}}
    versions: dict[str, dict] = field(default_factory=dict)
    #: risk tools by their id, as the papers name them: {rfm: "Child Exploitation ... (RFM)"}
    tools: dict[str, str] = field(default_factory=dict)
    #: third parties' names and numbers, for the redactor
    third_names: list[str] = field(default_factory=list)
    third_numbers: list[str] = field(default_factory=list)
    #: the professionals named (members, readers, workers): their names are not taken apart
    colleagues: list[str] = field(default_factory=list)


@dataclass
class Export:
    """A bundle written: its files, and the ids of every record whose data went out."""

    paths: list[Path]
    records: list[str]


def check_allowed(store: Store, unredacted: bool) -> None:
    """A coordinator or the chair may export; only a coordinator unredacted."""
    store.require_role(*EXPORTERS)
    if unredacted and store.me().role not in UNREDACTED_BY:
        raise NotAllowedError(
            "Only a coordinator may export an unredacted subject access bundle; "
            f"your role in this store is {store.me().role}.",
            "unredacted",
        )


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(formats))  # a ProtectedPdf kept as it is
    bad = [str(f) for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise InvalidInputError(
            f"Subject access formats are {', '.join(FORMATS)}, not {', '.join(bad) or 'none'}.",
            "formats",
        )
    return chosen


def gather(store: Store, case_id: str) -> Gathered:
    """Everything the store holds about ``case_id`` (see the module's docstring)."""
    case = get_case(store, case_id)
    if case.get("kind") == "perpetrator":
        raise NotAllowedError(
            f"{case_id} is a perpetrator referral, not a child's case; a person of concern's "
            "request is answered with the police and is not exported by panelctl."
        )
    index = store.index()
    found = Gathered(case=case, chronology=chronology(store, case_id))

    def mine(type_name: str) -> list[dict]:
        ids = [rid for rid, f in index.rows(type_name) if f.get("case") == case_id]
        return [store.read(rid) for rid in sorted(ids, key=records.number_of)]

    found.assessments = mine("assessment")
    found.actions = mine("action")
    found.decisions = mine("decision")
    link_ids = [rid for rid, f in index.rows("link") if case_id in (f.get("a"), f.get("b"))]
    found.links = [store.read(rid) for rid in sorted(link_ids, key=records.number_of)]
    meeting_ids = [
        mid
        for mid, f in index.rows("meeting")
        if case_id in (f.get("discussed") or []) or case_id in (f.get("cases") or [])
    ]
    found.meetings = sorted(
        (store.read(mid) for mid in meeting_ids), key=lambda m: (m["date"], m["id"])
    )
    action_ids = {a["id"] for a in found.actions}
    reminder_ids = [
        rid
        for rid, f in index.rows("reminder")
        if case_id in (f.get("items") or []) or action_ids & set(f.get("items") or [])
    ]
    found.reminders = [store.read(rid) for rid in sorted(reminder_ids, key=records.number_of)]
    for link in found.links:
        other = link["b"] if link["a"] == case_id else link["a"]
        if other not in found.ends and store.exists(other):
            found.ends[other] = _end(store.read(other))
    _third_parties(store, found)
    for name in {case.get("risk_tool"), *(a.get("tool") for a in found.assessments)} - {None}:
        found.tools[name] = _tool_title(store, name)
    for rid, (last, count) in history.last_changes(store, _record_ids(found)).items():
        found.versions[rid] = {"changed": last.when, "by": last.author, "changes": count}
    return found


def _tool_title(store: Store, name: str) -> str:
    """A risk tool as the papers name it (its title), or its id when it is not found."""
    try:
        return risk.load_tool(name, store.root).get("title") or name
    except PanelctlError:
        return name


def _end(record: dict) -> dict:
    """The other end of a link: its kind, and its names (shown only unredacted)."""
    rtype = records.type_of_id(record["id"])
    if rtype is records.CASE:
        names = [(record.get("child") or {}).get("name")] if record.get("child") else []
        return {"type": "case", "kind": record.get("kind") or "victim", "names": names}
    if rtype is records.PERSON:
        names = [*(record.get("names") or []), *(record.get("nicknames") or [])]
    else:
        names = [record.get("name")] if record.get("name") else []
    return {
        "type": rtype.name,
        "kind": record.get("kind"),
        "names": names,
        "police_only": bool(record.get("police_only")),
    }


def _third_parties(store: Store, found: Gathered) -> None:
    """The names of every person of concern and of every other child in the store, and
    the numbers (phones, vehicles, usernames) of the persons of concern.

    Other children's names come from the query index, as the name keys it keeps for the
    duplicate check (:func:`panelctl.base.names.name_key`: the redactor compares by those
    keys too), so no other child's record is decrypted: 10,000 cases cost no more than
    reading one index table."""
    case_id = found.case["id"]
    own_key = name_key((found.case.get("child") or {}).get("name") or "")
    ids, columns = store.index().table("case").columns(("name",))
    for cid, key in zip(ids, columns.get("name") or [None] * len(ids), strict=True):
        if cid == case_id or not key:
            continue
        if own_key and key == own_key:
            found.related.append(cid)  # the same child, nominated again
            continue
        found.third_names.append(key)
    found.related.sort(key=records.number_of)
    found.colleagues += [r.name for r in store.keyring.readers]
    found.colleagues += [store.read(mid).get("name") for mid in store.ids(records.MEMBER)]
    case = found.case
    found.colleagues += [case.get("lead_professional"), case.get("team_manager")]
    found.colleagues += [a.get("assessor") for a in found.assessments]
    for action in found.actions:
        found.colleagues += [action.get("owner"), *(e["by"] for e in action.get("history") or [])]
    found.colleagues += [d.get("team_manager") for d in found.decisions]
    for meeting in found.meetings:
        found.colleagues += [a["name"] for a in meeting.get("attendance") or []]
    for pid in store.ids(records.PERSON):
        person = store.read(pid)
        found.third_names += [*(person.get("names") or []), *(person.get("nicknames") or [])]
        found.third_numbers += [
            *(person.get("phones") or []),
            *(person.get("vehicles") or []),
            *(person.get("usernames") or []),
        ]


def _record_ids(found: Gathered) -> list[str]:
    return [
        found.case["id"],
        *(r["id"] for r in found.assessments),
        *(r["id"] for r in found.actions),
        *(r["id"] for r in found.decisions),
        *(r["id"] for r in found.links),
        *(r["id"] for r in found.reminders),
        *(r["id"] for r in found.meetings),
    ]


# --- the bundle (pure) -------------------------------------------------------------------


def bundle(found: Gathered, *, prepared: date, unredacted: bool, panel: dict) -> dict:
    """The bundle's content: plain data, third parties' names taken out unless
    ``unredacted``. ``exported`` lists every record id whose data is in it."""
    case = found.case
    case_id = case["id"]
    own = (case.get("child") or {}).get("name")
    redactor = (
        NOTHING
        if unredacted
        else Redactor(
            found.third_names,
            own=[own] if own else [],
            numbers=found.third_numbers,
            colleagues=found.colleagues,
        )
    )
    red = redactor.value
    withheld = [] if unredacted else _police_only(found)
    links = [lk for lk in found.links if lk["id"] not in withheld]
    exported = [rid for rid in _record_ids(found) if rid not in withheld]
    return {
        "case": case_id,
        "prepared": prepared,
        "redacted": not unredacted,
        "panel": panel,
        "related_cases": found.related,
        "withheld": withheld,
        "exported": exported,
        "versions": {rid: found.versions[rid] for rid in exported if rid in found.versions},
        "case_fields": red(_titled(field_rows(types.Case, case, ("history",), LABELS), found)),
        "case_record": red(case),
        "chronology": red(found.chronology),
        "assessments": [
            {"record": red(a), "fields": red(_titled(field_rows(types.Assessment, a), found))}
            for a in found.assessments
        ],
        "meetings": [red(_extract(m, case_id, own)) for m in found.meetings],
        "decisions": [
            {"record": red(d), "fields": red(field_rows(types.Decision, d))}
            for d in found.decisions
        ],
        "actions": [
            {
                "record": red(a),
                "fields": red(field_rows(types.Action, a, skip=("history",))),
                "updates": red(a.get("history") or []),
            }
            for a in found.actions
        ],  # fmt: skip
        "links": [red(_link(lk, case_id, found.ends, unredacted)) for lk in links],
        "reminders": [
            red({k: r.get(k) for k in ("id", "day", "kind", "items", "subject", "sent")})
            for r in found.reminders
        ],
    }


def _titled(rows: list[dict], found: Gathered) -> list[dict]:
    """Rows with a risk tool shown by its title, as the papers show it."""
    return [
        {**row, "value": found.tools.get(row["value"], row["value"])}
        if row["field"] in ("risk_tool", "tool")
        else row
        for row in rows
    ]


def _police_only(found: Gathered) -> list[str]:
    """Links marked police-only, or leading to a person or place marked so."""
    out = []
    for link in found.links:
        other = link["b"] if link["a"] == found.case["id"] else link["a"]
        if link.get("police_only") or found.ends.get(other, {}).get("police_only"):
            out.append(link["id"])
    return out


def _link(link: dict, case_id: str, ends: dict, unredacted: bool) -> dict:
    other = link["b"] if link["a"] == case_id else link["a"]
    end = ends.get(other, {})
    shown = {
        "id": link["id"],
        "with": other,
        "type": end.get("type") or records.type_of_id(other).name,
        "kind": end.get("kind"),
        "nature": link.get("nature"),
        "source": link.get("source"),
        "date": link.get("date"),
    }
    if unredacted:
        shown["names"] = [n for n in end.get("names") or [] if n]
    return shown


def _extract(meeting: dict, case_id: str, own: str | None) -> dict:
    """This case's part of a meeting: never another case's discussion."""
    discussion = next((d for d in meeting.get("discussions") or [] if d["case"] == case_id), None)
    slot = next((a for a in meeting.get("agenda") or [] if a.get("case") == case_id), None)
    mentioned = []
    for group in ("standing_items", "closing_items"):
        for title, text in (meeting.get(group) or {}).items():
            if _names_case(text, case_id, own):
                mentioned.append({"item": title, "text": text})
    minutes = meeting.get("minutes") or {}
    return {
        "id": meeting["id"],
        "date": meeting["date"],
        "status": meeting.get("status"),
        "minutes": minutes.get("status"),
        "approved_at": minutes.get("approved_at"),
        "reason": (slot or {}).get("reason"),
        "discussed": discussion is not None,
        "discussion": discussion,
        "mentioned": mentioned,
    }


def _names_case(text: object, case_id: str, own: str | None) -> bool:
    if not isinstance(text, str):
        return False
    if case_id in text:
        return True
    if not own:
        return False
    finder = Redactor([own])
    return finder.text(text) != text


# --- writing -----------------------------------------------------------------------------


def file_names(case_id: str, formats: Sequence[str]) -> dict[str, str]:
    """The bundle's file names: the case id only, never a name."""
    return {fmt: f"subject-access-{case_id}.{fmt}" for fmt in formats}


def export_subject(
    store: Store,
    case_id: str,
    out_dir: Path,
    *,
    formats: Sequence[str],
    prepared: date,
    unredacted: bool = False,
    overwrite: bool = False,
) -> Export:
    """Write the subject access bundle of ``case_id`` into ``out_dir`` (made 0700 if
    missing; each file 0600, written whole then linked into place); an existing bundle is
    refused unless ``overwrite``. ``formats``: html, json, and pdf only as a
    :class:`panelctl.outputs.papers.ProtectedPdf` (encrypted with its password).

    Returns the files and the ids of every record whose data went out: the disclosure
    log's ``records``."""
    check_allowed(store, unredacted)
    chosen = check_formats(formats)
    if records.type_of_id(case_id) is not records.CASE:
        raise InvalidInputError(f"{case_id} is not a case id (case ids look like C-0042).")
    names = file_names(case_id, [str(f) for f in chosen])
    check_destination(out_dir, names.values(), overwrite, store_root=store.root)
    found = gather(store, case_id)
    content = bundle(found, prepared=prepared, unredacted=unredacted, panel=panel_of(store))
    files: dict[str, str | bytes] = {}
    for fmt in chosen:
        if fmt == "json":
            files[names["json"]] = render.json_bundle(content)
        elif fmt == "html":
            files[names["html"]] = render.html_bundle(content, store.root)
        else:
            files[names["pdf"]] = render.pdf_bundle(content, fmt, store.root)
    exported = list(content["exported"])
    # written to temp names, the disclosure committed, then put in place (papers.py)
    paths = write_disclosed(
        store, out_dir, files, output="subject-access", records=exported, overwrite=overwrite
    )
    return Export(paths=paths, records=exported)


def panel_of(store: Store) -> dict:
    profile = store.profile
    return {"name": store.settings.name, "title": profile["title"], "area": profile["area"]}
