"""Helpers for board tests: two years of monthly values up to the last complete month, on
three campaigns of three channels, with targets and an objective, KPIs recomputed."""

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from boards import services
from campaigns.models import Campaign, Objective
from metrics.models import Target
from metrics.periods import add_months, month_range, month_start
from metrics.recompute import kpis_recompute_all
from metrics.services import ValueWrite, entries_write

MONTHS = 26

# metric code -> (base, growth per month); values wave a little with the seasons.
PROFILES = {
    "paid_search": {
        "impressions": (120000, 2500), "clicks": (3600, 80), "sessions": (4200, 90),
        "visitors": (3100, 70), "bounces": (1900, 20), "leads": (420, 9),
        "conversions": (62, 2), "new_customers": (41, 1), "orders": (55, 2),
        "carts": (160, 3), "revenue": (4125, 140), "spend": (2150, 35),
    },
    "email": {
        "emails_sent": (24000, 150), "emails_opened": (5600, 60), "email_clicks": (820, 12),
        "visitors": (900, 10), "conversions": (30, 1), "new_customers": (12, 0),
        "orders": (28, 1), "revenue": (2050, 45), "spend": (300, 2),
    },
    "paid_social": {
        "impressions": (210000, 3000), "reach": (90000, 900), "engagements": (4100, 50),
        "clicks": (2500, 40), "visitors": (2000, 30), "leads": (150, 3),
        "conversions": (24, 1), "new_customers": (15, 0), "orders": (22, 1),
        "revenue": (1800, 60), "spend": (1500, 20),
    },
}  # fmt: skip


def last_complete_month() -> date:
    return add_months(month_start(timezone.localdate()), -1)


def seed(org, *, months: int = MONTHS) -> dict:
    """Campaigns, values, targets, an objective; returns them by name."""
    last = last_complete_month()
    span = month_range(add_months(last, 1 - months), last)
    campaigns = {
        "paid_search": Campaign.objects.create(
            organization=org, name="Search – always on", channel="paid_search",
            start_date=span[0], budget=Decimal("60000"),
        ),
        "email": Campaign.objects.create(
            organization=org, name="Newsletter", channel="email", start_date=span[0],
            budget=Decimal("8000"),
        ),
        "paid_social": Campaign.objects.create(
            organization=org, name="Social ads", channel="paid_social", start_date=span[0],
            budget=Decimal("40000"),
        ),
    }  # fmt: skip
    metrics = {m.code: m.pk for m in org.metrics.all()}
    writes = []
    for channel, profile in PROFILES.items():
        for i, month in enumerate(span):
            wave = 1 + 0.12 * math.sin(i / 1.9 + len(channel))
            for code, (base, growth) in profile.items():
                value = Decimal(round((base + growth * i) * wave))
                writes.append(ValueWrite(campaigns[channel].pk, metrics[code], month, value))
    entries_write(organization=org, writes=writes, user=None)
    kpis_recompute_all(organization=org)
    conversion_rate = org.kpis.get(code="conversion_rate")
    cpa = org.kpis.get(code="cpa")
    for i, month in enumerate(span):
        Target.objects.create(
            organization=org, kpi=conversion_rate, month=month,
            value=Decimal("1.9") + Decimal(i) / 100,
        )  # fmt: skip
        Target.objects.create(
            organization=org, kpi=cpa, month=month, value=Decimal("29") - Decimal(i) / 6
        )
    objective = Objective.objects.create(
        organization=org, title="Convert 2.5 % of visitors", kpi=conversion_rate,
        category="conversion", baseline_value=Decimal("1.9"), baseline_start=span[-12],
        baseline_end=span[-10], target_kind="absolute", target_value=Decimal("2.5"),
        start_date=span[-9], deadline=add_months(last, 4) + timedelta(days=27),
    )  # fmt: skip
    return {"campaigns": campaigns, "objective": objective, "months": span}


def full_board(org, user=None, *, theme="dark", name="Monthly board", data=None):
    """A board with one slide of each kind."""
    data = data or seed(org)
    board = services.board_create(organization=org, name=name, theme=theme, user=user)
    kpi = org.kpis.get(code="conversion_rate")
    add = services.slide_add
    add(organization=org, board=board, kind="kpi", kpi=kpi, comparison="last_year")
    add(organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="cpa"),
        comparison="target", period="last_quarter")  # fmt: skip
    add(organization=org, board=board, kind="objective", objective=data["objective"])
    add(organization=org, board=board, kind="tiles", comparison="previous")
    add(organization=org, board=board, kind="funnel", campaign=data["campaigns"]["paid_search"])
    add(organization=org, board=board, kind="channels", period="year_to_date",
        comparison="last_year")  # fmt: skip
    return board


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do
