"""The KPI engine end to end on the database: entries in, stored KPI values out."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from campaigns.services import campaign_save
from kpiboard.services import organization_create
from metrics import recompute
from metrics.models import KPIValue, MetricAggregate, StaleMark
from metrics.periods import Period
from metrics.recompute import kpis_recompute_all, kpis_recompute_stale
from metrics.selectors import kpi_value
from metrics.services import ValueWrite, entries_write, kpi_save, kpis_mark_all_stale

pytestmark = pytest.mark.django_db

D = Decimal


def put(org, campaign, month: date, **values):
    """Write values for one campaign and month, then run the recompute the commit would."""
    metrics = {m.code: m.pk for m in org.metrics.all()}
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, metrics[code], month, None if v is None else D(str(v)))
            for code, v in values.items()
        ],
        user=None,
    )
    kpis_recompute_stale(organization_id=org.pk)


def value(org, code, period, scope="all"):
    return kpi_value(organization=org, kpi=org.kpis.get(code=code), period=period, scope=scope)


def stored(org, code, grain, start, scope="all"):
    row = KPIValue.objects.filter(
        organization=org, kpi__code=code, grain=grain, period_start=start, scope=scope
    ).first()
    return row.value if row else "missing"


@pytest.fixture
def second_campaign(org):
    return Campaign.objects.create(
        organization=org, name="Newsletter", channel="email", start_date=date(2025, 1, 1)
    )


JAN, FEB, MAR, APR = (date(2025, m, 1) for m in (1, 2, 3, 4))


def test_seed_004_cac_is_3333_33(org, campaign):
    put(org, campaign, JAN, spend="50000", new_customers=15)
    cac = stored(org, "cac", "month", JAN)
    assert cac.quantize(D("0.01")) == D("3333.33")


def test_quarter_rolls_up_metrics_before_the_formula_not_the_rates(org, campaign):
    # DOMAIN rule 1: 1/10 and 90/1000 make 91/1010 = 9.01 %, not the mean 9.5 %.
    put(org, campaign, JAN, conversions=1, visitors=10)
    put(org, campaign, FEB, conversions=90, visitors=1000)
    q1 = stored(org, "conversion_rate", "quarter", JAN)
    assert q1.quantize(D("0.0001")) == (D(91) / D(1010) * 100).quantize(D("0.0001"))
    assert stored(org, "conversion_rate", "year", JAN).quantize(D("0.01")) == D("9.01")


def test_first_and_last_roll_ups_feed_retention(org, campaign):
    put(org, campaign, JAN, customers_start=1000, customers_end=1010, new_customers=40)
    put(org, campaign, FEB, customers_start=1010, customers_end=1020, new_customers=30)
    put(org, campaign, MAR, customers_start=1020, customers_end=1050, new_customers=50)
    # Q1: start of January (1000), end of March (1050), 120 new customers.
    assert stored(org, "retention_rate", "quarter", JAN) == D("93.0000000000")
    assert stored(org, "churn_rate", "quarter", JAN) == D("7.0000000000")


def test_division_by_zero_stores_no_value_not_zero(org, campaign):
    put(org, campaign, JAN, conversions=0, visitors=0)
    assert stored(org, "conversion_rate", "month", JAN) is None


def test_missing_metric_gives_no_value(org, campaign):
    put(org, campaign, JAN, spend=100)
    assert stored(org, "cpc", "month", JAN) is None
    assert stored(org, "roi", "month", JAN) is None


def test_all_campaigns_sum_their_metrics_then_apply_the_formula(org, campaign, second_campaign):
    put(org, campaign, JAN, spend=900, new_customers=3)
    put(org, second_campaign, JAN, spend=100, new_customers=7)
    assert stored(org, "cac", "month", JAN) == D(100)
    assert stored(org, "cac", "month", JAN, f"campaign:{campaign.pk}") == D(300)
    assert stored(org, "cac", "month", JAN, "channel:email") == D("14.2857142857")


def test_kpi_built_on_kpis_clv_uses_arpu_and_churn(org, campaign):
    put(org, campaign, JAN, revenue=10000, customers_start=100, customers_end=100, new_customers=10)
    # arpu = 10000 / 100 = 100; retention = 90 %, churn 10 % -> clv = 100 / 0.1 = 1000
    assert stored(org, "clv", "month", JAN) == D(1000)


def test_payback_uses_the_months_of_the_period(org, campaign):
    for month in (JAN, FEB, MAR):
        put(org, campaign, month, spend=300, new_customers=3, revenue=1000,
            customers_start=100, customers_end=100)  # fmt: skip
    # Q1: cac = 900 / 9 = 100; arpu = 3000 / 100 = 30 over 3 months -> 10 a month.
    assert stored(org, "cac_payback_months", "quarter", JAN) == D(10)


def test_fiscal_year_values_are_stored_when_it_does_not_start_in_january(db):
    org = organization_create(name="Fiscal", slug="fiscal", fiscal_year_start_month=4)
    campaign = Campaign.objects.create(organization=org, name="C", channel="seo",
                                       start_date=date(2025, 1, 1))  # fmt: skip
    put(org, campaign, MAR, clicks=10, impressions=100)
    put(org, campaign, APR, clicks=30, impressions=100)
    assert stored(org, "ctr", "fiscal_year", date(2024, 4, 1)) == D(10)
    assert stored(org, "ctr", "fiscal_year", date(2025, 4, 1)) == D(30)
    assert stored(org, "ctr", "year", date(2025, 1, 1)) == D(20)
    assert value(org, "ctr", Period.fiscal_quarter(2025, 1, 4)) == D(30)


def test_fiscal_quarters_that_are_calendar_quarters_are_stored_once_as_quarters(db):
    org = organization_create(name="Fiscal", slug="fiscal", fiscal_year_start_month=7)
    campaign = Campaign.objects.create(organization=org, name="C", channel="seo",
                                       start_date=date(2025, 1, 1))  # fmt: skip
    put(org, campaign, APR, clicks=10, impressions=100)
    put(org, campaign, date(2025, 5, 1), clicks=30, impressions=100)
    kpis_recompute_all(organization=org)
    assert not KPIValue.objects.filter(organization=org, grain="fiscal_quarter").exists()
    # FY2024 runs from July 2024: April-June 2025 is its fourth quarter, Q2 2025.
    assert value(org, "ctr", Period.fiscal_quarter(2024, 4, 7)) == D(20)
    assert value(org, "ctr", Period.fiscal_year(2024, 7)) == D(20)


def test_fiscal_quarters_across_calendar_quarters_are_stored(db):
    org = organization_create(name="Fiscal", slug="fiscal", fiscal_year_start_month=2)
    campaign = Campaign.objects.create(organization=org, name="C", channel="seo",
                                       start_date=date(2025, 1, 1))  # fmt: skip
    put(org, campaign, MAR, clicks=10, impressions=100)
    put(org, campaign, APR, clicks=30, impressions=100)
    kpis_recompute_all(organization=org)
    # FY2025 runs from February 2025: its first quarter is February-April.
    assert stored(org, "ctr", "fiscal_quarter", date(2025, 2, 1)) == D(20)
    assert stored(org, "ctr", "quarter", JAN) == D(10)
    assert value(org, "ctr", Period.fiscal_quarter(2025, 1, 2)) == D(20)


def test_calendar_organizations_read_fiscal_periods_from_calendar_rows(org, campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    assert not KPIValue.objects.filter(organization=org, grain="fiscal_year").exists()
    assert value(org, "ctr", Period.fiscal_year(2025, 1)) == D(10)


def test_year_to_date_and_ranges_are_computed_from_stored_monthly_aggregates(org, campaign):
    put(org, campaign, JAN, conversions=1, visitors=10)
    put(org, campaign, FEB, conversions=90, visitors=1000)
    ytd = Period.range(JAN, FEB)
    assert value(org, "conversion_rate", ytd).quantize(D("0.01")) == D("9.01")
    assert value(org, "conversion_rate", ytd, f"campaign:{campaign.pk}").quantize(D("0.01")) == D(
        "9.01"
    )


def test_deleting_a_value_recomputes_and_empties_the_period(org, campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, campaign, JAN, clicks=None, impressions=None)
    assert stored(org, "ctr", "month", JAN) == "missing"
    assert stored(org, "ctr", "quarter", JAN) == "missing"


def test_a_change_marks_stale_and_the_recompute_clears_the_marks(org, campaign):
    metrics = {m.code: m.pk for m in org.metrics.all()}
    entries_write(organization=org, writes=[ValueWrite(campaign.pk, metrics["clicks"], JAN, D(5))],
                  user=None)  # fmt: skip
    assert StaleMark.objects.filter(organization=org, campaign=campaign, month=JAN).exists()
    kpis_recompute_stale(organization_id=org.pk)
    assert not StaleMark.objects.filter(organization=org).exists()


def test_recompute_is_idempotent(org, campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    before = snapshot(org)
    StaleMark.objects.create(organization=org, campaign=campaign, month=JAN)
    kpis_recompute_stale(organization_id=org.pk)
    kpis_recompute_stale(organization_id=org.pk)
    assert snapshot(org) == before


def test_editing_a_formula_recomputes_that_kpi_everywhere(org, campaign, second_campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, second_campaign, FEB, clicks=30, impressions=100)
    kpi = org.kpis.get(code="ctr")
    kpi_save(organization=org, kpi=kpi, formula="clicks / impressions * 1000")
    kpis_recompute_stale(organization_id=org.pk)
    assert stored(org, "ctr", "month", JAN) == D(100)
    assert stored(org, "ctr", "month", FEB, f"campaign:{second_campaign.pk}") == D(300)
    assert stored(org, "ctr", "year", JAN) == D(200)


def test_recompute_touches_only_the_periods_of_the_edited_cells(org, campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, campaign, date(2024, 6, 1), clicks=10, impressions=100)
    old = KPIValue.objects.get(organization=org, kpi__code="ctr", grain="month",
                               period_start=date(2024, 6, 1), scope="all")  # fmt: skip
    put(org, campaign, JAN, clicks=20)
    untouched = KPIValue.objects.get(pk=old.pk)
    assert untouched.computed_at == old.computed_at


def snapshot(org, *fields):
    kpis = set(
        KPIValue.objects.filter(organization=org).values_list(
            "kpi__code", "scope", "grain", "period_start", "value", *fields
        )
    )
    aggregates = set(
        MetricAggregate.objects.filter(organization=org).values_list(
            "metric__code", "scope", "grain", "period_start", "value"
        )
    )
    return kpis, aggregates


def computed_at(org, scope):
    return set(
        KPIValue.objects.filter(organization=org, scope=scope).values_list(
            "kpi__code", "grain", "period_start", "computed_at"
        )
    )


def test_a_full_recompute_with_nothing_changed_rewrites_nothing(org, campaign, second_campaign):
    put(org, campaign, JAN, clicks=10, impressions=100, spend=50)
    put(org, second_campaign, FEB, clicks=30, impressions=100)
    before = snapshot(org, "computed_at", "inputs_changed_at")
    kpis_recompute_all(organization=org)
    assert snapshot(org, "computed_at", "inputs_changed_at") == before


def test_a_full_recompute_rewrites_only_the_values_whose_inputs_changed(
    org, campaign, second_campaign
):
    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, second_campaign, JAN, clicks=30, impressions=100)
    put(org, second_campaign, MAR, clicks=30, impressions=100)
    untouched = computed_at(org, f"campaign:{campaign.pk}")
    kept_march = {row for row in computed_at(org, "all") if row[2] == MAR and row[1] == "month"}
    metrics = {m.code: m.pk for m in org.metrics.all()}
    entries_write(organization=org, user=None,
                  writes=[ValueWrite(second_campaign.pk, metrics["clicks"], JAN, D(50))])  # fmt: skip
    kpis_mark_all_stale(organization=org)
    kpis_recompute_stale(organization_id=org.pk)

    assert stored(org, "ctr", "month", JAN) == D(30)
    assert stored(org, "ctr", "month", JAN, f"campaign:{second_campaign.pk}") == D(50)
    assert computed_at(org, f"campaign:{campaign.pk}") == untouched
    assert kept_march <= computed_at(org, "all")
    rewritten = KPIValue.objects.get(organization=org, kpi__code="ctr", scope="all",
                                     grain="month", period_start=JAN)  # fmt: skip
    assert all(rewritten.computed_at > at for *_, at in untouched)
    assert not StaleMark.objects.filter(organization=org).exists()


def test_a_full_recompute_removes_the_values_of_scopes_left_without_data(org, campaign):
    put(org, campaign, JAN, clicks=10, impressions=100)
    assert stored(org, "ctr", "month", JAN, "channel:paid_search") == D(10)
    campaign_save(organization=org, campaign=campaign, name=campaign.name, channel="email",
                  start_date=campaign.start_date)  # fmt: skip
    kpis_recompute_stale(organization_id=org.pk)
    assert stored(org, "ctr", "month", JAN, "channel:paid_search") == "missing"
    assert not MetricAggregate.objects.filter(organization=org, scope="channel:paid_search")
    assert stored(org, "ctr", "month", JAN, "channel:email") == D(10)
    assert stored(org, "ctr", "month", JAN) == D(10)


def test_campaigns_computed_in_batches_give_the_rows_of_one_batch(org, monkeypatch):
    campaigns = [
        Campaign.objects.create(organization=org, name=f"C{i}", channel=channel,
                                start_date=date(2024, 1, 1))
        for i, channel in enumerate(["seo", "email", "seo", "display", "email"])
    ]  # fmt: skip
    for i, c in enumerate(campaigns):
        put(org, c, date(2024, 11 + i % 2, 1), clicks=i, impressions=100, followers=10 * i)
        put(org, c, MAR, spend=100 + i, new_customers=i, customers_start=90, customers_end=95)
    monkeypatch.setattr(recompute, "CAMPAIGNS_PER_BATCH", 2)
    KPIValue.objects.filter(organization=org).delete()
    MetricAggregate.objects.filter(organization=org).delete()
    kpis_recompute_all(organization=org)  # into empty tables
    in_batches = snapshot(org)
    kpis_recompute_all(organization=org)  # over stored values
    assert snapshot(org) == in_batches
    monkeypatch.setattr(recompute, "CAMPAIGNS_PER_BATCH", 100)
    KPIValue.objects.filter(organization=org).delete()
    MetricAggregate.objects.filter(organization=org).delete()
    kpis_recompute_all(organization=org)
    assert snapshot(org) == in_batches


@pytest.mark.django_db(transaction=True)
def test_two_full_recomputes_at_once_leave_the_rows_of_one(org, campaign, second_campaign):
    from django.db import connection

    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, second_campaign, FEB, clicks=30, impressions=100)
    expected = snapshot(org)
    kpis_mark_all_stale(organization=org)
    errors = []

    def recompute_in_a_thread(run):
        try:
            run()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    runs = [lambda: kpis_recompute_all(organization=org),
            lambda: kpis_recompute_stale(organization_id=org.pk)]  # fmt: skip
    threads = [threading.Thread(target=recompute_in_a_thread, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert snapshot(org) == expected
    assert not StaleMark.objects.filter(organization=org).exists()


def test_a_failed_full_recompute_leaves_the_values_and_the_marks_as_they_were(
    org, campaign, second_campaign, monkeypatch
):
    put(org, campaign, JAN, clicks=10, impressions=100)
    put(org, second_campaign, JAN, clicks=30, impressions=100)
    before = snapshot(org, "computed_at")
    kpis_mark_all_stale(organization=org)
    monkeypatch.setattr(recompute, "CAMPAIGNS_PER_BATCH", 1)
    compute = recompute.compute_all_periods
    calls = []

    def fail_on_the_second_campaign(*args):
        calls.append(1)
        if len(calls) == 2:  # the first campaign's rows are being stored meanwhile
            raise RuntimeError("worker lost")
        return compute(*args)

    monkeypatch.setattr(recompute, "compute_all_periods", fail_on_the_second_campaign)
    with pytest.raises(RuntimeError, match="worker lost"):
        kpis_recompute_stale(organization_id=org.pk)
    assert snapshot(org, "computed_at") == before
    assert StaleMark.objects.filter(organization=org, campaign=None, kpi=None).exists()


MONTHS = [date(2024, m, 1) for m in (2, 3, 4, 11, 12)] + [date(2025, m, 1) for m in (1, 3, 4)]
CODES = ["clicks", "impressions", "spend", "new_customers", "customers_start", "customers_end"]
edit = st.tuples(
    st.integers(0, 2),  # campaign
    st.sampled_from(MONTHS),
    st.sampled_from(CODES),
    st.one_of(st.none(), st.integers(0, 500)),
)


@pytest.mark.parametrize("fiscal_start", [1, 2, 4])
def test_a_full_recompute_gives_the_rows_of_the_incremental_one(db, fiscal_start):
    org = organization_create(name="Fiscal", slug="fiscal", fiscal_year_start_month=fiscal_start)
    seo, email = (
        Campaign.objects.create(organization=org, name=channel, channel=channel,
                                start_date=date(2024, 1, 1))
        for channel in ("seo", "email")
    )  # fmt: skip
    for month, campaign, clicks in (
        (date(2024, 12, 1), seo, 5),
        (JAN, seo, 7),
        (JAN, email, 1),
        (MAR, email, 2),
        (APR, seo, 4),
        (date(2025, 7, 1), seo, 0),
    ):
        put(org, campaign, month, clicks=clicks, impressions=100, spend=clicks * 3,
            customers_start=100 + clicks, customers_end=90 + clicks, new_customers=clicks)  # fmt: skip
    put(org, email, MAR, spend=None)
    incremental = snapshot(org)
    kpis_recompute_all(organization=org)
    assert snapshot(org) == incremental


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=6))
def test_incremental_recompute_equals_a_full_rebuild(django_db_blocker, edits):
    from django.db import transaction

    with transaction.atomic():
        org = organization_create(name="Prop", slug="prop", fiscal_year_start_month=4)
        campaigns = [
            Campaign.objects.create(
                organization=org, name=f"C{i}", channel=channel, start_date=date(2024, 1, 1)
            )
            for i, channel in enumerate(["seo", "email", "seo"])
        ]
        metrics = {m.code: m.pk for m in org.metrics.all()}
        for batch in edits:
            writes = {}
            for c, month, code, v in batch:
                writes[(c, month, code)] = ValueWrite(
                    campaigns[c].pk, metrics[code], month, None if v is None else D(v)
                )
            entries_write(organization=org, writes=writes.values(), user=None)
            kpis_recompute_stale(organization_id=org.pk)
        incremental = snapshot(org)
        kpis_recompute_all(organization=org)
        assert snapshot(org) == incremental
        transaction.set_rollback(True)
