"""UK date conventions: stored as ISO 8601, shown as 14 Mar 2026; times in Europe/London."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from panelctl.base.errors import InvalidInputError

LONDON = ZoneInfo("Europe/London")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def today() -> date:
    """Today in the UK (a cron job on a UTC server near midnight works on the UK's day)."""
    return datetime.now(LONDON).date()


def now() -> datetime:
    """Now in UK time, to the second."""
    return datetime.now(LONDON).replace(microsecond=0)


def as_date(value: object) -> date | None:
    """A date from plain data: a date, a moment (its day) or ISO text; None for nothing.
    ValueError when it is none of these."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise ValueError("not a date")


def show_date(value: date | str) -> str:
    """14 Mar 2026 (no leading zero on the day)."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.day} {value.strftime('%b %Y')}"


def show_datetime(value: datetime) -> str:
    """14 Mar 2026 10:02, in UK time."""
    local = value.astimezone(LONDON)
    return f"{show_date(local.date())} {local.strftime('%H:%M')}"


def for_display(value: object) -> str:
    """A table cell: ISO dates become UK dates; everything else as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return show_datetime(value)
    if isinstance(value, date):
        return show_date(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) == 10 and text[4] == "-" and _ISO_DATE.match(text):
        try:
            return show_date(text)
        except ValueError:
            return text
    return text


def _what(field: str, what: str | None) -> str:
    return what or f"The {field.replace('_', ' ')}"


def parse_date(text: str, field: str, what: str | None = None) -> date:
    """A date typed by a person: 14/03/2026, 14-03-2026 or 2026-03-14 (never US order).

    ``field`` names the input it came from (the error's ``field``); ``what`` describes it in
    the message (default: the field's name). The text itself is never quoted: a name typed
    into the wrong place must not reach an error message."""

    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", raw)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise InvalidInputError(
        f"{_what(field, what)} is not a real date; write it as 14/03/2026 or 2026-03-14.", field
    )


def parse_datetime(text: str, field: str, what: str | None = None) -> datetime:
    """A date and time in UK time: '14/03/2026 18:30' or ISO; stored with its UTC offset."""

    raw = text.strip()
    match = re.fullmatch(r"(.+?)[ T](\d{1,2}):(\d{2})(?::\d{2})?", raw)
    if not match:
        raise InvalidInputError(
            f"{_what(field, what)} needs a date and a time, e.g. '14/03/2026 18:30'.", field
        )
    day = parse_date(match.group(1), field, what)
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InvalidInputError(f"{_what(field, what)} has an impossible time.", field)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)
