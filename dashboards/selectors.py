"""Reads for the dashboard pages, on top of metrics.selectors: KPI cards, spend vs budget,
values by campaign or channel, the funnel, the channel table, the inputs behind a number.

Every function reads stored values (KPIValue, MetricAggregate, a campaign's MetricEntry rows)
in a fixed number of queries, whatever the number of KPIs, campaigns, channels or months.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Q, Sum

from campaigns.models import Campaign, Channel, Objective
from kpiboard.models import Organization
from metrics import selectors as kpi_selectors
from metrics.comparisons import Delta, compare
from metrics.models import (
    KPI,
    Benchmark,
    KPIValue,
    Metric,
    MetricAggregate,
    MetricEntry,
    StaleMark,
)
from metrics.periods import Period, add_months, month_range
from metrics.recompute import ALL, organization_catalog, tolerant_catalog
from metrics.rollups import aggregate_period

from .filters import Filters

# ------------------------------------------------------------------------------ KPI cards


@dataclass(frozen=True)
class KPICard:
    """What a tile shows: a KPI's value for the period, its reference and the change, its
    target with attainment and status, and the 12 months ending with the period."""

    kpi: KPI
    value: Decimal | None
    reference: Decimal | None
    delta: Delta
    target: Decimal | None
    judged: kpi_selectors.Attainment
    months: tuple[date, ...]
    series: tuple[Decimal | None, ...]


def kpi_cards(
    *, organization: Organization, kpis: Sequence[KPI], filters: Filters, series: bool = True
) -> list[KPICard]:
    """Cards of several KPIs: two queries when the period and its reference are stored
    (months, quarters, years): their values with the 12-month series, and the targets; three
    more for other periods (year to date, rolling, custom), whatever the number of KPIs."""
    if not kpis:
        return []
    period, reference, scope = filters.period, filters.reference, filters.scope
    fiscal_start = organization.fiscal_year_start_month
    last = period.end
    first = add_months(last, -11)
    months = tuple(month_range(first, last)) if series else ()
    wanted = [p for p in (period, reference) if p is not None]
    stored = {
        p: grain
        for p in wanted
        if (grain := kpi_selectors.stored_grain(p, fiscal_start)) is not None
    }
    condition = Q(pk__in=[])
    if series:
        condition |= Q(grain="month", period_start__gte=first, period_start__lte=last)
    for p, grain in stored.items():
        condition |= Q(grain=grain, period_start=p.start)
    values: dict[tuple[int, Period], Decimal | None] = {}
    monthly: dict[int, dict[date, Decimal | None]] = defaultdict(dict)
    keys = {(grain, p.start): p for p, grain in stored.items()}
    rows = KPIValue.objects.filter(
        condition, organization=organization, scope=scope, kpi__in=[k.pk for k in kpis]
    ).values_list("kpi_id", "grain", "period_start", "value")
    for kpi_id, grain, start, value in rows:
        if grain == "month" and first <= start <= last:
            monthly[kpi_id][start] = value
        if (grain, start) in keys:
            values[(kpi_id, keys[(grain, start)])] = value
    computed = [p for p in wanted if p not in stored]
    if computed:
        values.update(
            kpi_selectors.kpi_values(
                organization=organization, kpis=kpis, periods=computed, scope=scope
            )
        )
    targets = kpi_selectors.kpi_targets(
        organization=organization, kpis=kpis, period=period, scope=scope
    )
    cards = []
    for kpi in kpis:
        value = values.get((kpi.pk, period))
        target = targets.get(kpi.pk)
        ref = values.get((kpi.pk, reference)) if reference is not None else target
        cards.append(
            KPICard(
                kpi=kpi,
                value=value,
                reference=ref,
                delta=compare(value, ref, unit=kpi.unit, direction=kpi.direction),
                target=target,
                judged=kpi_selectors.judge(organization, kpi, value, target),
                months=months,
                series=tuple(monthly[kpi.pk].get(m) for m in months),
            )
        )
    return cards


@dataclass(frozen=True)
class DataState:
    first: date | None  # first month with data
    last: date | None  # last month with data
    stale: bool  # a change is not reflected in the KPIs yet (recompute queued or running)


def data_state(*, organization: Organization) -> DataState:
    """The months with data and whether a recompute is pending: one query. Written in SQL:
    every dashboard page runs it, and the ORM spends longer composing its three subqueries
    than the database answering them (both minima run on the aggregates' primary key)."""
    aggregates, marks = MetricAggregate._meta.db_table, StaleMark._meta.db_table
    sql = (
        f"SELECT (SELECT MIN(period_start) FROM {aggregates}"  # noqa: S608 - table names
        "         WHERE organization_id = %s AND scope = %s AND grain = 'month'),"
        f"       (SELECT MAX(period_start) FROM {aggregates}"
        "         WHERE organization_id = %s AND scope = %s AND grain = 'month'),"
        f"       EXISTS (SELECT 1 FROM {marks} WHERE organization_id = %s)"
    )
    with connection.cursor() as cursor:
        pk = organization.pk
        cursor.execute(sql, [pk, ALL, pk, ALL, pk])
        first, last, stale = cursor.fetchone()
    return DataState(_as_date(first), _as_date(last), bool(stale))


def _as_date(value) -> date | None:
    """A raw query's date: SQLite (the embedded mode) returns it as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def last_month_of(*, organization: Organization, campaign: Campaign) -> date | None:
    """The last month a campaign has values for (its page opens there): one query."""
    return MetricEntry.objects.filter(organization=organization, campaign=campaign).aggregate(
        last=Max("month")
    )["last"]


# ------------------------------------------------------------------- spend vs budget


def budget_for(campaign: Campaign, period: Period) -> Decimal | None:
    """The share of a campaign's budget that falls in a period.

    The budget is spread evenly over the campaign's months, from its start to its end; a
    campaign with no end date spends its budget over twelve months a year. None when the
    campaign has no budget."""
    if not campaign.budget:
        return None
    start = date(campaign.start_date.year, campaign.start_date.month, 1)
    if campaign.end_date:
        end = date(campaign.end_date.year, campaign.end_date.month, 1)
        per_month = campaign.budget / len(month_range(start, end))
    else:
        end = None
        per_month = campaign.budget / 12
    months = [m for m in period.months if m >= start and (end is None or m <= end)]
    return per_month * len(months)


@dataclass(frozen=True)
class CampaignSpend:
    campaign: Campaign
    spend: Decimal | None
    budget: Decimal | None  # for the period

    @property
    def used(self) -> Decimal | None:
        """Percent of the period's budget spent."""
        if self.spend is None or not self.budget:
            return None
        return self.spend / self.budget * 100

    @property
    def over(self) -> bool:
        return self.used is not None and self.used > 100


@dataclass(frozen=True)
class SpendSummary:
    rows: list[CampaignSpend]  # the biggest spenders first, at most `limit`
    total_spend: Decimal | None
    total_budget: Decimal | None
    campaigns: int  # how many campaigns the totals cover (with spend or a budget)
    hidden: int  # how many of them are not in `rows`


def spend_by_campaign(
    *,
    organization: Organization,
    campaigns: Sequence[Campaign],
    period: Period,
    scope: str = ALL,
    limit: int = 8,
) -> SpendSummary:
    """Spend in the period vs the period's budget, per campaign of the scope: one query (the
    campaigns are given: the page has read them for its scope menu)."""
    chosen = [c for c in campaigns if in_scope(c, scope)]
    rows = MetricEntry.objects.filter(
        organization=organization,
        metric__code="spend",
        month__gte=period.start,
        month__lte=period.end,
    )
    if scope.startswith("campaign:"):
        rows = rows.filter(campaign_id=int(scope.removeprefix("campaign:")))
    elif scope.startswith("channel:"):
        rows = rows.filter(campaign__channel=scope.removeprefix("channel:"))
    spend = dict(rows.values_list("campaign_id").annotate(total=Sum("value")).order_by())
    lines = [CampaignSpend(c, spend.get(c.pk), budget_for(c, period)) for c in chosen]
    # Active campaigns first, biggest spenders first; then those with a budget but no spend.
    lines = [line for line in lines if line.spend is not None or line.budget]
    lines.sort(key=lambda line: (-(line.spend or 0), -(line.budget or 0), line.campaign.name))
    spends = [line.spend for line in lines if line.spend is not None]
    budgets = [line.budget for line in lines if line.budget]
    return SpendSummary(
        rows=lines[:limit],
        total_spend=sum(spends, Decimal(0)) if spends else None,
        total_budget=sum(budgets, Decimal(0)) if budgets else None,
        campaigns=len(lines),
        hidden=max(0, len(lines) - limit),
    )


def in_scope(campaign: Campaign, scope: str) -> bool:
    if scope == ALL:
        return True
    if scope.startswith("channel:"):
        return campaign.channel == scope.removeprefix("channel:")
    return scope == f"campaign:{campaign.pk}"


def campaign_monthly_spend(
    campaign: Campaign, monthly: dict[str, dict[date, Decimal]], months: Sequence[date]
) -> tuple[list[Decimal | None], list[Decimal | None]]:
    """Spend and budget month by month, from a campaign's monthly metrics."""
    spend = [monthly.get("spend", {}).get(m) for m in months]
    budget = [budget_for(campaign, Period.month(m.year, m.month)) for m in months]
    return spend, budget


# ------------------------------------------------------------- values of many scopes


def scope_values(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    periods: Iterable[Period],
    scopes: Sequence[str],
) -> dict[tuple[str, int, Period], Decimal | None]:
    """KPI values for many scopes (campaigns, channels) and a few periods: one query for the
    stored grains, three more for other periods (the metric rows of every scope at once)."""
    periods = list(dict.fromkeys(periods))
    fiscal_start = organization.fiscal_year_start_month
    result: dict[tuple[str, int, Period], Decimal | None] = {
        (scope, kpi.pk, period): None for scope in scopes for kpi in kpis for period in periods
    }
    stored: dict[tuple[str, date], list[Period]] = defaultdict(list)
    computed: list[Period] = []
    for period in periods:
        grain = kpi_selectors.stored_grain(period, fiscal_start)
        if grain is None:
            computed.append(period)
        else:
            stored[(grain, period.start)].append(period)
    if stored and scopes and kpis:
        rows = KPIValue.objects.filter(
            organization=organization,
            scope__in=list(scopes),
            kpi__in=[k.pk for k in kpis],
            grain__in={g for g, _ in stored},
            period_start__in={s for _, s in stored},
        ).values_list("scope", "kpi_id", "grain", "period_start", "value")
        for scope, kpi_id, grain, start, value in rows:
            for period in stored.get((grain, start), ()):
                result[(scope, kpi_id, period)] = value
    if computed and scopes and kpis:
        result.update(_computed_scope_values(organization, kpis, computed, scopes))
    return result


def _computed_scope_values(
    organization: Organization, kpis: Sequence[KPI], periods: list[Period], scopes: Sequence[str]
) -> dict[tuple[str, int, Period], Decimal | None]:
    first = min(p.start for p in periods)
    last = max(p.end for p in periods)
    catalog, metrics = organization_catalog(organization)
    needed = set()
    for kpi in kpis:
        if kpi.code in catalog.formulas:
            needed |= catalog.base_metrics(kpi.code)
    monthly = _monthly_by_scope(organization, scopes, needed, first, last)
    result: dict[tuple[str, int, Period], Decimal | None] = {}
    for scope in scopes:
        by_code = monthly.get(scope, {})
        rollups = {code: metrics[code] for code in by_code}
        for period in periods:
            aggregates = aggregate_period(by_code, rollups, period.months)
            values = (
                catalog.evaluate(aggregates, months=period.length)
                if any(v is not None for v in aggregates.values())
                else {}
            )
            for kpi in kpis:
                result[(scope, kpi.pk, period)] = values.get(kpi.code)
    return result


def _monthly_by_scope(
    organization: Organization, scopes: Sequence[str], codes: set[str], first: date, last: date
) -> dict[str, dict[str, dict[date, Decimal]]]:
    """Monthly metric values of many scopes: campaign scopes from their entries, the others
    from the stored monthly aggregates; at most two queries."""
    monthly: dict[str, dict[str, dict[date, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    campaign_ids = [int(s.removeprefix("campaign:")) for s in scopes if s.startswith("campaign:")]
    others = [s for s in scopes if not s.startswith("campaign:")]
    if campaign_ids:
        rows = MetricEntry.objects.filter(
            organization=organization,
            campaign_id__in=campaign_ids,
            metric__code__in=codes,
            month__gte=first,
            month__lte=last,
        ).values_list("campaign_id", "metric__code", "month", "value")
        for campaign_id, code, month, value in rows:
            monthly[f"campaign:{campaign_id}"][code][month] = value
    if others:
        rows = MetricAggregate.objects.filter(
            organization=organization,
            scope__in=others,
            grain="month",
            metric__code__in=codes,
            period_start__gte=first,
            period_start__lte=last,
        ).values_list("scope", "metric__code", "period_start", "value")
        for scope, code, month, value in rows:
            monthly[scope][code][month] = value
    return monthly


def metric_totals(
    *,
    organization: Organization,
    codes: Sequence[str],
    periods: Iterable[Period],
    scopes: Sequence[str],
) -> dict[tuple[str, str, Period], Decimal | None]:
    """Base metrics (spend, revenue...) rolled up over periods for many scopes: two queries."""
    periods = list(dict.fromkeys(periods))
    result: dict[tuple[str, str, Period], Decimal | None] = {
        (scope, code, period): None for scope in scopes for code in codes for period in periods
    }
    if not periods or not scopes:
        return result
    rollups = dict(
        Metric.objects.filter(organization=organization, code__in=codes).values_list(
            "code", "rollup"
        )
    )
    first = min(p.start for p in periods)
    last = max(p.end for p in periods)
    monthly = _monthly_by_scope(organization, scopes, set(codes), first, last)
    for scope in scopes:
        by_code = monthly.get(scope, {})
        for period in periods:
            aggregates = aggregate_period(
                by_code, {c: rollups[c] for c in by_code if c in rollups}, period.months
            )
            for code in codes:
                result[(scope, code, period)] = aggregates.get(code)
    return result


def monthly_by_scope(
    *,
    organization: Organization,
    kpi: KPI | None = None,
    metric_code: str | None = None,
    scopes: Sequence[str],
    first: date,
    last: date,
) -> dict[str, dict[date, Decimal | None]]:
    """One KPI (stored monthly values) or one base metric, month by month, for many scopes:
    one query."""
    months = month_range(first, last)
    result: dict[str, dict[date, Decimal | None]] = {s: dict.fromkeys(months) for s in scopes}
    if kpi is not None:
        rows = KPIValue.objects.filter(
            organization=organization,
            kpi=kpi,
            scope__in=list(scopes),
            grain="month",
            period_start__gte=first,
            period_start__lte=last,
        ).values_list("scope", "period_start", "value")
        for scope, month, value in rows:
            result[scope][month] = value
    elif metric_code is not None:
        for scope, by_code in _monthly_by_scope(
            organization, scopes, {metric_code}, first, last
        ).items():
            for month, value in by_code.get(metric_code, {}).items():
                result[scope][month] = value
    return result


# ----------------------------------------------------------------------------- channels

CHANNEL_METRICS = ("spend", "revenue")
CHANNEL_KPIS = ("cac", "roi", "conversion_rate")


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    label: str
    metrics: dict[str, tuple[Decimal | None, Decimal | None]]  # code -> (value, reference)
    kpis: dict[str, tuple[Decimal | None, Delta]]  # code -> (value, delta vs reference)

    @property
    def empty(self) -> bool:
        return all(v is None for v, _ in self.metrics.values()) and all(
            v is None for v, _ in self.kpis.values()
        )


def channel_table(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    period: Period,
    reference: Period | None,
) -> list[ChannelRow]:
    """Spend, revenue, CAC, ROI and conversion rate of every channel for a period and its
    reference period: at most seven queries, whatever the number of channels or months."""
    scopes = [f"channel:{c}" for c in Channel.values]
    periods = [period] if reference is None else [period, reference]
    totals = metric_totals(
        organization=organization, codes=CHANNEL_METRICS, periods=periods, scopes=scopes
    )
    values = scope_values(organization=organization, kpis=kpis, periods=periods, scopes=scopes)
    rows = []
    for channel, label in Channel.choices:
        scope = f"channel:{channel}"
        metrics = {
            code: (
                totals[(scope, code, period)],
                totals[(scope, code, reference)] if reference else None,
            )
            for code in CHANNEL_METRICS
        }
        kpi_values = {}
        for kpi in kpis:
            current = values[(scope, kpi.pk, period)]
            previous = values[(scope, kpi.pk, reference)] if reference else None
            kpi_values[kpi.code] = (
                current,
                compare(current, previous, unit=kpi.unit, direction=kpi.direction),
            )
        rows.append(ChannelRow(channel, str(label), metrics, kpi_values))
    return rows


# ------------------------------------------------------------------------------- funnel

FUNNEL = ("impressions", "clicks", "visitors", "leads", "new_customers")


def funnel(
    *, organization: Organization, scope: str, period: Period
) -> list[tuple[str, Decimal | None]]:
    """(label, value) of the funnel's steps for a scope and a period: two queries."""
    labels = {
        m.code: m
        for m in Metric.objects.filter(organization=organization, code__in=FUNNEL).only(
            "code", "label_fr", "label_en", "rollup"
        )
    }
    monthly = kpi_selectors.monthly_metrics(
        organization=organization, first=period.start, last=period.end, scope=scope
    )
    monthly = {code: monthly[code] for code in FUNNEL if code in monthly and code in labels}
    aggregates = aggregate_period(
        monthly, {code: labels[code].rollup for code in monthly}, period.months
    )
    return [(labels[code].label, aggregates.get(code)) for code in FUNNEL if code in labels]


# --------------------------------------------------------------------------- KPI inputs


@dataclass(frozen=True)
class Input:
    code: str
    label: str
    value: Decimal | None
    is_kpi: bool
    kpi: KPI | None = None
    metric: Metric | None = None


@dataclass(frozen=True)
class Inputs:
    """Which metrics, which values and which formula make a number."""

    kpi: KPI
    period: Period
    scope: str
    formula: str
    value: Decimal | None
    inputs: list[Input]  # the formula's own references, metrics and KPIs
    base: list[Input]  # every base metric behind it, through other KPIs too


def kpi_inputs(*, organization: Organization, kpi: KPI, period: Period, scope: str) -> Inputs:
    """The metrics behind a KPI's value for a period: their stored monthly values rolled up
    over the period (DOMAIN rule 1), and the formula applied once. Three queries."""
    metric_rows = {m.code: m for m in Metric.objects.filter(organization=organization)}
    kpi_rows = {k.code: k for k in KPI.objects.filter(organization=organization)}
    catalog = tolerant_catalog(
        {code: k.formula for code, k in kpi_rows.items()}, metric_rows.keys()
    )
    monthly = kpi_selectors.monthly_metrics(
        organization=organization, first=period.start, last=period.end, scope=scope
    )
    rollups = {code: metric_rows[code].rollup for code in monthly if code in metric_rows}
    aggregates = aggregate_period(
        {c: v for c, v in monthly.items() if c in rollups}, rollups, period.months
    )
    values = (
        catalog.evaluate(aggregates, months=period.length) if kpi.code in catalog.formulas else {}
    )
    formula = catalog.formulas.get(kpi.code)
    references = (
        sorted(formula.references(), key=lambda c: formula.position_of(c) or 0) if formula else []
    )

    def make(code: str) -> Input:
        if code in kpi_rows:
            return Input(code, kpi_rows[code].label, values.get(code), True, kpi_rows[code])
        metric = metric_rows.get(code)
        return Input(
            code, metric.label if metric else code, aggregates.get(code), False, metric=metric
        )

    base = sorted(catalog.base_metrics(kpi.code)) if formula else []
    return Inputs(
        kpi=kpi,
        period=period,
        scope=scope,
        formula=kpi.formula,
        value=values.get(kpi.code),
        inputs=[make(code) for code in references],
        base=[make(code) for code in base],
    )


# ------------------------------------------------------------------- benchmarks, scopes


def kpi_benchmarks(*, organization: Organization, kpi: KPI) -> list[Benchmark]:
    return list(
        Benchmark.objects.filter(organization=organization, kpi=kpi).order_by(
            "label", "period_start"
        )
    )


@dataclass(frozen=True, slots=True)
class CampaignChoice:
    """What the pages need of a campaign: its menu entry and its budget (read as plain rows:
    an organization may have hundreds of campaigns, on every page's scope menu)."""

    pk: int
    name: str
    channel: str
    start_date: date
    end_date: date | None
    budget: Decimal

    def get_channel_display(self) -> str:
        return str(CHANNEL_LABELS.get(self.channel, self.channel))


CHANNEL_LABELS = dict(Channel.choices)


def scope_choices(
    *, organization: Organization
) -> tuple[list[CampaignChoice], list[tuple[str, str]]]:
    """The campaigns of the organization and the channels they use: one query."""
    campaigns = [
        CampaignChoice(*row)
        for row in Campaign.objects.filter(organization=organization)
        .order_by("name")
        .values_list("pk", "name", "channel", "start_date", "end_date", "budget")
    ]
    used = {c.channel for c in campaigns}
    channels = [(value, str(label)) for value, label in Channel.choices if value in used]
    return campaigns, channels


def objectives_of(
    *, organization: Organization, kpi: KPI | None = None, campaign: Campaign | None = None
) -> list[Objective]:
    """Objectives (with their KPI and campaigns) of a KPI or serving a campaign: two queries."""
    rows = Objective.objects.filter(organization=organization)
    if kpi is not None:
        rows = rows.filter(kpi=kpi)
    if campaign is not None:
        rows = rows.filter(campaigns=campaign)
    return list(
        rows.select_related("kpi").prefetch_related("campaigns").order_by("deadline", "title")
    )
