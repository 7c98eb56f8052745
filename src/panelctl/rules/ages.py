"""Who is a child here: the profile's age range (``ages``), a pure rule taking dates.

``ages: {under: 18, older: reason}`` says the panel hears children under 18 on the
nomination day, and what it does with someone 18 or over: ``reason`` (heard only with a
recorded reason: the Stoke panels consider young adults "where associating with younger
people"), ``refuse`` (never) or ``allow``. A profile without ``ages`` has no age rule.

Messages name the field and the age limit, never the date of birth or the age itself.
"""

from __future__ import annotations

from datetime import date

from panelctl.rules.meetingrules import age_on

OLDER = ("reason", "refuse", "allow")


def age_refusal(
    dob: date | None, nominated: date, ages: dict | None, reason: str | None
) -> str | None:
    """Why a nomination of someone born on ``dob`` is refused on ``nominated`` under the
    profile's ``ages`` (None when it may go ahead). ``reason`` is the recorded reason for
    nominating a young adult (``age_reason``).

    >>> age_refusal(date(2008, 3, 1), date(2026, 3, 1), {"under": 18, "older": "reason"}, None)[:40]
    'the young person is 18 or over on the no'
    >>> age_refusal(date(2008, 3, 2), date(2026, 3, 1), {"under": 18, "older": "reason"}, None)
    """
    if not ages or dob is None or dob > nominated:
        return None  # a birth after the nomination is rules.plausible's refusal
    under = ages["under"]
    if age_on(dob, nominated) < under:
        return None
    older = ages.get("older") or "reason"
    if older == "allow":
        return None
    if older == "refuse":
        return (
            f"the young person is {under} or over on the nomination date, and this panel "
            f"hears only children under {under} (ages.under)"
        )
    if (reason or "").strip():
        return None
    return (
        f"the young person is {under} or over on the nomination date; a young adult is "
        "nominated only with the reason recorded (age_reason), e.g. that they associate "
        "with younger children"
    )
