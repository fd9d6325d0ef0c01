from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Objective
from campaigns.objective_history import kpi_monthly_history, kpi_value_over, objective_outlook
from metrics.selectors import objective_progress, objective_series

from .conftest import make_campaign, make_objective, put_values

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


def rate(org):
    return org.kpis.get(code="conversion_rate")


def test_a_baseline_over_months_rolls_metrics_up_before_the_formula(org, campaign):
    # DOMAIN rule 1: 1/10 then 90/1000 is 91/1010 = 9.01 %, not the mean 9.5 %.
    put_values(
        org,
        campaign,
        {"conversions": {JAN: "1", FEB: "90"}, "visitors": {JAN: "10", FEB: "1000"}},
    )
    value = kpi_value_over(organization=org, kpi=rate(org), first=JAN, last=FEB)
    assert round(value, 4) == Decimal("9.0099")


def test_a_baseline_for_chosen_campaigns_leaves_the_others_out(org, campaign):
    other = make_campaign(org)
    put_values(org, campaign, {"conversions": {JAN: "5"}, "visitors": {JAN: "100"}})
    put_values(org, other, {"conversions": {JAN: "50"}, "visitors": {JAN: "100"}})
    assert kpi_value_over(
        organization=org, kpi=rate(org), first=JAN, last=JAN, campaign_ids=[campaign.pk]
    ) == Decimal(5)
    assert kpi_value_over(organization=org, kpi=rate(org), first=JAN, last=JAN) == Decimal("27.5")


def test_a_period_without_values_has_no_baseline(org, campaign):
    assert kpi_value_over(organization=org, kpi=rate(org), first=JAN, last=MAR) is None


def test_monthly_history_reads_the_stored_kpi_values(org, campaign):
    put_values(
        org,
        campaign,
        {"conversions": {JAN: "4", MAR: "6"}, "visitors": {JAN: "100", MAR: "100"}},
    )
    history = kpi_monthly_history(organization=org, kpi=rate(org), first=JAN, last=MAR)
    assert history == {JAN: Decimal(4), MAR: Decimal(6)}


def test_monthly_history_of_several_campaigns_sums_them_first(org, campaign):
    other = make_campaign(org)
    put_values(org, campaign, {"conversions": {JAN: "1"}, "visitors": {JAN: "10"}})
    put_values(org, other, {"conversions": {JAN: "9"}, "visitors": {JAN: "990"}})
    history = kpi_monthly_history(
        organization=org,
        kpi=rate(org),
        first=JAN,
        last=JAN,
        campaign_ids=[campaign.pk, other.pk],
    )
    assert history == {JAN: Decimal(1)}


def three_campaigns(org, campaign):
    """Spring sale 1/10 and Newsletter 9/990 in January (1 % together); Brochure 50/100."""
    newsletter, brochure = make_campaign(org), make_campaign(org, name="Brochure")
    put_values(org, campaign, {"conversions": {JAN: "1"}, "visitors": {JAN: "10"}})
    put_values(org, newsletter, {"conversions": {JAN: "9"}, "visitors": {JAN: "990"}})
    put_values(org, brochure, {"conversions": {JAN: "50"}, "visitors": {JAN: "100"}})
    return newsletter, brochure


def test_an_objective_serving_several_campaigns_is_read_over_them_together(org, campaign):
    newsletter, _ = three_campaigns(org, campaign)
    objective = make_objective(org, deadline=date(2025, 1, 31))
    objective.campaigns.add(campaign, newsletter)
    (progress,) = objective_progress(
        organization=org, objectives=[objective], today=date(2025, 3, 15)
    )
    # 10 / 1000: not all campaigns' 60 / 1100 (5.45 %), not the mean of 10 % and 0.91 %.
    assert progress.month == JAN
    assert progress.current == Decimal(1)
    assert progress.progress == Decimal(-300)  # from the baseline 4 % toward 5 %: backwards
    series = objective_series(organization=org, objective=objective, first=JAN, last=FEB)
    assert series == {JAN: Decimal(1), FEB: None}


def test_objectives_of_one_campaign_and_of_all_read_their_stored_scopes(org, campaign):
    _, brochure = three_campaigns(org, campaign)
    one = make_objective(org, title="Brochure", deadline=date(2025, 1, 31))
    one.campaigns.add(brochure)
    everything = make_objective(org, title="All", deadline=date(2025, 1, 31))
    together = make_objective(org, title="Two", deadline=date(2025, 1, 31))
    together.campaigns.add(campaign, brochure)  # 51 / 110
    progress = objective_progress(
        organization=org, objectives=[one, everything, together], today=date(2025, 2, 1)
    )
    assert [round(p.current, 2) for p in progress] == [
        Decimal(50),
        Decimal("5.45"),
        Decimal("46.36"),
    ]


def test_another_organizations_kpi_has_no_history(org, other_org, campaign):
    put_values(org, campaign, {"conversions": {JAN: "1"}, "visitors": {JAN: "10"}})
    foreign = other_org.kpis.get(code="conversion_rate")
    assert kpi_value_over(organization=org, kpi=foreign, first=JAN, last=JAN) is None
    assert kpi_monthly_history(organization=org, kpi=foreign, first=JAN, last=JAN) == {}


def test_the_outlook_fills_the_baseline_and_warns_beyond_history(org, campaign):
    # Conversion rate 4.0, 4.2, 4.1 % in Oct-Dec 2024: best gain +0.2 pt.
    months = [date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1)]
    put_values(
        org,
        campaign,
        {
            "conversions": dict(zip(months, ["40", "42", "41"], strict=True)),
            "visitors": dict.fromkeys(months, "1000"),
        },
    )
    outlook = objective_outlook(
        organization=org,
        kpi=rate(org),
        baseline_start=months[0],
        baseline_end=months[-1],
        fill_baseline=True,
        target_kind="relative",
        target_value=Decimal("20"),
        start_date=date(2025, 1, 1),
        deadline=date(2025, 3, 31),
    )
    assert outlook.filled
    assert outlook.baseline == Decimal("4.10")  # 123 / 3000, to the KPI's 2 decimals
    assert outlook.target == Decimal("4.92")
    assert outlook.feasibility.needed == Decimal("0.41")
    assert outlook.feasibility.best == Decimal("0.2")
    assert outlook.feasibility.beyond_history
    assert not outlook.wrong_way


def test_the_outlook_notices_a_target_the_wrong_way(org):
    outlook = objective_outlook(
        organization=org,
        kpi=org.kpis.get(code="cpa"),
        baseline=Decimal("30"),
        target_kind="absolute",
        target_value=Decimal("40"),
    )
    assert outlook.wrong_way


def test_objective_progress_queries_do_not_grow_with_the_objectives(
    org, campaign, django_assert_num_queries
):
    newsletter, brochure = three_campaigns(org, campaign)
    for index, pair in enumerate([(campaign, newsletter), (newsletter, brochure)] * 3):
        make_objective(org, title=f"Pair {index}").campaigns.add(*pair)
        make_objective(org, title=f"One {index}").campaigns.add(pair[0])
    objectives = list(
        Objective.objects.filter(organization=org)
        .select_related("kpi")
        .prefetch_related("campaigns")
    )
    # The stored values of the single-campaign ones; the catalog and the entries for pairs.
    with django_assert_num_queries(4):
        progress = objective_progress(
            organization=org, objectives=objectives, today=date(2025, 2, 1)
        )
    assert {round(p.current, 2) for p in progress} == {
        Decimal(1),  # 10 / 1000
        Decimal("5.41"),  # 59 / 1090
        Decimal(10),
        Decimal("0.91"),
    }
