from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from campaigns.feasibility import (
    assess,
    history_window,
    month_on_month_changes,
    months_between,
    signed_change,
)

D = Decimal


def months(*values, first=date(2024, 1, 1)):
    out = {}
    for i, value in enumerate(values):
        if value is not None:
            out[
                date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
            ] = D(value)
    return out


def test_months_between_counts_from_the_start_month_to_the_deadline_month():
    assert months_between(date(2025, 1, 15), date(2025, 6, 30)) == 5
    assert months_between(date(2025, 1, 1), date(2025, 1, 20)) == 1


def test_the_history_window_is_the_24_months_before_the_start():
    assert history_window(date(2025, 3, 10)) == (date(2023, 3, 1), date(2025, 2, 1))


def test_a_gap_breaks_the_month_on_month_chain():
    assert month_on_month_changes(months("1", "2", None, "5", "4")) == [D(1), D(-1)]


def test_a_target_beyond_the_best_monthly_gain_is_flagged():
    result = assess(
        baseline=D("4.0"),
        target=D("6.0"),
        start=date(2025, 1, 1),
        deadline=date(2025, 6, 1),
        history=months("3.8", "4.0", "3.9", "4.1"),
    )
    assert result.needed == D("0.4")
    assert result.best == D("0.2")
    assert result.beyond_history


def test_a_target_within_the_history_is_not_flagged():
    result = assess(
        baseline=D("4.0"),
        target=D("4.5"),
        start=date(2025, 1, 1),
        deadline=date(2025, 6, 1),
        history=months("3.8", "4.0", "3.9", "4.1"),
    )
    assert result.needed == D("0.1")
    assert not result.beyond_history


def test_a_fall_is_compared_with_the_largest_monthly_drop():
    result = assess(
        baseline=D("50"),
        target=D("20"),
        start=date(2025, 1, 1),
        deadline=date(2025, 4, 1),
        history=months("60", "55", "58", "52"),
    )
    assert result.needed == D("-10")
    assert result.best == D("-6")
    assert result.beyond_history


def test_a_history_that_never_moved_that_way_is_flagged():
    result = assess(
        baseline=D("4"),
        target=D("5"),
        start=date(2025, 1, 1),
        deadline=date(2025, 3, 1),
        history=months("5", "4.5", "4"),
    )
    assert result.best is None
    assert result.beyond_history


def test_without_history_nothing_is_flagged():
    result = assess(
        baseline=D("4"),
        target=D("5"),
        start=date(2025, 1, 1),
        deadline=date(2025, 3, 1),
        history={},
    )
    assert result.compared == 0
    assert not result.beyond_history


def test_missing_baseline_gives_no_needed_change():
    result = assess(
        baseline=None, target=D("5"), start=date(2025, 1, 1), deadline=date(2025, 3, 1), history={}
    )
    assert result.needed is None


@pytest.mark.parametrize(
    ("language", "value", "unit", "decimals", "expected"),
    [
        ("en", "0.4", "percent", 2, "+0.40\u00a0pt"),
        ("fr", "0.4", "percent", 2, "+0,40\u00a0pt"),
        ("en", "-3.2", "money", 2, "\u2212€3.20"),
        ("en", "120", "count", 0, "+120"),
        ("en", "0.004", "percent", 2, "+0.004\u00a0pt"),
    ],
)
def test_signed_change_speaks_the_kpis_unit(language, value, unit, decimals, expected):
    with translation.override(language):
        assert signed_change(D(value), unit=unit, decimals=decimals, currency="EUR") == expected
