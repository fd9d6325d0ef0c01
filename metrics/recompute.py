"""Materialize KPI values so that pages read stored numbers only.

DOMAIN rule 1 drives the shape: metrics are aggregated first, the formula is applied once.
For a scope (a campaign, a channel, all campaigns) and a period (month, quarter, year, fiscal
quarter, fiscal year) we store each metric's aggregate (MetricAggregate; a campaign's months
are its entries) and each KPI's value (KPIValue). Across campaigns metrics sum month by month;
over time each metric rolls up as declared (metrics.rollups).

A change marks (campaign, month) cells stale in its own transaction (services.kpis_mark_stale).
`kpis_recompute_stale` takes the organization's lock, recomputes what the marks cover (the
cells' months and every stored period containing them, for the campaign, its channel and all
campaigns) and deletes the marks it covered, in one transaction: running it twice, or twice
at once, leaves the same rows.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from campaigns.models import Campaign
from kpiboard.models import Organization

from .formulas import Catalog, FormulaError, compile_catalog
from .models import KPI, KPIValue, Metric, MetricAggregate, MetricEntry, StaleMark
from .periods import Period, periods_containing
from .rollups import aggregate_period

logger = logging.getLogger(__name__)

ALL = "all"
VALUE_QUANTUM = Decimal("1e-10")
AGGREGATE_QUANTUM = Decimal("1e-6")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def campaign_scope(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def channel_scope(channel: str) -> str:
    return f"channel:{channel}"


@dataclass
class Context:
    """What a recompute needs to know about an organization, read once."""

    organization: Organization
    metric_codes: dict[int, str]  # metric id -> code
    metric_ids: dict[str, int]
    rollups: dict[str, str]
    kpi_ids: dict[str, int]
    catalog: Catalog
    channels: dict[int, str]  # campaign id -> channel

    @property
    def fiscal_start(self) -> int:
        return self.organization.fiscal_year_start_month


def tolerant_catalog(formulas: dict[str, str], metric_codes: Iterable[str]) -> Catalog:
    """Compile the organization's KPIs; a broken formula (saved before checks existed, or
    through the database) costs its own KPI and those built on it, not the whole recompute."""
    formulas = dict(formulas)
    metric_codes = list(metric_codes)
    while True:
        try:
            return compile_catalog(formulas, metric_codes)
        except FormulaError as error:
            if error.kpi is None or error.kpi not in formulas:
                raise
            logger.error("KPI %s is skipped: %s", error.kpi, error)
            del formulas[error.kpi]


def load_context(organization: Organization) -> Context:
    metrics = list(
        Metric.objects.filter(organization=organization).values_list("id", "code", "rollup")
    )
    kpis = list(KPI.objects.filter(organization=organization).values_list("id", "code", "formula"))
    metric_codes = {pk: code for pk, code, _ in metrics}
    catalog = tolerant_catalog({code: formula for _, code, formula in kpis}, metric_codes.values())
    return Context(
        organization=organization,
        metric_codes=metric_codes,
        metric_ids={code: pk for pk, code in metric_codes.items()},
        rollups={code: rollup for _, code, rollup in metrics},
        kpi_ids={code: pk for pk, code, _ in kpis if code in catalog.order},
        catalog=catalog,
        channels=dict(
            Campaign.objects.filter(organization=organization).values_list("id", "channel")
        ),
    )


# --------------------------------------------------------------------------------------
# Pure part: from monthly metric values of one scope to aggregates and KPI values.

Monthly = dict[str, dict[date, Decimal]]  # metric code -> month -> value
Row = tuple[
    str, str, date, dict[str, Decimal | None], datetime
]  # scope, grain, start, values, changed


def scope_periods(months: Iterable[date], fiscal_start: int) -> list[Period]:
    seen: dict[tuple[str, date], Period] = {}
    for month in months:
        for period in periods_containing(month, fiscal_start):
            seen.setdefault((period.grain, period.start), period)
    return list(seen.values())


def compute_scope(
    ctx: Context,
    scope: str,
    monthly: Monthly,
    changed: dict[date, datetime],
    periods: Iterable[Period],
) -> Iterator[tuple[Period, dict[str, Decimal | None], dict[str, Decimal | None], datetime]]:
    """For each period: its metric aggregates, its KPI values, and its inputs' last change."""
    rollups = {code: ctx.rollups[code] for code in monthly}
    for period in periods:
        months = period.months
        if period.grain == "month":
            month = months[0]
            aggregates = {code: values.get(month) for code, values in monthly.items()}
        else:
            aggregates = aggregate_period(monthly, rollups, months)
        if all(v is None for v in aggregates.values()):
            continue
        inputs_changed = max((changed[m] for m in months if m in changed), default=EPOCH)
        values = ctx.catalog.evaluate(aggregates, months=len(months))
        yield period, aggregates, values, inputs_changed


# --------------------------------------------------------------------------------------
# Writing


class RowWriter:
    """Collects MetricAggregate and KPIValue rows, then writes them in bulk (COPY on PostgreSQL)."""

    def __init__(self, ctx: Context, only_kpis: frozenset[str] | None = None) -> None:
        self.ctx = ctx
        self.only_kpis = only_kpis
        self.now = timezone.now()
        self.aggregates: list[tuple] = []
        self.kpi_values: list[tuple] = []

    def add(
        self,
        scope: str,
        campaign_id: int | None,
        period: Period,
        aggregates: dict[str, Decimal | None],
        values: dict[str, Decimal | None],
        inputs_changed: datetime,
        *,
        store_aggregates: bool,
    ) -> None:
        org_id = self.ctx.organization.pk
        if store_aggregates and self.only_kpis is None:
            metric_ids = self.ctx.metric_ids
            for code, value in aggregates.items():
                if value is not None:
                    self.aggregates.append(
                        (org_id, metric_ids[code], scope, campaign_id, period.grain, period.start,
                         value.quantize(AGGREGATE_QUANTUM), inputs_changed)
                    )  # fmt: skip
        kpi_ids = self.ctx.kpi_ids
        for code, value in values.items():
            if self.only_kpis is not None and code not in self.only_kpis:
                continue
            self.kpi_values.append(
                (org_id, kpi_ids[code], scope, campaign_id, period.grain, period.start,
                 None if value is None else value.quantize(VALUE_QUANTUM), self.now, inputs_changed)
            )  # fmt: skip

    def flush(self) -> None:
        copy_rows(
            MetricAggregate,
            ["organization_id", "metric_id", "scope", "campaign_id", "grain", "period_start",
             "value", "inputs_changed_at"],
            self.aggregates,
        )  # fmt: skip
        copy_rows(
            KPIValue,
            ["organization_id", "kpi_id", "scope", "campaign_id", "grain", "period_start",
             "value", "computed_at", "inputs_changed_at"],
            self.kpi_values,
        )  # fmt: skip
        self.aggregates = []
        self.kpi_values = []


def copy_rows(model, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000
    )


# --------------------------------------------------------------------------------------
# Full recompute


def recompute_full(ctx: Context, *, only_kpis: frozenset[str] | None = None) -> int:
    """Rebuild every aggregate and KPI value of the organization (or only some KPIs')."""
    org = ctx.organization
    per_campaign: dict[int, Monthly] = defaultdict(lambda: defaultdict(dict))
    per_campaign_changed: dict[int, dict[date, datetime]] = defaultdict(dict)
    codes = ctx.metric_codes
    rows = MetricEntry.objects.filter(organization=org).values_list(
        "campaign_id", "metric_id", "month", "value", "updated_at"
    )
    for campaign_id, metric_id, month, value, updated_at in rows.iterator(chunk_size=20000):
        per_campaign[campaign_id][codes[metric_id]][month] = value
        changed = per_campaign_changed[campaign_id]
        if month not in changed or changed[month] < updated_at:
            changed[month] = updated_at

    # Scopes made of several campaigns: sum month by month.
    groups: dict[str, list[int]] = defaultdict(list)
    for campaign_id in per_campaign:
        groups[ALL].append(campaign_id)
        groups[channel_scope(ctx.channels[campaign_id])].append(campaign_id)

    writer = RowWriter(ctx, only_kpis)
    for campaign_id, monthly in per_campaign.items():
        changed = per_campaign_changed[campaign_id]
        scope = campaign_scope(campaign_id)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, scope_periods(changed, ctx.fiscal_start)
        ):
            writer.add(scope, campaign_id, period, aggregates, values, inputs,
                       store_aggregates=period.grain != "month")  # fmt: skip
    for scope, campaign_ids in groups.items():
        monthly, changed = sum_campaigns(
            [per_campaign[c] for c in campaign_ids], [per_campaign_changed[c] for c in campaign_ids]
        )
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, scope_periods(changed, ctx.fiscal_start)
        ):
            writer.add(scope, None, period, aggregates, values, inputs, store_aggregates=True)

    if only_kpis is None:
        MetricAggregate.objects.filter(organization=org).delete()
        KPIValue.objects.filter(organization=org).delete()
    else:
        KPIValue.objects.filter(organization=org, kpi__code__in=only_kpis).delete()
    count = len(writer.kpi_values)
    writer.flush()
    return count


def sum_campaigns(
    monthlies: list[Monthly], changes: list[dict[date, datetime]]
) -> tuple[Monthly, dict[date, datetime]]:
    total: Monthly = defaultdict(dict)
    for monthly in monthlies:
        for code, values in monthly.items():
            target = total[code]
            for month, value in values.items():
                target[month] = target[month] + value if month in target else value
    changed: dict[date, datetime] = {}
    for change in changes:
        for month, at in change.items():
            if month not in changed or changed[month] < at:
                changed[month] = at
    return total, changed


# --------------------------------------------------------------------------------------
# Incremental recompute


def delete_stored(org: Organization, scope: str, periods: Iterable[Period]) -> None:
    """Remove what is stored for these periods of a scope, before writing it again."""
    by_grain: dict[str, list[date]] = defaultdict(list)
    for period in periods:
        by_grain[period.grain].append(period.start)
    for grain, starts in by_grain.items():
        KPIValue.objects.filter(
            organization=org, scope=scope, grain=grain, period_start__in=starts
        ).delete()
        MetricAggregate.objects.filter(
            organization=org, scope=scope, grain=grain, period_start__in=starts
        ).delete()


def recompute_cells(ctx: Context, cells: set[tuple[int, date]]) -> int:
    """Recompute what (campaign, month) cells touch: for each campaign, its channel and all
    campaigns, the months and every stored period containing them. Nothing else."""
    org = ctx.organization
    fiscal_start = ctx.fiscal_start
    by_campaign: dict[int, set[date]] = defaultdict(set)
    for campaign_id, month in cells:
        if campaign_id in ctx.channels:  # a deleted campaign took its values with it
            by_campaign[campaign_id].add(month)
    writer = RowWriter(ctx)
    count = 0

    # 1. Each campaign: periods containing its touched months, from its own entries.
    for campaign_id, months in by_campaign.items():
        periods = scope_periods(months, fiscal_start)
        span = sorted({m for p in periods for m in p.months})
        monthly: Monthly = defaultdict(dict)
        changed: dict[date, datetime] = {}
        for metric_id, month, value, updated_at in MetricEntry.objects.filter(
            campaign_id=campaign_id, month__gte=span[0], month__lte=span[-1]
        ).values_list("metric_id", "month", "value", "updated_at"):
            monthly[ctx.metric_codes[metric_id]][month] = value
            if month not in changed or changed[month] < updated_at:
                changed[month] = updated_at
        scope = campaign_scope(campaign_id)
        delete_stored(org, scope, periods)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, campaign_id, period, aggregates, values, inputs,
                       store_aggregates=period.grain != "month")  # fmt: skip

    # 2. Channels and all campaigns: first their monthly totals for the touched months,
    #    an indexed sum over the month's entries, then the periods above them.
    touched_by_scope: dict[str, set[date]] = defaultdict(set)
    for campaign_id, months in by_campaign.items():
        touched_by_scope[ALL] |= months
        touched_by_scope[channel_scope(ctx.channels[campaign_id])] |= months
    for scope, months in touched_by_scope.items():
        entries = MetricEntry.objects.filter(organization=org, month__in=months)
        if scope != ALL:
            entries = entries.filter(campaign__channel=scope.removeprefix("channel:"))
        totals: Monthly = defaultdict(dict)
        changed = {}
        for metric_id, month, total, latest in (
            entries.values("metric_id", "month")
            .annotate(total=Sum("value"), latest=Max("updated_at"))
            .values_list("metric_id", "month", "total", "latest")
        ):
            totals[ctx.metric_codes[metric_id]][month] = total
            changed[month] = max(changed.get(month, latest), latest)
        month_periods = [Period.month(m.year, m.month) for m in months]
        delete_stored(org, scope, month_periods)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, totals, changed, month_periods
        ):
            writer.add(scope, None, period, aggregates, values, inputs, store_aggregates=True)
        # The monthly totals must be stored before the periods above them read them.
        count += len(writer.kpi_values)
        writer.flush()

        periods = [p for p in scope_periods(months, fiscal_start) if p.grain != "month"]
        span = sorted({m for p in periods for m in p.months})
        monthly = defaultdict(dict)
        changed = {}
        for metric_id, month, value, inputs in MetricAggregate.objects.filter(
            organization=org, scope=scope, grain="month", period_start__gte=span[0],
            period_start__lte=span[-1],
        ).values_list("metric_id", "period_start", "value", "inputs_changed_at"):  # fmt: skip
            monthly[ctx.metric_codes[metric_id]][month] = value
            changed[month] = max(changed.get(month, inputs), inputs)
        delete_stored(org, scope, periods)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, None, period, aggregates, values, inputs, store_aggregates=True)
    count += len(writer.kpi_values)
    writer.flush()
    return count


# --------------------------------------------------------------------------------------
# Entry points


def kpis_recompute_stale(*, organization_id: int) -> int:
    """Recompute what the organization's stale marks cover, then clear those marks.

    Returns the number of KPI values written. Safe to run twice, or concurrently: the
    organization row is locked for the duration, and a second run finds no marks left.
    """
    with transaction.atomic():
        organization = (
            Organization.objects.select_for_update(no_key=True).filter(pk=organization_id).first()
        )
        if organization is None:
            return 0
        marks = list(
            StaleMark.objects.filter(organization=organization).values_list(
                "id", "campaign_id", "month", "kpi_id"
            )
        )
        if not marks:
            return 0
        ctx = load_context(organization)
        full = any(c is None and k is None for _, c, _m, k in marks)
        kpi_ids = {k for _, _c, _m, k in marks if k is not None}
        cells = {(c, m) for _, c, m, _k in marks if c is not None and m is not None}
        count = 0
        if full:
            count = recompute_full(ctx)
        else:
            if kpi_ids:
                codes = set(KPI.objects.filter(pk__in=kpi_ids).values_list("code", flat=True))
                affected = set(codes)
                for code in codes:
                    if code in ctx.catalog.order:
                        affected |= ctx.catalog.dependents(code)
                count += recompute_full(ctx, only_kpis=frozenset(affected))
            if cells:
                count += recompute_cells(ctx, cells)
        StaleMark.objects.filter(id__in=[m[0] for m in marks]).delete()
        return count


def kpis_recompute_all(*, organization: Organization) -> int:
    """Rebuild everything now (manage.py recompute_kpis), clearing every mark."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        ctx = load_context(organization)
        count = recompute_full(ctx)
        StaleMark.objects.filter(organization=organization).delete()
        return count
