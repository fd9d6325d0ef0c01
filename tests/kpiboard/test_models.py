from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Campaign, Objective
from kpiboard.models import Membership, Organization
from metrics.models import MetricEntry

pytestmark = pytest.mark.django_db


def entry(campaign, metric, month=date(2025, 1, 1), value="10"):
    return MetricEntry.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        metric=metric,
        month=month,
        value=Decimal(value),
        kind=metric.kind,
        updated_at=timezone.now(),
    )


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_database_refuses_a_negative_count(campaign, metric):
    refused(lambda: entry(campaign, metric("visitors"), value="-1"))


def test_database_refuses_negative_money(campaign, metric):
    refused(lambda: entry(campaign, metric("spend"), value="-0.01"))


def test_a_percent_metric_may_be_negative(campaign, org):
    growth = org.metrics.create(code="growth", label_fr="Croissance", label_en="Growth",
                                kind="percent", rollup="last")  # fmt: skip
    assert entry(campaign, growth, value="-3.5").value == Decimal("-3.5")


def test_database_refuses_a_month_that_is_not_the_first_day(campaign, metric):
    refused(lambda: entry(campaign, metric("visitors"), month=date(2025, 1, 15)))


def test_one_value_per_campaign_metric_and_month(campaign, metric):
    entry(campaign, metric("visitors"))
    refused(lambda: entry(campaign, metric("visitors"), value="20"))


def test_values_are_decimal_not_float(campaign, metric):
    stored = entry(campaign, metric("spend"), value="0.10")
    stored.refresh_from_db()
    assert stored.value == Decimal("0.10")
    assert isinstance(stored.value, Decimal)


def test_campaign_cannot_end_before_it_starts(org):
    refused(lambda: Campaign.objects.create(organization=org, name="X", channel="seo",
            start_date=date(2025, 5, 1), end_date=date(2025, 4, 30)))  # fmt: skip


def test_campaign_budget_cannot_be_negative(org):
    refused(lambda: Campaign.objects.create(organization=org, name="X", channel="seo",
            start_date=date(2025, 5, 1), budget=Decimal("-1")))  # fmt: skip


def test_campaign_channel_must_be_one_of_the_domain_list(org):
    refused(lambda: Campaign.objects.create(organization=org, name="X", channel="tv",
            start_date=date(2025, 5, 1)))  # fmt: skip


def test_campaign_names_are_unique_within_an_organization(org, other_org, campaign):
    Campaign.objects.create(organization=other_org, name=campaign.name, channel="seo",
                            start_date=date(2025, 1, 1))  # fmt: skip
    refused(lambda: Campaign.objects.create(organization=org, name=campaign.name, channel="seo",
            start_date=date(2025, 1, 1)))  # fmt: skip


def test_objective_deadline_must_follow_its_start(org):
    kpi = org.kpis.get(code="cac")
    refused(lambda: Objective.objects.create(
        organization=org, title="Lower CAC", kpi=kpi, category="conversion",
        baseline_value=100, baseline_start=date(2025, 1, 1), baseline_end=date(2025, 3, 1),
        target_value=80, start_date=date(2025, 6, 1), deadline=date(2025, 6, 1)))  # fmt: skip


def test_relative_target_moves_the_baseline(org):
    objective = Objective(baseline_value=Decimal(50), target_kind="relative",
                          target_value=Decimal(20))  # fmt: skip
    assert objective.target_absolute == Decimal(60)


def test_fiscal_year_start_month_is_a_month(org):
    org.fiscal_year_start_month = 13
    refused(lambda: org.save())


def test_currency_is_three_capital_letters(db):
    refused(lambda: Organization.objects.create(name="X", slug="x", currency="eur"))


def test_a_person_has_one_role_per_organization(org, viewer):
    refused(lambda: Membership.objects.create(organization=org, user=viewer, role="admin"))


def test_role_must_be_viewer_editor_or_admin(org, outsider):
    refused(lambda: Membership.objects.create(organization=org, user=outsider, role="owner"))
