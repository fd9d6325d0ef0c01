"""Data for the dashboard tests: monthly values written through the service, then every KPI
recomputed at once (plain tests never reach the commit that would run it)."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from metrics.periods import add_months
from metrics.recompute import kpis_recompute_all
from metrics.services import ValueWrite, entries_write


def put_values(org, campaign, values: dict[str, dict[date, str | int]], *, recompute=True):
    """values: metric code -> {month: value}."""
    metrics = {m.code: m for m in org.metrics.all()}
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, metrics[code].pk, month, Decimal(str(value)))
            for code, by_month in values.items()
            for month, value in by_month.items()
        ],
        user=None,
    )
    if recompute:
        kpis_recompute_all(organization=org)


def months(first: date, count: int) -> list[date]:
    return [add_months(first, i) for i in range(count)]


def make_campaign(org, name="Newsletter", channel="email", **fields) -> Campaign:
    return Campaign.objects.create(
        organization=org,
        name=name,
        channel=channel,
        start_date=fields.pop("start_date", date(2024, 1, 1)),
        **fields,
    )


def steady(first: date, count: int, **per_month) -> dict[str, dict[date, int | str]]:
    """The same values every month: steady(date(2025, 1, 1), 3, visitors=1000, ...)."""
    return {code: dict.fromkeys(months(first, count), value) for code, value in per_month.items()}


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def two_years(org, campaign):
    """Spring sale (paid search), January 2024 to December 2025: conversion 2 % in 2024 and
    2.5 % in 2025, spend 1 000 a month, and a funnel."""
    values = {}
    for month in months(date(2024, 1, 1), 24):
        rate = 25 if month.year == 2025 else 20
        for code, value in {
            "impressions": 100000,
            "clicks": 4000,
            "visitors": 1000,
            "leads": 100,
            "new_customers": 20,
            "conversions": rate,
            "spend": 1000,
            "revenue": 3000,
            "sessions": 1200,
            "bounces": 600,
        }.items():
            values.setdefault(code, {})[month] = value
    put_values(org, campaign, values)
    return org
