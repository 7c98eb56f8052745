"""UK date conventions: stored as ISO 8601, shown as 14 Mar 2026; times in Europe/London."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    if isinstance(value, datetime):
        return show_datetime(value)
    if isinstance(value, date):
        return show_date(value)
    text = str(value)
    if _ISO_DATE.match(text):
        try:
            return show_date(text)
        except ValueError:
            return text
    return text
