"""Helpers for campaign and objective tests: monthly values written through the service
and KPIs recomputed at once (the recompute runs on commit, which plain tests never reach)."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign, Objective
from metrics.recompute import kpis_recompute_all
from metrics.services import ValueWrite, entries_write


def put_values(org, campaign, values: dict[str, dict[date, str]]) -> None:
    """values: metric code -> {month: value}. Written, then every KPI recomputed."""
    metrics = {m.code: m for m in org.metrics.all()}
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, metrics[code].pk, month, Decimal(value))
            for code, by_month in values.items()
            for month, value in by_month.items()
        ],
        user=None,
    )
    kpis_recompute_all(organization=org)


def make_campaign(org, name="Newsletter", channel="email", **fields) -> Campaign:
    return Campaign.objects.create(
        organization=org,
        name=name,
        channel=channel,
        start_date=fields.pop("start_date", date(2024, 1, 1)),
        **fields,
    )


def make_objective(org, kpi_code="conversion_rate", **fields) -> Objective:
    defaults = {
        "title": "More conversions",
        "category": "conversion",
        "baseline_value": Decimal("4"),
        "baseline_start": date(2024, 10, 1),
        "baseline_end": date(2024, 12, 1),
        "target_kind": "absolute",
        "target_value": Decimal("5"),
        "start_date": date(2025, 1, 1),
        "deadline": date(2025, 6, 30),
    }
    defaults.update(fields)
    return Objective.objects.create(organization=org, kpi=org.kpis.get(code=kpi_code), **defaults)


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as that user."""

    def do(user):
        client.force_login(user)
        return client

    return do
