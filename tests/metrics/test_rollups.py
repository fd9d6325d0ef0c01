"""Roll-ups: sum across campaigns, then roll up over time, then apply the formula once."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.periods import Period
from metrics.rollups import aggregate_period, combine_periods, rollup_over_time, sum_across

D = Decimal
JAN, FEB, MAR, APR = (date(2025, m, 1) for m in (1, 2, 3, 4))
Q1 = Period.quarter(2025, 1).months


# --------------------------------------------------------------------------- DOMAIN rule 1


def test_rates_are_computed_from_rolled_up_metrics_not_averaged():
    # DOMAIN rule 1: Jan 1 conversion / 10 visitors (10 %), Feb 90 / 1 000 (9 %).
    monthly = {
        "conversions": {JAN: D(1), FEB: D(90)},
        "visitors": {JAN: D(10), FEB: D(1000)},
    }
    totals = aggregate_period(
        monthly, {"conversions": "sum", "visitors": "sum"}, Period.range(JAN, FEB).months
    )
    assert totals == {"conversions": D(91), "visitors": D(1010)}
    rate = totals["conversions"] / totals["visitors"] * 100
    assert rate == D(91) / D(1010) * 100
    assert rate.quantize(D("0.01")) == D("9.01")
    mean_of_rates = (D(1) / D(10) * 100 + D(90) / D(1000) * 100) / 2
    assert mean_of_rates == D("9.5")
    assert rate != mean_of_rates


def test_campaigns_are_summed_month_by_month_before_rolling_up_over_time():
    # Followers roll up with "last": the period value is the latest month's TOTAL across
    # campaigns, not the sum of each campaign's own latest value.
    campaign_a = {JAN: D(100), FEB: D(120), MAR: D(130)}
    campaign_b = {JAN: D(50)}  # stopped after January
    monthly = {"followers": sum_across([campaign_a, campaign_b])}
    assert monthly["followers"] == {JAN: D(150), FEB: D(120), MAR: D(130)}
    assert aggregate_period(monthly, {"followers": "last"}, Q1) == {"followers": D(130)}


# --------------------------------------------------------------------------- sum_across


def test_sum_across_adds_values_key_by_key():
    assert sum_across([{JAN: D(1), FEB: D(2)}, {JAN: D(10), FEB: D("0.5")}]) == {
        JAN: D(11),
        FEB: D("2.5"),
    }


def test_sum_across_with_disjoint_keys_keeps_each_key_once():
    assert sum_across([{JAN: D(1)}, {FEB: D(2)}, {MAR: D(3)}]) == {JAN: D(1), FEB: D(2), MAR: D(3)}


def test_sum_across_leaves_keys_absent_everywhere_absent():
    result = sum_across([{JAN: D(1)}, {JAN: D(2)}])
    assert FEB not in result


def test_sum_across_treats_none_as_missing_not_zero():
    assert sum_across([{JAN: None}, {FEB: D(2), JAN: None}]) == {FEB: D(2)}


def test_sum_across_nothing_is_empty():
    assert sum_across([]) == {}
    assert sum_across([{}, {}]) == {}


def test_sum_across_keeps_zero_values():
    assert sum_across([{JAN: D(0)}]) == {JAN: D(0)}


def test_sum_across_accepts_a_generator_and_any_hashable_keys():
    result = sum_across({"visitors": D(n)} for n in range(1, 4))
    assert result == {"visitors": D(6)}


def test_sum_across_does_not_mutate_its_inputs():
    a, b = {JAN: D(1)}, {JAN: D(2)}
    sum_across([a, b])
    assert a == {JAN: D(1)}
    assert b == {JAN: D(2)}


def test_sum_across_keeps_decimal_exactness():
    assert sum_across([{JAN: D("0.10")}, {JAN: D("0.20")}])[JAN] == D("0.30")


# --------------------------------------------------------------------------- rollup_over_time


def test_sum_rollup_adds_the_months_that_have_a_value():
    assert rollup_over_time({JAN: D(1), MAR: D(3)}, "sum", Q1) == D(4)


def test_sum_rollup_ignores_months_outside_the_period():
    assert rollup_over_time({JAN: D(1), APR: D(100)}, "sum", Q1) == D(1)


def test_first_rollup_takes_the_earliest_month_with_a_value():
    assert rollup_over_time({FEB: D(20), MAR: D(30)}, "first", Q1) == D(20)


def test_last_rollup_takes_the_latest_month_with_a_value():
    assert rollup_over_time({JAN: D(10), FEB: D(20)}, "last", Q1) == D(20)


def test_first_and_last_do_not_depend_on_the_order_of_the_months():
    values = {JAN: D(10), FEB: D(20), MAR: D(30)}
    shuffled = [FEB, MAR, JAN]
    assert rollup_over_time(values, "first", shuffled) == D(10)
    assert rollup_over_time(values, "last", shuffled) == D(30)


def test_first_and_last_keep_a_zero_value():
    assert rollup_over_time({JAN: D(0), FEB: D(5)}, "first", Q1) == D(0)
    assert rollup_over_time({JAN: D(5), MAR: D(0)}, "last", Q1) == D(0)


@pytest.mark.parametrize("how", ["sum", "first", "last"])
def test_no_value_in_any_month_is_none_not_zero(how):
    assert rollup_over_time({}, how, Q1) is None
    assert rollup_over_time({APR: D(5)}, how, Q1) is None
    assert rollup_over_time({JAN: None}, how, Q1) is None


@pytest.mark.parametrize("how", ["sum", "first", "last"])
def test_an_empty_period_has_no_value(how):
    assert rollup_over_time({JAN: D(1)}, how, []) is None


def test_a_zero_sum_is_a_value_not_missing():
    assert rollup_over_time({JAN: D(0), FEB: D(0)}, "sum", Q1) == D(0)


def test_unknown_rollup_is_rejected():
    with pytest.raises(ValueError, match="roll-up"):
        rollup_over_time({JAN: D(1)}, "mean", Q1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- aggregate_period


def test_aggregate_period_applies_each_metrics_declared_rollup():
    monthly = {
        "new_customers": {JAN: D(5), FEB: D(7), MAR: D(3)},
        "customers_start": {FEB: D(200), MAR: D(207)},  # January not entered
        "customers_end": {JAN: D(200), FEB: D(207)},  # March not entered yet
    }
    rollups = {"new_customers": "sum", "customers_start": "first", "customers_end": "last"}
    assert aggregate_period(monthly, rollups, Q1) == {
        "new_customers": D(15),
        "customers_start": D(200),
        "customers_end": D(207),
    }


def test_aggregate_period_gives_none_for_declared_metrics_without_data():
    result = aggregate_period({"visitors": {JAN: D(10)}}, {"visitors": "sum", "spend": "sum"}, Q1)
    assert result == {"visitors": D(10), "spend": None}


def test_aggregate_period_with_no_months_gives_none_everywhere():
    result = aggregate_period({"visitors": {JAN: D(10)}}, {"visitors": "sum"}, [])
    assert result == {"visitors": None}


def test_aggregate_period_of_nothing_is_empty():
    assert aggregate_period({}, {}, Q1) == {}


def test_aggregate_period_refuses_a_metric_without_a_declared_rollup():
    with pytest.raises(ValueError, match="followers"):
        aggregate_period({"followers": {JAN: D(1)}}, {"visitors": "sum"}, Q1)


def test_a_quarter_equals_the_sum_of_its_months_for_summed_metrics():
    monthly = {"clicks": {JAN: D(3), FEB: D(4), MAR: D(5)}}
    by_month = [aggregate_period(monthly, {"clicks": "sum"}, [m])["clicks"] for m in Q1]
    assert aggregate_period(monthly, {"clicks": "sum"}, Q1)["clicks"] == sum(by_month, D(0))


_amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
_month_values = st.dictionaries(st.sampled_from(Period.year(2025).months), _amounts)


@given(st.lists(_month_values, max_size=5))
def test_summing_campaigns_then_months_equals_summing_months_then_campaigns(campaigns):
    year = Period.year(2025).months
    across_then_time = rollup_over_time(sum_across(campaigns), "sum", year)
    per_campaign = [rollup_over_time(c, "sum", year) for c in campaigns]
    present = [v for v in per_campaign if v is not None]
    assert across_then_time == (sum(present, D(0)) if present else None)


# --------------------------------------------------------------------------- combine_periods

ROLLUPS = {"new_customers": "sum", "customers_start": "first", "customers_end": "last"}


def test_combining_periods_applies_each_metrics_declared_rollup():
    q1 = {"new_customers": D(15), "customers_start": D(200), "customers_end": D(207)}
    q2 = {"new_customers": D(9), "customers_start": D(207), "customers_end": D(216)}
    assert combine_periods([q1, q2], ROLLUPS) == {
        "new_customers": D(24),
        "customers_start": D(200),
        "customers_end": D(216),
    }


def test_combining_skips_parts_without_a_metric_and_leaves_absent_what_no_part_has():
    parts = [{"customers_end": D(5)}, {"new_customers": D(0)}, {}, {"customers_start": D(7)}]
    assert combine_periods(parts, ROLLUPS) == {
        "customers_end": D(5),
        "new_customers": D(0),
        "customers_start": D(7),
    }


def test_combining_treats_none_as_missing_not_zero():
    assert combine_periods([{"customers_end": D(5)}, {"customers_end": None}], ROLLUPS) == {
        "customers_end": D(5)
    }


def test_combining_nothing_is_empty():
    assert combine_periods([], ROLLUPS) == {}


def test_combining_does_not_mutate_its_parts():
    first = {"new_customers": D(1)}
    combine_periods([first, {"new_customers": D(2)}], ROLLUPS)
    assert first == {"new_customers": D(1)}


def test_combining_refuses_a_metric_without_a_declared_or_known_rollup():
    with pytest.raises(ValueError, match="followers"):
        combine_periods([{"followers": D(1)}], ROLLUPS)
    with pytest.raises(ValueError, match="roll-up"):
        combine_periods([{"visitors": D(1)}, {"visitors": D(2)}], {"visitors": "mean"})  # type: ignore[dict-item]


_rollups = st.fixed_dictionaries({"a": st.sampled_from(("sum", "first", "last"))})


@given(st.dictionaries(st.sampled_from(Period.year(2025).months), _amounts), _rollups)
def test_a_year_combined_from_its_quarters_equals_the_year_rolled_up_from_its_months(
    values, rollups
):
    monthly = {"a": values}
    quarters = [
        {k: v for k, v in aggregate_period(monthly, rollups, Period.quarter(2025, q).months).items()
         if v is not None}
        for q in (1, 2, 3, 4)
    ]  # fmt: skip
    expected = aggregate_period(monthly, rollups, Period.year(2025).months)
    assert combine_periods(quarters, rollups) == {
        k: v for k, v in expected.items() if v is not None
    }
