"""Meeting rules with fixed dates: the 2026 calendar, checked against gov.uk's bank holidays."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panelctl.base.errors import InvalidInputError
from panelctl.model import profiles
from panelctl.rules.meetingrules import (
    add_months,
    age_on,
    allocate_slots,
    assessment_due,
    assessment_overdue,
    bank_holidays,
    is_late,
    next_working_day,
    papers_due,
    plan_dates,
    quorum,
    review_due,
    select_cases,
    working_days_before,
)

WORKING3 = {"days": 3, "count": "working"}
NATION_NAMES = ["england", "wales", "scotland", "northern-ireland"]

# gov.uk/bank-holidays, 2026
ENGLAND_AND_WALES_2026 = {
    date(2026, 1, 1),  # New Year's Day
    date(2026, 4, 3),  # Good Friday
    date(2026, 4, 6),  # Easter Monday
    date(2026, 5, 4),  # Early May bank holiday
    date(2026, 5, 25),  # Spring bank holiday
    date(2026, 8, 31),  # Summer bank holiday
    date(2026, 12, 25),  # Christmas Day
    date(2026, 12, 28),  # Boxing Day (substitute day)
}
SCOTLAND_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 2),  # 2nd January
    date(2026, 4, 3),  # Good Friday (Easter Monday is not a bank holiday in Scotland)
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 6, 15),  # proclaimed for Scotland's part in the FIFA World Cup
    date(2026, 8, 3),  # Summer bank holiday: first Monday of August
    date(2026, 11, 30),  # St Andrew's Day
    date(2026, 12, 25),
    date(2026, 12, 28),
}
NORTHERN_IRELAND_2026 = ENGLAND_AND_WALES_2026 | {
    date(2026, 3, 17),  # St Patrick's Day
    date(2026, 7, 13),  # Battle of the Boyne (substitute day; 12 July is a Sunday)
}


# --- bank holidays ------------------------------------------------------------------------


def test_england_2026_matches_gov_uk():
    assert bank_holidays("england", 2026) == ENGLAND_AND_WALES_2026


def test_scotland_2026_matches_gov_uk():
    assert bank_holidays("scotland", 2026) == SCOTLAND_2026


def test_northern_ireland_2026_matches_gov_uk():
    assert bank_holidays("northern-ireland", 2026) == NORTHERN_IRELAND_2026


def test_wales_shares_england_calendar():
    """The holidays package has no Wales-only bank holiday; St David's Day is not one."""
    years = range(2000, 2036)
    assert bank_holidays("wales", years) == bank_holidays("england", years)
    assert is_working_day(date(2027, 3, 1), "wales")  # St David's Day 2027, a Monday


def test_weekend_holidays_appear_only_as_their_substitute_days():
    # Boxing Day 2026 is a Saturday; Christmas Day 2027 a Saturday, Boxing Day a Sunday
    assert date(2026, 12, 26) not in bank_holidays("england", 2026)
    assert {date(2027, 12, 27), date(2027, 12, 28)} <= bank_holidays("england", 2027)
    assert date(2027, 12, 25) not in bank_holidays("england", 2027)
    # Scotland 2027: 2 January is a Saturday, so the holiday is Monday 4 January
    assert {date(2027, 1, 1), date(2027, 1, 4)} <= bank_holidays("scotland", 2027)


def test_one_off_holidays_are_included():
    assert date(2022, 9, 19) in bank_holidays("england", 2022)  # the Queen's state funeral
    assert date(2023, 5, 8) in bank_holidays("wales", 2023)  # the coronation


def test_several_years_at_once_and_a_fresh_set_each_time():
    both = bank_holidays("england", [2026, 2027])
    assert ENGLAND_AND_WALES_2026 <= both
    assert date(2027, 1, 1) in both
    both.clear()  # the caller's copy; the cache is untouched
    assert bank_holidays("england", 2026) == ENGLAND_AND_WALES_2026


def test_unknown_nation_is_refused():
    with pytest.raises(InvalidInputError, match="england, wales, scotland, northern-ireland"):
        bank_holidays("cornwall", 2026)
    with pytest.raises(InvalidInputError):
        papers_due(date(2026, 5, 7), None, "uk")


def test_nation_spelling_is_forgiving_about_case_and_spaces():
    assert bank_holidays("Northern Ireland", 2026) == NORTHERN_IRELAND_2026


def is_working_day(day: date, nation: str) -> bool:
    """The oracle: Monday to Friday and not one of the nation's bank holidays."""
    return day.weekday() < 5 and day not in bank_holidays(nation, day.year)


def test_working_days():
    assert is_working_day(date(2026, 5, 5), "england")
    assert not is_working_day(date(2026, 5, 4), "england")  # early May
    assert not is_working_day(date(2026, 5, 9), "england")  # Saturday
    assert is_working_day(date(2026, 4, 6), "scotland")  # Easter Monday is worked in Scotland
    assert next_working_day(date(2026, 12, 25), "england") == date(2026, 12, 29)
    assert next_working_day(date(2026, 5, 5), "england") == date(2026, 5, 5)


def test_working_days_before_counts_back_and_zero_is_the_day_itself():
    assert working_days_before(date(2026, 3, 10), 3, "england") == date(2026, 3, 5)
    assert working_days_before(date(2026, 3, 10), 0, "england") == date(2026, 3, 10)
    with pytest.raises(InvalidInputError):
        working_days_before(date(2026, 3, 10), -1, "england")


# --- papers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting", "nation", "due", "why"),
    [
        # Tue 10 Mar: Mon 9, Fri 6, Thu 5 (across a weekend)
        (date(2026, 3, 10), "england", date(2026, 3, 5), "weekend"),
        # Thu 12 Mar: Wed, Tue, Mon (no weekend in the way)
        (date(2026, 3, 12), "england", date(2026, 3, 9), "same week"),
        # Thu 7 May: Wed 6, Tue 5, (Mon 4 early May), Fri 1
        (date(2026, 5, 7), "england", date(2026, 5, 1), "early May"),
        (date(2026, 5, 7), "wales", date(2026, 5, 1), "early May, Wales"),
        # Wed 8 Apr: Tue 7, (Mon 6 Easter Monday, Fri 3 Good Friday), Thu 2, Wed 1
        (date(2026, 4, 8), "england", date(2026, 4, 1), "Easter"),
        # Scotland works Easter Monday: Tue 7, Mon 6, (Fri 3), Thu 2
        (date(2026, 4, 8), "scotland", date(2026, 4, 2), "Easter, Scotland"),
        # Wed 30 Dec: Tue 29, (Mon 28 Boxing Day substitute, Fri 25), Thu 24, Wed 23
        (date(2026, 12, 30), "england", date(2026, 12, 23), "Christmas"),
        # Tue 6 Jan 2026, into the year before: Mon 5, Fri 2, (Thu 1), Wed 31 Dec
        (date(2026, 1, 6), "england", date(2025, 12, 31), "New Year"),
        # ... Scotland also keeps 2 January: Mon 5, (Fri 2, Thu 1), Wed 31, Tue 30
        (date(2026, 1, 6), "scotland", date(2025, 12, 30), "2 January, Scotland"),
        # Thu 3 Dec: Wed 2, Tue 1, Mon 30 Nov, but St Andrew's Day in Scotland: Fri 27
        (date(2026, 12, 3), "england", date(2026, 11, 30), "St Andrew's Day, England"),
        (date(2026, 12, 3), "scotland", date(2026, 11, 27), "St Andrew's Day, Scotland"),
        # Thu 19 Mar: Wed 18, Tue 17, Mon 16; St Patrick's Day in Northern Ireland
        (date(2026, 3, 19), "england", date(2026, 3, 16), "St Patrick's Day, England"),
        (date(2026, 3, 19), "northern-ireland", date(2026, 3, 13), "St Patrick's Day, NI"),
    ],
)
def test_papers_due_three_working_days(meeting, nation, due, why):
    assert papers_due(meeting, WORKING3, nation) == due, why


def test_papers_due_none_when_the_panel_sets_no_lead_time():
    assert papers_due(date(2026, 5, 7), None, "england") is None


def test_calendar_days_landing_on_a_holiday_or_weekend_move_to_the_working_day_before():
    seven = {"days": 7, "count": "calendar"}
    # 4 May 2026 is a bank holiday: Friday 1 May
    assert papers_due(date(2026, 5, 11), seven, "england") == date(2026, 5, 1)
    assert papers_due(date(2026, 3, 11), {"days": 4, "count": "calendar"}, "wales") == date(
        2026, 3, 6
    )  # Saturday 7 March: Friday 6 March


@pytest.mark.parametrize(
    "papers",
    [{"days": -1, "count": "working"}, {"days": 3, "count": "clear"}, {"days": "3"}, {}, [3]],
)
def test_malformed_papers_settings_are_refused(papers):
    with pytest.raises(InvalidInputError, match="meetings.papers"):
        papers_due(date(2026, 5, 7), papers, "england")


def test_profile_examples():
    """The lead times of the shipped profiles, on meetings in 2026."""
    bnes, mace, macse = profiles.load("cse-marac"), profiles.load("mace"), profiles.load("macse")
    # B&NES CSE MARAC: a minimum of 3 working days prior; Thursday 7 May meeting
    assert bnes["meetings"]["papers"] == {"days": 3, "count": "working"}
    assert papers_due(date(2026, 5, 7), bnes["meetings"]["papers"], bnes["nation"]) == date(
        2026, 5, 1
    )
    # Stoke MACE: agenda and papers one week in advance; Tuesday 14 April meeting
    assert papers_due(date(2026, 4, 14), mace["meetings"]["papers"], mace["nation"]) == date(
        2026, 4, 7
    )
    # CYSUR MACSE (Wales): agenda four days prior; Tuesday 10 March meeting -> Friday 6 March
    assert macse["nation"] == "wales"
    assert papers_due(date(2026, 3, 10), macse["meetings"]["papers"], macse["nation"]) == date(
        2026, 3, 6
    )
    # the older Stoke CSE panel and Plymouth set no lead time
    for name in ("cse-panel", "mcse"):
        profile = profiles.load(name)
        assert (
            papers_due(date(2026, 3, 10), profile["meetings"]["papers"], profile["nation"]) is None
        )


def test_is_late_only_after_the_due_day():
    due = date(2026, 5, 1)
    assert not is_late(due, date(2026, 4, 30))
    assert not is_late(due, due)
    assert is_late(due, date(2026, 5, 2))
    assert not is_late(None, date(2026, 5, 2))


# --- planning meeting dates ---------------------------------------------------------------


def test_monthly_keeps_the_weekday_of_the_month():
    # 2nd Tuesday of each month in 2026
    assert plan_dates("monthly", date(2026, 1, 13), date(2026, 6, 30), "england") == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
        date(2026, 4, 14),
        date(2026, 5, 12),
        date(2026, 6, 9),
    ]


def test_monthly_moves_off_a_bank_holiday_to_the_next_working_day():
    # 1st Monday: 6 April is Easter Monday, 4 May early May, 3 August Scotland's summer holiday
    england = plan_dates("monthly", date(2026, 3, 2), date(2026, 8, 31), "england")
    assert england == [
        date(2026, 3, 2),
        date(2026, 4, 7),
        date(2026, 5, 5),
        date(2026, 6, 1),
        date(2026, 7, 6),
        date(2026, 8, 3),
    ]
    scotland = plan_dates("monthly", date(2026, 3, 2), date(2026, 8, 31), "scotland")
    assert scotland[1] == date(2026, 4, 6)  # Easter Monday is worked in Scotland
    assert scotland[-1] == date(2026, 8, 4)


def test_a_fifth_weekday_means_the_last_of_each_month():
    # Thursday 29 January 2026 is the 5th Thursday
    assert plan_dates("quarterly", date(2026, 1, 29), date(2027, 1, 31), "england") == [
        date(2026, 1, 29),
        date(2026, 4, 30),
        date(2026, 7, 30),
        date(2026, 10, 29),
        date(2027, 1, 28),
    ]


def test_fortnightly_steps_fourteen_days_without_drifting_after_a_holiday():
    assert plan_dates("fortnightly", date(2026, 3, 23), date(2026, 6, 1), "england") == [
        date(2026, 3, 23),
        date(2026, 4, 7),  # 6 April, Easter Monday
        date(2026, 4, 20),  # back on Monday
        date(2026, 5, 5),  # 4 May, early May
        date(2026, 5, 18),
        date(2026, 6, 1),  # `until` is inclusive
    ]


def test_quarterly_steps_three_months():
    # 2nd Wednesday, every third month
    assert plan_dates("quarterly", date(2026, 1, 14), date(2026, 12, 31), "england") == [
        date(2026, 1, 14),
        date(2026, 4, 8),
        date(2026, 7, 8),
        date(2026, 10, 14),
    ]


def test_as_required_proposes_nothing_and_an_empty_range_is_empty():
    assert plan_dates("as required", date(2026, 1, 1), date(2026, 12, 31), "england") == []
    assert plan_dates("monthly", date(2026, 6, 1), date(2026, 5, 1), "england") == []


def test_weekday_moves_the_first_meeting_forward():
    # from Thursday 1 January to the first Tuesday, 6 January: the 1st Tuesday each month
    dates = plan_dates("monthly", date(2026, 1, 1), date(2026, 4, 30), "england", weekday="tuesday")
    assert dates == [date(2026, 1, 6), date(2026, 2, 3), date(2026, 3, 3), date(2026, 4, 7)]
    assert plan_dates("fortnightly", date(2026, 1, 1), date(2026, 1, 31), "england", weekday=1) == [
        date(2026, 1, 6),
        date(2026, 1, 20),
    ]


def test_the_first_meeting_on_a_holiday_moves_too():
    assert plan_dates("fortnightly", date(2026, 12, 28), date(2027, 1, 15), "england") == [
        date(2026, 12, 29),
        date(2027, 1, 11),
    ]


def test_a_monthly_meeting_never_moves_into_the_next_month():
    # last Fridays from 29 December 2023; 29 March 2024 is Good Friday and 1 April Easter
    # Monday, so the March meeting is held on Thursday 28 March, not in April
    assert plan_dates("monthly", date(2023, 12, 29), date(2024, 4, 30), "england") == [
        date(2023, 12, 29),
        date(2024, 1, 26),
        date(2024, 2, 23),
        date(2024, 3, 28),
        date(2024, 4, 26),
    ]


def test_nothing_is_proposed_before_the_first_date():
    # Saturday 31 May 2025 is a 5th Saturday: its working day in May (Friday 30) is too early
    assert plan_dates("monthly", date(2025, 5, 31), date(2025, 7, 31), "england") == [
        date(2025, 6, 30),  # the last Saturday, 28 June, moved to Monday
        date(2025, 7, 28),  # 26 July, moved to Monday
    ]


def test_a_meeting_moved_past_until_is_left_out():
    # 31 August is the summer bank holiday; moving it to 1 September leaves the range
    assert plan_dates("fortnightly", date(2026, 8, 17), date(2026, 8, 31), "england") == [
        date(2026, 8, 17)
    ]


@pytest.mark.parametrize("bad", ["weekly", "bi-annually", ""])
def test_unknown_frequency_is_refused(bad):
    with pytest.raises(InvalidInputError, match="meetings.frequency"):
        plan_dates(bad, date(2026, 1, 1), date(2026, 12, 31), "england")


def test_frequency_spellings_and_bad_weekdays():
    assert plan_dates("As-Required", date(2026, 1, 1), date(2026, 2, 1), "england") == []
    with pytest.raises(InvalidInputError, match="weekday"):
        plan_dates("monthly", date(2026, 1, 1), date(2026, 2, 1), "england", weekday=7)
    with pytest.raises(InvalidInputError, match="weekday"):
        plan_dates("monthly", date(2026, 1, 1), date(2026, 2, 1), "england", weekday="tu")


def test_profile_frequencies_are_all_understood():
    for name in profiles.names():
        profile = profiles.load(name)
        plan_dates(profile["meetings"]["frequency"], date(2026, 1, 5), date(2026, 3, 1), "england")


# --- slots --------------------------------------------------------------------------------


def test_standing_items_then_one_slot_per_case():
    standing, slots = allocate_slots(
        time(10, 0),
        30,
        ["introductions", "actions from the previous meeting"],
        10,
        ["C-0003", "C-0001"],
    )
    assert standing == [
        {"title": "introductions", "start": "10:00", "end": "10:10"},
        {"title": "actions from the previous meeting", "start": "10:10", "end": "10:20"},
    ]
    assert slots == [
        {"case": "C-0003", "start": "10:20", "end": "10:50"},
        {"case": "C-0001", "start": "10:50", "end": "11:20"},
    ]


def test_slots_from_a_profile_and_the_default_standing_length():
    mace = profiles.load("mace")
    standing, slots = allocate_slots(
        mace["meetings"]["start_time"],
        mace["meetings"]["slot_minutes"],
        mace["agenda"]["standing"],
        cases=["C-0001"],
    )
    assert [s["start"] for s in standing] == ["09:30", "09:40"]
    assert slots == [{"case": "C-0001", "start": "09:50", "end": "10:20"}]


def test_no_cases_and_no_standing_items():
    assert allocate_slots("14:00", 15, [], 10, []) == ([], [])


def test_a_day_may_end_at_23_59_but_not_run_past_it():
    _, slots = allocate_slots("23:00", 59, [], 10, ["C-0001"])
    assert slots[-1]["end"] == "23:59"
    with pytest.raises(InvalidInputError, match="past midnight"):
        allocate_slots("23:00", 60, [], 10, ["C-0001"])
    with pytest.raises(InvalidInputError, match="past midnight"):
        allocate_slots("10:00", 30, ["introductions"], 10, [f"C-{n:04d}" for n in range(30)])


@pytest.mark.parametrize(
    ("start", "slot", "standing"),
    [("25:00", 30, 10), ("9.30", 30, 10), ("10:00", 0, 10), ("10:00", 30, -5), ("10:00", True, 10)],
)
def test_bad_slot_settings_are_refused(start, slot, standing):
    with pytest.raises(InvalidInputError):
        allocate_slots(start, slot, ["introductions"], standing, ["C-0001"])


# --- reviews and assessments --------------------------------------------------------------


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 2) == date(2027, 2, 15)
    assert add_months(date(2026, 8, 31), 3) == date(2026, 11, 30)


def test_review_due_from_the_last_discussion_or_the_nomination():
    nominated = date(2026, 1, 5)
    assert review_due(date(2026, 3, 10), nominated, 2, None) == date(2026, 5, 10)
    assert review_due(None, nominated, 2, None) == date(2026, 3, 5)
    assert review_due(date(2026, 1, 31), nominated, 1, None) == date(2026, 2, 28)


def test_the_chairs_date_wins():
    assert review_due(date(2026, 3, 10), date(2026, 1, 5), 2, date(2026, 3, 24)) == date(
        2026, 3, 24
    )
    assert review_due(date(2026, 3, 10), date(2026, 1, 5), None, date(2026, 9, 1)) == date(
        2026, 9, 1
    )
    assert review_due(None, date(2026, 1, 5), 2, date(2026, 1, 20)) == date(2026, 1, 20)


def test_a_chairs_date_already_met_gives_way_to_the_cadence():
    # the chair asked for 24 March; the case was heard that day, so two months from then
    assert review_due(date(2026, 3, 24), date(2026, 1, 5), 2, date(2026, 3, 24)) == date(
        2026, 5, 24
    )


def test_no_cadence_means_no_review_date():
    assert review_due(date(2026, 3, 10), date(2026, 1, 5), None, None) is None
    assert review_due(None, None, 2, None) is None
    with pytest.raises(InvalidInputError, match="cadence_months"):
        review_due(date(2026, 3, 10), date(2026, 1, 5), 0, None)


def test_assessment_overdue_after_the_refresh_interval():
    assessed = date(2026, 1, 1)
    assert assessment_due(assessed, 42) == date(2026, 2, 12)
    assert not assessment_overdue(assessed, 42, date(2026, 2, 12))
    assert assessment_overdue(assessed, 42, date(2026, 2, 13))
    assert assessment_overdue(None, 42, date(2026, 2, 13))  # never assessed
    assert not assessment_overdue(None, None, date(2026, 2, 13))  # no refresh rule
    assert not assessment_overdue(assessed, None, date(2030, 1, 1))
    assert assessment_due(None, 42) is None


# --- choosing cases -----------------------------------------------------------------------


def case(number, **fields):
    record = {
        "id": f"C-{number:04d}",
        "status": "open",
        "nominated": date(2026, 1, 5),
        "risk": "Medium",
        "last_discussed": None,
        "risk_at_last_discussion": None,
        "review_due": None,
    }
    record.update(fields)
    return record


def heard(number, discussed, **fields):
    fields.setdefault("risk_at_last_discussion", fields.get("risk", "Medium"))
    return case(number, last_discussed=discussed, **fields)


MEETING = date(2026, 5, 12)
MACE = profiles.load("mace")  # cadence 2 months, perpetrators not reviewed, after victims


def test_select_cases_reasons_and_order():
    cases = [
        case(7, nominated=date(2026, 4, 20)),  # new
        case(3, nominated=date(2026, 2, 1)),  # new, older nomination
        heard(9, date(2026, 4, 28), risk="High", risk_at_last_discussion="Medium"),  # risk changed
        heard(2, date(2026, 4, 28), risk="Low", risk_at_last_discussion="Medium"),  # risk changed
        heard(5, date(2026, 3, 12)),  # due 12 May: due on the day
        heard(4, date(2026, 2, 10)),  # due 10 April: most overdue
        heard(8, date(2026, 3, 13)),  # due 13 May: not yet
        heard(6, date(2026, 4, 14), review_due=date(2026, 5, 1)),  # the chair's date
        case(1, status="closed"),
    ]
    assert select_cases(cases, MEETING, MACE) == [
        {"id": "C-0003", "reason": "new nomination", "kind": "victim"},
        {"id": "C-0007", "reason": "new nomination", "kind": "victim"},
        {"id": "C-0002", "reason": "risk changed", "kind": "victim"},
        {"id": "C-0009", "reason": "risk changed", "kind": "victim"},
        {"id": "C-0004", "reason": "review due", "kind": "victim"},
        {"id": "C-0006", "reason": "review due", "kind": "victim"},
        {"id": "C-0005", "reason": "review due", "kind": "victim"},
    ]


def test_ties_go_by_the_number_in_the_id():
    cases = [case(12), case(2), case(100)]
    assert [c["id"] for c in select_cases(cases, MEETING, MACE)] == ["C-0002", "C-0012", "C-0100"]


def test_a_chair_date_after_the_meeting_keeps_a_case_off():
    cases = [heard(4, date(2026, 2, 10), review_due=date(2026, 6, 9))]
    assert select_cases(cases, MEETING, MACE) == []


def test_a_nomination_after_the_meeting_waits_for_the_next_one():
    assert select_cases([case(1, nominated=date(2026, 5, 13))], MEETING, MACE) == []


def test_perpetrators_new_ones_heard_not_reviewed_and_after_victims():
    cases = [
        case(1, kind="perpetrator", nominated=date(2026, 1, 1)),  # new: heard
        heard(2, date(2026, 1, 6), kind="perpetrator"),  # would be due: not reviewed
        heard(3, date(2026, 4, 28), kind="perpetrator", risk="High", risk_at_last_discussion="Low"),
        case(4, nominated=date(2026, 5, 1)),  # a new victim
        heard(5, date(2026, 1, 6)),  # a victim review
    ]
    assert select_cases(cases, MEETING, MACE) == [
        {"id": "C-0004", "reason": "new nomination", "kind": "victim"},
        {"id": "C-0005", "reason": "review due", "kind": "victim"},
        {"id": "C-0001", "reason": "new nomination", "kind": "perpetrator"},
        {"id": "C-0003", "reason": "risk changed", "kind": "perpetrator"},
    ]


def test_perpetrators_reviewed_and_mixed_in_when_the_profile_says_so():
    profile = {
        "reviews": {"cadence_months": 2, "review_perpetrators": True},
        "agenda": {"perpetrators_after_victims": False},
    }
    cases = [
        case(1, kind="perpetrator", nominated=date(2026, 1, 1)),
        heard(2, date(2026, 1, 6), kind="perpetrator"),
        case(4, nominated=date(2026, 5, 1)),
        heard(5, date(2026, 2, 6)),
    ]
    assert select_cases(cases, MEETING, profile) == [
        {"id": "C-0001", "reason": "new nomination", "kind": "perpetrator"},
        {"id": "C-0004", "reason": "new nomination", "kind": "victim"},
        {"id": "C-0002", "reason": "review due", "kind": "perpetrator"},
        {"id": "C-0005", "reason": "review due", "kind": "victim"},
    ]


def test_no_cadence_no_reviews_but_the_chairs_date_still_counts():
    bnes = profiles.load("cse-marac")  # cadence null
    cases = [heard(1, date(2025, 1, 6)), heard(2, date(2026, 4, 1), review_due=date(2026, 5, 12))]
    assert select_cases(cases, MEETING, bnes) == [
        {"id": "C-0002", "reason": "review due", "kind": "victim"}
    ]


def test_risk_unknown_at_last_discussion_is_not_a_change():
    cases = [heard(1, date(2026, 4, 28), risk="High", risk_at_last_discussion=None)]
    assert select_cases(cases, MEETING, MACE) == []


def test_dates_may_be_iso_strings_as_in_the_index():
    cases = [heard(1, "2026-02-10", nominated="2026-01-05")]
    assert select_cases(cases, MEETING, MACE) == [
        {"id": "C-0001", "reason": "review due", "kind": "victim"}
    ]


def test_bad_case_fields_are_named_by_id_and_field():
    with pytest.raises(InvalidInputError, match=r"case C-0001: field kind"):
        select_cases([case(1, kind="witness")], MEETING, MACE)
    with pytest.raises(InvalidInputError, match=r"case C-0002: field last_discussed"):
        select_cases([case(2, last_discussed="12/05/2026")], MEETING, MACE)


# --- quorum and age -----------------------------------------------------------------------

PLYMOUTH = profiles.load("mcse")["quorum"]


def test_no_quorum_rule():
    assert quorum({"rule": "none"}, []) == (True, "no quorum rule")
    assert quorum(None, []) == (True, "no quorum rule")


def test_plymouth_quorum_needs_local_authority_health_and_police():
    assert quorum(PLYMOUTH, ["police", "local authority", "health", "voluntary"]) == (
        True,
        "quorate: local authority, health and police present",
    )
    assert quorum(PLYMOUTH, ["police", "local authority", "education"]) == (
        False,
        "not quorate: no health representative present",
    )
    assert quorum(PLYMOUTH, ["Police"]) == (
        False,
        "not quorate: no local authority or health representative present",
    )
    assert quorum(PLYMOUTH, []) == (
        False,
        "not quorate: no local authority, health or police representative present",
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"rule": "majority"},
        {"rule": "sectors", "each_of": []},
        {"rule": "sectors", "each_of": ["nhs"]},
    ],
)
def test_bad_quorum_rules_are_refused(rule):
    with pytest.raises(InvalidInputError, match="quorum"):
        quorum(rule, ["police"])


def test_age_on():
    dob = date(2010, 5, 12)
    assert age_on(dob, date(2026, 5, 11)) == 15
    assert age_on(dob, date(2026, 5, 12)) == 16
    assert age_on(dob, dob) == 0
    leap = date(2008, 2, 29)
    assert age_on(leap, date(2026, 2, 28)) == 17
    assert age_on(leap, date(2026, 3, 1)) == 18
    assert age_on(leap, date(2028, 2, 29)) == 20
    with pytest.raises(InvalidInputError):
        age_on(dob, date(2010, 5, 11))


# --- properties ---------------------------------------------------------------------------

days_2020s = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))
nations = st.sampled_from(NATION_NAMES)


@settings(max_examples=300, deadline=None)
@given(meeting=days_2020s, days=st.integers(min_value=1, max_value=25), nation=nations)
def test_working_papers_land_on_a_working_day_exactly_n_working_days_before(meeting, days, nation):
    due = papers_due(meeting, {"days": days, "count": "working"}, nation)
    assert due < meeting
    assert due.weekday() < 5
    assert due not in bank_holidays(nation, due.year)
    between = [due + timedelta(n) for n in range((meeting - due).days)]
    assert sum(is_working_day(d, nation) for d in between) == days


@settings(max_examples=200, deadline=None)
@given(meeting=days_2020s, days=st.integers(min_value=0, max_value=30), nation=nations)
def test_calendar_papers_are_the_last_working_day_n_days_or_more_before(meeting, days, nation):
    due = papers_due(meeting, {"days": days, "count": "calendar"}, nation)
    assert (meeting - due).days >= days and is_working_day(due, nation)
    # and no working day between it and the n-th day before
    between = [due + timedelta(n) for n in range(1, (meeting - due).days - days + 1)]
    assert not any(is_working_day(d, nation) for d in between)


@settings(max_examples=100, deadline=None)
@given(
    rule=st.sampled_from(["fortnightly", "monthly", "quarterly"]),
    first=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    span=st.integers(min_value=0, max_value=800),
    nation=nations,
)
def test_planned_dates_are_working_days_in_order_within_the_range(rule, first, span, nation):
    until = first + timedelta(span)
    planned = plan_dates(rule, first, until, nation)
    assert all(first <= d <= until for d in planned)
    assert all(is_working_day(d, nation) for d in planned)
    assert planned == sorted(set(planned))
    if rule != "fortnightly":
        months = [d.year * 12 + d.month for d in planned]
        step = 1 if rule == "monthly" else 3
        assert all(b - a == step for a, b in zip(months, months[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(
    start=st.times(max_value=time(12, 0)),
    slot=st.integers(min_value=1, max_value=60),
    standing=st.lists(st.text(min_size=1, max_size=5), max_size=5),
    cases=st.lists(st.from_regex(r"C-[0-9]{4}", fullmatch=True), max_size=10),
)
def test_slots_are_back_to_back_and_as_long_as_asked(start, slot, standing, cases):
    items, slots = allocate_slots(start, slot, standing, 10, cases)
    timeline = items + slots
    assert [s.get("title", s.get("case")) for s in timeline] == [*standing, *cases]
    for before, after in zip(timeline, timeline[1:], strict=False):
        assert before["end"] == after["start"]
    for item in slots:
        (sh, sm), (eh, em) = (map(int, item[k].split(":")) for k in ("start", "end"))
        assert (eh * 60 + em) - (sh * 60 + sm) == slot


@settings(max_examples=300, deadline=None)
@given(day=st.dates(), months=st.integers(min_value=0, max_value=120))
def test_add_months_moves_whole_months_and_never_overshoots(day, months):
    if day.year + months // 12 + 1 > 9999:
        return
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


@settings(max_examples=200, deadline=None)
@given(
    dob=st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 1, 1)), gap=st.integers(0, 9000)
)
def test_age_grows_by_one_on_each_birthday_only(dob, gap):
    on = dob + timedelta(gap)
    age = age_on(dob, on)
    if (dob.month, dob.day) != (2, 29):
        assert add_months(dob, 12 * age) <= on < add_months(dob, 12 * (age + 1))
    assert age_on(dob, on + timedelta(1)) - age in (0, 1)
