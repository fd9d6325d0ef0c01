"""Demo data taken from the source texts: a bakery (seed 000) and a Swiss wine e-shop
entering China (seed 004).

Every value is a pure function of (organization, campaign, metric, month), so seeding is
idempotent: running it twice changes nothing, and running it a month later only adds the
new month.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Objective
from metrics.models import KPI, Benchmark, Metric, MetricEntry, Source, Target
from metrics.periods import add_months, month_range, month_start
from metrics.services import ValueWrite, entries_write

from .data_version import organization_data_changed
from .models import Organization, Role
from .services import membership_set, organization_create

FIRST_MONTH = date(2023, 11, 1)

# China launch baseline (seed 004): CHF 50 000 spent for 15 customers over Q1 2024.
CHINA_BASELINE_MONTHS = (date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1))
CHINA_SPEND = {
    "China launch - WeChat": (9500, 8200, 7300),
    "China launch - Tmall ads": (9000, 8000, 8000),
}
NO_GAPS = ("Gâteaux de fête", "China launch - WeChat", "China launch - Tmall ads")
CHINA_NEW_CUSTOMERS = {"China launch - WeChat": (3, 2, 4), "China launch - Tmall ads": (1, 3, 2)}
# After the baseline the China CAC comes down slowly, from CHF 3 333 toward the objective's
# CHF 2 500 by December 2026: few customers for the money, as seed 004 tells.
CHINA_CAC_FROM, CHINA_CAC_TO, CHINA_CAC_MONTHS = 3333, 2400, 33


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    channel: str
    market: str
    start: date
    budget: int
    volume: int  # monthly visitors, roughly
    profile: str  # which metrics it records
    end: date | None = None


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    currency: str
    language: str
    time_zone: str
    fiscal_start: int
    basket: int  # average order value
    peak_months: tuple[int, ...]
    campaigns: tuple[CampaignSpec, ...]


BAKERY = OrgSpec(
    slug="boulangerie-martin",
    name="Boulangerie Martin",
    currency="EUR",
    language="fr",
    time_zone="Europe/Paris",
    fiscal_start=1,
    basket=32,
    peak_months=(4, 5, 12),  # Easter, Mother's Day, Christmas
    campaigns=(
        CampaignSpec(
            "Gâteaux de fête", "paid_social", "Lyon", date(2023, 11, 1), 9000, 3200, "paid_social"
        ),
        CampaignSpec(
            "Instagram – vitrine",
            "organic_social",
            "Lyon",
            date(2023, 11, 1),
            1800,
            2400,
            "organic_social",
        ),
        CampaignSpec(
            "Newsletter du samedi", "email", "Lyon", date(2023, 11, 1), 900, 1800, "email"
        ),
        CampaignSpec(
            "Google Ads – commandes en ligne",
            "paid_search",
            "Lyon et alentours",
            date(2024, 3, 1),
            12000,
            2600,
            "paid",
        ),
        CampaignSpec(
            "Carte de fidélité", "offline", "Boutique", date(2023, 11, 1), 2400, 600, "loyalty"
        ),
    ),
)

WINES = OrgSpec(
    slug="valais-fine-wines",
    name="Valais Fine Wines",
    currency="CHF",
    language="en",
    time_zone="Europe/Zurich",
    fiscal_start=4,
    basket=180,
    peak_months=(11, 12),
    campaigns=(
        CampaignSpec(
            "China launch - WeChat",
            "paid_social",
            "China",
            date(2024, 1, 1),
            90000,
            2500,
            "paid_social",
        ),
        CampaignSpec(
            "China launch - Tmall ads", "display", "China", date(2024, 1, 1), 85000, 2200, "paid"
        ),
        CampaignSpec(
            "Newsletter Europe", "email", "Switzerland", date(2023, 11, 1), 6000, 1500, "email"
        ),
        CampaignSpec("SEO wine guides", "seo", "Europe", date(2023, 11, 1), 12000, 4000, "seo"),
        CampaignSpec(
            "ProWine Shanghai",
            "offline",
            "China",
            date(2024, 11, 1),
            30000,
            300,
            "event",
            end=date(2024, 11, 30),
        ),
        CampaignSpec(
            "Wine club", "referral", "Switzerland", date(2023, 11, 1), 8000, 400, "loyalty"
        ),
    ),
)

PROFILES = {
    "paid": ("impressions", "clicks", "sessions", "visitors", "bounces", "leads", "carts", "orders", "conversions", "new_customers", "revenue", "spend"),
    "paid_social": ("impressions", "reach", "engagements", "clicks", "sessions", "visitors", "bounces", "leads", "carts", "orders", "conversions", "new_customers", "revenue", "spend"),
    "organic_social": ("impressions", "reach", "engagements", "followers", "mentions", "clicks", "sessions", "visitors", "bounces", "carts", "conversions", "orders", "new_customers", "revenue", "spend"),
    "email": ("emails_sent", "emails_opened", "email_clicks", "sessions", "visitors", "bounces", "leads", "carts", "orders", "conversions", "new_customers", "revenue", "spend"),
    "seo": ("impressions", "clicks", "sessions", "visitors", "bounces", "leads", "carts", "orders", "conversions", "new_customers", "revenue", "spend"),
    "event": ("leads", "mentions", "orders", "new_customers", "revenue", "spend"),
    "loyalty": ("customers_start", "customers_end", "promoters", "passives", "detractors", "orders", "revenue", "spend", "mentions"),
}  # fmt: skip


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _money(x: float) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _count(x: float) -> Decimal:
    return Decimal(max(0, round(x)))


def _season(spec: OrgSpec, month: date) -> float:
    return 1.35 if month.month in spec.peak_months else (0.8 if month.month in (1, 8) else 1.0)


def _is_missing(spec: OrgSpec, campaign: CampaignSpec, month: date) -> bool:
    """A few months nobody entered: realistic gaps the KPIs must survive (rule 2). Not in
    the campaigns the demo's objectives follow, nor in the loyalty base."""
    if campaign.profile == "loyalty" or campaign.name in NO_GAPS:
        return False
    return _rng(spec.slug, campaign.name, month, "gap").random() < 0.04


def campaign_month_values(
    spec: OrgSpec, campaign: CampaignSpec, month: date, months_since_start: int
) -> dict[str, Decimal]:
    """The numbers one campaign recorded in one month (without the loyalty base)."""
    r = _rng(spec.slug, campaign.name, month)
    trend = 1 + 0.015 * months_since_start
    visitors = campaign.volume * _season(spec, month) * trend * r.uniform(0.75, 1.25)
    sessions = visitors * r.uniform(1.15, 1.45)
    clicks = visitors * r.uniform(0.9, 1.1)
    impressions = clicks / r.uniform(0.008, 0.03)
    reach = impressions * r.uniform(0.45, 0.7)
    carts = visitors * r.uniform(0.03, 0.06)
    orders = (
        carts * r.uniform(0.55, 0.75)
        if campaign.profile not in ("email", "organic_social")
        else visitors * r.uniform(0.015, 0.03)
    )
    if campaign.profile == "event":
        orders = campaign.volume * r.uniform(0.1, 0.2)
    if campaign.profile in ("email", "organic_social"):  # every web order had a cart
        carts = orders / r.uniform(0.55, 0.75)
    new_customers = orders * r.uniform(0.3, 0.55)
    monthly_budget = campaign.budget / 12
    values = {
        "impressions": _count(impressions),
        "reach": _count(reach),
        "engagements": _count(reach * r.uniform(0.012, 0.035)),
        "followers": _count(1500 * trend * 1.04**months_since_start),
        "mentions": _count(r.uniform(5, 40) * trend),
        "clicks": _count(clicks),
        "sessions": _count(sessions),
        "visitors": _count(visitors),
        "bounces": _count(sessions * r.uniform(0.35, 0.6)),
        "emails_sent": _count(campaign.volume * 6 * trend),
        "emails_opened": _count(campaign.volume * 6 * trend * r.uniform(0.32, 0.46)),
        "email_clicks": _count(campaign.volume * 6 * trend * r.uniform(0.02, 0.05)),
        "leads": _count(
            visitors * r.uniform(0.03, 0.06) if campaign.profile != "event" else campaign.volume
        ),
        "carts": _count(carts),
        "orders": _count(orders),
        "conversions": _count(orders * r.uniform(1.0, 1.2)),
        "new_customers": _count(new_customers),
        "revenue": _money(orders * spec.basket * r.uniform(0.85, 1.2)),
        # Budgets are planned for the season: spend follows it only a little.
        "spend": _money(
            monthly_budget * (1 + (_season(spec, month) - 1) / 4) * r.uniform(0.8, 1.1)
        ),
        "promoters": _count(r.uniform(40, 70)),
        "passives": _count(r.uniform(15, 30)),
        "detractors": _count(r.uniform(5, 15)),
    }
    if campaign.profile == "event":
        values["spend"] = _money(campaign.budget)
    if month in CHINA_BASELINE_MONTHS and campaign.name in CHINA_SPEND:
        index = CHINA_BASELINE_MONTHS.index(month)
        values["spend"] = Decimal(CHINA_SPEND[campaign.name][index])
        values["new_customers"] = Decimal(CHINA_NEW_CUSTOMERS[campaign.name][index])
    elif campaign.name in CHINA_SPEND:
        since = min(months_since_start - len(CHINA_BASELINE_MONTHS), CHINA_CAC_MONTHS)
        cac = CHINA_CAC_FROM + (CHINA_CAC_TO - CHINA_CAC_FROM) * since / CHINA_CAC_MONTHS
        values["new_customers"] = _count(float(values["spend"]) / cac * r.uniform(0.75, 1.3))
    profile = PROFILES[campaign.profile]
    return {code: values[code] for code in profile if code in values}


def organization_values(spec: OrgSpec, last_month: date) -> dict[tuple[str, str, date], Decimal]:
    """Every (campaign name, metric code, month) value of one demo organization."""
    result: dict[tuple[str, str, date], Decimal] = {}
    new_by_month: dict[date, Decimal] = {}
    loyalty = [c for c in spec.campaigns if c.profile == "loyalty"]
    for campaign in spec.campaigns:
        if campaign.profile == "loyalty":
            continue
        last = min(last_month, month_start(campaign.end)) if campaign.end else last_month
        for index, month in enumerate(month_range(max(campaign.start, FIRST_MONTH), last)):
            if _is_missing(spec, campaign, month):
                continue
            for code, value in campaign_month_values(spec, campaign, month, index).items():
                result[(campaign.name, code, month)] = value
                if code == "new_customers":
                    new_by_month[month] = new_by_month.get(month, Decimal(0)) + value
    for campaign in loyalty:
        # The customer base (the CRM's count, entered on the loyalty campaign): last month's
        # end, plus everybody the other campaigns acquired, minus those who left. The
        # loyalty campaign acquires nobody itself, so its own retention is "no value" and
        # the retention of all campaigns is the base's: about 89 % a month, slowly better.
        base = Decimal(800 if spec is BAKERY else 1200)
        for index, month in enumerate(month_range(campaign.start, last_month)):
            values = campaign_month_values(spec, campaign, month, index)
            r = _rng(spec.slug, campaign.name, month, "churn")
            acquired = new_by_month.get(month, Decimal(0))
            churned = _count(float(base) * r.uniform(0.1, 0.14) * (1 - 0.005 * index))
            values["customers_start"] = base
            values["customers_end"] = base + acquired - churned
            base = values["customers_end"]
            for code, value in values.items():
                result[(campaign.name, code, month)] = value
    return result


def last_complete_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return add_months(month_start(today), -1)


@transaction.atomic
def seed_demo(*, today: date | None = None) -> dict[str, int]:
    """Create (or complete) the demo users, organizations, campaigns, values, objectives and
    boards."""
    User = get_user_model()
    demo, created = User.objects.get_or_create(username="demo", defaults={"first_name": "Demo"})
    if created:
        demo.set_password("demo")
        demo.save(update_fields=["password"])
    viewer, created = User.objects.get_or_create(
        username="viewer", defaults={"first_name": "Viewer"}
    )
    if created:
        viewer.set_password("viewer")
        viewer.save(update_fields=["password"])
    last_month = last_complete_month(today)
    counts = {"created": 0, "updated": 0}
    for spec in (BAKERY, WINES):
        organization = Organization.objects.filter(slug=spec.slug).first() or organization_create(
            name=spec.name,
            slug=spec.slug,
            currency=spec.currency,
            language=spec.language,
            time_zone=spec.time_zone,
            fiscal_year_start_month=spec.fiscal_start,
        )
        membership_set(organization=organization, user=demo, role=Role.ADMIN)
        membership_set(organization=organization, user=viewer, role=Role.VIEWER)
        campaigns = {}
        for c in spec.campaigns:
            campaigns[c.name], _ = Campaign.objects.get_or_create(
                organization=organization,
                name=c.name,
                defaults={
                    "channel": c.channel,
                    "market": c.market,
                    "start_date": c.start,
                    "end_date": c.end,
                    "budget": Decimal(c.budget),
                },
            )
        if spec is BAKERY:
            KPI.objects.get_or_create(
                organization=organization,
                code="cake_sales",
                defaults={
                    "label_fr": "Ventes de gâteaux",
                    "label_en": "Cake sales",
                    "formula": "orders",
                    "unit": "count",
                    "direction": "higher",
                    "indicator": "lagging",
                    "stage": "conversion",
                    "decimals": 0,
                    "followed": True,
                    "position": 0,
                },
            )
        metrics = {m.code: m.pk for m in Metric.objects.filter(organization=organization)}
        values = organization_values(spec, last_month)
        result = entries_write(
            organization=organization,
            writes=(
                ValueWrite(campaigns[name].pk, metrics[code], month, value)
                for (name, code, month), value in values.items()
            ),
            user=None,
            source=Source.DEMO,
        )
        counts["created"] += result.created
        counts["updated"] += result.updated
        kpis = {k.code: k for k in organization.kpis.all()}
        _seed_objectives(organization, spec, campaigns, kpis, demo, last_month)
        _seed_targets_and_benchmarks(organization, spec, campaigns, kpis)
        _seed_board(organization, spec, campaigns, kpis, demo)
        organization_data_changed(organization_id=organization.pk)
    return counts


def _sum_entries(campaign: Campaign, code: str, months: list[date]) -> Decimal:
    total = Decimal(0)
    for value in MetricEntry.objects.filter(
        campaign=campaign, metric__code=code, month__in=months
    ).values_list("value", flat=True):
        total += value
    return total


def _seed_objectives(organization, spec, campaigns, kpis, owner, last_month: date) -> None:
    if spec is BAKERY:
        cakes = campaigns["Gâteaux de fête"]
        start = add_months(last_month, -1)
        baseline_months = month_range(add_months(start, -3), add_months(start, -1))
        objective, created = Objective.objects.get_or_create(
            organization=organization,
            title="Augmenter de 20 % les ventes de gâteaux en 3 mois",
            defaults={
                "kpi": kpis["cake_sales"],
                "category": "conversion",
                "baseline_value": _sum_entries(cakes, "orders", baseline_months) / 3,
                "baseline_start": baseline_months[0],
                "baseline_end": baseline_months[-1],
                "target_kind": "relative",
                "target_value": Decimal(20),
                "start_date": start,
                "deadline": add_months(start, 3) - timedelta(days=1),
                "owner": owner,
                "description": "Seed 000 : une boulangerie veut 20 % de ventes de gâteaux en plus.",
            },
        )
        if created:
            objective.campaigns.add(cakes)
        objective, created = Objective.objects.get_or_create(
            organization=organization,
            title="Taux de conversion du site à 3 %",
            defaults={
                "kpi": kpis["conversion_rate"],
                "category": "conversion",
                "baseline_value": Decimal("2.4"),
                "baseline_start": date(2024, 1, 1),
                "baseline_end": date(2024, 12, 1),
                "target_kind": "absolute",
                "target_value": Decimal(3),
                "start_date": date(2025, 1, 1),
                "deadline": date(2026, 12, 31),
                "owner": owner,
            },
        )
    else:
        china = [campaigns["China launch - WeChat"], campaigns["China launch - Tmall ads"]]
        objective, created = Objective.objects.get_or_create(
            organization=organization,
            title="Bring the China CAC under CHF 2,500",
            defaults={
                "kpi": kpis["cac"],
                "category": "conversion",
                # Seed 004: CHF 50 000 spent for 15 customers = CHF 3 333.33.
                "baseline_value": (Decimal(50000) / Decimal(15)).quantize(Decimal("0.01")),
                "baseline_start": CHINA_BASELINE_MONTHS[0],
                "baseline_end": CHINA_BASELINE_MONTHS[-1],
                "target_kind": "absolute",
                "target_value": Decimal(2500),
                "start_date": date(2024, 4, 1),
                "deadline": date(2026, 12, 31),
                "owner": owner,
                "description": "Seed 004: the cost of acquiring a customer in China must come down.",
            },
        )
        if created:
            objective.campaigns.add(*china)
        objective, created = Objective.objects.get_or_create(
            organization=organization,
            title="Keep the wine club's retention above 90 %",
            defaults={
                "kpi": kpis["retention_rate"],
                "category": "loyalty",
                "baseline_value": Decimal(89),
                "baseline_start": date(2024, 1, 1),
                "baseline_end": date(2024, 12, 1),
                "target_kind": "absolute",
                "target_value": Decimal(90),
                "start_date": date(2025, 1, 1),
                "deadline": date(2026, 12, 31),
                "owner": owner,
            },
        )  # all campaigns: the club's base grows with every campaign's new customers


def _seed_board(organization, spec, campaigns, kpis, owner) -> None:
    """The board the team shows at its monthly meeting (once: then it is theirs to change)."""
    from boards import services as boards
    from boards.models import Board

    name = "Comité du mois" if spec is BAKERY else "Monthly board"
    if Board.objects.filter(organization=organization).exists():
        return
    board = boards.board_create(organization=organization, name=name, user=owner)
    headline = "cake_sales" if spec is BAKERY else "cac"
    funnel = "Gâteaux de fête" if spec is BAKERY else "China launch - WeChat"
    slides = [
        {"kind": "tiles"},
        {"kind": "kpi", "kpi": kpis[headline], "comparison": "last_year"},
        {"kind": "kpi", "kpi": kpis["conversion_rate"], "comparison": "target"},
        *(
            {"kind": "objective", "objective": objective}
            for objective in organization.objectives.order_by("deadline", "pk")
        ),
        {"kind": "funnel", "campaign": campaigns[funnel]},
        {"kind": "channels", "period": "year_to_date", "comparison": "last_year"},
    ]
    for slide in slides:
        boards.slide_add(organization=organization, board=board, **slide)


def _seed_targets_and_benchmarks(organization, spec, campaigns, kpis) -> None:
    # (KPI, campaign name or None for all campaigns, monthly target)
    targets: list[tuple[str, str | None, Decimal]] = [
        ("conversion_rate", None, Decimal("3.0")),
        ("roi", None, Decimal(500)),
        ("ctr", None, Decimal("1.8")),
    ]
    if spec is WINES:
        targets = [("roi", None, Decimal(300)), ("conversion_rate", None, Decimal("2.8"))]
        # The China CAC is each China campaign's, not the wine house's as a whole.
        targets += [("cac", name, Decimal(2500)) for name in CHINA_SPEND]
    for code, campaign_name, value in targets:
        for month in month_range(date(2025, 1, 1), date(2026, 12, 1)):
            Target.objects.get_or_create(
                organization=organization,
                kpi=kpis[code],
                campaign=campaigns[campaign_name] if campaign_name else None,
                month=month,
                defaults={"value": value},
            )
    # Seed 000's published figures.
    Benchmark.objects.get_or_create(
        organization=organization,
        kpi=kpis["engagement_rate"],
        label="Instagram (sector average)",
        defaults={"source": "Seed 000", "period_start": date(2023, 1, 1), "value": Decimal("1.9")},
    )
    Benchmark.objects.get_or_create(
        organization=organization,
        kpi=kpis["roas"],
        label="Email marketing",
        defaults={
            "source": "Seed 000: 42 $ per $ spent",
            "period_start": date(2023, 1, 1),
            "value": Decimal(42),
        },
    )
