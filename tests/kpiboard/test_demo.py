from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.urls import reverse

from boards.models import Board, Slide
from campaigns.models import Campaign, Objective
from campaigns.objective_history import kpi_value_over
from kpiboard.demo import seed_demo
from kpiboard.models import Organization
from metrics import catalog
from metrics.models import KPIValue, MetricEntry, Target, ValueChange
from metrics.selectors import objective_progress

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(today=TODAY)


def state():
    return (
        Organization.objects.count(),
        Campaign.objects.count(),
        Objective.objects.count(),
        Slide.objects.count(),
        MetricEntry.objects.count(),
        ValueChange.objects.count(),
        sorted(MetricEntry.objects.values_list("campaign__name", "metric__code", "month", "value")),
    )


def test_seeding_twice_changes_nothing(seeded, django_capture_on_commit_callbacks):
    before = state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = seed_demo(today=TODAY)
    assert counts == {"created": 0, "updated": 0}
    assert state() == before
    assert callbacks == []  # nothing changed, so nothing to recompute


def test_seeding_a_month_later_only_adds_the_new_month(seeded):
    before = set(MetricEntry.objects.values_list("campaign_id", "metric_id", "month", "value"))
    seed_demo(today=date(2026, 12, 22))
    after = set(MetricEntry.objects.values_list("campaign_id", "metric_id", "month", "value"))
    assert before < after
    assert {month for _, _, month, _ in after - before} == {date(2026, 11, 1)}


def test_demo_logins(seeded):
    demo = authenticate(username="demo", password="demo")
    viewer = authenticate(username="viewer", password="viewer")
    assert {m.role for m in demo.memberships.all()} == {"admin"}
    assert {m.role for m in viewer.memberships.all()} == {"viewer"}
    assert demo.memberships.count() == viewer.memberships.count() == 2


def test_the_two_organizations_of_the_source_texts(seeded):
    bakery = Organization.objects.get(slug="boulangerie-martin")
    wines = Organization.objects.get(slug="valais-fine-wines")
    assert (bakery.currency, bakery.language) == ("EUR", "fr")
    assert (wines.currency, wines.language) == ("CHF", "en")
    cakes = Objective.objects.get(organization=bakery, kpi__code="cake_sales")
    assert (cakes.target_kind, cakes.target_value) == ("relative", Decimal(20))
    assert (cakes.deadline - cakes.start_date).days in range(88, 93)  # three months


def test_seed_004_china_baseline_is_chf_50000_for_15_customers(seeded):
    wines = Organization.objects.get(slug="valais-fine-wines")
    china = MetricEntry.objects.filter(
        organization=wines, campaign__name__startswith="China launch",
        month__gte=date(2024, 1, 1), month__lte=date(2024, 3, 1),
    )  # fmt: skip
    spend = sum(e.value for e in china.filter(metric__code="spend"))
    customers = sum(e.value for e in china.filter(metric__code="new_customers"))
    assert (spend, customers) == (Decimal(50000), Decimal(15))
    objective = Objective.objects.get(organization=wines, kpi__code="cac")
    assert objective.baseline_value == Decimal("3333.33")


def test_the_china_cac_comes_down_from_its_baseline_toward_the_objective(seeded):
    wines = Organization.objects.get(slug="valais-fine-wines")
    objective = Objective.objects.prefetch_related("campaigns").get(
        organization=wines, kpi__code="cac"
    )
    (progress,) = objective_progress(organization=wines, objectives=[objective], today=TODAY)
    assert progress.month == date(2026, 10, 1)
    # The two China campaigns together, on their way from CHF 3 333 to CHF 2 500.
    assert Decimal(1800) < progress.current < Decimal(3400)
    year = kpi_value_over(
        organization=wines, kpi=objective.kpi, first=date(2025, 11, 1), last=date(2026, 10, 1),
        campaign_ids=[c.pk for c in objective.campaigns.all()],
    )  # fmt: skip
    assert Decimal(2300) < year < Decimal(3000)
    cac_targets = Target.objects.filter(organization=wines, kpi__code="cac")
    assert set(cac_targets.values_list("campaign__name", flat=True)) == {
        c.name for c in objective.campaigns.all()
    }  # no CHF 2 500 target for the wine house as a whole, whose CAC is far lower


def test_each_organization_has_a_board_for_its_monthly_meeting(seeded, client):
    demo = authenticate(username="demo", password="demo")
    for board in Board.objects.select_related("organization"):
        kinds = set(board.slides.values_list("kind", flat=True))
        assert kinds == {"tiles", "kpi", "objective", "funnel", "channels"}
        client.force_login(demo)
        url = reverse("board_present", args=[board.organization.slug, board.pk])
        assert client.get(url).status_code == 200
    assert Board.objects.count() == 2


def test_three_years_of_months_with_a_few_gaps(seeded):
    months = set(MetricEntry.objects.values_list("month", flat=True))
    assert min(months) == date(2023, 11, 1)
    assert max(months) == date(2026, 10, 1)
    per_campaign = MetricEntry.objects.filter(campaign__name="Instagram – vitrine")
    assert 30 <= len(set(per_campaign.values_list("month", flat=True))) < 36


def test_every_standard_kpi_has_values_in_both_organizations(seeded):
    for organization in Organization.objects.all():
        with_values = set(
            KPIValue.objects.filter(organization=organization, scope="all", grain="year")
            .exclude(value=None)
            .values_list("kpi__code", flat=True)
        )
        missing = {k.code for k in catalog.KPIS} - with_values
        assert not missing, f"{organization.slug}: no value for {sorted(missing)}"


def test_the_demo_rates_stay_between_0_and_100_percent(seeded):
    # Campaigns that record orders record the carts behind them: no negative abandonment.
    rates = KPIValue.objects.filter(
        scope="all", grain="month", kpi__code__in=[k.code for k in catalog.KPIS if "rate" in k.code]
    ).exclude(value=None)
    assert rates.filter(kpi__code="cart_abandonment_rate").exists()
    outside = rates.exclude(value__gte=0, value__lte=100)
    assert not outside.exists(), list(outside.values_list("kpi__code", "period_start", "value")[:5])
