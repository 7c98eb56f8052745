"""Third parties' names taken out of text before it leaves the store (a subject access
bundle): pure functions, no disk.

A :class:`Redactor` is given the names to take out (persons of concern, other children...)
and the subject's own names to leave in. It finds them in text by whole words, compared as
:func:`panelctl.base.names.name_key` compares names: case-folded, accents off Latin and
Greek letters, apostrophes and hyphens as word breaks. So "Dean O'Neill" is found as
"dean o'neill", "Dean O’Neill" or "DEAN O NEILL", "Zoë" as "Zoe", and "Ann" is not found
inside "Annabel" or "planning". A name of several words is found whole (the words may be
joined by spaces, a line break, a hyphen or an apostrophe), and each of its words of two
letters or more is also found on its own when written with a capital ("Marsh said"), but
not in lower case ("the marsh"); a word of the subject's own name, or of a professional's
(``colleagues``), is never taken out on its own. Phone numbers and vehicle registrations are found with or without their spaces.

Exact matching of known names is the duty here: a misspelt name, or a name the records do
not hold, is not found, so a bundle must still be read by a person before it is released.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from panelctl.base.names import name_key

#: what a third party's name becomes
REDACTED = "[redacted: third party]"
#: what may stand between two words of one name ("O'Neill", "Smith-Jones", "J. Smith")
_GAP = re.compile(r"[\s'’ʼ‘`\-‐‑–._@]{1,4}")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """Each word of ``text``: (start, end, its key). A word is a run of letters, digits and
    combining marks (any script), so a mark never splits a word."""
    found: list[tuple[int, int, str]] = []
    start = None
    for i, ch in enumerate(text):
        if unicodedata.category(ch)[0] in "LNM" or (start is not None and ch in "\u200c\u200d"):
            if start is None:
                start = i
        elif start is not None:
            found.append((start, i, name_key(text[start:i])))
            start = None
    if start is not None:
        found.append((start, len(text), name_key(text[start:])))
    return [t for t in found if t[2]]


class Redactor:
    """Takes ``names`` out of text (see the module's docstring), leaving ``own`` in."""

    def __init__(
        self,
        names: Iterable[str],
        own: Iterable[str] = (),
        numbers: Iterable[str] = (),
        label: str = REDACTED,
        colleagues: Iterable[str] = (),
    ):
        self.label = label
        own_keys = {name_key(n) for n in own if isinstance(n, str)}
        own_words = {w for key in own_keys for w in key.split()}
        # the professionals named in the records: their names are not taken apart
        own_words |= {w for n in colleagues if isinstance(n, str) for w in name_key(n).split()}
        whole: dict[str, set[tuple[str, ...]]] = {}
        parts: set[str] = set()
        for name in names:
            key = name_key(name) if isinstance(name, str) else ""
            if not key or key in own_keys:
                continue
            words = tuple(key.split())
            whole.setdefault(words[0], set()).add(words)
            if len(words) > 1:
                parts.update(w for w in words if len(w) >= 2 and w not in own_words)
        for number in numbers:  # a phone number or registration, with or without spaces
            key = name_key(number) if isinstance(number, str) else ""
            for words in {tuple(key.split()), ("".join(key.split()),)} if key else ():
                whole.setdefault(words[0], set()).add(words)
        #: by first word, longest first: at one place the longest name known wins
        self._whole = {k: sorted(v, key=len, reverse=True) for k, v in whole.items()}
        self._parts = frozenset(parts)

    @property
    def empty(self) -> bool:
        return not self._whole

    def text(self, text: str) -> str:
        """``text`` with every name found replaced by the label."""
        if not self._whole or not text:
            return text
        tokens = _tokens(text)
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            taken = self._whole_at(text, tokens, i) or self._part_at(text, tokens, i)
            if taken:
                start, end = tokens[i][0], tokens[i + taken - 1][1]
                if spans and _GAP.fullmatch(text[spans[-1][1] : start]):
                    start = spans.pop()[0]  # "Smith Jones": one name, taken out once
                spans.append((start, end))
                i += taken
            else:
                i += 1
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(self.label)
            last = end
        out.append(text[last:])
        return "".join(out)

    def _whole_at(self, text: str, tokens: list, i: int) -> int:
        for words in self._whole.get(tokens[i][2], ()):
            n = len(words)
            if i + n > len(tokens):
                continue
            if all(tokens[i + j][2] == words[j] for j in range(n)) and all(
                _GAP.fullmatch(text[tokens[i + j][1] : tokens[i + j + 1][0]]) for j in range(n - 1)
            ):
                return n
        return 0

    def _part_at(self, text: str, tokens: list, i: int) -> int:
        start, _end, key = tokens[i]
        return 1 if key in self._parts and text[start].isupper() else 0

    def value(self, value: object) -> object:
        """``value`` (a record, a list, text...) with every text in it redacted; dates,
        numbers and booleans as they are. Mapping keys are left alone (field names)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if value is None or isinstance(value, bool | int | float | date):
            return value
        return value


#: a redactor that takes nothing out (an unredacted bundle)
NOTHING = Redactor(())
