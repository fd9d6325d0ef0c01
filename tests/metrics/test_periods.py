"""Periods: months, quarters, years, fiscal periods and custom ranges (pure, no database)."""

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.periods import (
    GRAINS,
    Period,
    add_months,
    month_range,
    month_start,
    parse_period,
    periods_containing,
    previous_year_to_date,
    rolling_12_months,
    year_to_date,
)

# --------------------------------------------------------------------------- month helpers


def test_month_start_moves_any_day_to_the_first_of_its_month():
    assert month_start(date(2025, 2, 28)) == date(2025, 2, 1)
    assert month_start(date(2025, 2, 1)) == date(2025, 2, 1)


def test_month_start_of_a_datetime_is_a_plain_date():
    result = month_start(datetime(2025, 3, 15, 13, 30))
    assert result == date(2025, 3, 1)
    assert type(result) is date


def test_add_months_crosses_year_boundaries_both_ways():
    assert add_months(date(2025, 1, 1), -1) == date(2024, 12, 1)
    assert add_months(date(2024, 12, 1), 1) == date(2025, 1, 1)
    assert add_months(date(2025, 3, 1), -15) == date(2023, 12, 1)
    assert add_months(date(2025, 3, 1), 24) == date(2027, 3, 1)
    assert add_months(date(2025, 3, 1), 0) == date(2025, 3, 1)


def test_add_months_returns_a_month_start_even_from_the_end_of_a_month():
    # Months only: 31 January + 1 month is February, never an invalid 31 February.
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 1)


def test_month_range_is_inclusive_and_made_of_month_starts():
    assert month_range(date(2024, 11, 1), date(2025, 2, 1)) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]


def test_month_range_of_one_month_and_of_a_reversed_pair():
    assert month_range(date(2025, 5, 1), date(2025, 5, 1)) == [date(2025, 5, 1)]
    assert month_range(date(2025, 5, 1), date(2025, 4, 1)) == []


# --------------------------------------------------------------------------- constructors


def test_month_period_is_a_single_month():
    p = Period.month(2025, 1)
    assert (p.start, p.end, p.grain, p.length) == (date(2025, 1, 1), date(2025, 1, 1), "month", 1)
    assert p.months == (date(2025, 1, 1),)


@pytest.mark.parametrize(
    ("q", "first", "last"),
    [(1, 1, 3), (2, 4, 6), (3, 7, 9), (4, 10, 12)],
)
def test_calendar_quarter_boundaries(q, first, last):
    p = Period.quarter(2025, q)
    assert p.start == date(2025, first, 1)
    assert p.end == date(2025, last, 1)
    assert p.length == 3


def test_year_runs_january_to_december():
    p = Period.year(2025)
    assert (p.start, p.end, p.length) == (date(2025, 1, 1), date(2025, 12, 1), 12)
    assert p.months == tuple(date(2025, m, 1) for m in range(1, 13))


def test_fiscal_year_starting_in_april_is_named_by_the_year_it_starts():
    p = Period.fiscal_year(2025, 4)
    assert p.start == date(2025, 4, 1)
    assert p.end == date(2026, 3, 1)
    assert p.length == 12
    assert p.key == "FY2025"


@pytest.mark.parametrize(
    ("q", "first", "last"),
    [
        (1, date(2025, 4, 1), date(2025, 6, 1)),
        (2, date(2025, 7, 1), date(2025, 9, 1)),
        (3, date(2025, 10, 1), date(2025, 12, 1)),
        (4, date(2026, 1, 1), date(2026, 3, 1)),
    ],
)
def test_fiscal_quarters_of_an_april_fiscal_year(q, first, last):
    p = Period.fiscal_quarter(2025, q, 4)
    assert (p.start, p.end) == (first, last)
    assert p.key == f"FY2025-Q{q}"


def test_fiscal_quarters_can_straddle_calendar_quarters():
    # A fiscal year starting in February: Q1 = Feb..Apr.
    p = Period.fiscal_quarter(2025, 1, 2)
    assert (p.start, p.end) == (date(2025, 2, 1), date(2025, 4, 1))


def test_range_accepts_any_day_and_keeps_month_starts():
    p = Period.range(date(2025, 1, 15), date(2025, 6, 30))
    assert (p.start, p.end, p.grain, p.length) == (date(2025, 1, 1), date(2025, 6, 1), "range", 6)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Period.quarter(2025, 5),
        lambda: Period.quarter(2025, 0),
        lambda: Period.month(2025, 13),
        lambda: Period.fiscal_year(2025, 13),
        lambda: Period.fiscal_quarter(2025, 5, 4),
        lambda: Period.range(date(2025, 6, 1), date(2025, 1, 1)),
        lambda: Period(date(2025, 1, 2), date(2025, 1, 2), "month"),
        lambda: Period(date(2025, 2, 1), date(2025, 4, 1), "quarter"),
        lambda: Period(date(2025, 1, 1), date(2025, 2, 1), "quarter"),
        lambda: Period(date(2025, 1, 1), date(2025, 12, 1), "fiscal_year", 4),
        lambda: Period(date(2025, 1, 1), date(2025, 1, 1), "week"),
    ],
)
def test_inconsistent_periods_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_calendar_periods_ignore_the_fiscal_start_so_they_compare_equal():
    assert Period(date(2025, 1, 1), date(2025, 3, 1), "quarter", 4) == Period.quarter(2025, 1)
    assert Period.containing(date(2025, 2, 1), "year", 4) == Period.year(2025)


def test_periods_are_hashable_and_ordered_by_start():
    assert len({Period.month(2025, 1), Period.month(2025, 1), Period.month(2025, 2)}) == 2
    assert sorted([Period.month(2025, 3), Period.month(2024, 12)])[0] == Period.month(2024, 12)


# --------------------------------------------------------------------------- containing


def test_containing_finds_each_grain_for_a_month():
    m = date(2025, 8, 20)
    assert Period.containing(m, "month") == Period.month(2025, 8)
    assert Period.containing(m, "quarter") == Period.quarter(2025, 3)
    assert Period.containing(m, "year") == Period.year(2025)
    assert Period.containing(m, "fiscal_year", 4) == Period.fiscal_year(2025, 4)
    assert Period.containing(m, "fiscal_quarter", 4) == Period.fiscal_quarter(2025, 2, 4)


def test_months_before_the_fiscal_start_belong_to_the_fiscal_year_begun_the_year_before():
    m = date(2026, 3, 1)
    assert Period.containing(m, "fiscal_year", 4) == Period.fiscal_year(2025, 4)
    assert Period.containing(m, "fiscal_quarter", 4) == Period.fiscal_quarter(2025, 4, 4)


def test_containing_a_range_is_not_a_thing():
    with pytest.raises(ValueError, match="grain"):
        Period.containing(date(2025, 1, 1), "range")


def test_contains_accepts_any_day_of_a_month():
    q = Period.quarter(2025, 1)
    assert q.contains(date(2025, 1, 1))
    assert q.contains(date(2025, 3, 31))
    assert not q.contains(date(2025, 4, 1))
    assert not q.contains(date(2024, 12, 31))


# --------------------------------------------------------------------------- navigation


def test_previous_of_january_is_december_of_the_year_before():
    assert Period.month(2025, 1).previous() == Period.month(2024, 12)


def test_previous_quarter_crosses_the_year_boundary():
    assert Period.quarter(2025, 1).previous() == Period.quarter(2024, 4)
    assert Period.quarter(2025, 3).previous() == Period.quarter(2025, 2)


def test_previous_year_and_fiscal_periods_keep_grain_and_fiscal_start():
    assert Period.year(2025).previous() == Period.year(2024)
    assert Period.fiscal_year(2025, 4).previous() == Period.fiscal_year(2024, 4)
    assert Period.fiscal_quarter(2025, 1, 4).previous() == Period.fiscal_quarter(2024, 4, 4)


def test_previous_range_has_the_same_length_and_ends_just_before():
    p = Period.range(date(2025, 2, 1), date(2025, 6, 1))
    assert p.previous() == Period.range(date(2024, 9, 1), date(2025, 1, 1))
    assert p.previous().length == p.length


def test_same_period_last_year_for_each_grain():
    assert Period.month(2025, 3).same_period_last_year() == Period.month(2024, 3)
    assert Period.quarter(2025, 2).same_period_last_year() == Period.quarter(2024, 2)
    assert Period.fiscal_quarter(2025, 4, 4).same_period_last_year() == Period.fiscal_quarter(
        2024, 4, 4
    )
    r = Period.range(date(2024, 11, 1), date(2025, 2, 1))
    assert r.same_period_last_year() == Period.range(date(2023, 11, 1), date(2024, 2, 1))


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("period", "key"),
    [
        (Period.month(2025, 1), "2025-01"),
        (Period.quarter(2025, 1), "2025-Q1"),
        (Period.year(2025), "2025"),
        (Period.fiscal_year(2025, 4), "FY2025"),
        (Period.fiscal_quarter(2025, 2, 4), "FY2025-Q2"),
        (Period.range(date(2025, 1, 1), date(2025, 6, 1)), "2025-01..2025-06"),
    ],
)
def test_keys_of_each_grain(period, key):
    assert period.key == key
    assert str(period) == key
    assert parse_period(key, period.fiscal_start) == period


def test_parse_period_tolerates_case_and_surrounding_spaces():
    assert parse_period(" fy2025-q2 ", 4) == Period.fiscal_quarter(2025, 2, 4)
    assert parse_period("2025-q4") == Period.quarter(2025, 4)


def test_parse_fiscal_key_uses_the_given_fiscal_start():
    assert parse_period("FY2025", 7) == Period.fiscal_year(2025, 7)
    assert parse_period("FY2025", 7).start == date(2025, 7, 1)


@pytest.mark.parametrize(
    "key",
    ["", "2025-13", "2025-00", "2025-Q5", "2025-Q0", "25", "2025-1", "FY25", "Q1 2025",
     "2025-06..2025-01", "2025-01..", "0000", "January 2025"],
)  # fmt: skip
def test_parse_period_rejects_malformed_keys_with_a_clear_message(key):
    with pytest.raises(ValueError, match="invalid period key"):
        parse_period(key)


def test_parse_period_rejects_an_impossible_fiscal_start():
    with pytest.raises(ValueError, match="fiscal_start"):
        parse_period("FY2025", 0)


_years = st.integers(min_value=1901, max_value=2199)
_fiscal_starts = st.integers(min_value=1, max_value=12)


@st.composite
def periods(draw):
    grain = draw(st.sampled_from((*GRAINS, "range")))
    y = draw(_years)
    fs = draw(_fiscal_starts)
    if grain == "month":
        return Period.month(y, draw(st.integers(1, 12)))
    if grain == "quarter":
        return Period.quarter(y, draw(st.integers(1, 4)))
    if grain == "year":
        return Period.year(y)
    if grain == "fiscal_year":
        return Period.fiscal_year(y, fs)
    if grain == "fiscal_quarter":
        return Period.fiscal_quarter(y, draw(st.integers(1, 4)), fs)
    first = date(y, draw(st.integers(1, 12)), 1)
    return Period.range(first, add_months(first, draw(st.integers(0, 60))))


@given(periods())
def test_key_round_trips_through_parse_period(period):
    assert parse_period(period.key, period.fiscal_start) == period


@given(periods())
def test_previous_and_last_year_keep_grain_and_length(period):
    for other in (period.previous(), period.same_period_last_year()):
        assert other.grain == period.grain
        assert other.length == period.length
        assert other.fiscal_start == period.fiscal_start
    assert add_months(period.previous().end, 1) == period.start


@given(_years, st.integers(1, 12), _fiscal_starts)
def test_every_month_lies_in_exactly_one_period_of_each_grain(y, m, fs):
    month = date(y, m, 1)
    for grain in GRAINS:
        p = Period.containing(month, grain, fs)
        assert p.contains(month)
        assert month in p.months
        assert not p.previous().contains(month)
        assert p.length == len(p.months)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("period", "en", "fr"),
    [
        (Period.month(2025, 1), "January 2025", "janvier 2025"),
        (Period.month(2025, 7), "July 2025", "juillet 2025"),
        (Period.quarter(2025, 1), "Q1 2025", "T1 2025"),
        (Period.year(2025), "2025", "2025"),
        (Period.fiscal_year(2025, 4), "FY 2025/26", "Exercice 2025/26"),
        (Period.fiscal_year(1999, 7), "FY 1999/00", "Exercice 1999/00"),
        (Period.fiscal_quarter(2025, 2, 4), "Q2 FY 2025/26", "T2 exercice 2025/26"),
        (Period.range(date(2025, 1, 1), date(2025, 6, 1)), "Jan–Jun 2025", "janv.–juin 2025"),
        (
            Period.range(date(2024, 11, 1), date(2025, 2, 1)),
            "Nov 2024–Feb 2025",
            "nov. 2024–févr. 2025",
        ),
        (Period.range(date(2025, 3, 1), date(2025, 3, 1)), "Mar 2025", "mars 2025"),
    ],
)
def test_labels_in_english_and_french(period, en, fr):
    assert period.label("en") == en
    assert period.label("fr") == fr


def test_a_fiscal_year_starting_in_january_is_labelled_with_one_year():
    assert Period.fiscal_year(2025, 1).label("en") == "FY 2025"
    assert Period.fiscal_year(2025, 1).label("fr") == "Exercice 2025"


def test_labels_accept_regional_language_codes_and_fall_back_to_english():
    assert Period.month(2025, 2).label("fr-ch") == "février 2025"
    assert Period.month(2025, 2).label("en-US") == "February 2025"
    assert Period.month(2025, 2).label("xx") == "February 2025"
    assert Period.month(2025, 2).label("") == "February 2025"


# --------------------------------------------------------------------------- stored periods


def test_periods_containing_with_a_calendar_fiscal_year_stores_three_periods():
    assert periods_containing(date(2025, 5, 1), 1) == [
        Period.month(2025, 5),
        Period.quarter(2025, 2),
        Period.year(2025),
    ]


def test_periods_containing_with_an_april_fiscal_year_adds_fiscal_periods():
    assert periods_containing(date(2026, 2, 1), 4) == [
        Period.month(2026, 2),
        Period.quarter(2026, 1),
        Period.year(2026),
        Period.fiscal_quarter(2025, 4, 4),
        Period.fiscal_year(2025, 4),
    ]


# --------------------------------------------------------------------------- YTD, rolling


def test_year_to_date_runs_from_january_through_the_month():
    p = year_to_date(date(2025, 5, 1))
    assert p == Period.range(date(2025, 1, 1), date(2025, 5, 1))
    assert p.grain == "range"


def test_year_to_date_in_january_is_january_alone():
    assert year_to_date(date(2025, 1, 1)).months == (date(2025, 1, 1),)


def test_fiscal_year_to_date_starts_at_the_fiscal_year_start():
    assert year_to_date(date(2026, 2, 1), 4) == Period.range(date(2025, 4, 1), date(2026, 2, 1))
    assert year_to_date(date(2025, 4, 1), 4) == Period.range(date(2025, 4, 1), date(2025, 4, 1))


def test_previous_year_to_date_covers_the_same_months_a_year_earlier():
    assert previous_year_to_date(date(2025, 5, 1)) == Period.range(
        date(2024, 1, 1), date(2024, 5, 1)
    )
    assert previous_year_to_date(date(2026, 2, 1), 4) == Period.range(
        date(2024, 4, 1), date(2025, 2, 1)
    )


def test_rolling_12_months_ends_with_the_month():
    p = rolling_12_months(date(2025, 3, 1))
    assert p == Period.range(date(2024, 4, 1), date(2025, 3, 1))
    assert p.length == 12
