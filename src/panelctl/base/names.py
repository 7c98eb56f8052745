"""Who a child is (an exact identity key) and whether two names are probably the same
child's (a warning). Pure functions, no disk.

Identity (`name_key`) works in every script: the name is Unicode-normalised (NFKC) and
case-folded; letters of any script and digits are kept; punctuation, symbols, hyphens,
apostrophes and runs of spaces become one space; accents are taken off Latin and Greek
letters only (é -> e, ά -> α), never off the letters of other scripts (й stays й,
Devanagari vowel signs stay), and Arabic's optional vowel marks and tatweel are dropped.
Two children are the same child only when their keys are equal: "Child 1" and
"Child 2" are two children, and so are two different Chinese or Cyrillic names.

Similarity (`similar`) is for warnings only, never for identity: both keys are
transliterated to Latin letters (anyascii) and compared with Jaro-Winkler (rapidfuzz).
`THRESHOLD` is set from the table of pairs in tests/test_names.py: it catches spelling
variants (Kasey / Casey, Mohammed / Muhammad, Jayden-Lee / Jaden Lee, Олександр /
Oleksandr) and leaves clearly different names apart; names whose numbers differ
("Child 1", "Child 2") are never similar.
"""

from __future__ import annotations

import re
import unicodedata

# Jaro-Winkler similarity (0..1) of the transliterated keys at or above which two names are
# "similar". Mohammed / Muhammad scores 0.85 and Kasey / Casey 0.867; names a coordinator
# would call different (Amy Jones / Zoe Brown 0.56, Wang Xiaoming / Li Hua 0.47) score far
# below. Twins' names (Ava / Eva Smith, 0.88) are similar: a warning, or in an import an
# error until the row says which case it is.
THRESHOLD = 0.84

# accents come off letters of these scripts only (their names in the Unicode database)
_STRIP_MARKS_FROM = ("LATIN", "GREEK")
_ARABIC_OPTIONAL = {chr(c) for c in range(0x064B, 0x0660)} | {"\u0670", "\u0640"}
_DIGITS = re.compile(r"\d+")


def fold(text: object) -> str:
    """How a typed name of a person or an agency is compared: Unicode-normalised (NFKC),
    case-folded, with runs of spaces as one ("Jo  Smith" and "jo smith" are the same)."""
    if not isinstance(text, str):
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _script_of(char: str) -> str:
    try:
        return unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return ""


def name_key(name: str) -> str:
    """A child's name as compared for identity (see the module's docstring). Never empty for
    a name with a letter or digit in it, whatever its script."""
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKC", name).casefold()
    out: list[str] = []
    base = ""
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if char in _ARABIC_OPTIONAL:
            continue
        if category.startswith("M"):
            if base and _script_of(base) in _STRIP_MARKS_FROM:
                continue  # an accent on a Latin or Greek letter
            out.append(char)
        elif category.startswith(("L", "N")) and char not in "ʹʻʼʽ":
            base = char
            out.append(char)
        elif category == "Cf":
            continue  # zero-width joiners, soft hyphens, direction marks: invisible
        else:
            base = ""
            out.append(" ")
    return " ".join(unicodedata.normalize("NFC", "".join(out)).split())


def _latin(key: str) -> str:
    """A key in Latin letters, for the similarity warning only."""
    from anyascii import anyascii  # (here: most commands never compare names)

    return " ".join(re.sub(r"[^a-z0-9]+", " ", anyascii(key).casefold()).split())


def similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity (0..1) of two names, transliterated; 0 when either is empty
    or their numbers differ."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 1.0
    if _DIGITS.findall(ka) != _DIGITS.findall(kb):
        return 0.0  # "Child 1" and "Child 2": numbers tell children apart
    from rapidfuzz.distance import JaroWinkler

    la, lb = _latin(ka), _latin(kb)
    if not la or not lb:
        return 0.0
    whole = JaroWinkler.similarity(la, lb)
    # "Jayden-Lee" / "Jaydenlee", "Wang Xiaoming" / 王小明 ("wangxiaoming"): spaces aside
    joined = JaroWinkler.similarity(la.replace(" ", ""), lb.replace(" ", ""))
    return max(whole, joined)


def similar(a: str, b: str) -> bool:
    """True when two names are close enough that a coordinator should be told."""
    return similarity(a, b) >= THRESHOLD
