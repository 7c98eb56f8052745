"""The record types as msgspec Structs: what each YAML record may hold, field by field.

One Struct per record type, with nested Structs for the parts of a record that are maps
(a case's child, a meeting's attendance and discussions...). They are the single source
of truth for validation (:func:`panelctl.model.records.validate`), for the index's typed
columns and for the format reference ``docs/format.md`` (``python -m panelctl.model.docs``).

Every field carries its meaning as ``Meta(description=...)``. Optional fields default to
``None`` and are left out when a Struct is turned back into a mapping, so a record read
from YAML, converted and turned back is the same mapping. Dates are ``date``; moments are
``datetime`` with their UTC offset; a time of day stays the ``HH:MM`` text it is on disk.

``FORMAT`` (a class variable of each record type) is the version of that type's YAML
shape, written at the top of every record as ``format: N`` (a record without it is at
format 1). Format numbers are one sequence for the whole of panelctl
(:mod:`panelctl.model.formats` maps each to the version that introduced it). Any change to
a type's shape takes the next number: add it to ``formats.FORMATS`` with the release's
version, set the type's ``FORMAT`` to it, say what changed in the type's docstring, and
register an upgrade step for it in ``formats.UPGRADES`` (a pure function turning a record's
mapping at the previous format into one at the new one; none is needed when the change
only adds an optional field). That includes adding an optional field: an older panelctl
would otherwise reject the record with an unknown field (exit 9), or, were unknown fields
let through, drop the field when it saved the record. With the bump, an older panelctl
says which version it needs (exit 21), and reads and writes nothing of the store.

Unknown keys are an error at the top level of a record and in a case's missing episodes
and flags (as they always were); elsewhere, inside nested maps, unknown keys are kept in
the file as they are and not checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

SECTORS = (
    "police",
    "health",
    "local authority",
    "education",
    "probation",
    "youth justice",
    "voluntary",
    "other",
)
MEMBER_ROLES = ("chair", "vice-chair", "coordinator", "core", "virtual")
PERSON_KINDS = ("person", "group")
LOCATION_KINDS = ("address", "area", "school", "venue", "hotspot", "safe space", "other")
CASE_KINDS = ("victim", "perpetrator")
ATTENDANCE = ("present", "apologies", "deputy", "virtual")
UPDATE_MEANS = ("written", "e-mail")
DECISIONS = ("keep", "step down", "close")
CASE_STATUSES = ("open", "closed")
MEETING_STATUSES = ("planned", "in progress", "held", "cancelled")
MINUTES_STATUSES = ("draft", "approved")
ACTION_STATUSES = ("open", "done", "cancelled")
REMINDER_KINDS = ("actions", "reviews", "digest")
#: every list of choices, in the order messages and the format reference give them
CHOICES = (
    SECTORS,
    MEMBER_ROLES,
    PERSON_KINDS,
    LOCATION_KINDS,
    CASE_KINDS,
    ATTENDANCE,
    UPDATE_MEANS,
    DECISIONS,
    CASE_STATUSES,
    MEETING_STATUSES,
    MINUTES_STATUSES,
    ACTION_STATUSES,
    REMINDER_KINDS,
)

#: ``kind`` in a type's ``Meta.extra`` names a text type with its own wording (a time, an id).
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Time = Annotated[str, Meta(pattern=TIME_PATTERN, extra={"kind": "time"})]
Stamp = Annotated[dt.datetime, Meta(tz=True)]


def _ref(prefix: str, name: str):
    return Annotated[
        str, Meta(pattern=rf"^{prefix}-[0-9]{{4,9}}$", extra={"kind": "ref", "ref": name})
    ]


CaseId = _ref("C", "case")
MeetingId = _ref("M", "meeting")
ActionId = _ref("A", "action")
PersonId = _ref("P", "person")


class Part(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A nested map of a record: unknown keys are kept in the file, not checked."""


class StrictPart(Part, forbid_unknown_fields=True):
    """A nested map of a record that holds only the keys it declares."""


class Conflict(StrictPart, kw_only=True):
    """Two different changes to one field, met when clones were merged (see model/merge.py)."""

    field: Annotated[
        str, Meta(description="The field's path (e.g. risk, child.dob, attendance[3].status)")
    ]
    # required, though they may be null (an absent field): so a conflict always shows all three
    base: Annotated[Any, Meta(description="Its value before either change (null: absent)")]
    ours: Annotated[Any, Meta(description="The value this clone had given it")]
    theirs: Annotated[Any, Meta(description="The value the shared copy had (kept meanwhile)")]
    recorded: Annotated[str, Meta(description="When the conflict was found (ISO date and time)")]


class Record(StrictPart, kw_only=True):
    """A whole record: its id, and only the fields its type declares."""

    FORMAT: ClassVar[int] = 1
    id: Annotated[str, Meta(description="The record's id, also its file name")]
    conflicts: Annotated[
        list[Conflict] | None,
        Meta(description="Changes met in a merge and not yet settled (panelctl resolve)"),
    ] = None


# --- case ----------------------------------------------------------------------------------


class Child(Part, kw_only=True):
    name: Annotated[str, Meta(description="The child's name")]
    dob: Annotated[dt.date | None, Meta(description="Date of birth")] = None
    gender: Annotated[str | None, Meta(description="Gender")] = None
    ethnicity: Annotated[str | None, Meta(description="Ethnicity")] = None
    school: Annotated[str | None, Meta(description="School or college")] = None
    area: Annotated[str | None, Meta(description="Area or ward where the child lives")] = None
    looked_after: Annotated[bool | None, Meta(description="A looked-after child")] = None
    out_of_area: Annotated[
        bool | None, Meta(description="Placed here by another area, or placed out of area")
    ] = None


class CaseEvent(Part, kw_only=True):
    date: Annotated[dt.date, Meta(description="When it happened")]
    event: Annotated[str, Meta(description="What happened, in a few words (ids only)")]


class MissingEpisode(StrictPart, kw_only=True):
    start: Annotated[Stamp, Meta(description="When the child went missing")]
    end: Annotated[Stamp | None, Meta(description="When the child was found or returned")] = None
    note: Annotated[str | None, Meta(description="A note about the episode")] = None


class Flag(StrictPart, kw_only=True):
    flag: Annotated[str, Meta(description="What the flag warns of")]
    owner: Annotated[str, Meta(description="Who owns the flag")]
    review: Annotated[dt.date, Meta(description="When the flag is next reviewed")]
    raised: Annotated[dt.date | None, Meta(description="When the flag was raised")] = None
    cleared: Annotated[dt.date | None, Meta(description="When the flag was cleared")] = None


class Case(Record, kw_only=True):
    """A child nominated to the panel, or a perpetrator referral (a person of concern).

    Format 3 (panelctl 0.3.0) added ``kind`` and ``person`` (a perpetrator referral has a
    person of concern and no child) and ``age_reason`` (why a young adult is nominated).
    Like conflicts, only a case holding one of them is written at format 3 (see
    ``formats.FIELD_FORMATS``); every other case stays at format 1."""
    status: Annotated[Literal[CASE_STATUSES], Meta(description="Open or closed")]
    kind: Annotated[
        Literal[CASE_KINDS] | None,
        Meta(description="victim (a child; when absent) or perpetrator (a referral)"),
    ] = None
    child: Annotated[
        Child | None, Meta(description="The child (every case but a perpetrator referral)")
    ] = None
    person: Annotated[
        PersonId | None,
        Meta(description="The person of concern a perpetrator referral is about"),
    ] = None
    age_reason: Annotated[
        str | None,
        Meta(description="Why a young adult above the panel's age range is nominated"),
    ] = None
    nominated: Annotated[dt.date | None, Meta(description="When the child was nominated")] = None
    repeat_of: Annotated[
        CaseId | None, Meta(description="An earlier case of the same child, closed recently")
    ] = None
    referring_agency: Annotated[str | None, Meta(description="The agency that nominated")] = None
    involved_agencies: Annotated[
        list[str] | None, Meta(description="Agencies working with the child")
    ] = None
    known_to: Annotated[
        list[str] | None, Meta(description="Sectors the child is already known to")
    ] = None
    first_referral: Annotated[
        bool | None, Meta(description="The child's first referral to children's services")
    ] = None
    protocol_followed: Annotated[
        bool | None, Meta(description="The referral protocol was followed")
    ] = None
    lead_agency: Annotated[str | None, Meta(description="The agency leading the work")] = None
    lead_professional: Annotated[
        str | None, Meta(description="The allocated worker, who presents the case")
    ] = None
    team: Annotated[str | None, Meta(description="The lead professional's team or service")] = None
    team_manager: Annotated[
        str | None, Meta(description="The team manager, who confirms decisions")
    ] = None
    risk: Annotated[
        str | None, Meta(description="The current risk level (a level of the risk tool)")
    ] = None
    risk_tool: Annotated[str | None, Meta(description="The risk tool of the current level")] = None
    assessed: Annotated[dt.date | None, Meta(description="When the risk was last assessed")] = None
    exploitation_types: Annotated[
        list[str] | None, Meta(description="Kinds of exploitation of concern")
    ] = None
    concern: Annotated[str | None, Meta(description="The nature of the concern")] = None
    consequences: Annotated[
        str | None, Meta(description="Potential consequences if the risk is not reduced")
    ] = None
    child_views: Annotated[str | None, Meta(description="The child's views")] = None
    carer_views: Annotated[str | None, Meta(description="The parents' or carers' views")] = None
    review_due: Annotated[dt.date | None, Meta(description="A review date set by the chair")] = None
    closed: Annotated[dt.date | None, Meta(description="When the case was closed")] = None
    closure_reason: Annotated[str | None, Meta(description="Why the case was closed")] = None
    closure_agreed_by: Annotated[
        list[str] | None, Meta(description="Agencies (or people) who agreed the closure")
    ] = None
    history: Annotated[
        list[CaseEvent] | None, Meta(description="The case's chronology, oldest first")
    ] = None
    missing: Annotated[list[MissingEpisode] | None, Meta(description="Missing episodes")] = None
    flags: Annotated[list[Flag] | None, Meta(description="Warning flags with an owner")] = None

    def __post_init__(self) -> None:
        """A child's case has its child; a perpetrator referral its person of concern."""
        if self.kind == "perpetrator":
            if self.person is None:
                raise ValueError("field person is required (a perpetrator referral)")
        elif self.child is None:
            raise ValueError("field child is required")


# --- meeting -------------------------------------------------------------------------------


class AgendaItem(Part, kw_only=True):
    case: Annotated[CaseId, Meta(description="The case discussed in this slot")]
    start: Annotated[str | None, Meta(description="When the slot starts (HH:MM)")] = None
    end: Annotated[str | None, Meta(description="When the slot ends (HH:MM)")] = None
    reason: Annotated[str | None, Meta(description="Why the case is on the agenda")] = None
    kind: Annotated[
        Literal[CASE_KINDS] | None,
        Meta(description="Whether the case is about a victim or a perpetrator"),
    ] = None


class Attendance(Part, kw_only=True):
    name: Annotated[str, Meta(description="Who (a professional's name)")]
    agency: Annotated[str | None, Meta(description="Their agency")] = None
    status: Annotated[
        Literal[ATTENDANCE] | None,
        Meta(description="Present, sent apologies, a deputy, or virtual: joined remotely "
             "(format 3; counts as present)"),
    ] = None
    sector: Annotated[str | None, Meta(description="Their sector, for the quorum")] = None
    deputising_for: Annotated[str | None, Meta(description="Whom a deputy stands in for")] = None
    guest: Annotated[
        bool | None,
        Meta(description="Not a panel member (a guest does not count towards the quorum)"),
    ] = None


class Signature(Part, kw_only=True):
    name: Annotated[str, Meta(description="Who was present")]
    signed: Annotated[
        bool | None, Meta(description="They signed the confidentiality statement")
    ] = None


class Adjournment(Part, kw_only=True):
    was: Annotated[dt.date, Meta(description="The day the meeting was to be held")]
    to: Annotated[dt.date, Meta(description="The day it was adjourned to")]
    on: Annotated[dt.date, Meta(description="When it was adjourned")]


class Cancellation(Part, kw_only=True):
    reason: Annotated[str, Meta(description="Why it was cancelled")]
    on: Annotated[dt.date, Meta(description="When it was cancelled")]


class Declaration(Part, kw_only=True):
    name: Annotated[str, Meta(description="Who declared an interest")]
    interest: Annotated[str | None, Meta(description="The interest declared")] = None
    excluded_cases: Annotated[
        list[CaseId] | None, Meta(description="Cases they take no part in")
    ] = None


class LeadUpdate(Part, kw_only=True):
    name: Annotated[str, Meta(description="The lead worker who sent it (a professional's name)")]
    agency: Annotated[str | None, Meta(description="Their agency")] = None
    by: Annotated[Literal[UPDATE_MEANS], Meta(description="How it came: written or e-mail")]


class Discussion(Part, kw_only=True):
    case: Annotated[CaseId, Meta(description="The case discussed")]
    items: Annotated[
        dict[str, str] | None,
        Meta(description="What was said under each agenda item of the case (item: text)"),
    ] = None
    excluded: Annotated[
        list[str] | None, Meta(description="People present who took no part (declarations)")
    ] = None
    risk_agreed: Annotated[str | None, Meta(description="The risk level the panel agreed")] = None
    decision: Annotated[
        Literal[DECISIONS] | None, Meta(description="The panel's decision (when quorate)")
    ] = None
    agreed_by: Annotated[list[str] | None, Meta(description="Who agreed the decision")] = None
    actions: Annotated[list[ActionId] | None, Meta(description="Actions set for the case")] = None
    note: Annotated[str | None, Meta(description="A note (e.g. why no decision was made)")] = None
    resources: Annotated[
        str | None, Meta(description="Resources / cost implications (format 3)")
    ] = None
    lead_update: Annotated[
        LeadUpdate | None,
        Meta(description="A lead worker's written or e-mail update instead of attending "
             "(format 3)"),
    ] = None


class Minutes(Part, kw_only=True):
    status: Annotated[Literal[MINUTES_STATUSES], Meta(description="Draft or approved")]
    approved_by: Annotated[str | None, Meta(description="The chair who approved them")] = None
    approved_at: Annotated[Stamp | None, Meta(description="When they were approved")] = None
    approved_as: Annotated[
        str | None, Meta(description="Their role: chair, or vice-chair deputising (format 3)")
    ] = None


class Meeting(Record, kw_only=True):
    """A panel meeting: its agenda, and what was recorded as it ran.

    Format 3 (panelctl 0.3.0) added who chaired (``chair``), what was said under the
    standing and closing items (``standing_items``, ``closing_items``), a discussion's
    ``resources``, the minutes' ``approved_as``, and a meeting's ``adjournments`` and
    ``cancelled`` (why and when); then ``virtual`` attendance (joined remotely), a
    discussion's ``lead_update`` and the core agencies ``unrepresented`` (in the same
    unreleased format 3). All are optional: a format 1 meeting reads as it is (no
    upgrade step).
    """

    FORMAT: ClassVar[int] = 3

    date: Annotated[dt.date, Meta(description="The day of the meeting")]
    time: Annotated[Time | None, Meta(description="When it starts (HH:MM, UK time)")] = None
    venue: Annotated[str | None, Meta(description="Where it is held")] = None
    status: Annotated[
        Literal[MEETING_STATUSES] | None,
        Meta(description="Where the meeting is in its life"),
    ] = None
    cases: Annotated[list[CaseId] | None, Meta(description="The cases on the agenda")] = None
    agenda: Annotated[list[AgendaItem] | None, Meta(description="The agenda's case slots")] = None
    papers_due: Annotated[dt.date | None, Meta(description="When the papers must go out")] = None
    attendance: Annotated[list[Attendance] | None, Meta(description="Who attended")] = None
    chair: Annotated[str | None, Meta(description="Who chaired (format 3)")] = None
    confidentiality: Annotated[
        list[Signature] | None, Meta(description="The confidentiality statement's signatures")
    ] = None
    declarations: Annotated[
        list[Declaration] | None, Meta(description="Declarations of interest")
    ] = None
    unrepresented: Annotated[
        list[str] | None,
        Meta(description="Core agencies expected but with nobody present, as the agency list "
             "stood when attendance was taken (format 3)"),
    ] = None
    quorate: Annotated[bool | None, Meta(description="The meeting was quorate")] = None
    quorum_note: Annotated[str | None, Meta(description="How the quorum was judged")] = None
    standing_items: Annotated[
        dict[str, str] | None,
        Meta(description="What was said under the standing items, such as the previous "
             "meeting's actions (item: text; format 3)"),
    ] = None
    discussions: Annotated[
        list[Discussion] | None, Meta(description="Each case discussed, in agenda order")
    ] = None
    closing_items: Annotated[
        dict[str, str] | None,
        Meta(description="What was said under the closing items, such as emerging patterns "
             "(item: text; format 3)"),
    ] = None
    progress: Annotated[
        list[str] | None, Meta(description="The steps of the run already saved")
    ] = None
    started: Annotated[Stamp | None, Meta(description="When the run started")] = None
    finished: Annotated[Stamp | None, Meta(description="When the run finished")] = None
    minutes: Annotated[Minutes | None, Meta(description="The minutes' approval")] = None
    adjournments: Annotated[
        list[Adjournment] | None,
        Meta(description="Each time the meeting was adjourned to a later day (format 3)"),
    ] = None
    cancelled: Annotated[
        Cancellation | None, Meta(description="Why and when it was cancelled (format 3)")
    ] = None


# --- follow-up -----------------------------------------------------------------------------


class ActionEvent(Part, kw_only=True):
    at: Annotated[Stamp, Meta(description="When the change was made")]
    by: Annotated[str, Meta(description="Who made it")]
    change: Annotated[str, Meta(description="What changed")]
    note: Annotated[str | None, Meta(description="Why, in the person's words")] = None


class Action(Record, kw_only=True):
    """An action set for an agency, usually at a meeting."""

    description: Annotated[str, Meta(description="What is to be done")]
    case: Annotated[CaseId | None, Meta(description="The case it is for")] = None
    meeting: Annotated[MeetingId | None, Meta(description="The meeting that set it")] = None
    agency: Annotated[str | None, Meta(description="The agency responsible")] = None
    owner: Annotated[str | None, Meta(description="The person responsible")] = None
    due: Annotated[dt.date, Meta(description="When it is due")]
    status: Annotated[Literal[ACTION_STATUSES], Meta(description="Open, done or cancelled")]
    completed: Annotated[dt.date | None, Meta(description="When it was done")] = None
    owner_email: Annotated[str | None, Meta(description="Where reminders go")] = None
    history: Annotated[
        list[ActionEvent] | None, Meta(description="Every change, with who and when")
    ] = None


class Assessment(Record, kw_only=True):
    """A risk assessment of a case with a risk tool."""

    case: Annotated[CaseId, Meta(description="The case assessed")]
    tool: Annotated[str, Meta(description="The risk tool used")]
    date: Annotated[dt.date, Meta(description="When it was assessed")]
    assessor: Annotated[str, Meta(description="Who assessed")]
    agency: Annotated[str, Meta(description="The assessor's agency")]
    factors: Annotated[list[str] | None, Meta(description="The tool's factors present")] = None
    score: Annotated[int | None, Meta(description="The tool's score, if it scores")] = None
    derived: Annotated[str, Meta(description="The level the tool derives")]
    agreed: Annotated[str, Meta(description="The level agreed")]
    override_reason: Annotated[
        str | None, Meta(description="Why the agreed level differs from the derived one")
    ] = None
    source: Annotated[
        str | None, Meta(description="Where it came from (nomination, panel, import)")
    ] = None


class Decision(Record, kw_only=True):
    """A panel decision on a case, for its team manager to confirm in writing."""

    case: Annotated[CaseId, Meta(description="The case decided on")]
    meeting: Annotated[MeetingId, Meta(description="The meeting that decided")]
    decision: Annotated[Literal[DECISIONS], Meta(description="What the panel decided")]
    risk: Annotated[str | None, Meta(description="The risk level agreed")] = None
    actions: Annotated[list[ActionId] | None, Meta(description="The actions set")] = None
    team_manager: Annotated[str | None, Meta(description="The team manager who must confirm")] = (
        None
    )
    due: Annotated[Stamp | None, Meta(description="When the confirmation is due")] = None
    confirmed: Annotated[Stamp | None, Meta(description="When it was confirmed")] = None
    confirmed_by: Annotated[str | None, Meta(description="Who confirmed it")] = None


class Reminder(Record, kw_only=True):
    """A reminder e-mail sent (so a day's reminders are sent once)."""

    day: Annotated[dt.date, Meta(description="The day the reminder was for")]
    recipient: Annotated[str, Meta(description="Where it was sent")]
    kind: Annotated[Literal[REMINDER_KINDS], Meta(description="What it reminded of")]
    items: Annotated[list[str] | None, Meta(description="The ids it listed")] = None
    subject: Annotated[str, Meta(description="Its subject line")]
    sent: Annotated[Stamp, Meta(description="When it was sent")]


class Erasure(Record, kw_only=True):
    """A tombstone: a case was erased (``panelctl erase``). It holds no personal data: the
    ids that went, how many of each kind, when, under which rule and by whom (their key's
    fingerprint and role), so the erasure itself is accountable and signed."""

    FORMAT: ClassVar[int] = 4
    case: Annotated[CaseId, Meta(description="The case erased")]
    erased: Annotated[Stamp, Meta(description="When it was erased")]
    by: Annotated[str, Meta(description="Who erased it: their key's fingerprint")]
    role: Annotated[str, Meta(description="Their role in the store")]
    rule: Annotated[
        str, Meta(description="Why: the retention rule that applied, or the request or order")
    ]
    reason: Annotated[str, Meta(description="The coordinator's reason, in a few words (no names)")]
    removed: Annotated[
        dict[str, int], Meta(description="How many records of each type were erased")
    ]
    ids: Annotated[list[str], Meta(description="The ids of the records erased")]
    changed: Annotated[
        list[str] | None,
        Meta(description="Records kept but changed: meetings that discussed the case"),
    ] = None
    unshredded: Annotated[
        int | None,
        Meta(
            description="Versions in history written before the store had case keys, "
            "which erasure could not make unreadable"
        ),
    ] = None


# --- the panel's directory and intelligence --------------------------------------------------


class Agency(Record, kw_only=True):
    """An agency of the panel."""

    name: Annotated[str, Meta(description="The agency's name")]
    sector: Annotated[Literal[SECTORS], Meta(description="Its sector")]
    core: Annotated[bool | None, Meta(description="A core agency of the panel")] = None


class Member(Record, kw_only=True):
    """A panel member."""

    name: Annotated[str, Meta(description="The member's name")]
    agency: Annotated[str, Meta(description="Their agency")]
    role: Annotated[Literal[MEMBER_ROLES], Meta(description="Their role on the panel")]
    email: Annotated[str | None, Meta(description="Their e-mail address")] = None
    active: Annotated[bool | None, Meta(description="Still a member")] = None


class Person(Record, kw_only=True):
    """A person or group of concern (intelligence)."""

    kind: Annotated[Literal[PERSON_KINDS], Meta(description="A person or a group")]
    names: Annotated[list[str] | None, Meta(description="Names known")] = None
    nicknames: Annotated[list[str] | None, Meta(description="Nicknames known")] = None
    description: Annotated[str | None, Meta(description="A description")] = None
    vehicles: Annotated[list[str] | None, Meta(description="Vehicles used")] = None
    phones: Annotated[list[str] | None, Meta(description="Phone numbers")] = None
    usernames: Annotated[list[str] | None, Meta(description="Online usernames")] = None
    police_only: Annotated[bool | None, Meta(description="Shown to police readers only")] = None
    added: Annotated[dt.date | None, Meta(description="When it was added")] = None


class Location(Record, kw_only=True):
    """A place of concern or of safety."""

    kind: Annotated[Literal[LOCATION_KINDS], Meta(description="What kind of place")]
    name: Annotated[str, Meta(description="The place's name")]
    address: Annotated[str | None, Meta(description="Its address")] = None
    area: Annotated[str | None, Meta(description="Its area or ward")] = None
    description: Annotated[str | None, Meta(description="A description")] = None
    police_only: Annotated[bool | None, Meta(description="Shown to police readers only")] = None
    added: Annotated[dt.date | None, Meta(description="When it was added")] = None


class Link(Record, kw_only=True):
    """A link between two records (a case, a person, a location)."""

    a: Annotated[str, Meta(description="One end: a record id")]
    b: Annotated[str, Meta(description="The other end: a record id")]
    nature: Annotated[str, Meta(description="What links them")]
    source: Annotated[str, Meta(description="Where the information came from")]
    date: Annotated[dt.date, Meta(description="When it was recorded")]
    police_only: Annotated[bool | None, Meta(description="Shown to police readers only")] = None


# --- information governance --------------------------------------------------------------

#: what was written out of the store (papers, minutes, a report...), and in which forms
DISCLOSURE_OUTPUTS = (
    "papers",
    "minutes",
    "report",
    "annual-review",
    "subject-access",
    "mail",
    "map",
)
DISCLOSURE_FORMS = ("html", "pdf", "md", "csv", "json", "xlsx", "dot", "svg", "ics", "mail")
_FORM = "|".join(DISCLOSURE_FORMS)
RecordRef = Annotated[
    str, Meta(pattern=r"^[A-Z]{1,3}-[0-9]{4,9}$", extra={"kind": "ref", "ref": "record"})
]


class Discloser(StrictPart, kw_only=True):
    """Who wrote the personal data out, as the keyring knows them (never a name)."""

    reader: Annotated[
        str, Meta(description="The reader's key fingerprint (`panelctl access list`)")
    ]
    role: Annotated[str, Meta(description="Their role in the store when they did it")]
    agency: Annotated[str, Meta(description="Their agency, as the keyring has it")]


class Disclosure(Record, kw_only=True):
    """A disclosure: personal data written out of the store (papers, minutes, a report with
    small numbers shown, a subject access export, an e-mail). Ids only, never a name. It is
    written once and never changed or deleted (`verify` refuses either, whoever signs it)."""

    FORMAT: ClassVar[int] = 4  # a type new in format 4 (panelctl 0.4.0)
    at: Annotated[Stamp, Meta(description="When it was made (UK time)")]
    by: Annotated[Discloser, Meta(description="Who made it")]
    output: Annotated[
        str, Meta(pattern=r"^[a-z][a-z-]{0,39}$", description="What was produced (e.g. papers)")
    ]
    form: Annotated[
        str,
        Meta(
            pattern=rf"^({_FORM})(,({_FORM}))*$",
            description=f"In which forms, comma-separated: {', '.join(DISCLOSURE_FORMS)}",
        ),
    ]
    records: Annotated[
        list[RecordRef], Meta(description="The ids of the records whose data went out")
    ]
    kinds: Annotated[list[str], Meta(description="The record types of those ids")]
    recipients: Annotated[
        list[str] | None, Meta(description="To whom, where known (e-mail addresses)")
    ] = None
    command: Annotated[str, Meta(description="The command that made it (without its values)")]


class Restricted(Record, kw_only=True):
    """An item restricted to a group of readers (see ``panelctl.casework.restricted``):
    every reader sees what it is about, its group, who added it and when; only the group's
    members can open ``sealed`` (a text note, or a person's, location's or link's sensitive
    fields). Written once: it never changes afterwards."""

    FORMAT: ClassVar[int] = 4  # a type new in format 4 (panelctl 0.4.0)
    subject: Annotated[
        str,
        Meta(
            description="The record it is about: a case, person, location or link id",
            pattern=r"^(C|P|L|K)-[0-9]{4,9}$",
        ),
    ]
    group: Annotated[
        str, Meta(description="The group that may read it", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    ]
    epoch: Annotated[int, Meta(description="The group's key epoch it is sealed under", ge=1)]
    by: Annotated[str, Meta(description="Who added it")]
    added: Annotated[dt.date, Meta(description="When it was added")]
    sealed: Annotated[
        str, Meta(description="The content, sealed to the group's key (base64); not readable here")
    ]
