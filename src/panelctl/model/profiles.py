"""Panel profiles: one data file per panel, shipped inside the package.

A profile says how a panel works: its risk tool, entry rules for a nomination, meeting
frequency, how far ahead papers go out, slot length, review cadence, assessment refresh
interval, quorum rule, chair and vice-chair, confidentiality statement, agenda shape,
decision-sheet fields, retention, and the agencies it starts with. Panels differ by these
data, never by code: a sixth area is a new YAML file (``init --profile path/to/file.yaml``).
A store may override any setting under ``settings:`` in its ``panelctl.yaml``.
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError
from panelctl.model.types import SECTORS, Time

REQUIRED = (
    "name",
    "title",
    "area",
    "nation",
    "risk_tool",
    "entry_rules",
    "meetings",
    "reviews",
    "quorum",
    "chair",
    "confidentiality_statement",
    "agenda",
    "decision_sheet",
    "decisions",
    "retention",
)
NATIONS = ("england", "wales", "scotland", "northern-ireland")
#: Settings that are flags: true/false, or yes/no (read as text by YAML 1.2) in a file.
FLAGS = (
    ("meetings", "confidentiality_form"),
    ("meetings", "lead_worker_updates"),
    ("reviews", "review_perpetrators"),
    ("agenda", "perpetrators_after_victims"),
    ("agenda", "declarations_of_interest"),
    ("decisions", "chair_approves_minutes"),
    ("decisions", "closure_by_all_core_agencies"),
)


# --- the shape of a profile (and of a store's overrides laid over it) --------------------

Count = Annotated[int, Meta(ge=0, le=3650)]
Positive = Annotated[int, Meta(ge=1, le=3650)]
Texts = list[str]


class _Part(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class EntryRule(_Part, kw_only=True):
    rule: str
    tool: str | None = None
    levels: Texts | None = None
    fields: Texts | None = None
    field: str | None = None
    reason: str | None = None
    any_of: Texts | None = None
    sectors: list[Literal[SECTORS]] | None = None


class Papers(_Part, kw_only=True):
    days: Count
    count: Literal["calendar", "working"] = "calendar"


class Meetings(_Part, kw_only=True):
    frequency: str
    start_time: Time | None = None
    slot_minutes: Annotated[int, Meta(ge=1, le=480)]
    papers: Papers | None = None
    confidentiality_form: bool | None = None
    #: a lead worker may send a written or e-mail update instead of attending (Stoke CSE panel)
    lead_worker_updates: bool | None = None
    #: to whom the chair reports core agencies not represented (MACSE: CYSUR)
    unrepresented_reported_to: str | None = None


class Reviews(_Part, kw_only=True):
    cadence_months: Annotated[int, Meta(ge=1, le=120)] | None = None
    assessment_refresh_days: Positive | None = None
    review_perpetrators: bool | None = None


class Quorum(_Part, kw_only=True):
    rule: Literal["none", "sectors"] = "none"
    each_of: list[Literal[SECTORS]] | None = None


class Chair(_Part, kw_only=True):
    chair: str | None = None
    vice_chair: str | None = None
    sectors: list[Literal[SECTORS]] | None = None
    vice_chair_sectors: list[Literal[SECTORS]] | None = None


class Agenda(_Part, kw_only=True):
    standing: Texts | None = None
    case_items: Texts | None = None
    closing: Texts | None = None
    perpetrators_after_victims: bool | None = None
    declarations_of_interest: bool | None = None


class Ages(_Part, kw_only=True):
    under: Annotated[int, Meta(ge=1, le=150)]
    older: Literal["reason", "refuse", "allow"] = "reason"


class AnnualReview(_Part, kw_only=True):
    first_month: Annotated[int, Meta(ge=1, le=12)] = 1


class Decisions(_Part, kw_only=True):
    chair_approves_minutes: bool | None = None
    confirmation_hours: Annotated[int, Meta(ge=1, le=8760)] | None = None
    #: a case closes only when every core agency present agrees (MACSE)
    closure_by_all_core_agencies: bool | None = None


class Retention(_Part, kw_only=True):
    years_after_closure: Annotated[int, Meta(ge=1, le=100)]
    #: optional: kept at least until the child's birthday of this age (the later day applies)
    until_age: Annotated[int, Meta(ge=18, le=100)] | None = None


class SeedAgency(_Part, kw_only=True):
    name: str
    sector: Literal[SECTORS]
    core: bool | None = None


class Profile(_Part, kw_only=True):
    """A panel profile, as checked: every setting typed, no unknown key (a misspelt setting
    is an error, not a setting silently ignored). ``mail`` is checked by notify.mail."""

    name: str
    title: str
    area: str
    nation: Literal[NATIONS]
    kind: str | None = None
    risk_tool: str
    entry_rules: list[EntryRule]
    meetings: Meetings
    reviews: Reviews
    quorum: Quorum
    chair: Chair
    confidentiality_statement: str
    agenda: Agenda
    decision_sheet: Texts
    decisions: Decisions
    retention: Retention
    seed_agencies: list[SeedAgency] | None = None
    ages: Ages | None = None
    annual_review: AnnualReview | None = None
    mail: dict | None = None


def _shape(profile: dict, where: str) -> None:
    """Refuse a profile whose settings have the wrong type, naming the setting's path
    (entry_rules[2].levels; lists counted from 1)."""
    try:
        msgspec.convert(profile, Profile, strict=True)
    except msgspec.ValidationError as error:
        text = str(error)
        found = re.search(r" - at `\$(.*)`$", text)
        what = text[: found.start()] if found else text
        path = re.sub(
            r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + 1}]", found.group(1) if found else ""
        )
        unknown = re.match(r"Object contains unknown field `(.*)`", what)
        if unknown:
            key = unknown.group(1)
            if not re.fullmatch(r"[A-Za-z0-9_ -]{1,40}", key):
                key = "(a key that is not a setting)"
            path = f"{path}.{key}"
            what = "is not a setting panelctl knows (check its spelling)"
        else:
            what = _plain(what)
        setting = path.lstrip(".") or "the profile"
        raise InvalidInputError(f"Profile {where}: {setting} {what}.", setting) from None


def _plain(what: str) -> str:
    """msgspec's wording in a coordinator's: "Expected `int`, got `str`" -> "must be a whole
    number, not text"."""
    words = {
        "`int`": "a whole number",
        "`str`": "text",
        "`bool`": "true or false",
        "`array`": "a list",
        "`object`": "a mapping",
        "`null`": "nothing",
        "`float`": "a number",
    }
    for code, word in words.items():
        what = what.replace(code, word)
    if what.startswith("Invalid enum value"):
        return "is not one of the values allowed here"
    if "matching regex" in what:
        return "must be a time such as 09:30"
    if what.startswith("Expected"):
        return "must be " + what[len("Expected ") :].replace(", got", ", not")
    return f"is wrong: {what}"


def names() -> list[str]:
    folder = resources.files("panelctl.model") / "profiles"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin(name: object) -> dict:
    """A profile shipped with panelctl, by name only (a store's settings name one; a path
    there is refused: a store's own profile is its copy in .panelctl/, never a file elsewhere)."""
    if not isinstance(name, str) or name not in names():
        raise InvalidInputError(
            f"The store's settings name a profile panelctl does not ship; choose one of: "
            f"{', '.join(names())}."
        )
    return load(name)


def load(name: str) -> dict:
    """A built-in profile by name, or a profile file by path.

    A profile file is written by hand, so it is read as YAML 1.2 (see
    :func:`yamlio.read_hand_written`). The packaged profiles are read with the fast loader;
    a test holds that each reads the same as YAML 1.2, so a copy made to start a new area's
    profile means what the original meant."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return _checked(_mapping(yamlio.read_hand_written(Path(name), "profile file"), name), name)
    if name not in names():
        raise InvalidInputError(
            f"Unknown profile {name!r}; choose one of: {', '.join(names())}, or give a profile file."
        )
    raw = (resources.files("panelctl.model") / "profiles" / f"{name}.yaml").read_bytes()
    return _checked(_parse(raw, name), name)


def effective(profile: dict, overrides: dict | None) -> dict:
    """The profile with a store's overrides laid over it, maps merged key by key."""
    merged = copy.deepcopy(profile)
    _merge(merged, overrides or {})
    return _checked(merged, f"{profile.get('name')} with this store's settings")


def _merge(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _parse(raw: bytes, where: str) -> dict:
    try:
        data = yamlio.load(raw)
    except yamlio.YamlProblem as problem:
        raise InvalidInputError(f"Profile {where} is not valid YAML ({problem.where}).") from None
    return _mapping(data, where)


def _mapping(data: object, where: str) -> dict:
    if not isinstance(data, dict):
        raise InvalidInputError(f"Profile {where} is not a mapping of settings.")
    return data


def _checked(profile: dict, where: str) -> dict:
    missing = [key for key in REQUIRED if key not in profile]
    if missing:
        raise InvalidInputError(f"Profile {where} lacks the settings: {', '.join(missing)}.")
    if profile["nation"] not in NATIONS:
        raise InvalidInputError(f"Profile {where}: nation must be one of {', '.join(NATIONS)}.")
    if not isinstance(profile["entry_rules"], list):
        raise InvalidInputError(f"Profile {where}: entry_rules must be a list.")
    for section, name in FLAGS:
        _flag(profile.get(section), name, f"{section}.{name}", where)
    agencies = profile.get("seed_agencies") or []
    for number, agency in enumerate(agencies if isinstance(agencies, list) else [], start=1):
        _flag(agency, "core", f"seed_agencies[{number}].core", where)
    _shape(profile, where)
    return profile


def _flag(holder: object, name: str, dotted: str, where: str) -> None:
    if not isinstance(holder, dict) or holder.get(name) is None:
        return
    value = yamlio.flag(holder[name])
    if value is None:
        raise InvalidInputError(f"Profile {where}: {dotted} must be true or false (or yes or no).")
    holder[name] = value
