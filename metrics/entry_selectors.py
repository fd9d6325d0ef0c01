"""Reads for the data-entry pages: the monthly grid of a campaign, a cell's history, the
organization's activity, the targets grid.

Each function runs a fixed number of queries, whatever the number of metrics, KPIs and months.
Values come back as Decimal with their text as typed in the reader's language ("1 234,5" in
French, "1,234.5" in English): the grid's inputs show what parsing reads back.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal, get_currency_symbol
from django.contrib.auth import get_user_model
from django.db.models import DecimalField, F, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from imports.models import ImportBatch
from kpiboard import formatting
from kpiboard.models import Organization

from .models import KPI, KPIValue, Metric, MetricEntry, MetricKind, StaleMark, Target, ValueChange
from .periods import month_range
from .recompute import campaign_scope, tolerant_catalog
from .rollups import rollup_over_time

HISTORY_LIMIT = 100


# ------------------------------------------------------------------------------ text


def value_text(
    value: Decimal | None, kind: str = MetricKind.COUNT, language: str | None = None
) -> str:
    """A stored value as a person would type it: grouped, no trailing zeros, "" when empty.
    Amounts keep two decimals when they have any ("1 234,50")."""
    if value is None:
        return ""
    if kind == MetricKind.MONEY and value != value.to_integral_value():
        pattern = "#,##0.00####"
    else:
        pattern = "#,##0.######"
    return format_decimal(value, format=pattern, locale=formatting.locale_name(language))


def unit_hint(metric: Metric, currency: str, language: str | None = None) -> str:
    if metric.kind == MetricKind.MONEY:
        return get_currency_symbol(currency, formatting.locale_name(language))
    if metric.kind == MetricKind.PERCENT:
        return "%"
    return ""


# ------------------------------------------------------------------------------ grid


@dataclass
class ConflictNote:
    """Someone else's value that refused a save."""

    who: str
    when: datetime | None
    text: str  # their value, as typed; "" when they emptied the cell
    version: int


@dataclass
class Cell:
    metric: Metric
    month: date
    row: int
    col: int
    value: Decimal | None = None
    version: int = 0
    text: str = ""  # what the input shows: the stored value, or what was typed or pasted
    updated_by: str = ""
    updated_at: datetime | None = None
    state: str = ""  # "", "saved", "pasted", "invalid", "conflict"
    error: str = ""
    conflict: ConflictNote | None = None
    readonly: bool = False
    outside: bool = False  # a month outside the campaign's dates
    was: str = ""  # in a paste preview: the value the pasted one replaces

    @property
    def key(self) -> str:
        return f"{self.metric.pk}-{self.month:%Y%m}"


@dataclass
class MetricRow:
    metric: Metric
    unit: str
    cells: list[Cell]
    total: str  # the year rolled up as the metric declares (sum, first, last)


@dataclass
class KPIRow:
    kpi: KPI
    values: list[str]
    year: str


@dataclass
class MonthHead:
    month: date
    short: str  # "janv.", "Jan"
    long: str  # "janvier 2025", "January 2025"


def month_heads(months: list[date]) -> list[MonthHead]:
    return [MonthHead(m, formatting.month(m, style="MMM"), formatting.month(m)) for m in months]


@dataclass
class Grid:
    campaign: Campaign
    year: int
    months: list[date]
    rows: list[MetricRow]
    kpi_rows: list[KPIRow] = field(default_factory=list)
    # KPIs some of whose metrics have values this year, and the metrics still missing
    kpis_partial: list[tuple[KPI, list[str]]] = field(default_factory=list)
    kpis_waiting: int = 0  # KPIs none of whose metrics has a value this year
    stale: bool = False  # KPI values are being recomputed

    @property
    def heads(self) -> list[MonthHead]:
        return month_heads(self.months)

    @property
    def previous_year(self) -> int:
        return self.year - 1

    @property
    def next_year(self) -> int:
        return self.year + 1


def campaigns_for_picker(*, organization: Organization) -> list[Campaign]:
    return list(Campaign.objects.filter(organization=organization).order_by("name"))


def default_year(campaign: Campaign, today: date | None = None) -> int:
    """This year, unless the campaign lies wholly before or after it."""
    year = (today or timezone.localdate()).year
    if campaign.end_date and campaign.end_date.year < year:
        return campaign.end_date.year
    return max(year, campaign.start_date.year)


def year_months(year: int) -> list[date]:
    return month_range(date(year, 1, 1), date(year, 12, 1))


def _outside(campaign: Campaign, month: date) -> bool:
    first = date(campaign.start_date.year, campaign.start_date.month, 1)
    return month < first or bool(campaign.end_date and month > campaign.end_date)


def _cell(metric, month, row, col, entry, campaign, language) -> Cell:
    cell = Cell(metric=metric, month=month, row=row, col=col, outside=_outside(campaign, month))
    if entry is not None:
        cell.value = entry.value
        cell.version = entry.version
        cell.text = value_text(entry.value, metric.kind, language)
        cell.updated_by = formatting.person_name(entry.updated_by)
        cell.updated_at = entry.updated_at
    return cell


def _total(metric: Metric, values: dict[date, Decimal], months: list[date], language) -> str:
    return value_text(rollup_over_time(values, metric.rollup, months), metric.kind, language)


def _entries(organization, campaign, months, metric: Metric | None = None):
    entries = MetricEntry.objects.filter(
        organization=organization, campaign=campaign, month__gte=months[0], month__lte=months[-1]
    ).select_related("updated_by")
    if metric is not None:
        entries = entries.filter(metric=metric)
    return entries


def entry_grid(
    *,
    organization: Organization,
    campaign: Campaign,
    year: int,
    overrides: dict[tuple[int, date], Cell] | None = None,
    language: str | None = None,
) -> Grid:
    """The campaign's metrics (rows) by month (columns) for a year, and the KPIs they feed
    (those all of whose metrics have a value this year; the others are listed apart).

    ``overrides`` replaces cells by what a person typed or pasted (invalid values,
    conflicts, a paste preview). Five queries.
    """
    language = language or get_language()
    months = year_months(year)
    metrics = list(Metric.objects.filter(organization=organization).order_by("position", "code"))
    entries = {(e.metric_id, e.month): e for e in _entries(organization, campaign, months)}
    overrides = overrides or {}
    rows = []
    filled: set[str] = set()
    for r, metric in enumerate(metrics):
        cells = []
        values: dict[date, Decimal] = {}
        for c, month in enumerate(months):
            entry = entries.get((metric.pk, month))
            if entry is not None:
                values[month] = entry.value
                filled.add(metric.code)
            cell = overrides.get((metric.pk, month))
            if cell is None:
                cell = _cell(metric, month, r, c, entry, campaign, language)
            else:
                cell.row, cell.col = r, c
                cell.outside = _outside(campaign, month)
            cells.append(cell)
        rows.append(
            MetricRow(
                metric=metric,
                unit=unit_hint(metric, organization.currency, language),
                cells=cells,
                total=_total(metric, values, months, language),
            )
        )
    grid = Grid(campaign=campaign, year=year, months=months, rows=rows)
    _add_kpis(grid, organization, metrics, filled, language)
    return grid


def _add_kpis(grid: Grid, organization, metrics: list[Metric], filled: set[str], language):
    kpis = list(KPI.objects.filter(organization=organization).order_by("position", "code"))
    catalog = tolerant_catalog({k.code: k.formula for k in kpis}, [m.code for m in metrics])
    labels = {m.code: m.label for m in metrics}
    order = list(labels)
    shown = []
    for kpi in kpis:
        if kpi.code not in catalog.order:
            continue  # a broken formula: the catalog page says so
        needs = catalog.base_metrics(kpi.code)
        if needs <= filled:
            shown.append(kpi)
        elif needs & filled:
            missing = sorted(needs - filled, key=order.index)
            grid.kpis_partial.append((kpi, [labels[code] for code in missing]))
    grid.kpis_waiting = len(kpis) - len(shown) - len(grid.kpis_partial)
    months = grid.months
    stored: dict[tuple[int, str, date], Decimal | None] = {}
    if shown:
        for kpi_id, grain, start, value in KPIValue.objects.filter(
            organization=organization,
            scope=campaign_scope(grid.campaign.pk),
            grain__in=("month", "year"),
            period_start__gte=months[0],
            period_start__lte=months[-1],
            kpi__in=shown,
        ).values_list("kpi_id", "grain", "period_start", "value"):
            stored[(kpi_id, grain, start)] = value
    currency = organization.currency

    def text(kpi: KPI, value: Decimal | None) -> str:
        return formatting.kpi_value(
            value, unit=kpi.unit, decimals=kpi.decimals, currency=currency, language=language
        )

    grid.kpi_rows = [
        KPIRow(
            kpi=kpi,
            values=[text(kpi, stored.get((kpi.pk, "month", m))) for m in months],
            year=text(kpi, stored.get((kpi.pk, "year", months[0]))),
        )
        for kpi in shown
    ]
    grid.stale = StaleMark.objects.filter(
        Q(campaign=grid.campaign, month__gte=months[0], month__lte=months[-1])
        | Q(campaign__isnull=True),
        organization=organization,
    ).exists()


def kpi_section(
    *, organization: Organization, campaign: Campaign, year: int, language: str | None = None
) -> Grid:
    """The KPI rows alone (after a save, or while a recompute runs): the metrics are read
    for what they feed, without building their cells."""
    language = language or get_language()
    months = year_months(year)
    metrics = list(Metric.objects.filter(organization=organization).order_by("position", "code"))
    codes = {m.pk: m.code for m in metrics}
    filled = {
        codes[metric_id]
        for metric_id in _entries(organization, campaign, months)
        .values_list("metric_id", flat=True)
        .distinct()
    }
    grid = Grid(campaign=campaign, year=year, months=months, rows=[])
    _add_kpis(grid, organization, metrics, filled, language)
    return grid


def grid_cell(
    *,
    organization: Organization,
    campaign: Campaign,
    metric: Metric,
    month: date,
    row: int = 0,
    col: int = 0,
    language: str | None = None,
) -> tuple[Cell, str]:
    """One cell as stored, and its row's year total (one query)."""
    language = language or get_language()
    months = year_months(month.year)
    entries = {e.month: e for e in _entries(organization, campaign, months, metric)}
    cell = _cell(metric, month, row, col, entries.get(month), campaign, language)
    values = {m: e.value for m, e in entries.items()}
    return cell, _total(metric, values, months, language)


# ------------------------------------------------------------------------------ history


@dataclass
class Change:
    when: datetime
    who: str
    source: str  # Source label
    source_code: str
    import_name: str
    old: str
    new: str
    campaign: Campaign | None = None
    metric: Metric | None = None
    month: date | None = None


def _change(change: ValueChange, metric: Metric, language) -> Change:
    batch = change.import_batch if change.import_batch_id else None
    undo = (
        batch is not None and batch.undone_at is not None and change.changed_at >= batch.undone_at
    )
    return Change(
        when=change.changed_at,
        who=formatting.person_name(change.changed_by),
        # An import's undo writes under the import's name: told apart by when it wrote.
        source=str(_("Import undone")) if undo else change.get_source_display(),
        source_code="undo" if undo else change.source,
        import_name=change.import_batch.filename if change.import_batch_id else "",
        old=value_text(change.old_value, metric.kind, language),
        new=value_text(change.new_value, metric.kind, language),
        campaign=change.campaign,
        metric=metric,
        month=change.month,
    )


def cell_history(
    *,
    organization: Organization,
    campaign: Campaign,
    metric: Metric,
    month: date,
    language: str | None = None,
) -> list[Change]:
    """Every change to one cell, newest first (the latest HISTORY_LIMIT). A value an import
    added and nobody changed since is its own creation record (MetricEntry.creation_logged):
    it comes first."""
    language = language or get_language()
    cell = {"organization": organization, "campaign": campaign, "metric": metric, "month": month}
    changes = list(
        ValueChange.objects.filter(**cell)
        .select_related("changed_by", "import_batch", "campaign")
        .order_by("-changed_at", "-id")[:HISTORY_LIMIT]
    )
    addition = (
        MetricEntry.objects.filter(**cell, creation_logged=False)
        .select_related("updated_by", "import_batch", "campaign")
        .first()
    )
    if addition is not None:
        changes = [addition.creation_change(), *changes][:HISTORY_LIMIT]
    return [_change(change, metric, language) for change in changes]


_NO_VALUE = Value(None, output_field=DecimalField(max_digits=20, decimal_places=6))


class ActivityRows:
    """The activity as Paginator reads it: a count, and slices of rows (dicts), newest first.

    Two sources, merged: each is read newest first through its own index and only as far
    as the slice asks (sorting the union as a whole would read every addition of a
    million-value import for each page).
    """

    ORDER = ("-when", "-row_id")

    def __init__(self, changes: QuerySet, additions: QuerySet) -> None:
        self.changes = changes
        self.additions = additions

    def count(self) -> int:
        """Both counted apart, each through its own index (what the union would count)."""
        return self.changes.count() + self.additions.count()

    def __iter__(self) -> Iterator[dict]:
        return iter(self[:])

    def __getitem__(self, item: slice) -> list[dict]:
        from django.db import connection

        start, stop = item.start or 0, item.stop
        if stop is not None and stop <= start:
            return []
        changes, additions = self.changes, self.additions
        if stop is not None and connection.features.supports_slicing_ordering_in_compound:
            changes = changes.order_by(*self.ORDER)[:stop]
            additions = additions.order_by(*self.ORDER)[:stop]
        return list(changes.union(additions, all=True).order_by(*self.ORDER)[start:stop])


def activity(
    *,
    organization: Organization,
    person: int | None = None,
    campaign: int | None = None,
    source: str | None = None,
) -> ActivityRows:
    """The organization's value changes, newest first, filtered by who, where and how: the
    history, and the values imports added that nobody changed since (their creation is the
    entry itself). Rows as dicts, for activity_rows()."""
    changes = ValueChange.objects.filter(organization=organization)
    additions = MetricEntry.objects.filter(organization=organization, creation_logged=False)
    if person:
        changes = changes.filter(changed_by_id=person)
        additions = additions.filter(updated_by_id=person)
    if campaign:
        changes = changes.filter(campaign_id=campaign)
        additions = additions.filter(campaign_id=campaign)
    if source:
        changes = changes.filter(source=source)
        additions = additions.filter(source=source)
    changes = changes.values(
        when=F("changed_at"), row_id=F("id"), who_id=F("changed_by_id"), how=F("source"),
        batch_id=F("import_batch_id"), campaign_ref=F("campaign_id"), metric_ref=F("metric_id"),
        cell_month=F("month"), old=F("old_value"), new=F("new_value"),
    )  # fmt: skip
    additions = additions.values(
        when=F("updated_at"), row_id=F("id"), who_id=F("updated_by_id"), how=F("source"),
        batch_id=F("import_batch_id"), campaign_ref=F("campaign_id"), metric_ref=F("metric_id"),
        cell_month=F("month"), old=_NO_VALUE, new=F("value"),
    )  # fmt: skip
    return ActivityRows(changes, additions)


def activity_rows(rows, language: str | None = None) -> list[Change]:
    """The Change of each activity() row; four queries, whatever the number of rows."""
    language = language or get_language()
    rows = list(rows)
    people = get_user_model().objects.in_bulk({r["who_id"] for r in rows if r["who_id"]})
    batches = ImportBatch.objects.only("filename", "undone_at").in_bulk(
        {r["batch_id"] for r in rows if r["batch_id"]}
    )
    campaigns = Campaign.objects.in_bulk({r["campaign_ref"] for r in rows})
    metrics = Metric.objects.in_bulk({r["metric_ref"] for r in rows})
    changes = []
    for row in rows:
        change = ValueChange(
            changed_at=row["when"],
            changed_by=people.get(row["who_id"]),
            source=row["how"],
            import_batch=batches.get(row["batch_id"]),
            campaign=campaigns.get(row["campaign_ref"]),
            month=row["cell_month"],
            old_value=row["old"],
            new_value=row["new"],
        )
        changes.append(_change(change, metrics[row["metric_ref"]], language))
    return changes


def people(*, organization: Organization) -> list:
    """Members of the organization, for the activity filter."""
    return list(
        get_user_model()
        .objects.filter(memberships__organization=organization)
        .order_by("first_name", "last_name", "username")
    )


# ------------------------------------------------------------------------------ targets


@dataclass
class TargetCell:
    kpi: KPI
    month: date
    row: int
    col: int
    value: Decimal | None = None
    text: str = ""
    state: str = ""  # "", "saved", "invalid", "conflict"
    error: str = ""
    conflict: ConflictNote | None = None
    current: str = ""  # in a conflict: the stored target, canonical, that "overwrite" replaces

    @property
    def key(self) -> str:
        return f"t{self.kpi.pk}-{self.month:%Y%m}"

    @property
    def expected(self) -> str:
        """The stored value as sent back with a save (canonical, not localized)."""
        return "" if self.value is None else format(self.value.normalize(), "f")


@dataclass
class TargetRow:
    kpi: KPI
    unit: str
    cells: list[TargetCell]


def target_unit(kpi: KPI, currency: str, language: str | None = None) -> str:
    if kpi.unit == "money":
        return get_currency_symbol(currency, formatting.locale_name(language))
    return {"percent": "%", "ratio": "×", "points": "pts"}.get(kpi.unit, "")


def target_text(value: Decimal | None, language: str | None = None) -> str:
    return value_text(value, MetricKind.COUNT, language)


def target_cell(
    *,
    organization: Organization,
    kpi: KPI,
    campaign: Campaign | None,
    month: date,
    language: str | None = None,
) -> TargetCell:
    value = (
        Target.objects.filter(organization=organization, kpi=kpi, campaign=campaign, month=month)
        .values_list("value", flat=True)
        .first()
    )
    return TargetCell(
        kpi=kpi, month=month, row=0, col=0, value=value, text=target_text(value, language)
    )


def target_grid(
    *,
    organization: Organization,
    campaign: Campaign | None,
    year: int,
    overrides: dict[tuple[int, date], TargetCell] | None = None,
    language: str | None = None,
) -> list[TargetRow]:
    """Targets by KPI (rows) and month (columns), for one campaign or all (None). Two queries."""
    language = language or get_language()
    months = year_months(year)
    kpis = list(KPI.objects.filter(organization=organization).order_by("position", "code"))
    values: dict[tuple[int, date], Decimal] = {}
    for kpi_id, month, value in Target.objects.filter(
        organization=organization, campaign=campaign, month__gte=months[0], month__lte=months[-1]
    ).values_list("kpi_id", "month", "value"):
        values[(kpi_id, month)] = value
    overrides = overrides or {}
    rows = []
    for r, kpi in enumerate(kpis):
        cells = []
        for c, month in enumerate(months):
            cell = overrides.get((kpi.pk, month))
            if cell is None:
                value = values.get((kpi.pk, month))
                cell = TargetCell(kpi, month, r, c, value, target_text(value, language))
            else:
                cell.row, cell.col = r, c
            cells.append(cell)
        rows.append(
            TargetRow(kpi=kpi, unit=target_unit(kpi, organization.currency, language), cells=cells)
        )
    return rows
