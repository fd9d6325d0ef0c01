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

A full recompute streams: it reads the entries of a few campaigns at a time, stores their
rows while it computes the next campaigns', and keeps only the channels' and all campaigns'
monthly totals (scopes x months x metrics), so its memory does not grow with the number of
campaigns. Over values already stored it writes only the rows whose value or inputs changed:
a stored row says when it was computed (computed_at) and from which state of its inputs
(inputs_changed_at), and both stay true of a row computed again to the same result.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import cast

from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from psycopg.types.datetime import TimestamptzLoader

from campaigns.models import Campaign, Channel
from kpiboard.data_version import organization_data_changed
from kpiboard.models import Organization

from .formulas import Catalog, FormulaError, compile_catalog
from .models import KPI, KPIValue, Metric, MetricAggregate, MetricEntry, StaleMark
from .periods import Period, periods_containing
from .rollups import Rollup, aggregate_period, combine_periods

logger = logging.getLogger(__name__)

ALL = "all"
NULL = "\\N"  # COPY's text format for a NULL
VALUE_QUANTUM = Decimal("1e-10")
AGGREGATE_QUANTUM = Decimal("1e-6")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def channel_scopes() -> list[str]:
    """Every channel's scope."""
    return [channel_scope(channel) for channel in Channel.values]


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
    rollups: dict[str, Rollup]
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


def organization_catalog(organization: Organization) -> tuple[Catalog, dict[str, Rollup]]:
    """The organization's KPIs compiled (tolerant_catalog) and its metrics' roll-ups, by code:
    two queries, for the selectors that evaluate formulas on the fly."""
    rollups: dict[str, Rollup] = dict(
        Metric.objects.filter(organization=organization).values_list("code", "rollup")
    )
    formulas = dict(KPI.objects.filter(organization=organization).values_list("code", "formula"))
    return tolerant_catalog(formulas, rollups), rollups


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
        rollups={code: cast(Rollup, rollup) for _, code, rollup in metrics},
        kpi_ids={code: pk for pk, code, _ in kpis if code in catalog.order},
        catalog=catalog,
        channels=dict(
            Campaign.objects.filter(organization=organization).values_list("id", "channel")
        ),
    )


# --------------------------------------------------------------------------------------
# Pure part: from monthly metric values of one scope to aggregates and KPI values.

Monthly = dict[str, dict[date, Decimal]]  # metric code -> month -> value
MonthValues = dict[date, dict[str, Decimal]]  # month -> metric code -> value (with a value)
Aggregates = Mapping[str, Decimal | None]
Result = tuple[Period, Aggregates, dict[str, Decimal | None], datetime]


class PeriodPlan:
    """The stored periods containing each month, built once per recompute and shared by
    its scopes (a Period checks itself when built: too slow to do again for every scope).

    Stored: months, quarters and years; fiscal years when the fiscal year does not start
    in January; and fiscal quarters when they are not calendar quarters. A fiscal year
    starting in April, July or October has the calendar quarters: each is stored once, as
    a quarter, where metrics.selectors.stored_grain reads it.
    """

    def __init__(self, fiscal_start: int) -> None:
        self.fiscal_start = fiscal_start
        self.fiscal_years = fiscal_start != 1
        self.fiscal_quarters = (fiscal_start - 1) % 3 != 0
        self._containing: dict[date, list[Period]] = {}
        self._stored: dict[date, list[Period]] = {}

    def containing(self, month: date) -> list[Period]:
        """Its month, quarter and year [, fiscal quarter and fiscal year]."""
        periods = self._containing.get(month)
        if periods is None:
            periods = self._containing[month] = periods_containing(month, self.fiscal_start)
        return periods

    def stored(self, month: date) -> list[Period]:
        """The stored periods containing ``month``."""
        periods = self._stored.get(month)
        if periods is None:
            periods = self.containing(month)
            if self.fiscal_years and not self.fiscal_quarters:
                periods = [period for period in periods if period.grain != "fiscal_quarter"]
            self._stored[month] = periods
        return periods

    def scope_periods(self, months: Iterable[date]) -> list[Period]:
        """The stored periods containing any of ``months``, each once."""
        seen: dict[Period, None] = {}
        for month in months:
            seen.update(dict.fromkeys(self.stored(month)))
        return list(seen)


def compute_scope(
    ctx: Context,
    scope: str,
    monthly: Monthly,
    changed: dict[date, datetime],
    periods: Iterable[Period],
) -> Iterator[Result]:
    """For each period: its metric aggregates, its KPI values, and its inputs' last change.

    Each period is rolled up from its months: the incremental recompute's few periods."""
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


def compute_all_periods(
    catalog: Catalog,
    rollups: Mapping[str, Rollup],
    plan: PeriodPlan,
    months: MonthValues,
    changed: Mapping[date, datetime],
) -> list[Result]:
    """Every stored period of a scope that has data: the full recompute's way.

    ``months``: each month with data -> its metrics' values; ``changed``: each month -> its
    inputs' last change. Quarters are rolled up from their months, years from their
    quarters, fiscal years from their fiscal quarters (the roll-ups are associative, see
    combine_periods). Sorted as stored (grain, period start): the writes stay local.
    """
    evaluate = catalog.evaluate
    ordered = sorted(months)
    containing = [plan.containing(month) for month in ordered]
    results: list[Result] = [
        (periods[0], months[month], evaluate(months[month], months=1), changed[month])
        for month, periods in zip(ordered, containing, strict=True)
    ]

    def rolled_up(period: Period, parts: list[Result], length: int) -> Result:
        aggregates = combine_periods([part[1] for part in parts], rollups)
        inputs_changed = max(part[3] for part in parts)
        return period, aggregates, evaluate(aggregates, months=length), inputs_changed

    def by(index: int, parts: list[Result], length: int) -> list[Result]:
        """Roll ``parts`` (in order) up into the periods of plan.containing()[index]."""
        grouped = groupby(parts, lambda part: plan.containing(part[0].start)[index])
        return [rolled_up(period, list(group), length) for period, group in grouped]

    month_results = results[:]
    quarters = by(1, month_results, 3)
    results += quarters
    results += by(2, quarters, 12)
    if plan.fiscal_years:
        fiscal_quarters = quarters  # the same months (see PeriodPlan)
        if plan.fiscal_quarters:
            fiscal_quarters = by(3, month_results, 3)
            results += fiscal_quarters
        results += by(4, fiscal_quarters, 12)
    results.sort(key=lambda result: (result[0].grain, result[0].start))
    return results


# --------------------------------------------------------------------------------------
# Writing


class RowWriter:
    """Collects MetricAggregate and KPIValue rows, then writes them in bulk.

    On PostgreSQL rows are formatted here straight into COPY's text format (the columns
    that are the same for a whole period come first, so each row is one short f-string);
    elsewhere they are tuples for bulk_create. (A binary COPY would spare the database a
    third of its parsing, and cost Python twice as much: psycopg dumps a Decimal to binary
    in 1.5 us, str() takes 0.2.)
    """

    AGGREGATE_COLUMNS = ("organization_id", "scope", "grain", "period_start",
                         "inputs_changed_at", "metric_id", "value")  # fmt: skip
    # computed_at: the database's clock (its default), when the row is written.
    KPI_COLUMNS = ("organization_id", "scope", "campaign_id", "grain", "period_start",
                   "inputs_changed_at", "kpi_id", "value")  # fmt: skip

    def __init__(self, ctx: Context, only_kpis: frozenset[str] | None = None) -> None:
        self.ctx = ctx
        self.only_kpis = only_kpis
        self.copy = connection.vendor == "postgresql"
        # (code, id) of the KPIs to store, by id: the order of the stored rows.
        self.kpis = sorted(
            ((code, pk) for code, pk in ctx.kpi_ids.items() if only_kpis is None or code in only_kpis),
            key=lambda kpi: kpi[1],
        )  # fmt: skip
        self.aggregates: list = []
        self.kpi_values: list = []
        self.written = 0
        self._texts: dict[datetime, str] = {}

    def add(
        self,
        scope: str,
        campaign_id: int | None,
        period: Period,
        aggregates: Aggregates,
        values: dict[str, Decimal | None],
        inputs_changed: datetime,
    ) -> None:
        org_id = self.ctx.organization.pk
        grain, start = period.grain, period.start
        store_aggregates = campaign_id is None and self.only_kpis is None
        get = values.get
        self.written += len(self.kpis)
        if self.copy:
            changed = self._texts.get(inputs_changed)
            if changed is None:
                changed = self._texts[inputs_changed] = inputs_changed.isoformat()
            if store_aggregates:
                metric_ids = self.ctx.metric_ids
                head = f"{org_id}\t{scope}\t{grain}\t{start}\t{changed}\t"
                self.aggregates += [
                    f"{head}{metric_ids[code]}\t{value.quantize(AGGREGATE_QUANTUM)}\n"
                    for code, value in aggregates.items()
                    if value is not None
                ]
            campaign = NULL if campaign_id is None else campaign_id
            head = f"{org_id}\t{scope}\t{campaign}\t{grain}\t{start}\t{changed}\t"
            # Formatting with 10 places rounds as quantize(VALUE_QUANTUM) does, 20 % faster.
            self.kpi_values += [
                f"{head}{pk}\t{NULL}\n" if (value := get(code)) is None
                else f"{head}{pk}\t{value:.10f}\n"
                for code, pk in self.kpis
            ]  # fmt: skip
            return
        if store_aggregates:
            metric_ids = self.ctx.metric_ids
            self.aggregates += [
                (org_id, scope, grain, start, inputs_changed, metric_ids[code],
                 value.quantize(AGGREGATE_QUANTUM))
                for code, value in aggregates.items()
                if value is not None
            ]  # fmt: skip
        self.kpi_values += [
            (org_id, scope, campaign_id, grain, start, inputs_changed, pk,
             None if (value := get(code)) is None else value.quantize(VALUE_QUANTUM))
            for code, pk in self.kpis
        ]  # fmt: skip

    def take(self) -> tuple[list, list]:
        """The rows added since the last take: (aggregates, KPI values)."""
        rows = self.aggregates, self.kpi_values
        self.aggregates, self.kpi_values = [], []
        self._texts.clear()  # a batch's inputs' timestamps: it would grow with the campaigns
        return rows

    def flush(self) -> None:
        aggregates, kpi_values = self.take()
        write_rows(MetricAggregate, aggregates)
        write_rows(KPIValue, kpi_values)


def _columns(model) -> tuple[str, ...]:
    return RowWriter.KPI_COLUMNS if model is KPIValue else RowWriter.AGGREGATE_COLUMNS


def _key_columns(model) -> tuple[str, ...]:
    """The primary key's columns."""
    return tuple(field.column for field in model._meta.pk_fields)


def write_rows(model, rows: list) -> None:
    """Insert RowWriter rows of ``model``: COPY on PostgreSQL, bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_rows(cursor.cursor, model._meta.db_table, model, rows)
        return
    columns = _columns(model)
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000
    )


def copy_rows(cursor, table: str, model, rows: list[str], chunk: int = 20000) -> None:
    """COPY RowWriter rows of ``model`` into ``table`` on a psycopg cursor."""
    if not rows:
        return
    with cursor.copy(f"COPY {table} ({', '.join(_columns(model))}) FROM STDIN") as copy:
        for i in range(0, len(rows), chunk):
            copy.write("".join(rows[i : i + chunk]))


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

CAMPAIGNS_PER_BATCH = 16
STATE_COLUMNS = ("value", "inputs_changed_at")  # what makes a stored row the computed one


class FullStore:
    """Where a full recompute puts its rows, batch by batch. A batch covers whole scopes:
    afterwards a scope of the batch has exactly the batch's rows (none if it has none).
    A stored row computed again to the same value from the same inputs' state is left as
    it is (its computed_at stays true); the others are deleted, the new ones inserted.

    This generic version (SQLite, the embedded mode) compares the rows here.
    """

    def __init__(self, ctx: Context, kpi_ids: list[int] | None) -> None:
        self.ctx = ctx
        self.kpi_ids = kpi_ids  # only these KPIs' values (a formula changed), no aggregates

    def submit(self, scopes: list[str], aggregates: list, kpi_values: list) -> None:
        """Store the rows of ``scopes`` (computed rows; a scope without rows has none)."""
        org = self.ctx.organization
        for model, rows in ((MetricAggregate, aggregates), (KPIValue, kpi_values)):
            stored = model.objects.filter(organization=org, scope__in=scopes)
            if self.kpi_ids is not None:
                if model is MetricAggregate:
                    continue
                stored = stored.filter(kpi_id__in=self.kpi_ids)
            columns = _columns(model)
            keys = _key_columns(model)[1:]  # the organization's: not needed
            rows_key = itemgetter(*(columns.index(c) for c in keys))
            rows_state = itemgetter(*(columns.index(c) for c in STATE_COLUMNS))
            existing = {
                tuple(row[: len(keys)]): tuple(row[len(keys) :])
                for row in stored.values_list(*keys, *STATE_COLUMNS)
            }
            kept = set()
            fresh = []
            for row in rows:
                row_key = rows_key(row)
                if existing.get(row_key) == rows_state(row):
                    kept.add(row_key)
                else:
                    fresh.append(row)
            gone = [(org.pk, *row_key) for row_key in existing if row_key not in kept]
            for first in range(0, len(gone), 100):
                model.objects.filter(pk__in=gone[first : first + 100]).delete()
            write_rows(model, fresh)

    def wait(self) -> None:
        """The database connection is free for the caller again."""

    def finish(self) -> None:
        """Every batch is stored."""

    def abandon(self) -> None:
        """The recompute failed (its transaction rolls back)."""


@dataclass(frozen=True)
class _Table:
    model: type
    columns: tuple[str, ...]
    item: str  # "kpi_id" or "metric_id"
    staging: str


class PostgresFullStore(FullStore):
    """COPY in a background thread: PostgreSQL stores a batch while Python computes the
    next one (the thread uses the connection only while the caller does not, see wait()).

    When the organization has no rows yet, they are copied straight into the tables.
    Otherwise each batch goes to a temporary table first and only the difference is
    written: stored rows whose value or inputs changed (or that are no longer computed)
    are deleted, computed rows not stored as they are are inserted. A stored row computed
    again to the same value from the same inputs' state is left as it is.
    """

    # The stored rows of a batch's scopes. The range bounds the index scan whatever the
    # planner believes of the organization's size: its statistics lag behind a first build,
    # and it then prefers reading every row of the organization to a search per scope.
    BATCH = ("stored.organization_id = %(org)s AND stored.scope = ANY(%(scopes)s)"
             " AND stored.scope BETWEEN (SELECT min(s) FROM unnest(%(scopes)s::text[]) AS s)"
             " AND (SELECT max(s) FROM unnest(%(scopes)s::text[]) AS s)")  # fmt: skip

    def __init__(self, ctx: Context, kpi_ids: list[int] | None) -> None:
        super().__init__(ctx, kpi_ids)
        self.params: dict = {"org": ctx.organization.pk, "kpis": kpi_ids}
        self.tables = [_Table(KPIValue, RowWriter.KPI_COLUMNS, "kpi_id", "recompute_kpi_values")]
        if kpi_ids is None:
            self.tables.insert(
                0,
                _Table(MetricAggregate, RowWriter.AGGREGATE_COLUMNS, "metric_id",
                       "recompute_aggregates"),
            )  # fmt: skip
        with connection.cursor() as cursor:
            stored = " OR ".join(
                f"EXISTS (SELECT FROM {table.model._meta.db_table}"
                f" WHERE organization_id = %(org)s{self._filter(table)})"
                for table in self.tables
            )
            cursor.execute(f"SELECT {stored}", self.params)
            (self.merge,) = cursor.fetchone()
            if self.merge:
                for table in self.tables:
                    cursor.execute(
                        f"CREATE TEMPORARY TABLE IF NOT EXISTS {table.staging} ON COMMIT DROP"  # noqa: S608
                        f" AS SELECT {', '.join(table.columns)} FROM {table.model._meta.db_table}"
                        " WITH NO DATA"
                    )
        self.pg = connection.connection  # the psycopg connection under Django's
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpi-recompute")
        self.pending: Future | None = None
        self.inserted = self.deleted = 0

    def submit(self, scopes: list[str], aggregates: list, kpi_values: list) -> None:
        self.wait()
        rows = [aggregates, kpi_values] if len(self.tables) == 2 else [kpi_values]
        self.pending = self.executor.submit(self._store, scopes, rows)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def finish(self) -> None:
        self.wait()
        self.executor.shutdown()
        if self.merge:
            with self.pg.cursor() as cursor:
                for table in self.tables:
                    cursor.execute(f"DROP TABLE {table.staging}")
        logger.info(
            "Organization %s: full recompute, %s rows inserted, %s deleted",
            self.ctx.organization.pk, self.inserted, self.deleted,
        )  # fmt: skip

    def abandon(self) -> None:
        try:
            self.wait()
        except Exception:  # noqa: S110 - the caller's error is the one to report
            pass
        finally:
            self.executor.shutdown()

    def _filter(self, table: _Table, alias: str = "") -> str:
        """Only the KPIs recomputed (when a formula changed)."""
        if table.item != "kpi_id" or self.kpi_ids is None:
            return ""
        return f" AND {alias}kpi_id = ANY(%(kpis)s)"

    def _store(self, scopes: list[str], rows: list[list[str]]) -> None:
        """In the thread: store one batch."""
        with self.pg.cursor() as cursor:
            for table, table_rows in zip(self.tables, rows, strict=True):
                if not self.merge:
                    copy_rows(cursor, table.model._meta.db_table, table.model, table_rows)
                    self.inserted += len(table_rows)
                    continue
                cursor.execute(f"TRUNCATE {table.staging}")
                copy_rows(cursor, table.staging, table.model, table_rows)
                self._merge(cursor, table, scopes, len(table_rows))

    def _merge(self, cursor, table: _Table, scopes: list[str], fresh_rows: int) -> None:
        """Make the batch's scopes' stored rows those of the staging table."""
        stored, staging, item = table.model._meta.db_table, table.staging, table.item
        batch = self.BATCH + self._filter(table, "stored.")
        same_key = ("fresh.scope = stored.scope AND fresh.grain = stored.grain AND"
                    f" fresh.period_start = stored.period_start AND fresh.{item} = stored.{item}")  # fmt: skip
        params = {**self.params, "scopes": scopes}
        cursor.execute(f"SELECT count(*) FROM {stored} AS stored WHERE {batch}", params)  # noqa: S608
        (before,) = cursor.fetchone()
        # Stored rows that are not computed again exactly as they are: changed, or gone.
        cursor.execute(
            f"DELETE FROM {stored} AS stored WHERE {batch} AND NOT EXISTS ("  # noqa: S608
            f" SELECT FROM {staging} AS fresh WHERE {same_key}"
            "  AND fresh.value IS NOT DISTINCT FROM stored.value"
            "  AND fresh.inputs_changed_at = stored.inputs_changed_at)",
            params,
        )
        self.deleted += cursor.rowcount
        kept = before - cursor.rowcount
        if kept == fresh_rows:
            return  # every computed row is stored as it is
        columns = ", ".join(table.columns)
        not_kept = (
            f" WHERE NOT EXISTS (SELECT FROM {stored} AS stored WHERE {batch} AND {same_key})"
        )
        cursor.execute(
            f"INSERT INTO {stored} ({columns}) SELECT {columns} FROM {staging} AS fresh"  # noqa: S608
            f"{not_kept if kept else ''}",
            params,
        )
        self.inserted += cursor.rowcount


def read_entries(
    ctx: Context, campaign_ids: Sequence[int]
) -> dict[int, tuple[MonthValues, dict[date, datetime]]]:
    """Campaign -> (month -> metric code -> value, month -> its values' last change)."""
    codes = ctx.metric_codes
    out: dict[int, tuple[MonthValues, dict[date, datetime]]] = {}
    rows = MetricEntry.objects.filter(
        organization=ctx.organization, campaign_id__in=campaign_ids
    ).values_list("campaign_id", "metric_id", "month", "value", "updated_at")
    if connection.vendor == "postgresql":
        # Django's timestamptz loader is written in Python: psycopg's own is 5 times faster.
        sql, params = rows.query.sql_with_params()
        with connection.connection.cursor() as cursor:
            cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(sql, params)
            rows = cursor.fetchall()  # type: ignore[assignment]
    for campaign_id, metric_id, month, value, updated_at in rows:
        found = out.get(campaign_id)
        if found is None:
            found = out[campaign_id] = ({}, {})
        months, changed = found
        values = months.get(month)
        if values is None:
            values = months[month] = {}
            changed[month] = updated_at
        elif changed[month] < updated_at:
            changed[month] = updated_at
        values[codes[metric_id]] = value
    return out


def add_to_totals(
    totals: MonthValues, totals_changed: dict[date, datetime],
    months: MonthValues, changed: Mapping[date, datetime],
) -> None:  # fmt: skip
    """Add a scope's monthly values to a larger scope's (every metric sums across
    campaigns, month by month)."""
    for month, values in months.items():
        total = totals.get(month)
        if total is None:
            totals[month] = dict(values)
            totals_changed[month] = changed[month]
            continue
        for code, value in values.items():
            current = total.get(code)
            total[code] = value if current is None else current + value
        if totals_changed[month] < changed[month]:
            totals_changed[month] = changed[month]


def recompute_full(ctx: Context, *, only_kpis: frozenset[str] | None = None) -> int:
    """Rebuild every aggregate and KPI value of the organization (or only some KPIs').

    Returns the number of KPI values computed (stored as they are, or written)."""
    plan = PeriodPlan(ctx.fiscal_start)
    rollups = ctx.rollups
    catalog = ctx.catalog
    kpi_ids = None  # only these KPIs' values, with those of a KPI whose formula broke
    if only_kpis is not None:
        kpi_ids = list(
            KPI.objects.filter(organization=ctx.organization, code__in=only_kpis).values_list(
                "pk", flat=True
            )
        )
    store_class = PostgresFullStore if connection.vendor == "postgresql" else FullStore
    store = store_class(ctx, kpi_ids)
    writer = RowWriter(ctx, only_kpis)
    channel_months: dict[str, MonthValues] = defaultdict(dict)
    channel_changed: dict[str, dict[date, datetime]] = defaultdict(dict)
    campaign_ids = sorted(ctx.channels, key=campaign_scope)
    try:
        pending: tuple[list[str], list, list] | None = None
        for first in range(0, len(campaign_ids), CAMPAIGNS_PER_BATCH):
            batch = campaign_ids[first : first + CAMPAIGNS_PER_BATCH]
            store.wait()
            entries = read_entries(ctx, batch)
            if pending is not None:
                store.submit(*pending)  # stored while the batch below is computed
            for campaign_id in batch:
                if campaign_id not in entries:
                    continue  # no values: its scope keeps no rows
                months, changed = entries[campaign_id]
                channel = channel_scope(ctx.channels[campaign_id])
                add_to_totals(channel_months[channel], channel_changed[channel], months, changed)
                scope = campaign_scope(campaign_id)
                for period, aggregates, values, inputs in compute_all_periods(
                    catalog, rollups, plan, months, changed
                ):
                    writer.add(scope, campaign_id, period, aggregates, values, inputs)
            pending = ([campaign_scope(c) for c in batch], *writer.take())
        if pending is not None:
            store.submit(*pending)

        # Channels, then all campaigns: the sums of the channels' monthly totals.
        all_months: MonthValues = {}
        all_changed: dict[date, datetime] = {}
        groups = sorted(channel_months)
        for channel in groups:
            add_to_totals(
                all_months, all_changed, channel_months[channel], channel_changed[channel]
            )
        for period, aggregates, values, inputs in compute_all_periods(
            catalog, rollups, plan, all_months, all_changed
        ):
            writer.add(ALL, None, period, aggregates, values, inputs)
        store.submit([ALL], *writer.take())
        for channel in groups:
            for period, aggregates, values, inputs in compute_all_periods(
                catalog, rollups, plan, channel_months[channel], channel_changed[channel]
            ):
                writer.add(channel, None, period, aggregates, values, inputs)
        store.submit(channel_scopes(), *writer.take())  # the channels without values too
        store.finish()
    except BaseException:
        store.abandon()
        raise
    return writer.written


# --------------------------------------------------------------------------------------
# Incremental recompute


def recompute_cells(ctx: Context, cells: set[tuple[int, date]]) -> int:
    """Recompute what (campaign, month) cells touch: for each campaign, its channel and all
    campaigns, the months and every stored period containing them. Nothing else."""
    org = ctx.organization
    plan = PeriodPlan(ctx.fiscal_start)
    by_campaign: dict[int, set[date]] = defaultdict(set)
    for campaign_id, month in cells:
        if campaign_id in ctx.channels:  # a deleted campaign took its values with it
            by_campaign[campaign_id].add(month)
    if not by_campaign:
        return 0
    writer = RowWriter(ctx)
    stale_keys: list[tuple[str, str, date]] = []

    # 1. Each campaign: periods containing its touched months, from its own entries.
    campaign_periods = {c: plan.scope_periods(months) for c, months in by_campaign.items()}
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
        scope: plan.scope_periods(months) for scope, months in touched_by_scope.items()
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

    Returns the number of KPI values computed. Safe to run twice, or concurrently: the
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
