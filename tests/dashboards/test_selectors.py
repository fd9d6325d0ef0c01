"""Page reads: KPI cards, spend vs budget, values by scope, channels, funnel, the inputs of a
number. Each in a number of queries that does not grow with the data."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from dashboards import selectors
from dashboards.filters import Filters
from metrics.models import StaleMark, Target
from metrics.periods import Period
from metrics.recompute import kpis_recompute_all

from .conftest import make_campaign, months, put_values, steady

pytestmark = pytest.mark.django_db

D = Decimal


def filters_for(query: dict, **kwargs) -> Filters:
    return Filters.parse(query, default_at=date(2025, 12, 1), **kwargs)


def card_of(cards, code):
    return next(c for c in cards if c.kpi.code == code)


# ------------------------------------------------------------------------------ cards


def test_a_card_holds_the_value_the_change_the_target_and_twelve_months(org, two_years):
    conversion = org.kpis.get(code="conversion_rate")
    Target.objects.create(organization=org, kpi=conversion, month=date(2025, 12, 1), value=D(3))
    filters = filters_for({"compare": "last_year"})
    (card,) = selectors.kpi_cards(organization=org, kpis=[conversion], filters=filters)
    assert (card.value, card.reference) == (D("2.5"), D("2.0"))
    assert card.delta.absolute == D("0.5") and card.delta.good is True
    assert card.target == D(3)
    assert card.judged.status == "off_track"  # 83 % of the target
    assert card.months[0] == date(2025, 1, 1) and card.months[-1] == date(2025, 12, 1)
    assert card.series == (D("2.5"),) * 12


def test_a_card_against_target_uses_the_target_as_reference(org, two_years):
    cpa = org.kpis.get(code="cpa")
    Target.objects.bulk_create(
        Target(organization=org, kpi=cpa, month=m, value=D(50)) for m in months(date(2025, 10, 1), 3)
    )  # fmt: skip
    filters = filters_for({"period": "quarter", "at": "2025-11", "compare": "target"})
    (card,) = selectors.kpi_cards(organization=org, kpis=[cpa], filters=filters)
    assert card.value == D(40)  # 3 000 spent / 75 conversions
    assert card.reference == card.target == D(50)
    assert card.delta.good is True  # lower is better
    assert card.judged.status == "on_track"


def test_cards_of_computed_periods_roll_metrics_up_then_apply_the_formula(org, campaign):
    # January: 1 conversion of 10 visitors (10 %); February: 90 of 1 000 (9 %).
    put_values(
        org,
        campaign,
        {
            "visitors": {date(2025, 1, 1): 10, date(2025, 2, 1): 1000},
            "conversions": {date(2025, 1, 1): 1, date(2025, 2, 1): 90},
        },
    )
    filters = filters_for({"period": "ytd", "at": "2025-02"})
    (card,) = selectors.kpi_cards(
        organization=org, kpis=[org.kpis.get(code="conversion_rate")], filters=filters
    )
    assert round(card.value, 4) == D("9.0099")  # 91 / 1 010, not the mean 9.5 (rule 1)
    assert card.reference is None  # nothing a year earlier: no value, not zero


def test_cards_take_a_fixed_number_of_queries(org, two_years, django_assert_max_num_queries):
    kpis = list(org.kpis.all())
    for query, limit in (({}, 2), ({"period": "r12"}, 5), ({"period": "custom",
                         "from": "2024-02", "to": "2025-07", "compare": "target"}, 5)):  # fmt: skip
        with django_assert_max_num_queries(limit):
            cards = selectors.kpi_cards(organization=org, kpis=kpis, filters=filters_for(query))
        assert len(cards) == len(kpis)


def test_data_state_tells_the_months_with_data_and_pending_recomputes(org, two_years):
    state = selectors.data_state(organization=org)
    assert (state.first, state.last, state.stale) == (date(2024, 1, 1), date(2025, 12, 1), False)
    StaleMark.objects.create(organization=org)
    assert selectors.data_state(organization=org).stale is True


def test_data_state_of_an_organization_without_data(org):
    state = selectors.data_state(organization=org)
    assert (state.first, state.last, state.stale) == (None, None, False)


# -------------------------------------------------------------------- spend vs budget


def test_the_budget_is_spread_over_the_campaigns_months():
    campaign = Campaign(start_date=date(2025, 1, 15), end_date=date(2025, 4, 10), budget=D(4000))
    assert selectors.budget_for(campaign, Period.month(2025, 2)) == D(1000)
    assert selectors.budget_for(campaign, Period.quarter(2025, 2)) == D(1000)  # April only
    assert selectors.budget_for(campaign, Period.month(2024, 12)) == D(0)
    ongoing = Campaign(start_date=date(2025, 1, 1), budget=D(12000))
    assert selectors.budget_for(ongoing, Period.year(2026)) == D(12000)
    assert selectors.budget_for(Campaign(start_date=date(2025, 1, 1)), Period.year(2025)) is None


def test_spend_vs_budget_lists_the_biggest_spenders_first(org, campaign, two_years):
    small = make_campaign(org, name="Small", budget=D(1200), start_date=date(2025, 1, 1))
    put_values(org, small, steady(date(2025, 1, 1), 12, spend=150))
    idle = make_campaign(org, name="Idle", channel="seo")
    campaigns = list(Campaign.objects.filter(organization=org))
    summary = selectors.spend_by_campaign(
        organization=org, campaigns=campaigns, period=Period.month(2025, 3), limit=1
    )
    (first,) = summary.rows
    assert (first.campaign, first.spend) == (campaign, D(1000))
    assert first.budget == D(10000) / 12
    assert summary.total_spend == D(1150)
    assert summary.hidden == 1  # Small; Idle has no spend and no budget
    assert summary.campaigns == 2  # the total's: Idle is left out of it too
    line = selectors.spend_by_campaign(
        organization=org, campaigns=campaigns, period=Period.month(2025, 3), scope="channel:email"
    ).rows[0]
    assert (line.campaign, line.used, line.over) == (small, D(150), True)
    assert idle not in [r.campaign for r in summary.rows]


def test_spend_vs_budget_takes_one_query_whatever_the_number_of_campaigns(
    org, campaign, two_years, django_assert_num_queries
):
    for index in range(30):
        other = make_campaign(org, name=f"C{index}", budget=D(100))
        put_values(org, other, steady(date(2025, 3, 1), 2, spend=10), recompute=False)
    campaigns = list(Campaign.objects.filter(organization=org))
    with django_assert_num_queries(1):
        summary = selectors.spend_by_campaign(
            organization=org, campaigns=campaigns, period=Period.quarter(2025, 1)
        )
    assert summary.campaigns == 31 and len(summary.rows) == 8


# ---------------------------------------------------------------- values of many scopes


def test_values_by_scope_agree_between_stored_and_computed_periods(org, campaign, two_years):
    other = make_campaign(org, name="Newsletter", channel="email")
    put_values(org, other, steady(date(2024, 1, 1), 24, visitors=500, conversions=20))
    conversion = org.kpis.get(code="conversion_rate")
    stored = Period.quarter(2025, 1)
    computed = Period.range(date(2025, 1, 1), date(2025, 3, 1))
    scopes = [f"campaign:{campaign.pk}", f"campaign:{other.pk}", "channel:email", "all"]
    values = selectors.scope_values(
        organization=org, kpis=[conversion], periods=[stored, computed], scopes=scopes
    )
    for scope in scopes:
        assert values[(scope, conversion.pk, stored)] == values[(scope, conversion.pk, computed)]
    assert values[(f"campaign:{other.pk}", conversion.pk, stored)] == D(4)
    assert round(values[("all", conversion.pk, stored)], 4) == D("3.0000")  # 135 / 4 500


def test_values_by_scope_take_a_fixed_number_of_queries(
    org, campaign, two_years, django_assert_max_num_queries
):
    for index in range(10):
        other = make_campaign(org, name=f"C{index}")
        put_values(org, other, steady(date(2025, 1, 1), 6, visitors=10), recompute=False)
    kpis_recompute_all(organization=org)
    scopes = [f"campaign:{c.pk}" for c in Campaign.objects.filter(organization=org)]
    periods = [Period.month(2025, 3), Period.range(date(2025, 1, 1), date(2025, 6, 1))]
    kpis = list(org.kpis.all())
    with django_assert_max_num_queries(4):
        selectors.scope_values(organization=org, kpis=kpis, periods=periods, scopes=scopes)


def test_the_channel_table_gives_spend_revenue_and_the_kpis_of_each_channel(
    org, campaign, two_years, django_assert_max_num_queries
):
    kpis = list(org.kpis.filter(code__in=selectors.CHANNEL_KPIS))
    with django_assert_max_num_queries(6):
        rows = selectors.channel_table(
            organization=org,
            kpis=kpis,
            period=Period.month(2025, 6),
            reference=Period.month(2024, 6),
        )
    paid = next(r for r in rows if r.channel == "paid_search")
    assert paid.metrics["spend"] == (D(1000), D(1000))
    assert paid.metrics["revenue"] == (D(3000), D(3000))
    assert paid.kpis["cac"][0] == D(50)
    assert paid.kpis["conversion_rate"][1].absolute == D("0.5")
    assert next(r for r in rows if r.channel == "seo").empty


def test_monthly_by_scope_reads_a_kpi_or_a_metric_for_many_channels(org, campaign, two_years):
    cac = org.kpis.get(code="cac")
    series = selectors.monthly_by_scope(
        organization=org, kpi=cac, scopes=["channel:paid_search", "channel:seo"],
        first=date(2025, 1, 1), last=date(2025, 3, 1),
    )  # fmt: skip
    assert series["channel:paid_search"][date(2025, 2, 1)] == D(50)
    assert series["channel:seo"][date(2025, 2, 1)] is None
    spend = selectors.monthly_by_scope(
        organization=org, metric_code="spend", scopes=["channel:paid_search"],
        first=date(2025, 1, 1), last=date(2025, 1, 1),
    )  # fmt: skip
    assert spend == {"channel:paid_search": {date(2025, 1, 1): D(1000)}}


# ------------------------------------------------------------------ funnel and inputs


def test_the_funnel_of_a_campaign_sums_its_steps_over_the_period(org, campaign, two_years):
    steps = selectors.funnel(
        organization=org, scope=f"campaign:{campaign.pk}", period=Period.quarter(2025, 1)
    )
    assert steps == [
        ("Impressions", D(300000)),
        ("Clicks", D(12000)),
        ("Visitors", D(3000)),
        ("Leads", D(300)),
        ("New customers", D(60)),
    ]


def test_the_inputs_of_a_number_name_the_metrics_their_values_and_the_formula(
    org, campaign, two_years
):
    inputs = selectors.kpi_inputs(
        organization=org,
        kpi=org.kpis.get(code="conversion_rate"),
        period=Period.quarter(2025, 1),
        scope="all",
    )
    assert inputs.formula == "conversions / visitors * 100"
    assert [(i.code, i.value) for i in inputs.inputs] == [
        ("conversions", D(75)),
        ("visitors", D(3000)),
    ]
    assert inputs.value == D("2.5")


def test_the_inputs_of_a_kpi_built_on_kpis_show_them_too(org, campaign, two_years):
    inputs = selectors.kpi_inputs(
        organization=org, kpi=org.kpis.get(code="ltv_cac"), period=Period.month(2025, 1),
        scope=f"campaign:{campaign.pk}",
    )  # fmt: skip
    assert [(i.code, i.is_kpi) for i in inputs.inputs] == [("clv", True), ("cac", True)]
    assert inputs.inputs[1].value == D(50)
    assert {"spend", "new_customers"} <= {i.code for i in inputs.base}
