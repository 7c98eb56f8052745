"""Risk tools: data files that say how a risk level is derived, and pure functions over them.

A tool (``risktools/NAME.yaml`` in the package, or a store's own
``STORE/.panelctl/risktools/NAME.yaml``, which wins) has a name, a title, its levels
(highest first), sections of factors, and a ``derive`` block:

| method | factors carry | the level is |
|---|---|---|
| bands | points (each factor's own, or its section's) | the band whose ``min`` the total reaches |
| counts | an indicator kind (e.g. high, medium, low) | the first rule ``{level, indicator, at_least}`` that holds, else ``otherwise`` |
| judgement | (no factors) | the level the panel agrees |

The panel may agree a level other than the derived one: that is an override, and it needs a
reason. Nothing here touches a store; loading a tool reads only its definition file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from panelctl.base import yamlio
from panelctl.base.errors import InvalidInputError

#: Where a store keeps its own tools, relative to its root.
STORE_FOLDER = ".panelctl/risktools"
METHODS = ("bands", "counts", "judgement")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
_FACTOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,60}$")
_UNDERSCORED = re.compile(r"[a-z][a-z0-9]{0,30}(_[a-z0-9]{1,30}){1,6}")
_TOOL_KEYS = {"name", "title", "levels", "sections", "derive", "description"}
_SECTION_KEYS = {"id", "title", "points", "factors"}
_FACTOR_KEYS = {"id", "text", "points", "level"}


# --- loading -----------------------------------------------------------------------------


def _packaged():
    return resources.files("panelctl.model") / "risktools"


def names(store_root: str | Path | None = None) -> list[str]:
    """Every tool this store can use: the packaged ones and the store's own."""
    found = {p.name[: -len(".yaml")] for p in _packaged().iterdir() if p.name.endswith(".yaml")}
    if store_root is not None:
        folder = Path(store_root) / STORE_FOLDER
        if folder.is_dir():
            found |= {p.stem for p in folder.glob("*.yaml") if _NAME.match(p.stem)}
    return sorted(found)


def source_of(name: str, store_root: str | Path | None = None) -> str:
    """'store' when the store has its own file for the tool, else 'packaged'."""
    if store_root is not None and (Path(store_root) / STORE_FOLDER / f"{name}.yaml").is_file():
        return "store"
    return "packaged"


def load_tool(name: str, store_root: str | Path | None = None) -> dict:
    """The tool called ``name``: the store's own file first, then the packaged one."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            "A risk tool name is lower-case letters, digits, - and _ (e.g. rfm, seraf)."
        )
    if store_root is not None:
        own = Path(store_root) / STORE_FOLDER / f"{name}.yaml"
        if own.is_file():  # written by hand: YAML 1.2, like every file a person writes
            tool = yamlio.read_hand_written(own, "risk tool file")
            return check_tool(tool, name, str(own))
    packaged = _packaged() / f"{name}.yaml"
    if packaged.is_file():
        return parse_tool(packaged.read_bytes(), name, f"panelctl/risktools/{name}.yaml")
    raise InvalidInputError(
        f"Unknown risk tool {name!r}; choose one of: {', '.join(names(store_root))}, "
        f"or add the store's own tool as {STORE_FOLDER}/{name}.yaml."
    )


def parse_tool(raw: bytes | str, name: str, where: str) -> dict:
    """Read and check a tool definition; ``where`` names the file in any error."""
    try:
        tool = yamlio.load(raw)
    except yamlio.YamlProblem as problem:
        raise InvalidInputError(
            f"Risk tool file {where} is not valid YAML ({problem.where})."
        ) from None
    return check_tool(tool, name, where)


def check_tool(tool: object, name: str, where: str) -> dict:
    """Check a tool definition already read; ``where`` names the file in any error."""
    _Checker(where).tool(tool, name)
    return {**tool, "sections": tool.get("sections") or [], "source": where}


class _Checker:
    """Checks a tool definition; every problem names the file and the place in it."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, problem: str):
        raise InvalidInputError(f"Risk tool file {self.where}: {problem}.")

    def keys(self, data: object, allowed: set[str], place: str) -> dict:
        if not isinstance(data, dict):
            self.fail(f"{place} must be a mapping")
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            self.fail(
                f"{place} has unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        return data

    def text(self, value: object, place: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{place} must be some text")
        return value

    def whole(self, value: object, place: str, least: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            self.fail(f"{place} must be a whole number of at least {least}")
        return value

    def tool(self, tool: object, name: str) -> None:
        self.keys(tool, _TOOL_KEYS, "the tool")
        for key in ("name", "title", "levels", "derive"):
            if key not in tool:
                self.fail(f"{key} is missing")
        if tool["name"] != name:
            self.fail(
                f"name is {tool['name']!r} but the file is named {name}.yaml; make them match"
            )
        self.text(tool["title"], "title")
        levels = tool["levels"]
        if not isinstance(levels, list) or not levels:
            self.fail("levels must be a list of levels, highest first")
        for number, level in enumerate(levels, start=1):
            self.text(level, f"levels[{number}]")
        if len({level.casefold() for level in levels}) != len(levels):
            self.fail("levels must not repeat")
        derive = self.keys(
            tool["derive"], {"method", "bands", "indicators", "rules", "otherwise"}, "derive"
        )
        method = derive.get("method")
        if method not in METHODS:
            self.fail(f"derive.method must be one of: {', '.join(METHODS)}")
        factors = self.sections(tool.get("sections") or [])
        getattr(self, method)(derive, levels, factors)

    def sections(self, sections: object) -> list[tuple[str, dict, dict]]:
        if not isinstance(sections, list):
            self.fail("sections must be a list")
        seen: set[str] = set()
        factors = []
        for number, section in enumerate(sections, start=1):
            place = f"sections[{number}]"
            self.keys(section, _SECTION_KEYS, place)
            self.factor_id(section.get("id"), f"{place}.id")
            self.text(section.get("title"), f"{place}.title")
            if "points" in section:
                self.whole(section["points"], f"{place}.points", 0)
            items = section.get("factors")
            if not isinstance(items, list) or not items:
                self.fail(f"{place}.factors must be a list of factors")
            for item_number, factor in enumerate(items, start=1):
                fplace = f"{place}.factors[{item_number}]"
                self.keys(factor, _FACTOR_KEYS, fplace)
                self.factor_id(factor.get("id"), f"{fplace}.id")
                if factor["id"] in seen:
                    self.fail(f"the factor id {factor['id']} is used twice")
                seen.add(factor["id"])
                self.text(factor.get("text"), f"{fplace}.text")
                factors.append((fplace, section, factor))
        return factors

    def factor_id(self, value: object, place: str) -> None:
        if not isinstance(value, str) or not _FACTOR_ID.match(value):
            self.fail(f"{place} must be a short snake_case id such as missing_episodes")

    def bands(self, derive: dict, levels: list, factors: list) -> None:
        bands = derive.get("bands")
        if not isinstance(bands, list) or not bands:
            self.fail("derive.bands must be a list of {min, level}")
        mins = []
        for number, band in enumerate(bands, start=1):
            place = f"derive.bands[{number}]"
            self.keys(band, {"min", "level"}, place)
            mins.append(self.whole(band.get("min"), f"{place}.min", 0))
            self.level(band.get("level"), levels, f"{place}.level")
        if len(set(mins)) != len(mins):
            self.fail("derive.bands must not repeat a min")
        if 0 not in mins:
            self.fail("derive.bands needs a band with min 0, so that every score has a level")
        for place, section, factor in factors:
            points = factor.get("points", section.get("points"))
            if points is None:
                self.fail(f"{place} has no points (give the factor or its section points)")
            self.whole(points, f"{place}.points", 0)

    def counts(self, derive: dict, levels: list, factors: list) -> None:
        kinds = derive.get("indicators")
        if not isinstance(kinds, list) or not kinds or len(set(map(str, kinds))) != len(kinds):
            self.fail(
                "derive.indicators must list the kinds of indicator, e.g. [high, medium, low]"
            )
        rules = derive.get("rules")
        if not isinstance(rules, list) or not rules:
            self.fail("derive.rules must be a list of {level, indicator, at_least}")
        for number, rule in enumerate(rules, start=1):
            place = f"derive.rules[{number}]"
            self.keys(rule, {"level", "indicator", "at_least"}, place)
            self.level(rule.get("level"), levels, f"{place}.level")
            if rule.get("indicator") not in kinds:
                self.fail(f"{place}.indicator must be one of: {', '.join(map(str, kinds))}")
            self.whole(rule.get("at_least"), f"{place}.at_least", 1)
        self.level(derive.get("otherwise"), levels, "derive.otherwise")
        for place, _section, factor in factors:
            if factor.get("level") not in kinds:
                self.fail(f"{place}.level must be one of: {', '.join(map(str, kinds))}")

    def judgement(self, derive: dict, levels: list, factors: list) -> None:
        if factors:
            self.fail("a judgement tool has no factors: the panel chooses the level")

    def level(self, value: object, levels: list, place: str) -> None:
        if value not in levels:
            self.fail(f"{place} must be one of the levels: {', '.join(levels)}")


# --- using a tool ------------------------------------------------------------------------


def factors(tool: dict) -> dict[str, dict]:
    """Factor id -> {id, text, section, points or level}, in the tool's order."""
    found = {}
    for section in tool["sections"]:
        for factor in section["factors"]:
            entry = {"id": factor["id"], "text": factor["text"], "section": section["id"]}
            if tool["derive"]["method"] == "bands":
                entry["points"] = factor.get("points", section.get("points"))
            else:
                entry["level"] = factor.get("level")
            found[factor["id"]] = entry
    return found


def factor_rows(tool: dict) -> list[dict]:
    """One row per factor, with its section's title, for listing."""
    titles = {s["id"]: s["title"] for s in tool["sections"]}
    return [
        {**factor, "section": titles[factor["section"]], "indicator": factor.get("level")}
        for factor in factors(tool).values()
    ]


def check_factors(tool: dict, factor_ids: Iterable[str]) -> list[str]:
    """The given factor ids, known to the tool, without repeats, in the tool's order.

    A single text (``factors: missing_overnight`` in a hand-written file) is one factor,
    never a list of letters; anything else that is not a list is refused."""
    if isinstance(factor_ids, str):
        factor_ids = [factor_ids]
    elif isinstance(factor_ids, (dict, bytes)) or not isinstance(factor_ids, Iterable):
        raise InvalidInputError("factors must be a list of factor ids.", "factors")
    known = factors(tool)
    chosen = set()
    for position, given in enumerate(factor_ids, start=1):
        factor_id = str(given).strip().lower().replace("-", "_")
        if factor_id not in known:
            # a child's name typed into the wrong column must not reach a message: the value
            # is quoted only when it is an id joined by underscores (no one's name is), and
            # otherwise named by its place in the list
            shown = (
                repr(factor_id)
                if _UNDERSCORED.fullmatch(factor_id)
                else f"(the {_ordinal(position)} given)"
            )
            raise InvalidInputError(
                f"Unknown factor {shown} for the {tool['name']} tool; "
                f"`panelctl rfm factors {tool['name']}` lists its factor ids."
            )
        chosen.add(factor_id)
    return [factor_id for factor_id in known if factor_id in chosen]


def derive(tool: dict, factor_ids: Iterable[str]) -> tuple[str | None, int | None]:
    """(level, score) from the factors present; (None, None) for a judgement tool.

    The score is the total of points for a banded tool, and None for the others.
    """
    chosen = check_factors(tool, factor_ids)
    known = factors(tool)
    rule = tool["derive"]
    if rule["method"] == "bands":
        score = sum(known[f]["points"] for f in chosen)
        band = max((b for b in rule["bands"] if b["min"] <= score), key=lambda b: b["min"])
        return band["level"], score
    if rule["method"] == "counts":
        counts = Counter(known[f]["level"] for f in chosen)
        for each in rule["rules"]:
            if counts[each["indicator"]] >= each["at_least"]:
                return each["level"], None
        return rule["otherwise"], None
    return None, None


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def level_of(tool: dict, text: str, what: str = "level") -> str:
    """The tool's own spelling of a level typed in any case (medium -> Medium)."""
    for level in tool["levels"]:
        if str(text).strip().casefold() == level.casefold():
            return level
    raise InvalidInputError(
        # never the value: a name typed into the level column must not reach a message
        f"The {what} given is not a {tool['name']} level; "
        f"use one of: {', '.join(tool['levels'])}."
    )


def assess(
    tool: dict,
    factors: Iterable[str],
    agreed: str | None = None,
    reason: str | None = None,
) -> dict:
    """An assessment's levels: derived from the factors, agreed by the panel.

    An agreed level other than the derived one is an override and needs a reason; a reason
    without an override is refused, so that a recorded reason always means an override.
    """
    chosen = check_factors(tool, factors)
    derived, score = derive(tool, chosen)
    agreed = level_of(tool, agreed, "agreed level") if agreed and str(agreed).strip() else None
    reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    if derived is None:
        if agreed is None:
            raise InvalidInputError(
                f"The {tool['name']} tool has no factors: give the level the panel agreed "
                f"({'/'.join(tool['levels'])}).",
                "agreed",
            )
        derived = agreed
    agreed = agreed or derived
    override = agreed != derived
    if override and reason is None:
        raise InvalidInputError(
            f"The agreed level {agreed} differs from the derived level {derived}: an override "
            "needs the panel's reason.",
            "reason",
        )
    if reason is not None and not override:
        raise InvalidInputError(
            f"A reason is recorded only for an override, and the agreed level is the derived "
            f"level ({derived}); leave out the reason."
        )
    return {
        "tool": tool["name"],
        "factors": chosen,
        "score": score,
        "derived": derived,
        "agreed": agreed,
        "override": override,
        "override_reason": reason,
    }


def describe(tool: dict) -> str:
    """How the tool derives its level, in one sentence."""
    rule = tool["derive"]
    if rule["method"] == "bands":
        points = ", ".join(
            f"{s['title'].lower()} {s['points']} each" for s in tool["sections"] if "points" in s
        )
        bands = sorted(rule["bands"], key=lambda b: b["min"])
        parts = []
        for band, following in zip(bands, [*bands[1:], None], strict=True):
            upper = f"-{following['min'] - 1}" if following else "+"
            parts.append(f"{band['min']}{upper} {band['level']}")
        return f"Points ({points or 'as each factor says'}); bands: {', '.join(parts)}."
    if rule["method"] == "counts":
        by_level: dict[str, list[str]] = {}
        for each in rule["rules"]:
            by_level.setdefault(each["level"], []).append(
                f"{each['at_least']}+ {each['indicator']}"
            )
        parts = [f"{level} if {' or '.join(tests)}" for level, tests in by_level.items()]
        return f"Indicators counted: {'; '.join(parts)}; otherwise {rule['otherwise']}."
    return f"The panel's judgement: one of {', '.join(tool['levels'])}."
