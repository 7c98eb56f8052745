"""Are two names probably the same child's? Spelling variants allowed (Kasey / Casey,
Mohammed / Muhammad, Jayden-Lee / Jaden Lee). Pure functions, no disk."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def fold(text: object) -> str:
    """How a typed name of a person or an agency is compared: Unicode-normalised (NFKC),
    case-folded, with runs of spaces as one ("Jo  Smith" and "jo smith" are the same)."""
    if not isinstance(text, str):
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def name_key(name: str) -> str:
    """Lower case, accents and punctuation gone, one space between parts."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def sound(token: str) -> str:
    """A Soundex-like code over every letter, the first included (so K and C agree)."""
    token = token.replace("ph", "f")
    code = []
    for letter in token:
        digit = _CODES.get(letter, "")
        if digit and (not code or code[-1] != digit):
            code.append(digit)
    return "".join(code)


def similar(a: str, b: str) -> bool:
    """True when two names are close enough that a coordinator should be told."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    if ka == kb or SequenceMatcher(None, ka, kb).ratio() >= 0.8:
        return True
    ta, tb = ka.split(), kb.split()
    first_and_last = lambda t: (t[0], t[-1])  # noqa: E731
    sa = tuple(sound(t) for t in first_and_last(ta))
    sb = tuple(sound(t) for t in first_and_last(tb))
    return sa == sb
