"""Entry rules for a nomination: pure checks, driven by the profile's ``entry_rules`` data.

Each rule is a mapping with a ``rule`` kind and its settings; :func:`refusals` returns
one plain reason per rule a nomination fails (empty when it may be accepted). Reasons
name fields and levels, never a child's name.

| rule | settings | passes when |
|---|---|---|
| assessment | tool, levels | the nomination carries an assessment with that tool at one of the levels |
| required_fields | fields (dotted, e.g. child.dob) | every field is present and not empty |
| flag | field, reason | the field is true |
| concern_types | any_of | the exploitation types include one of them |
| known_to | sectors | the child is known to every one of those sectors |
| not_first_referral | - | the nomination says it is not a first referral |
"""

from __future__ import annotations

from collections.abc import Callable

from panelctl.base.errors import InvalidInputError

#: Words people use for a sector, mapped to panelctl's sector names.
SECTOR_ALIASES = {
    "social care": "local authority",
    "children's services": "local authority",
    "childrens services": "local authority",
    "children's social care": "local authority",
    "council": "local authority",
    "la": "local authority",
    "school": "education",
    "nhs": "health",
    "yjs": "youth justice",
    "yos": "youth justice",
    "youth offending": "youth justice",
}


def sector_name(text: str) -> str:
    key = text.strip().casefold()
    return SECTOR_ALIASES.get(key, key)


def lookup(data: dict, dotted: str):
    value = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _assessment(rule: dict, nomination: dict) -> str | None:
    tool, levels = rule["tool"], rule["levels"]
    assessment = nomination.get("assessment") or {}
    wanted = " or ".join(levels)
    if not assessment:
        return f"a completed {tool.upper()} assessment ({wanted}) is required"
    if assessment.get("tool") != tool:
        return f"the assessment must use the {tool.upper()} tool"
    if assessment.get("level") not in levels:
        return f"the {tool.upper()} level must be {wanted}, not {assessment.get('level')}"
    return None


def _required_fields(rule: dict, nomination: dict) -> str | None:
    missing = [f for f in rule["fields"] if lookup(nomination, f) in (None, "", [])]
    return f"missing required details: {', '.join(missing)}" if missing else None


def _flag(rule: dict, nomination: dict) -> str | None:
    return (
        None
        if lookup(nomination, rule["field"]) is True
        else rule.get("reason", f"{rule['field']} must be yes")
    )


def _concern_types(rule: dict, nomination: dict) -> str | None:
    types = {t.casefold() for t in nomination.get("exploitation_types") or []}
    wanted = [t.casefold() for t in rule["any_of"]]
    if types & set(wanted):
        return None
    return f"the concern must include one of: {', '.join(rule['any_of'])}"


def _known_to(rule: dict, nomination: dict) -> str | None:
    known = {sector_name(s) for s in nomination.get("known_to") or []}
    missing = [s for s in rule["sectors"] if s not in known]
    return f"the child must already be known to: {', '.join(missing)}" if missing else None


def _not_first_referral(rule: dict, nomination: dict) -> str | None:
    if nomination.get("first_referral") is False:
        return None
    return (
        "this panel never takes a first referral: refer through child protection procedures first"
    )


RULES: dict[str, Callable[[dict, dict], str | None]] = {
    "assessment": _assessment,
    "required_fields": _required_fields,
    "flag": _flag,
    "concern_types": _concern_types,
    "known_to": _known_to,
    "not_first_referral": _not_first_referral,
}


def refusals(rules: list[dict], nomination: dict) -> list[str]:
    reasons = []
    for rule in rules:
        check = RULES.get(rule.get("rule"))
        if check is None:
            raise InvalidInputError(
                f"The profile has an unknown entry rule {rule.get('rule')!r}; known rules: {', '.join(RULES)}."
            )
        reason = check(rule, nomination)
        if reason:
            reasons.append(reason)
    return reasons
