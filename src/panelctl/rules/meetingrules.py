"""Meeting rules: bank holidays, paper deadlines, meeting dates, time slots, reviews, quorum.

Plain data in, plain data out. Nothing here reads a store, a file or the clock: a function
that depends on "today" takes it as an argument, so tests (and ``--as-of``) can fix it.
The numbers come from a panel's profile (``meetings``, ``reviews``, ``quorum``, ``agenda``).

Conventions, in one place:

* A **working day** is Monday to Friday and not a bank holiday of the panel's nation.
* **N working days before** a date is date arithmetic, as "3 days before Thursday is
  Monday": step back one working day at a time, N times; the start day itself never
  counts. Papers for Thursday 7 May 2026 at 3 working days are due Friday 1 May (Wednesday,
  Tuesday, then Monday 4 May is the early May bank holiday, so Friday). It is not the
  stricter "clear days" reading, which would also leave out the day the papers go out.
* **N calendar days before** is the date minus N days, even when that is a weekend or
  a bank holiday: it is the last day papers may go out, not a suggestion to send early.
* **Months** are calendar months with the day clamped to the month's end: 31 January
  plus one month is 28 February (29 in a leap year).
* Error messages name settings and record ids, never a child's details.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import date, time, timedelta
from functools import lru_cache

from panelctl.base.dates import as_date
from panelctl.base.errors import InvalidInputError
from panelctl.model.records import ID_PATTERN, SECTORS

#: nation (as a profile spells it) -> the ``holidays`` package's UK subdivision code
NATIONS = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}
FREQUENCIES = ("fortnightly", "monthly", "quarterly", "as required")
PAPER_COUNTS = ("working", "calendar")
REASONS = ("new nomination", "risk changed", "review due")
KINDS = ("victim", "perpetrator")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LAST_MINUTE = 23 * 60 + 59


# --- bank holidays and working days -------------------------------------------------------


def bank_holidays(nation: str, years: int | Iterable[int]) -> set[date]:
    """The bank holidays of ``nation`` in ``years``, as gov.uk lists them.

    ``nation`` is england, wales, scotland or northern-ireland. England and Wales share
    one calendar (St David's Day is not a bank holiday). Only weekdays are returned: when
    a holiday falls on a weekend its substitute day is the bank holiday (Boxing Day 2026
    is Saturday 26 December; the bank holiday is Monday 28 December).

    >>> sorted(bank_holidays("england", 2026))[:3]
    [datetime.date(2026, 1, 1), datetime.date(2026, 4, 3), datetime.date(2026, 4, 6)]
    """
    code = _subdivision(nation)
    wanted = [years] if isinstance(years, int) else list(years)
    found: set[date] = set()
    for year in wanted:
        found |= _year_holidays(code, int(year))
    return found


def next_working_day(day: date, nation: str) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    code = _subdivision(nation)
    while not _is_working(code, day):
        day += timedelta(days=1)
    return day


def working_day_on_or_before(day: date, nation: str) -> date:
    """``day`` itself if it is a working day, else the last working day before it.

    Sunday 15 November 2026 gives Friday 13 November; Monday 28 December 2026 (the Boxing
    Day bank holiday) gives Thursday 24 December (Christmas Day is a bank holiday too).
    """
    code = _subdivision(nation)
    while not _is_working(code, day):
        day -= timedelta(days=1)
    return day


def not_a_working_day(day: date, nation: str) -> str | None:
    """Why ``day`` is not a working day in ``nation`` ("a Saturday", "a bank holiday"), or
    None when it is one."""
    code = _subdivision(nation)
    if day.weekday() >= 5:
        return f"a {WEEKDAYS[day.weekday()].capitalize()}"
    if day in _year_holidays(code, day.year):
        return "a bank holiday"
    return None


def working_days_before(day: date, count: int, nation: str) -> date:
    """The working day ``count`` working days before ``day`` (``day`` itself not counted).

    ``count`` 0 gives ``day`` unchanged. Tuesday 10 March 2026 less 3 working days is
    Thursday 5 March (Monday, Friday, Thursday).
    """
    code = _subdivision(nation)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InvalidInputError("A number of working days must be a whole number, 0 or more.")
    while count:
        day -= timedelta(days=1)
        if _is_working(code, day):
            count -= 1
    return day


# --- papers -------------------------------------------------------------------------------


def papers_due(meeting_date: date, papers: dict | None, nation: str) -> date | None:
    """The last day the agenda and papers may go out for a meeting on ``meeting_date``.

    ``papers`` is the profile's ``meetings.papers``: ``{days: 3, count: working}`` means at
    least 3 working days before (see :func:`working_days_before`), ``{days: 4, count:
    calendar}`` means 4 days before, moved to the working day before when that day is a
    weekend or a bank holiday (nobody sends papers then, and later would be late). ``None``
    (the panel sets no lead time) gives ``None``.

    Thursday 7 May 2026, 3 working days, England: Friday 1 May (4 May is a bank holiday).
    Thursday 19 November 2026, 4 calendar days: Sunday 15 November, so Friday 13 November.
    """
    _subdivision(nation)
    if papers is None:
        return None
    days, count = _papers_rule(papers)
    if count == "calendar":
        return working_day_on_or_before(meeting_date - timedelta(days=days), nation)
    return working_days_before(meeting_date, days, nation)


def is_late(papers_due_date: date | None, today: date) -> bool:
    """True when the papers can no longer go out on time (``today`` is after the due day).

    On the due day itself they are not late yet. No due date (``None``) is never late.
    """
    return papers_due_date is not None and today > papers_due_date


# --- planning meeting dates ---------------------------------------------------------------


def plan_dates(
    frequency: str,
    first: date,
    until: date,
    nation: str,
    weekday: int | str | None = None,
) -> list[date]:
    """The meeting dates of a series from ``first`` up to ``until`` inclusive.

    * fortnightly: every 14 days from the first meeting;
    * monthly: the same weekday of the month as the first meeting (the 2nd Tuesday stays
      the 2nd Tuesday); a first meeting on a 5th weekday means the last one of each month;
    * quarterly: as monthly, every third month;
    * as required: ``[]`` (the panel meets when called; nothing is proposed).

    ``weekday`` (0 = Monday, or a day's name) moves the first meeting forward to that
    weekday before the rule applies. A date that falls on a bank holiday (or weekend)
    moves to the next working day; the series itself does not drift, so the following
    meeting keeps its own place. A monthly or quarterly meeting that the move would push
    into the next month (the last Friday of March on Good Friday) is held on the working
    day before instead, so each month keeps at most one meeting; nothing before ``first``
    is ever proposed.
    """
    rule = _frequency(frequency)
    _subdivision(nation)
    if rule == "as required" or until < first:
        return []
    anchor = first + timedelta(days=(_weekday(weekday, first) - first.weekday()) % 7)
    planned: list[date] = []
    for raw in _series(rule, anchor):
        held = next_working_day(raw, nation)
        if rule != "fortnightly" and held.month != raw.month:
            held = working_days_before(raw, 1, nation)  # stay in the month it is for
        if held > until:
            break
        if held < first:
            continue  # a first date on a month-end weekend: never propose one before it
        planned.append(held)
    return planned


def _series(rule: str, anchor: date):
    if rule == "fortnightly":
        step = 0
        while True:
            yield anchor + timedelta(days=14 * step)
            step += 1
    months = 1 if rule == "monthly" else 3
    nth = (anchor.day - 1) // 7 + 1
    nth = -1 if nth == 5 else nth
    step = 0
    while True:
        year, month = _month_plus(anchor.year, anchor.month, months * step)
        yield _nth_weekday(year, month, anchor.weekday(), nth)
        step += 1


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1-4, or -1 for the last) ``weekday`` of a month."""
    if nth == -1:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


# --- the day's timetable ------------------------------------------------------------------


def allocate_slots(
    start: time | str,
    slot_minutes: int,
    standing_items: Sequence[str],
    standing_minutes: int = 10,
    cases: Sequence[str] = (),
) -> tuple[list[dict], list[dict]]:
    """Times for the standing items, then one slot per case, back to back from ``start``.

    Returns ``(standing, slots)``: ``[{title, start, end}]`` and ``[{case, start, end}]``
    with times as ``HH:MM``. Raises :class:`InvalidInputError` when the day would run past
    23:59 (a slot ending at midnight runs past it).

    >>> allocate_slots("10:00", 30, ["introductions"], 10, ["C-0001"])[1]
    [{'case': 'C-0001', 'start': '10:10', 'end': '10:40'}]
    """
    clock = _clock(start)
    for name, value in (("slot_minutes", slot_minutes), ("standing minutes", standing_minutes)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InvalidInputError(
                f"meetings.{name} must be a whole number of minutes, 1 or more."
            )
    end = clock + standing_minutes * len(standing_items) + slot_minutes * len(cases)
    if end > LAST_MINUTE:
        raise InvalidInputError(
            f"The agenda runs past midnight: {len(standing_items)} standing items and "
            f"{len(cases)} case slots of {slot_minutes} minutes from {_hhmm(clock)}; "
            "take fewer cases, shorten the slots or start earlier."
        )
    standing, slots = [], []
    for title in standing_items:
        standing.append(
            {"title": title, "start": _hhmm(clock), "end": _hhmm(clock + standing_minutes)}
        )
        clock += standing_minutes
    for case in cases:
        slots.append({"case": case, "start": _hhmm(clock), "end": _hhmm(clock + slot_minutes)})
        clock += slot_minutes
    return standing, slots


# --- reviews and assessments --------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar ``months``, the day clamped to the month's end (31 Jan + 1 = 28 Feb)."""
    year, month = _month_plus(day.year, day.month, months)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(
    last_discussed: date | None,
    nominated: date | None,
    cadence_months: int | None,
    chair_date: date | None,
) -> date | None:
    """When a case is next due for review.

    The chair's date wins, unless the case has since been discussed on or after it (the
    review it asked for has happened, so the cadence runs again from that discussion).
    Otherwise the last discussion, or the nomination when the case has never been
    discussed, plus ``cadence_months`` calendar months. No cadence (``None``) and no
    chair's date: ``None``, the panel does not schedule reviews.
    """
    if chair_date is not None and (last_discussed is None or chair_date > last_discussed):
        return chair_date
    base = last_discussed or nominated
    if cadence_months is None or base is None:
        return None
    if (
        not isinstance(cadence_months, int)
        or isinstance(cadence_months, bool)
        or cadence_months < 1
    ):
        raise InvalidInputError(
            "reviews.cadence_months must be a whole number of months, 1 or more."
        )
    return add_months(base, cadence_months)


def assessment_due(last_assessed: date | None, refresh_days: int | None) -> date | None:
    """The last day a risk assessment is still current (``None``: no refresh rule, or never assessed)."""
    if refresh_days is None or last_assessed is None:
        return None
    return last_assessed + timedelta(days=refresh_days)


def assessment_overdue(last_assessed: date | None, refresh_days: int | None, today: date) -> bool:
    """True when the risk assessment needs refreshing as of ``today``.

    Assessed 1 January with a 42-day rule (the RFM's 6 weeks): current up to and including
    12 February, overdue from 13 February. A case never assessed under a refresh rule is
    overdue; with no rule (``None``) nothing is ever overdue.
    """
    if refresh_days is None:
        return False
    if last_assessed is None:
        return True
    return today > assessment_due(last_assessed, refresh_days)


# --- choosing the cases for a meeting -----------------------------------------------------


def select_cases(cases: Sequence[dict], meeting_date: date, profile: dict) -> list[dict]:
    """The open cases a meeting on ``meeting_date`` should hear, in agenda order.

    A case comes to the meeting, for the first of these reasons that applies:

    * ``new nomination``: never discussed (and nominated by the meeting date);
    * ``risk changed``: its risk is not the risk recorded at its last discussion;
    * ``review due``: :func:`review_due` is on or before the meeting date. Perpetrator
      referrals are not reviewed when the profile's ``reviews.review_perpetrators`` is
      false; new ones are still heard, and so are those whose risk changed.

    Each case dict has ``id``, ``status``, ``nominated``, ``risk``, ``kind`` (victim when
    missing, or perpetrator), ``last_discussed``, ``risk_at_last_discussion`` and
    ``review_due`` (a date the chair set). Dates may be ``date`` or ISO strings.

    Returns ``[{id, reason, kind}]``: new nominations (oldest nomination first), then risk
    changed, then reviews (most overdue first), ties by the number in the case id. With
    ``agenda.perpetrators_after_victims`` all victims come first, then perpetrators in the
    same order; otherwise the two kinds are ordered together.
    """
    reviews = profile.get("reviews") or {}
    cadence = reviews.get("cadence_months")
    review_perpetrators = bool(reviews.get("review_perpetrators"))
    after = bool((profile.get("agenda") or {}).get("perpetrators_after_victims"))
    chosen = []
    for case in cases:
        if case.get("status") != "open":
            continue
        kind = case.get("kind") or "victim"
        if kind not in KINDS:
            raise InvalidInputError(
                f"case {case.get('id')}: field kind must be one of: {', '.join(KINDS)}."
            )
        picked = _reason(case, kind, meeting_date, cadence, review_perpetrators)
        if picked is not None:
            reason, order = picked
            group = 1 if (after and kind == "perpetrator") else 0
            key = (group, REASONS.index(reason), order, _id_number(case["id"]), case["id"])
            chosen.append((key, {"id": case["id"], "reason": reason, "kind": kind}))
    return [entry for _, entry in sorted(chosen, key=lambda pair: pair[0])]


def _reason(case: dict, kind: str, meeting: date, cadence, review_perpetrators: bool):
    """(reason, ordering date) for one open case, or None when it is not for this meeting."""
    nominated = _as_date(case.get("nominated"), case, "nominated")
    last = _as_date(case.get("last_discussed"), case, "last_discussed")
    if last is None:
        if nominated is not None and nominated > meeting:
            return None
        return "new nomination", nominated or date.max
    risk, before = case.get("risk"), case.get("risk_at_last_discussion")
    if risk is not None and before is not None and risk != before:
        return "risk changed", date.min
    if kind == "perpetrator" and not review_perpetrators:
        return None
    chair = _as_date(case.get("review_due"), case, "review_due")
    due = review_due(last, nominated, cadence, chair)
    if due is not None and due <= meeting:
        return "review due", due
    return None


# --- quorum and age -----------------------------------------------------------------------


def quorum(rule: dict | None, present_sectors: Iterable[str]) -> tuple[bool, str]:
    """Whether the people present make the meeting quorate, and a sentence saying why.

    ``{rule: none}`` (or no rule): always quorate. ``{rule: sectors, each_of: [...]}``:
    quorate only when at least one person from each listed sector is present.

    >>> quorum({"rule": "sectors", "each_of": ["health", "police"]}, ["police"])
    (False, 'not quorate: no health representative present')
    """
    kind = (rule or {}).get("rule", "none")
    if kind == "none":
        return True, "no quorum rule"
    if kind != "sectors":
        raise InvalidInputError("quorum.rule must be none or sectors.")
    needed = list(rule.get("each_of") or [])
    if not needed:
        raise InvalidInputError("quorum.each_of must list at least one sector.")
    for sector in needed:
        if sector not in SECTORS:
            raise InvalidInputError(
                f"quorum.each_of: {sector!r} is not a sector; use: {', '.join(SECTORS)}."
            )
    present = {str(s).strip().lower() for s in present_sectors}
    missing = [s for s in needed if s not in present]
    if missing:
        return False, f"not quorate: no {_join(missing, 'or')} representative present"
    return True, f"quorate: {_join(needed, 'and')} present"


def age_on(dob: date, on: date) -> int:
    """Age in completed years on ``on``. Born 29 February: a year older on 1 March in other years."""
    if on < dob:
        raise InvalidInputError("A date of birth is after the day the age is wanted for.")
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


# --- helpers ------------------------------------------------------------------------------


def _subdivision(nation: str) -> str:
    code = NATIONS.get(str(nation).strip().lower().replace(" ", "-"))
    if code is None:
        raise InvalidInputError(
            f"nation {nation!r} is not known; use one of: {', '.join(NATIONS)}."
        )
    return code


@lru_cache(maxsize=256)
def _year_holidays(code: str, year: int) -> frozenset[date]:
    import holidays  # imported here: it is slow to load and only dates need it

    found = holidays.UK(subdiv=code, years=year)
    return frozenset(day for day in found if day.year == year and day.weekday() < 5)


def _is_working(code: str, day: date) -> bool:
    return day.weekday() < 5 and day not in _year_holidays(code, day.year)


def _papers_rule(papers: object) -> tuple[int, str]:
    days = papers.get("days") if isinstance(papers, dict) else None
    count = papers.get("count") if isinstance(papers, dict) else None
    if not isinstance(days, int) or isinstance(days, bool) or days < 0 or count not in PAPER_COUNTS:
        raise InvalidInputError(
            "meetings.papers must be null or {days: N, count: working|calendar} "
            "with N a whole number, 0 or more."
        )
    return days, count


def _frequency(frequency: str) -> str:
    rule = str(frequency).strip().lower().replace("-", " ").replace("_", " ")
    if rule not in FREQUENCIES:
        raise InvalidInputError(
            f"meetings.frequency {frequency!r} is not known; use one of: {', '.join(FREQUENCIES)}."
        )
    return rule


def _weekday(weekday: int | str | None, first: date) -> int:
    if weekday is None:
        return first.weekday()
    if isinstance(weekday, int) and not isinstance(weekday, bool) and 0 <= weekday <= 6:
        return weekday
    if isinstance(weekday, str):
        text = weekday.strip().lower()
        for number, name in enumerate(WEEKDAYS):
            if len(text) >= 3 and name.startswith(text):
                return number
    raise InvalidInputError(
        f"weekday {weekday!r} is not a day; use 0 (Monday) to 6 (Sunday) or a name such as tuesday."
    )


def _month_plus(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _clock(start: time | str) -> int:
    if isinstance(start, time):
        return start.hour * 60 + start.minute
    text = str(start).strip()
    hours, _, minutes = text.partition(":")
    if hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        if int(hours) <= 23 and int(minutes) <= 59:
            return int(hours) * 60 + int(minutes)
    raise InvalidInputError(f"meetings.start_time {text!r} is not a time; write it as 09:30.")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _as_date(value: object, case: dict, name: str) -> date | None:
    try:
        return as_date(value)
    except ValueError:
        raise InvalidInputError(
            f"case {case.get('id')}: field {name} must be a date (YYYY-MM-DD).", name
        ) from None


def _id_number(record_id: str) -> int:
    match = ID_PATTERN.match(str(record_id))
    return int(match.group(2)) if match else 0


def _join(words: Sequence[str], last: str) -> str:
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {last} {words[-1]}"
