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
from importlib import resources
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError

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
    ("reviews", "review_perpetrators"),
    ("agenda", "perpetrators_after_victims"),
    ("agenda", "declarations_of_interest"),
    ("decisions", "chair_approves_minutes"),
)


def names() -> list[str]:
    folder = resources.files("panelctl.model") / "profiles"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


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
    return profile


def _flag(holder: object, name: str, dotted: str, where: str) -> None:
    if not isinstance(holder, dict) or holder.get(name) is None:
        return
    value = yamlio.flag(holder[name])
    if value is None:
        raise InvalidInputError(f"Profile {where}: {dotted} must be true or false (or yes or no).")
    holder[name] = value
