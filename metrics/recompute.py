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
from django.db.models import Max, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign
from kpiboard.data_version import organization_data_changed
from kpiboard.models import Organization

from .formulas import Catalog, FormulaError, compile_catalog
from .models import KPI, KPIValue, Metric, MetricAggregate, MetricEntry, StaleMark
from .periods import Period, periods_containing
from .rollups import aggregate_period

logger = logging.getLogger(__name__)

ALL = "all"
NULL = "\\N"  # COPY's text format for a NULL
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
    """Collects MetricAggregate and KPIValue rows, then writes them in bulk.

    On PostgreSQL rows are formatted here straight into COPY's text format (the columns
    that are the same for a whole period come first, so each row is one short f-string);
    elsewhere they go through bulk_create.
    """

    AGGREGATE_COLUMNS = ("organization_id", "scope", "grain", "period_start",
                         "inputs_changed_at", "metric_id", "value")  # fmt: skip
    KPI_COLUMNS = ("organization_id", "scope", "campaign_id", "grain", "period_start",
                   "computed_at", "inputs_changed_at", "kpi_id", "value")  # fmt: skip

    def __init__(self, ctx: Context, only_kpis: frozenset[str] | None = None) -> None:
        self.ctx = ctx
        self.only_kpis = only_kpis
        self.now = timezone.now()
        self.copy = connection.vendor == "postgresql"
        self.aggregates: list = []
        self.kpi_values: list = []
        self.written = 0

    def add(
        self,
        scope: str,
        campaign_id: int | None,
        period: Period,
        aggregates: dict[str, Decimal | None],
        values: dict[str, Decimal | None],
        inputs_changed: datetime,
    ) -> None:
        org_id = self.ctx.organization.pk
        only = self.only_kpis
        kpi_ids = self.ctx.kpi_ids
        metric_ids = self.ctx.metric_ids
        store_aggregates = campaign_id is None and only is None
        if self.copy:
            changed = inputs_changed.isoformat()
            if store_aggregates:
                head = f"{org_id}\t{scope}\t{period.grain}\t{period.start}\t{changed}\t"
                self.aggregates += [
                    f"{head}{metric_ids[code]}\t{value.quantize(AGGREGATE_QUANTUM)}\n"
                    for code, value in aggregates.items()
                    if value is not None
                ]
            campaign = NULL if campaign_id is None else campaign_id
            head = (f"{org_id}\t{scope}\t{campaign}\t{period.grain}\t{period.start}\t"
                    f"{self.now.isoformat()}\t{changed}\t")  # fmt: skip
            self.kpi_values += [
                f"{head}{kpi_ids[code]}\t"
                f"{NULL if value is None else value.quantize(VALUE_QUANTUM)}\n"
                for code, value in values.items()
                if only is None or code in only
            ]
            return
        if store_aggregates:
            self.aggregates += [
                (org_id, scope, period.grain, period.start, inputs_changed, metric_ids[code],
                 value.quantize(AGGREGATE_QUANTUM))
                for code, value in aggregates.items()
                if value is not None
            ]  # fmt: skip
        self.kpi_values += [
            (org_id, scope, campaign_id, period.grain, period.start, self.now, inputs_changed,
             kpi_ids[code], None if value is None else value.quantize(VALUE_QUANTUM))
            for code, value in values.items()
            if only is None or code in only
        ]  # fmt: skip

    def flush(self) -> None:
        self._write(MetricAggregate, self.AGGREGATE_COLUMNS, self.aggregates)
        self._write(KPIValue, self.KPI_COLUMNS, self.kpi_values)
        self.written += len(self.kpi_values)
        self.aggregates = []
        self.kpi_values = []

    def _write(self, model, columns: tuple[str, ...], rows: list, chunk: int = 50000) -> None:
        if not rows:
            return
        if self.copy:
            sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for i in range(0, len(rows), chunk):
                    copy.write("".join(rows[i : i + chunk]))
            return
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000
        )


def delete_stored(org: Organization, keys: Iterable[tuple[str, str, date]], *, kpis=None) -> None:
    """Remove what is stored for (scope, grain, period start) keys, before writing them again."""
    keys = sorted(set(keys))
    if not keys:
        return
    condition = Q()
    for scope, grain, start in keys:
        condition |= Q(scope=scope, grain=grain, period_start=start)
    values = KPIValue.objects.filter(condition, organization=org)
    if kpis is not None:
        values = values.filter(kpi_id__in=kpis)
    values.delete()
    if kpis is None:
        MetricAggregate.objects.filter(condition, organization=org).delete()


# --------------------------------------------------------------------------------------
# Full recompute


def load_entries(
    org: Organization, ctx: Context
) -> tuple[dict[int, Monthly], dict[int, dict[date, datetime]]]:
    """Every entry of the organization as campaign -> metric code -> month -> value."""
    per_campaign: dict[int, Monthly] = defaultdict(lambda: defaultdict(dict))
    per_campaign_changed: dict[int, dict[date, datetime]] = defaultdict(dict)
    codes = ctx.metric_codes
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT campaign_id, metric_id, month, value FROM metrics_metricentry "
            "WHERE organization_id = %s",
            [org.pk],
        )
        for campaign_id, metric_id, month, value in cursor.fetchall():
            per_campaign[campaign_id][codes[metric_id]][month] = Decimal(value)
        cursor.execute(
            "SELECT campaign_id, month, MAX(updated_at) FROM metrics_metricentry "
            "WHERE organization_id = %s GROUP BY campaign_id, month",
            [org.pk],
        )
        for campaign_id, month, latest in cursor.fetchall():
            per_campaign_changed[campaign_id][month] = latest
    return per_campaign, per_campaign_changed


def recompute_full(ctx: Context, *, only_kpis: frozenset[str] | None = None) -> int:
    """Rebuild every aggregate and KPI value of the organization (or only some KPIs')."""
    org = ctx.organization
    per_campaign, per_campaign_changed = load_entries(org, ctx)

    # Scopes made of several campaigns: sum month by month.
    groups: dict[str, list[int]] = defaultdict(list)
    for campaign_id in per_campaign:
        groups[ALL].append(campaign_id)
        groups[channel_scope(ctx.channels[campaign_id])].append(campaign_id)

    writer = RowWriter(ctx, only_kpis)
    for campaign_id, monthly in per_campaign.items():
        changed = per_campaign_changed[campaign_id]
        scope = campaign_scope(campaign_id)
        periods = scope_periods(changed, ctx.fiscal_start)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, campaign_id, period, aggregates, values, inputs)
    for scope, campaign_ids in groups.items():
        monthly, changed = sum_campaigns(
            [per_campaign[c] for c in campaign_ids], [per_campaign_changed[c] for c in campaign_ids]
        )
        periods = scope_periods(changed, ctx.fiscal_start)
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, None, period, aggregates, values, inputs)

    if only_kpis is None:
        MetricAggregate.objects.filter(organization=org).delete()
        KPIValue.objects.filter(organization=org).delete()
    else:
        KPIValue.objects.filter(organization=org, kpi__code__in=only_kpis).delete()
    writer.flush()
    return writer.written


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


def recompute_cells(ctx: Context, cells: set[tuple[int, date]]) -> int:
    """Recompute what (campaign, month) cells touch: for each campaign, its channel and all
    campaigns, the months and every stored period containing them. Nothing else."""
    org = ctx.organization
    fiscal_start = ctx.fiscal_start
    by_campaign: dict[int, set[date]] = defaultdict(set)
    for campaign_id, month in cells:
        if campaign_id in ctx.channels:  # a deleted campaign took its values with it
            by_campaign[campaign_id].add(month)
    if not by_campaign:
        return 0
    writer = RowWriter(ctx)
    stale_keys: list[tuple[str, str, date]] = []

    # 1. Each campaign: periods containing its touched months, from its own entries.
    campaign_periods = {c: scope_periods(months, fiscal_start) for c, months in by_campaign.items()}
    span = sorted({m for periods in campaign_periods.values() for p in periods for m in p.months})
    monthly_by_campaign: dict[int, Monthly] = defaultdict(lambda: defaultdict(dict))
    changed_by_campaign: dict[int, dict[date, datetime]] = defaultdict(dict)
    for campaign_id, metric_id, month, value, updated_at in MetricEntry.objects.filter(
        campaign_id__in=list(by_campaign), month__gte=span[0], month__lte=span[-1]
    ).values_list("campaign_id", "metric_id", "month", "value", "updated_at"):
        monthly_by_campaign[campaign_id][ctx.metric_codes[metric_id]][month] = value
        changed = changed_by_campaign[campaign_id]
        if month not in changed or changed[month] < updated_at:
            changed[month] = updated_at
    for campaign_id, periods in campaign_periods.items():
        scope = campaign_scope(campaign_id)
        stale_keys += [(scope, p.grain, p.start) for p in periods]
        monthly = monthly_by_campaign[campaign_id]
        changed = changed_by_campaign[campaign_id]
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, campaign_id, period, aggregates, values, inputs)

    # 2. Channels and all campaigns: the monthly totals of the touched months are an
    #    indexed sum over each month's entries; the other months of the periods above them
    #    are read from the stored monthly totals.
    touched_by_scope: dict[str, set[date]] = defaultdict(set)
    for campaign_id, months in by_campaign.items():
        touched_by_scope[ALL] |= months
        touched_by_scope[channel_scope(ctx.channels[campaign_id])] |= months
    touched_months = set().union(*touched_by_scope.values())
    fresh: dict[str, Monthly] = defaultdict(lambda: defaultdict(dict))
    fresh_changed: dict[str, dict[date, datetime]] = defaultdict(dict)
    for channel, metric_id, month, total, latest in (
        MetricEntry.objects.filter(organization=org, month__in=touched_months)
        .values("campaign__channel", "metric_id", "month")
        .annotate(total=Sum("value"), latest=Max("updated_at"))
        .values_list("campaign__channel", "metric_id", "month", "total", "latest")
    ):
        code = ctx.metric_codes[metric_id]
        for scope in (ALL, channel_scope(channel)):
            if scope not in touched_by_scope:
                continue
            target = fresh[scope][code]
            target[month] = target.get(month, Decimal(0)) + total
            changed = fresh_changed[scope]
            changed[month] = max(changed.get(month, latest), latest)
    scope_periods_map = {
        scope: scope_periods(months, fiscal_start) for scope, months in touched_by_scope.items()
    }
    span = sorted({m for periods in scope_periods_map.values() for p in periods for m in p.months})
    stored: dict[str, Monthly] = defaultdict(lambda: defaultdict(dict))
    stored_changed: dict[str, dict[date, datetime]] = defaultdict(dict)
    for scope, metric_id, month, value, inputs in MetricAggregate.objects.filter(
        organization=org, scope__in=list(touched_by_scope), grain="month",
        period_start__gte=span[0], period_start__lte=span[-1],
    ).exclude(period_start__in=touched_months).values_list(
        "scope", "metric_id", "period_start", "value", "inputs_changed_at"
    ):  # fmt: skip
        stored[scope][ctx.metric_codes[metric_id]][month] = value
        changed = stored_changed[scope]
        changed[month] = max(changed.get(month, inputs), inputs)
    for scope, periods in scope_periods_map.items():
        monthly = stored[scope]
        changed = stored_changed[scope]
        for code, values in fresh[scope].items():
            monthly[code].update(values)
        changed.update(fresh_changed[scope])
        # A touched month whose values are all gone is no longer stored.
        stale_keys += [(scope, p.grain, p.start) for p in periods]
        for period, aggregates, values, inputs in compute_scope(
            ctx, scope, monthly, changed, periods
        ):
            writer.add(scope, None, period, aggregates, values, inputs)

    delete_stored(org, stale_keys)
    writer.flush()
    return writer.written


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
        organization_data_changed(organization_id=organization.pk)
        return count


def kpis_recompute_all(*, organization: Organization) -> int:
    """Rebuild everything now (manage.py recompute_kpis), clearing every mark."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        ctx = load_context(organization)
        count = recompute_full(ctx)
        StaleMark.objects.filter(organization=organization).delete()
        organization_data_changed(organization_id=organization.pk)
        return count
