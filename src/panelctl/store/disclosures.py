"""The disclosure log: a record of every time personal data leaves the store.

Papers, minutes, reports that show small numbers, subject access exports and e-mails are
written out of the encrypted store in the clear. Each is logged as a DISCLOSURE record
(``disclosures/DL-00001.enc``): when (UK time), by whom (the reader's key fingerprint, role
and agency, as the keyring knows them), what was produced and in which forms, the ids of
the records whose data went out and their types, the recipients where known (mail), and
the command that made it (its name only: no option values, which could hold a name). It
holds no name of a child or of anyone else.

A disclosure is written once and never changed or deleted: :mod:`panelctl.store.chain`
refuses either, for every role, in panelctl's own writes and in `verify`, so it holds
against a reader who writes with git by hand too.

Order, so that the log never says less than what went out: a caller writing files writes
them to private temp names in their destination first, then commits the disclosure, and
only then renames them into place (:func:`panelctl.outputs.papers.write_disclosed`); a
disclosure that cannot be committed leaves no file. Standard output is written only after
its disclosure is committed. Mail is logged, with the record of its sending, once the
server has accepted it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import date

from panelctl.base.dates import LONDON, now
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.model.records import ID_PATTERN, number_of, type_of_id
from panelctl.store import chain
from panelctl.store.core import Store, Transaction

#: The command making disclosures in this run, as its words (e.g. "agenda build"); set by
#: the command line as a command opens the store. A library caller may set its own.
_COMMAND: ContextVar[str] = ContextVar("panelctl_disclosure_command", default="library call")


def set_command(words: str) -> None:
    """Name the command whose disclosures follow (its words only, never option values)."""
    _COMMAND.set(" ".join(words.split()) or "library call")


def check_can_disclose(store: Store) -> None:
    """Refuse, before anything is rendered or written, a reader whose role may not record a
    disclosure (``recovery``): what they would write out could not be logged."""
    role = store.me().role
    allowed = chain.LIMITED.get(role, None if role in chain.WRITER_ROLES else ())
    if allowed is not None and "disclosure" not in allowed:
        raise NotAllowedError(
            f"Your role in this store ({role}) may not record a disclosure, so nothing was "
            "written out; ask a coordinator or another member to produce it."
        )


def log_disclosure(
    store: Store,
    *,
    output: str,
    form: str,
    records: Sequence[str],
    recipients: Sequence[str] = (),
    tx: Transaction | None = None,
) -> str:
    """Record that ``output`` (papers, minutes, report...) went out in ``form`` (html, pdf,
    csv, json, xlsx, dot, mail, md...; several comma-separated) with the data of the records
    ``records`` (ids only), to ``recipients`` where known. Staged in ``tx`` when given (so
    that it lands in the same commit as, say, a reminder's record of sending), otherwise
    committed on its own. Returns the disclosure's id."""
    ids = list(dict.fromkeys(records))
    for record_id in ids:
        if not isinstance(record_id, str) or not ID_PATTERN.match(record_id):
            raise InvalidInputError(
                "A disclosure names records by id only (like C-0042); one of those given is not "
                "a record id.",
                "records",
            )
        type_of_id(record_id)  # a known type
    me = store.me()
    record: dict = {
        "at": now().astimezone(LONDON).replace(microsecond=0),
        "by": {"reader": me.label, "role": me.role, "agency": me.agency},
        "output": output,
        "form": form,
        "records": ids,
        "kinds": list(dict.fromkeys(type_of_id(i).name for i in ids)),
        "command": _COMMAND.get(),
    }
    if recipients:
        record["recipients"] = [str(r) for r in dict.fromkeys(recipients)]
    if tx is not None:
        return tx.create("disclosure", record)
    count = f"{len(ids)} record{'s' if len(ids) != 1 else ''}"
    with store.transaction(f"Record a disclosure: {output} ({form}), {count}") as own:
        return own.create("disclosure", record)


# --- the log -------------------------------------------------------------------------------

COLUMNS = (
    "id",
    "at",
    "output",
    "form",
    "records",
    "kinds",
    "recipients",
    "reader",
    "role",
    "agency",
    "command",
)


def list_disclosures(
    store: Store, *, since: date | None = None, case: str | None = None
) -> list[dict]:
    """The disclosures, newest first, from the query index (none is decrypted): those made
    on or after ``since`` (a UK day), and with ``case``, those whose records include the
    case or a record of it (see :func:`records_of_case`)."""
    index = store.index()
    related = records_of_case(store, case) if case is not None else None
    rows = []
    for record_id, fields in index.rows("disclosure"):
        at = fields.get("at")
        if since is not None and (at is None or at.astimezone(LONDON).date() < since):
            continue
        held = fields.get("records") or []
        if related is not None and not related.intersection(held):
            continue
        row = {name: fields.get(name) for name in COLUMNS}
        row["id"] = record_id
        row["records"] = list(held)
        row["kinds"] = list(fields.get("kinds") or [])
        row["recipients"] = list(fields.get("recipients") or [])
        rows.append(row)
    rows.sort(key=lambda r: (r["at"], number_of(r["id"])), reverse=True)
    return rows


def records_of_case(store: Store, case_id: str) -> set[str]:
    """The case and every record of it, from the index: its assessments, actions,
    decisions and links, and the meetings that had it on the agenda or discussed it. A case
    no longer in the store (erased) is still looked for by its id."""
    match = ID_PATTERN.match(case_id)
    if not match or match.group(1) != "C":  # (the text is not quoted: it may be a name)
        raise InvalidInputError("The case given is not a case id (they look like C-0042).", "case")
    index = store.index()
    found = {case_id}

    def where(type_name: str, names: tuple[str, ...], holds) -> None:
        # by columns: no map is built per record (there may be 100,000 actions)
        ids, columns = index.table(type_name).columns(names)
        values = [columns.get(name) or [None] * len(ids) for name in names]
        found.update(rid for rid, *row in zip(ids, *values, strict=True) if holds(*row))

    for type_name in ("assessment", "action", "decision"):
        where(type_name, ("case",), lambda case: case == case_id)
    where("link", ("a", "b"), lambda a, b: case_id in (a, b))
    where(
        "meeting",
        ("cases", "discussed"),
        lambda cases, discussed: case_id in _listed(cases) or case_id in _listed(discussed),
    )
    return found


def _listed(value: Iterable[str] | None) -> Iterable[str]:
    return value or ()
