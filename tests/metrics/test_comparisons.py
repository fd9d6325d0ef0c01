"""Deltas, attainment, status and target paths (DOMAIN rules 4 and 6)."""

from datetime import date
from decimal import Decimal

import pytest

from metrics.comparisons import (
    Delta,
    attainment,
    compare,
    linear_target,
    required_monthly_change,
    status,
    target_reached,
)

D = Decimal


# --------------------------------------------------------------------------- compare


def test_rate_from_4_to_4_6_percent_is_0_6_points_and_15_percent_relative():
    # DOMAIN rule 4.
    delta = compare(D("4.6"), D("4.0"), unit="percent", direction="higher")
    assert delta.absolute == D("0.6")
    assert delta.relative == D(15)
    assert delta.in_points is True
    assert delta.good is True
    assert (delta.current, delta.reference) == (D("4.6"), D("4.0"))


def test_lower_cpa_is_good_news():
    delta = compare(D("42.50"), D("50.00"), unit="money", direction="lower")
    assert delta.absolute == D("-7.50")
    assert delta.relative == D(-15)
    assert delta.good is True
    assert delta.in_points is False


def test_higher_cpa_is_bad_news():
    assert compare(D(60), D(50), unit="money", direction="lower").good is False


def test_falling_conversion_rate_is_bad_news():
    assert compare(D("3.5"), D("4.0"), unit="percent", direction="higher").good is False


def test_no_change_is_neither_good_nor_bad():
    delta = compare(D("4.0"), D("4.00"), unit="percent", direction="higher")
    assert delta.absolute == 0
    assert delta.relative == 0
    assert delta.good is None


def test_relative_change_against_a_zero_reference_is_undefined():
    delta = compare(D(5), D(0), unit="count", direction="higher")
    assert delta.absolute == D(5)
    assert delta.relative is None
    assert delta.good is True


@pytest.mark.parametrize(("current", "reference"), [(None, D(1)), (D(1), None), (None, None)])
def test_a_missing_side_makes_the_whole_delta_undefined(current, reference):
    delta = compare(current, reference, unit="ratio", direction="higher")
    assert delta == Delta(current, reference, None, None, False, None)


def test_relative_change_from_a_negative_reference_uses_its_magnitude():
    # NPS from -20 to -10 is an improvement of 50 %, not a fall of 50 %.
    delta = compare(D(-10), D(-20), unit="points", direction="higher")
    assert delta.absolute == D(10)
    assert delta.relative == D(50)
    assert delta.in_points is True
    assert delta.good is True


@pytest.mark.parametrize(
    ("unit", "in_points"),
    [("percent", True), ("points", True), ("money", False), ("ratio", False),
     ("count", False), ("months", False)],
)  # fmt: skip
def test_only_percent_and_points_kpis_change_in_points(unit, in_points):
    assert compare(D(2), D(1), unit=unit, direction="higher").in_points is in_points


def test_unknown_unit_or_direction_is_rejected():
    with pytest.raises(ValueError, match="unit"):
        compare(D(1), D(1), unit="euros", direction="higher")
    with pytest.raises(ValueError, match="direction"):
        compare(D(1), D(1), unit="money", direction="up")


def test_deltas_are_decimals():
    delta = compare(D("0.3"), D("0.1"), unit="ratio", direction="higher")
    assert isinstance(delta.absolute, Decimal)
    assert delta.absolute == D("0.2")
    assert isinstance(delta.relative, Decimal)


# --------------------------------------------------------------------------- attainment


def test_attainment_of_a_higher_is_better_kpi_is_actual_over_target():
    assert attainment(D("4.5"), D("5.0"), direction="higher") == D(90)


def test_attainment_of_a_lower_is_better_kpi_is_target_over_actual():
    # CPA of 50 against a target of 40: 80 % attained.
    assert attainment(D(50), D(40), direction="lower") == D(80)
    # Beating a lower-is-better target is over 100 %.
    assert attainment(D(32), D(40), direction="lower") == D(125)


def test_attainment_is_undefined_when_dividing_by_zero():
    assert attainment(D(5), D(0), direction="higher") is None
    assert attainment(D(0), D(40), direction="lower") is None


def test_attainment_of_zero_actual_for_a_higher_is_better_kpi_is_zero():
    assert attainment(D(0), D(10), direction="higher") == D(0)


def test_attainment_is_undefined_with_a_missing_value():
    assert attainment(None, D(10), direction="higher") is None
    assert attainment(D(10), None, direction="lower") is None


def test_attainment_is_undefined_against_a_negative_divisor():
    # NPS -20 against a target of -10 would otherwise read 200 % "on track".
    assert attainment(D(-20), D(-10), direction="higher") is None
    # A churn rate of -1 % (net customer gain) against 5 % would otherwise read -500 %.
    assert attainment(D(-1), D(5), direction="lower") is None


def test_attainment_with_a_negative_numerator_stays_a_number():
    # Negative ROI against a positive target: clearly off track.
    assert attainment(D(-10), D(20), direction="higher") == D(-50)


def test_attainment_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        attainment(D(1), D(1), direction="sideways")


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (D(125), "on_track"),
        (D(100), "on_track"),
        (D("99.99"), "at_risk"),
        (D(90), "at_risk"),
        (D("89.99"), "off_track"),
        (D(0), "off_track"),
        (D(-50), "off_track"),
    ],
)
def test_status_default_thresholds_are_100_and_90_percent(pct, expected):
    assert status(pct) == expected


def test_status_with_custom_thresholds():
    assert status(D(96), on_track=D(95), at_risk=D(80)) == "on_track"
    assert status(D(85), on_track=D(95), at_risk=D(80)) == "at_risk"
    assert status(D(79), on_track=D(95), at_risk=D(80)) == "off_track"


def test_status_with_equal_thresholds_has_no_at_risk_band():
    assert status(D("99.9"), on_track=D(100), at_risk=D(100)) == "off_track"


def test_status_without_attainment_is_none():
    assert status(None) is None


def test_status_rejects_an_at_risk_threshold_above_on_track():
    with pytest.raises(ValueError, match="threshold"):
        status(D(95), on_track=D(90), at_risk=D(100))


def test_status_chained_with_attainment_for_a_lower_is_better_kpi():
    assert status(attainment(D(44), D(40), direction="lower")) == "at_risk"


# --------------------------------------------------------------------------- linear_target

START, DEADLINE = date(2025, 1, 1), date(2025, 7, 1)


def _path(month, baseline=D("4.0"), target=D("4.6")):
    return linear_target(month, baseline=baseline, target=target, start=START, deadline=DEADLINE)


def test_linear_target_is_the_baseline_at_the_start_month():
    assert _path(date(2025, 1, 1)) == D("4.0")


def test_linear_target_is_halfway_at_mid_path():
    assert _path(date(2025, 4, 1)) == D("4.3")


def test_linear_target_moves_by_equal_monthly_steps():
    steps = [_path(date(2025, m, 1)) for m in range(1, 8)]
    assert steps == [D("4.0"), D("4.1"), D("4.2"), D("4.3"), D("4.4"), D("4.5"), D("4.6")]


def test_linear_target_is_the_target_at_the_deadline_month_and_after():
    assert _path(date(2025, 7, 1)) == D("4.6")
    assert _path(date(2025, 7, 31)) == D("4.6")
    assert _path(date(2026, 3, 1)) == D("4.6")


def test_linear_target_is_undefined_before_the_start():
    assert _path(date(2024, 12, 1)) is None


def test_linear_target_uses_months_whatever_the_day():
    assert linear_target(
        date(2025, 4, 17), baseline=D(0), target=D(6), start=date(2025, 1, 20),
        deadline=date(2025, 7, 5),
    ) == D(3)  # fmt: skip


def test_linear_target_from_a_negative_baseline():
    # NPS from -20 to +10 over six months: +5 points a month.
    assert _path(date(2025, 1, 1), D(-20), D(10)) == D(-20)
    assert _path(date(2025, 3, 1), D(-20), D(10)) == D(-10)
    assert _path(date(2025, 5, 1), D(-20), D(10)) == D(0)
    assert _path(date(2025, 7, 1), D(-20), D(10)) == D(10)


def test_linear_target_of_a_decreasing_kpi_goes_down():
    # CPA from 50 down to 38 over six months.
    assert _path(date(2025, 3, 1), D(50), D(38)) == D(46)


def test_linear_target_with_deadline_in_the_start_month_is_the_target():
    same = date(2025, 1, 1)
    assert linear_target(same, baseline=D(1), target=D(2), start=same, deadline=same) == D(2)


def test_linear_target_rejects_a_deadline_before_the_start():
    with pytest.raises(ValueError, match="deadline"):
        linear_target(START, baseline=D(1), target=D(2), start=DEADLINE, deadline=START)


# --------------------------------------------------------------------------- required change


def test_required_monthly_change_spreads_the_gap_evenly():
    assert required_monthly_change(current=D("4.0"), target=D("4.6"), months_left=3) == D("0.2")


def test_required_monthly_change_is_negative_for_a_kpi_to_bring_down():
    assert required_monthly_change(current=D(50), target=D(38), months_left=4) == D(-3)


def test_required_monthly_change_is_zero_once_the_target_is_reached():
    assert required_monthly_change(current=D(5), target=D(5), months_left=2) == 0


@pytest.mark.parametrize("months_left", [0, -1])
def test_required_monthly_change_without_months_left_is_undefined(months_left):
    assert required_monthly_change(current=D(1), target=D(2), months_left=months_left) is None


def test_required_monthly_change_with_a_missing_current_value_is_undefined():
    assert required_monthly_change(current=None, target=D(2), months_left=3) is None


# ---------------------------------------------------------------------------- target reached


def test_a_target_is_reached_at_it_or_beyond_it_on_the_way_from_the_baseline():
    down = {"baseline": D("3333.33"), "target": D(2500), "direction": "lower"}
    assert target_reached(current=D("2403.07"), **down)
    assert target_reached(current=D(2500), **down)
    assert not target_reached(current=D(2600), **down)
    up = {"baseline": D(4), "target": D(5), "direction": "higher"}
    assert target_reached(current=D("5.2"), **up) and not target_reached(current=D("4.9"), **up)
    assert not target_reached(current=None, **up)


def test_a_target_that_keeps_the_baseline_is_reached_by_the_kpis_direction():
    assert target_reached(current=D(91), baseline=D(90), target=D(90), direction="higher")
    assert not target_reached(current=D(89), baseline=D(90), target=D(90), direction="higher")
    assert target_reached(current=D(30), baseline=D(40), target=D(40), direction="lower")
