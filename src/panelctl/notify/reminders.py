"""Reminder e-mails between meetings: who is owed which reminder, sent once a day.

Every weekday cron runs ``panelctl remind``. Each action owner gets their open actions that
are overdue or due within ``soon_days``; each lead professional their cases due for review
and risk assessments due for a refresh; each coordinator one digest of all of them, noting
who could not be e-mailed. Subjects carry counts and the panel's name only; bodies carry
ids, due dates and a minimal summary, and a child's name (and an action's description,
which may hold names) only when the store sets ``mail.names_in_body``.

Only addresses whose domain is on the allowlist receive mail. Each mail the server accepted
becomes a REMINDER record, all in one commit after sending; a mail whose recipient, kind,
day and items match a record is not sent again, so a second run the same day sends nothing.

The choosing is pure functions over index rows (:func:`due_actions`, :func:`due_reviews`,
:func:`plan`), with ``as_of`` as an argument; :func:`remind` reads the store, sends and
records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from panelctl.base.dates import LONDON, show_date
from panelctl.base.dates import now as uk_now
from panelctl.base.errors import MailError
from panelctl.base.names import fold
from panelctl.followup.reviews import REVIEW, due_items, real_assessed
from panelctl.meetings.schedule import case_history
from panelctl.model import records
from panelctl.notify import mail
from panelctl.notify.mail import MailSettings
from panelctl.outputs import papers
from panelctl.store.core import Transaction
from panelctl.store.disclosures import log_disclosure

KINDS = ("actions", "reviews", "digest")
ROLE = {"actions": "action owner", "reviews": "lead professional", "digest": "coordinator"}


@dataclass(frozen=True)
class Item:
    """One thing to be reminded of."""

    id: str  # A-00012, or C-0003:review / C-0003:assessment
    what: str  # action, review or assessment
    case: str | None
    due: date | None  # None: a risk assessment never done under a refresh rule
    overdue: bool
    person: str | None  # the action's owner, or the case's lead professional
    email: str | None = None  # the action's owner_email

    @property
    def label(self) -> str:
        """The id a person looks up: the action's, or the case's."""
        return self.id if self.what == "action" else (self.case or self.id)


@dataclass(frozen=True)
class Mail:
    recipient: str
    kind: str  # actions, reviews or digest
    items: tuple[Item, ...]
    subject: str
    body: str

    @property
    def role(self) -> str:
        return ROLE[self.kind]

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]


@dataclass(frozen=True)
class Refusal:
    """A mail that went to nobody, said by role and ids, never by child or address."""

    kind: str
    items: tuple[Item, ...]
    reason: str

    @property
    def message(self) -> str:
        if self.kind == "digest":
            return f"Not sending the digest to a coordinator: {self.reason}."
        labels = ", ".join(dict.fromkeys(item.label for item in self.items))
        return f"Not sending the {self.kind} reminder to the {ROLE[self.kind]} of {labels}: {self.reason}."


@dataclass
class Outcome:
    """What a run planned, sent, skipped and refused (``failure``: the server failed)."""

    as_of: date
    planned: list[Mail]
    to_send: list[Mail]
    skipped: list[Mail]
    refused: list[Refusal]
    warnings: list[str] = field(default_factory=list)
    sent: list[Mail] = field(default_factory=list)
    failure: MailError | None = None


@dataclass(frozen=True)
class Details:
    """Children's names by case id and descriptions by action id, for ``names_in_body``."""

    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)


# --- what is due (pure) -------------------------------------------------------------------


def due_actions(rows: Iterable[tuple[str, dict]], as_of: date, soon_days: int) -> list[Item]:
    """Open actions due on or before ``as_of + soon_days``; overdue when due before ``as_of``."""
    horizon = as_of + timedelta(days=soon_days)
    items = []
    for action_id, fields in rows:
        due = fields.get("due")
        if fields.get("status") != "open" or not due or due > horizon:
            continue
        items.append(
            Item(
                id=action_id,
                what="action",
                case=fields.get("case"),
                due=due,
                overdue=due < as_of,
                person=fields.get("owner"),
                email=fields.get("owner_email"),
            )
        )
    return sorted(items, key=lambda i: (i.due, records.number_of(i.id)))


def due_reviews(
    case_rows: Iterable[tuple[str, dict]],
    history: dict[str, tuple[date, str | None]],
    reviews: dict,
    as_of: date,
    soon_days: int,
) -> list[Item]:
    """Open cases due for review, and risk assessments due for a refresh, by ``as_of +
    soon_days``. ``history`` is each case's last discussion (``meetings.case_history``);
    ``reviews`` the profile's ``reviews`` settings."""

    cadence = reviews.get("cadence_months")
    refresh = reviews.get("assessment_refresh_days")
    horizon = as_of + timedelta(days=soon_days)
    items = []
    for case_id, fields in case_rows:
        if fields.get("status") != "open" or fields.get("kind") == "perpetrator":
            continue  # a perpetrator referral is never reviewed as a child's case
        lead = fields.get("lead_professional")
        last = history.get(case_id, (None, None))[0]
        for what, due in due_items(fields, last, cadence, refresh):
            if due > horizon:
                continue
            kind = "review" if what == REVIEW else "assessment"
            items.append(Item(f"{case_id}:{kind}", kind, case_id, due, due < as_of, lead))
    return sorted(
        items, key=lambda i: (i.due or date.min, records.number_of(i.case or "C-0"), i.what)
    )


# --- who gets what (pure) -----------------------------------------------------------------


def directory(member_rows: Iterable[tuple[str, dict]]) -> dict[str, list[str]]:
    """Active members' addresses by name (folded: case and spacing do not matter)."""
    book: dict[str, list[str]] = {}
    for _member_id, fields in member_rows:
        email = (fields.get("email") or "").strip()
        if fields.get("active") is False or not email:
            continue
        found = book.setdefault(fold(fields.get("name")), [])
        if email.lower() not in (e.lower() for e in found):
            found.append(email)
    return book


def coordinator_addresses(
    member_rows: Iterable[tuple[str, dict]], settings: MailSettings
) -> list[str]:
    """``mail.coordinator`` and every active coordinator member with an address."""
    found = [settings.coordinator] if settings.coordinator else []
    for _member_id, fields in member_rows:
        email = (fields.get("email") or "").strip()
        if fields.get("role") == "coordinator" and fields.get("active") is not False and email:
            found.append(email)
    unique: dict[str, str] = {}
    for email in found:
        unique.setdefault(email.lower(), email)
    return list(unique.values())


def address_for(item: Item, book: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """(address, None), or (None, why nobody can be e-mailed about ``item``)."""
    who = "owner" if item.what == "action" else "lead professional"
    if item.email:
        return item.email.strip(), None
    if not item.person:
        return None, f"no {who} is recorded"
    found = book.get(fold(item.person), [])
    if not found:
        return None, f"no member with the {who}'s name has an e-mail address"
    if len(found) > 1:
        return None, f"members with the {who}'s name have different addresses"
    return found[0], None


def refusal_reason(address: str) -> str:
    if not mail.is_address(address):
        return "the address on record is not a valid e-mail address"
    return f"its address at {mail.domain_of(address)} is not in settings.mail.allowlist"


def plan(
    actions: Sequence[Item],
    reviews: Sequence[Item],
    member_rows: Sequence[tuple[str, dict]],
    settings: MailSettings,
    panel: str,
    as_of: date,
    details: Details | None = None,
) -> tuple[list[Mail], list[Refusal], list[str]]:
    """The mails to send as of ``as_of``, the ones refused, and warnings for the person.

    One mail per address and kind: actions, then reviews, then the coordinators' digests."""
    book = directory(member_rows)
    notes: dict[str, str] = {}  # item id -> why its person was not e-mailed
    groups: dict[tuple[int, str], tuple[str, list[Item]]] = {}
    for order, items in enumerate((actions, reviews)):
        for item in items:
            address, problem = address_for(item, book)
            if address is None:
                notes[item.id] = f"not e-mailed: {problem}"
                continue
            groups.setdefault((order, address.lower()), (address, []))[1].append(item)
    mails, refused = [], []
    for (order, _key), (address, items) in sorted(groups.items()):
        kind = KINDS[order]
        if not mail.allowed(address, settings.allowlist):
            reason = refusal_reason(address)
            refused.append(Refusal(kind, tuple(items), reason))
            notes.update((item.id, f"not e-mailed: {reason}") for item in items)
            continue
        subject = subject_for(kind, items, panel)
        body = body_for(kind, items, panel, as_of, settings, details)
        mails.append(Mail(address, kind, tuple(items), subject, body))
    everything = (*actions, *reviews)
    warnings = []
    coordinators = coordinator_addresses(member_rows, settings) if everything else []
    if everything and not coordinators:
        warnings.append(
            "No coordinator has an e-mail address, so no digest was made; give a coordinator "
            "member an e-mail address (`panelctl member add`) or set settings.mail.coordinator."
        )
        if notes:
            labels = ", ".join(dict.fromkeys(i.label for i in everything if i.id in notes))
            warnings.append(
                f"Nobody was told about {labels}: their owner or lead professional "
                "could not be e-mailed."
            )
    for address in coordinators:
        if not mail.allowed(address, settings.allowlist):
            refused.append(Refusal("digest", everything, refusal_reason(address)))
            continue
        subject = subject_for("digest", everything, panel)
        body = digest_body(everything, notes, panel, as_of, settings, details)
        mails.append(Mail(address, "digest", everything, subject, body))
    return mails, refused, warnings


def sent_keys(reminder_rows: Iterable[tuple[str, dict]]) -> set[tuple]:
    """What earlier runs sent: (recipient, kind, day, items) of every REMINDER."""
    return {
        key(fields.get("recipient") or "", fields.get("kind"), fields.get("day"), fields["items"])
        for _rid, fields in reminder_rows
        if fields.get("items") is not None
    }


def key(recipient: str, kind: str | None, day: date | None, items: Iterable[str]) -> tuple:
    return (recipient.strip().lower(), kind, day, tuple(sorted(items)))


# --- the words (pure) ---------------------------------------------------------------------


def subject_for(kind: str, items: Sequence[Item], panel: str) -> str:
    """Counts and the panel's name only: never a name, never a case id."""
    actions = sum(1 for i in items if i.what == "action")
    reviews = sum(1 for i in items if i.what == "review")
    refreshes = sum(1 for i in items if i.what == "assessment")
    parts = [
        _count(actions, "action"),
        _count(reviews, "case review"),
        _count(refreshes, "risk assessment refresh", "risk assessment refreshes"),
    ]
    what = _and([p for p in parts if p])
    prefix = "panelctl digest" if kind == "digest" else "panelctl"
    return f"{prefix}: {what} overdue or due soon ({panel})"


def _count(number: int, word: str, plural: str | None = None) -> str:
    if not number:
        return ""
    return f"{number} {word if number == 1 else (plural or word + 's')}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def when(item: Item, as_of: date) -> str:
    if item.due is None:
        return "never assessed"
    days = (as_of - item.due).days
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"due in {-days} day{'s' if days != -1 else ''}"


def item_lines(item: Item, as_of: date, details: Details | None) -> list[str]:
    """One line per item (ids and dates), and with names allowed, the child and the action."""
    name = details.names.get(item.case or "") if details else None
    case = f"case {item.case}" if item.case else "no case"
    if name:
        case += f" ({name})"
    due = show_date(item.due) if item.due else "now"
    if item.what == "action":
        lines = [f"  {item.id}  {case}  due {due}  ({when(item, as_of)})"]
        description = details.descriptions.get(item.id) if details else None
        if description:
            lines.append(f"      {' '.join(description.split())}")
        return lines
    what = "panel review" if item.what == "review" else "risk assessment refresh"
    return [f"  {case}  {what} due {due}  ({when(item, as_of)})"]


def body_for(
    kind: str,
    items: Sequence[Item],
    panel: str,
    as_of: date,
    settings: MailSettings,
    details: Details | None,
) -> str:
    what = "actions" if kind == "actions" else "case reviews and risk assessment refreshes"
    lines = [
        papers.MARKING,
        "",
        f"{panel}: your {what} overdue or due by {show_date(as_of + timedelta(days=settings.soon_days))}, "
        f"as of {show_date(as_of)}.",
    ]
    for heading, chosen in (
        ("Overdue", [i for i in items if i.overdue]),
        ("Due soon", [i for i in items if not i.overdue]),
    ):
        if chosen:
            lines += ["", f"{heading}:"]
            for item in chosen:
                lines += item_lines(item, as_of, details)
    return "\n".join([*lines, *_footer(settings, kind)]) + "\n"


def digest_body(
    items: Sequence[Item],
    notes: dict[str, str],
    panel: str,
    as_of: date,
    settings: MailSettings,
    details: Details | None,
) -> str:
    lines = [
        papers.MARKING,
        "",
        f"{panel}: everything overdue or due by {show_date(as_of + timedelta(days=settings.soon_days))}, "
        f"as of {show_date(as_of)}.",
    ]
    for heading, chosen in (
        ("Actions", [i for i in items if i.what == "action"]),
        ("Case reviews and risk assessment refreshes", [i for i in items if i.what != "action"]),
    ):
        if not chosen:
            continue
        lines += ["", f"{heading}:"]
        for item in chosen:
            first, *rest = item_lines(item, as_of, details)
            who = "owner" if item.what == "action" else "lead professional"
            first += f"  {who}: {item.person or '(none)'}"
            if item.id in notes:
                first += f"  [{notes[item.id]}]"
            lines += [first, *rest]
    return "\n".join([*lines, *_footer(settings, "digest")]) + "\n"


HINTS = {
    "actions": "Mark an action done with `panelctl actions done ID`, or tell the panel coordinator.",
    "reviews": "Record a new risk assessment with `panelctl rfm add CASE`, or tell the panel coordinator.",
    "digest": "See `panelctl actions overdue` and `panelctl review due` for the whole picture.",
}


def _footer(settings: MailSettings, kind: str) -> list[str]:
    if settings.names_in_body:
        privacy = "This e-mail holds personal details: keep it secure and do not forward it."
    else:
        privacy = "Children are named by case id only; look them up in panelctl."
    return [
        "",
        privacy,
        HINTS[kind],
        "Sent by panelctl; do not reply to this address.",
    ]


# --- the store ----------------------------------------------------------------------------


def remind(store, as_of: date, *, dry_run: bool = False, now: datetime | None = None) -> Outcome:
    """Plan today's reminders, send those not sent already, and record what was accepted.

    With ``dry_run`` nothing is sent or recorded (and no child's name is read). A server
    that fails is not raised: it is returned as ``failure``, after the mails it accepted
    are recorded, so the caller can report refusals first."""
    settings = mail.settings_from(store.profile)
    if dry_run:
        return _planned(store, settings, as_of, with_names=False)
    mail.check_sendable(settings)
    secret = mail.password(settings, store.root)
    with store.lock():  # one run at a time: the second sees the first's records
        outcome = _planned(store, settings, as_of, with_names=settings.names_in_body)
        _send(store, settings, secret, outcome, now)
    return outcome


def _planned(store, settings: MailSettings, as_of: date, with_names: bool) -> Outcome:

    index = store.index()
    actions = due_actions(index.rows("action"), as_of, settings.soon_days)
    history = case_history(store, as_of + timedelta(days=1))
    corrected = real_assessed(store)  # not a panel's agreed level saved as an RFM before 0.3.0
    cases = (
        (case_id, {**fields, "assessed": corrected[case_id]} if case_id in corrected else fields)
        for case_id, fields in index.rows("case")
    )
    reviews = due_reviews(
        cases, history, store.profile.get("reviews") or {}, as_of, settings.soon_days
    )
    members = list(index.rows("member"))
    details = _details(store, [*actions, *reviews]) if with_names else None
    panel = " ".join(store.settings.name.split())
    mails, refused, warnings = plan(actions, reviews, members, settings, panel, as_of, details)
    done = sent_keys(index.rows("reminder"))
    fresh = [m for m in mails if key(m.recipient, m.kind, as_of, m.ids) not in done]
    skipped = [m for m in mails if m not in fresh]
    return Outcome(as_of, mails, fresh, skipped, refused, warnings)


def _details(store, items: Sequence[Item]) -> Details:
    """The children's names and the actions' descriptions (decrypted), for names_in_body."""
    names = {}
    for case_id in dict.fromkeys(i.case for i in items if i.case):
        if store.exists(case_id):
            names[case_id] = (store.read(case_id).get("child") or {}).get("name") or ""
    descriptions = {
        i.id: store.read(i.id).get("description") or ""
        for i in items
        if i.what == "action" and store.exists(i.id)
    }
    return Details(names, descriptions)


def _send(store, settings: MailSettings, secret, outcome: Outcome, now) -> None:
    messages = [
        mail.message(settings.sender, m.recipient, m.subject, m.body) for m in outcome.to_send
    ]
    accepted: list[int] = []

    def refused(number: int, reason: str) -> None:
        chosen = outcome.to_send[number]
        outcome.refused.append(Refusal(chosen.kind, chosen.items, reason))

    try:
        mail.send_all(settings, secret, messages, accepted.append, refused)
    except MailError as error:
        outcome.failure = error
    finally:  # even when interrupted: what the server took is recorded, so it is not resent
        outcome.sent = [outcome.to_send[n] for n in accepted]
        record(store, outcome.sent, outcome.as_of, now)


def record(store, sent: Sequence[Mail], as_of: date, now: datetime | None = None) -> None:
    """One REMINDER and one DISCLOSURE per mail sent, all in one commit (call with the
    store locked)."""

    if not sent:
        return
    stamp = (now or uk_now()).astimezone(LONDON).replace(microsecond=0)
    count = f"{len(sent)} reminder{'s' if len(sent) != 1 else ''}"
    tx = Transaction(store, f"Record {count} sent for {as_of.isoformat()}")
    for sent_mail in sent:
        tx.create(
            "reminder",
            {
                "day": as_of,
                "recipient": sent_mail.recipient,
                "kind": sent_mail.kind,
                "items": sent_mail.ids,
                "subject": sent_mail.subject,
                "sent": stamp,
            },
        )
        # the mail's body went out of the store: one disclosure per mail, in the same commit
        log_disclosure(
            store,
            output="mail",
            form="mail",
            records=mail_records(sent_mail),
            recipients=[sent_mail.recipient],
            tx=tx,
        )
    tx.commit()


def mail_records(sent: Mail) -> list[str]:
    """The records a reminder's body speaks of: each action, and each item's case."""
    ids = []
    for item in sent.items:
        if item.what == "action":
            ids.append(item.id)
        if item.case:
            ids.append(item.case)
    return list(dict.fromkeys(ids))
