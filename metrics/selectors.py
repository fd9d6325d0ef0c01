"""Reads of KPI values, comparisons and targets, shared by pages, boards and exports.

Everything here reads stored values: KPIValue for the stored grains, and for other periods
(year to date, rolling 12 months, any range) the stored monthly metric aggregates, rolled up
and evaluated once (DOMAIN rule 1). A selector's number of queries does not depend on the
number of KPIs, campaigns or months it covers.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Max, Min

from kpiboard.models import Organization

from . import comparisons
from .models import KPI, KPIValue, MetricAggregate, MetricEntry, StaleMark, Target
from .periods import (
    GRAINS,
    Period,
    add_months,
    month_range,
    previous_year_to_date,
    rolling_12_months,
    year_to_date,
)
from .recompute import ALL, campaign_scope, organization_catalog
from .rollups import aggregate_period, sum_across

STORED_GRAINS = frozenset(GRAINS)


def stored_grain(period: Period, fiscal_start: int) -> str | None:
    """The grain under which a period is stored, if it is (fiscal = calendar in January; a
    fiscal quarter made of a calendar quarter's months is stored as that quarter)."""
    if period.grain not in STORED_GRAINS:
        return None
    if period.grain == "fiscal_quarter" and period.start.month % 3 == 1:
        return "quarter"
    if period.grain.startswith("fiscal_") and fiscal_start == 1:
        return period.grain.removeprefix("fiscal_")
    return period.grain


# ------------------------------------------------------------------------------ values


def kpi_values(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    periods: Iterable[Period],
    scope: str = ALL,
) -> dict[tuple[int, Period], Decimal | None]:
    """Values of several KPIs for several periods of one scope, in at most two queries
    (one for stored grains, one for the metric aggregates behind other periods)."""
    periods = list(dict.fromkeys(periods))
    fiscal_start = organization.fiscal_year_start_month
    result: dict[tuple[int, Period], Decimal | None] = {}
    stored: dict[tuple[str, date], list[Period]] = defaultdict(list)
    computed: list[Period] = []
    for period in periods:
        grain = stored_grain(period, fiscal_start)
        if grain is None:
            computed.append(period)
        else:
            stored[(grain, period.start)].append(period)
    for kpi in kpis:
        for period in periods:
            result[(kpi.pk, period)] = None
    if stored:
        grains = {g for g, _ in stored}
        starts = {s for _, s in stored}
        rows = KPIValue.objects.filter(
            organization=organization,
            scope=scope,
            kpi__in=[k.pk for k in kpis],
            grain__in=grains,
            period_start__in=starts,
        ).values_list("kpi_id", "grain", "period_start", "value")
        for kpi_id, grain, start, value in rows:
            for period in stored.get((grain, start), ()):
                result[(kpi_id, period)] = value
    if computed:
        result.update(_computed_values(organization, kpis, computed, scope))
    return result


def kpi_value(
    *, organization: Organization, kpi: KPI, period: Period, scope: str = ALL
) -> Decimal | None:
    return kpi_values(organization=organization, kpis=[kpi], periods=[period], scope=scope)[
        (kpi.pk, period)
    ]


def monthly_metrics(
    *, organization: Organization, first: date, last: date, scope: str = ALL
) -> dict[str, dict[date, Decimal]]:
    """Stored monthly metric values of a scope: a campaign's entries, or the monthly totals
    of a channel or of all campaigns."""
    monthly: dict[str, dict[date, Decimal]] = defaultdict(dict)
    if scope.startswith("campaign:"):
        rows = MetricEntry.objects.filter(
            organization=organization,
            campaign_id=int(scope.removeprefix("campaign:")),
            month__gte=first,
            month__lte=last,
        ).values_list("metric__code", "month", "value")
    else:
        rows = MetricAggregate.objects.filter(
            organization=organization,
            scope=scope,
            grain="month",
            period_start__gte=first,
            period_start__lte=last,
        ).values_list("metric__code", "period_start", "value")
    for code, month, value in rows:
        monthly[code][month] = value
    return monthly


def _computed_values(
    organization: Organization, kpis: Sequence[KPI], periods: list[Period], scope: str
) -> dict[tuple[int, Period], Decimal | None]:
    first = min(p.start for p in periods)
    last = max(p.end for p in periods)
    monthly = monthly_metrics(organization=organization, first=first, last=last, scope=scope)
    catalog, metrics = organization_catalog(organization)
    rollups = {code: metrics[code] for code in monthly}
    result: dict[tuple[int, Period], Decimal | None] = {}
    for period in periods:
        aggregates = aggregate_period(monthly, rollups, period.months)
        if all(v is None for v in aggregates.values()):
            values: dict[str, Decimal | None] = {}
        else:
            values = catalog.evaluate(aggregates, months=period.length)
        for kpi in kpis:
            result[(kpi.pk, period)] = values.get(kpi.code)
    return result


def kpi_series(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    first: date,
    last: date,
    scope: str = ALL,
) -> dict[int, dict[date, Decimal | None]]:
    """Monthly values of several KPIs from `first` to `last`, one query."""
    series: dict[int, dict[date, Decimal | None]] = {
        k.pk: dict.fromkeys(month_range(first, last)) for k in kpis
    }
    rows = KPIValue.objects.filter(
        organization=organization,
        scope=scope,
        grain="month",
        kpi__in=[k.pk for k in kpis],
        period_start__gte=first,
        period_start__lte=last,
    ).values_list("kpi_id", "period_start", "value")
    for kpi_id, month, value in rows:
        series[kpi_id][month] = value
    return series


def campaign_sets_kpi_series(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    sets: Mapping[Hashable, Iterable[int]],
    months: Iterable[date],
) -> dict[Hashable, dict[int, dict[date, Decimal | None]]]:
    """Monthly values of several KPIs over sets of campaigns, each set taken together (an
    objective's campaigns: no stored scope holds them): each month, every metric summed
    over the set's campaigns, then the formulas applied once (DOMAIN rule 1).

    Returns set key -> KPI id -> month -> value. Three queries (the catalog's metrics and
    KPIs, the entries) whatever the number of sets, campaigns and months."""
    months = sorted(set(months))
    sets = {key: frozenset(ids) for key, ids in sets.items()}
    result: dict[Hashable, dict[int, dict[date, Decimal | None]]] = {
        key: {k.pk: dict.fromkeys(months) for k in kpis} for key in sets
    }
    campaign_ids = frozenset().union(*sets.values())
    if not months or not kpis or not campaign_ids:
        return result
    catalog, _rollups = organization_catalog(organization)
    wanted = [k for k in kpis if k.code in catalog.order]  # a broken formula has no value
    codes = set().union(*(catalog.base_metrics(k.code) for k in wanted))
    if not codes:
        return result
    entries: dict[tuple[int, date], dict[str, Decimal]] = defaultdict(dict)
    for campaign_id, code, month, value in MetricEntry.objects.filter(
        organization=organization,
        campaign_id__in=campaign_ids,
        metric__code__in=codes,
        month__in=months,
    ).values_list("campaign_id", "metric__code", "month", "value"):
        entries[(campaign_id, month)][code] = value
    for key, ids in sets.items():
        for month in months:
            values = sum_across(entries.get((c, month), {}) for c in ids)
            if not values:
                continue
            results = catalog.evaluate(values, months=1)
            for kpi in wanted:
                result[key][kpi.pk][month] = results[kpi.code]
    return result


def campaigns_scope(campaign_ids: Sequence[int]) -> str | None:
    """The stored scope of a set of campaigns: one campaign's, or all campaigns' for none;
    None for several (no stored scope holds them: computed from their entries)."""
    if len(campaign_ids) > 1:
        return None
    return campaign_scope(campaign_ids[0]) if campaign_ids else ALL


def objective_scope(objective) -> str | None:
    """The stored scope an objective's KPI is read from (campaigns_scope of its campaigns)."""
    return campaigns_scope([c.pk for c in objective.campaigns.all()])


def campaigns_kpi_series(
    *, organization: Organization, kpi: KPI, campaign_ids: Sequence[int], first: date, last: date
) -> dict[date, Decimal | None]:
    """A KPI's monthly values over some campaigns taken together (all of them for none):
    stored values for a stored scope, else computed from the campaigns' entries."""
    scope = campaigns_scope(campaign_ids)
    if scope is None:
        return campaign_sets_kpi_series(
            organization=organization,
            kpis=[kpi],
            sets={0: campaign_ids},
            months=month_range(first, last),
        )[0][kpi.pk]
    return kpi_series(organization=organization, kpis=[kpi], first=first, last=last, scope=scope)[
        kpi.pk
    ]


def objective_series(
    *, organization: Organization, objective, first: date, last: date
) -> dict[date, Decimal | None]:
    """The monthly values of an objective's KPI over the campaigns it serves."""
    return campaigns_kpi_series(
        organization=organization,
        kpi=objective.kpi,
        campaign_ids=[c.pk for c in objective.campaigns.all()],
        first=first,
        last=last,
    )


# ------------------------------------------------------------------------- comparisons


COMPARISONS = ("previous", "last_year", "target")


def comparison_period(period: Period, against: str) -> Period:
    if against == "previous":
        return period.previous()
    if against == "last_year":
        return period.same_period_last_year()
    raise ValueError(f"unknown comparison {against!r}")


@dataclass(frozen=True)
class Reading:
    """A KPI for a period, with its reference and what the difference means."""

    kpi: KPI
    period: Period
    value: Decimal | None
    reference_period: Period | None
    reference: Decimal | None
    delta: comparisons.Delta


def readings(
    *,
    organization: Organization,
    kpis: Sequence[KPI],
    period: Period,
    against: str = "previous",
    scope: str = ALL,
    reference_period: Period | None = None,
) -> list[Reading]:
    """Each KPI for a period vs a previous period, the same period last year, its target,
    or any other period of the same length (DOMAIN rules 4 and 5)."""
    if against == "target":
        targets = kpi_targets(organization=organization, kpis=kpis, period=period, scope=scope)
        values = kpi_values(organization=organization, kpis=kpis, periods=[period], scope=scope)
        return [
            Reading(k, period, values[(k.pk, period)], None, targets.get(k.pk),
                    _delta(values[(k.pk, period)], targets.get(k.pk), k))
            for k in kpis
        ]  # fmt: skip
    if reference_period is None:
        reference_period = comparison_period(period, against)
    elif reference_period.length != period.length:
        raise ValueError("Periods compared must have the same length.")
    values = kpi_values(
        organization=organization, kpis=kpis, periods=[period, reference_period], scope=scope
    )
    return [
        Reading(k, period, values[(k.pk, period)], reference_period,
                values[(k.pk, reference_period)],
                _delta(values[(k.pk, period)], values[(k.pk, reference_period)], k))
        for k in kpis
    ]  # fmt: skip


def _delta(current: Decimal | None, reference: Decimal | None, kpi: KPI) -> comparisons.Delta:
    return comparisons.compare(current, reference, unit=kpi.unit, direction=kpi.direction)


@dataclass(frozen=True)
class Overview:
    """The usual comparisons of one KPI around one month (DOMAIN rule 5)."""

    month: Reading
    last_year: Reading
    year_to_date: Reading
    rolling_12: Reading
    rolling_12_previous: Reading


def kpi_overview(
    *, organization: Organization, kpi: KPI, month: date, scope: str = ALL
) -> Overview:
    fiscal_start = organization.fiscal_year_start_month
    this_month = Period.month(month.year, month.month)
    ytd = year_to_date(month, fiscal_start)
    prev_ytd = previous_year_to_date(month, fiscal_start)
    r12 = rolling_12_months(month)
    periods = [this_month, this_month.previous(), this_month.same_period_last_year(), ytd,
               prev_ytd, r12, r12.previous(), r12.same_period_last_year()]  # fmt: skip
    values = kpi_values(organization=organization, kpis=[kpi], periods=periods, scope=scope)

    def reading(period: Period, reference: Period) -> Reading:
        current, ref = values[(kpi.pk, period)], values[(kpi.pk, reference)]
        return Reading(kpi, period, current, reference, ref, _delta(current, ref, kpi))

    return Overview(
        month=reading(this_month, this_month.previous()),
        last_year=reading(this_month, this_month.same_period_last_year()),
        year_to_date=reading(ytd, prev_ytd),
        rolling_12=reading(r12, r12.same_period_last_year()),
        rolling_12_previous=reading(r12, r12.previous()),
    )


# ----------------------------------------------------------------------------- targets


def _campaign_id(scope: str) -> int | None:
    return int(scope.removeprefix("campaign:")) if scope.startswith("campaign:") else None


def monthly_targets(
    *, organization: Organization, kpis: Sequence[KPI], first: date, last: date, scope: str = ALL
) -> dict[int, dict[date, Decimal]]:
    """Targets set per KPI and month: a campaign's own targets win over the general ones."""
    campaign_id = _campaign_id(scope)
    rows = Target.objects.filter(
        organization=organization, kpi__in=[k.pk for k in kpis], month__gte=first, month__lte=last
    )
    rows = rows.filter(campaign_id=campaign_id) if campaign_id else rows.filter(campaign=None)
    result: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for kpi_id, month, value in rows.values_list("kpi_id", "month", "value"):
        result[kpi_id][month] = value
    return result


def period_target(kpi: KPI, period: Period, monthly: dict[date, Decimal]) -> Decimal | None:
    """A period's target from monthly targets: counts add up; rates, amounts per unit and
    ratios are levels, so the period's target is the mean of its months' targets."""
    values = [monthly[m] for m in period.months if m in monthly]
    if not values:
        return None
    if kpi.unit == "count":
        return sum(values, Decimal(0))
    return sum(values, Decimal(0)) / len(values)


def kpi_targets(
    *, organization: Organization, kpis: Sequence[KPI], period: Period, scope: str = ALL
) -> dict[int, Decimal | None]:
    monthly = monthly_targets(
        organization=organization, kpis=kpis, first=period.start, last=period.end, scope=scope
    )
    return {k.pk: period_target(k, period, monthly.get(k.pk, {})) for k in kpis}


@dataclass(frozen=True)
class Attainment:
    actual: Decimal | None
    target: Decimal | None
    attainment: Decimal | None  # percent
    status: str | None  # on_track / at_risk / off_track


def judge(organization: Organization, kpi: KPI, actual, target) -> Attainment:
    """Attainment and status against a target, with the organization's thresholds (rule 6)."""
    pct = comparisons.attainment(actual, target, direction=kpi.direction)
    state = comparisons.status(
        pct, on_track=organization.on_track_threshold, at_risk=organization.at_risk_threshold
    )
    return Attainment(actual, target, pct, state)


@dataclass(frozen=True)
class ObjectiveProgress:
    objective: object
    month: date | None  # the month the current value is read at
    current: Decimal | None
    target_now: Decimal | None  # where the linear path from baseline to target is this month
    target: Decimal
    judged: Attainment  # current vs target_now
    progress: Decimal | None  # percent of the way from baseline to target
    required_per_month: Decimal | None  # None once the target is reached
    reached: bool  # the current value is at the target or beyond it


def objective_progress(
    *, organization: Organization, objectives: Sequence, today: date
) -> list[ObjectiveProgress]:
    """Each objective's latest value (over the campaigns it serves, or all), its path and
    status. With their KPI and campaigns prefetched: one query for the objectives read from
    a stored scope, three more for those that serve several campaigns, whatever their
    number."""
    result = []
    if not objectives:
        return result
    last_month = add_months(date(today.year, today.month, 1), -1)
    wanted: dict[int, date] = {}
    scopes: dict[int, str | None] = {}
    for objective in objectives:
        wanted[objective.pk] = min(
            last_month, date(objective.deadline.year, objective.deadline.month, 1)
        )
        scopes[objective.pk] = objective_scope(objective)
    stored = [o for o in objectives if scopes[o.pk] is not None]
    values: dict[tuple[int, str | None, date], Decimal | None] = {}
    if stored:
        values = {
            (kpi_id, scope, month): value
            for kpi_id, scope, month, value in KPIValue.objects.filter(
                organization=organization,
                kpi__in={o.kpi_id for o in stored},
                scope__in={scopes[o.pk] for o in stored},
                grain="month",
                period_start__in={wanted[o.pk] for o in stored},
            ).values_list("kpi_id", "scope", "period_start", "value")
        }
    several = [o for o in objectives if scopes[o.pk] is None]  # from their campaigns' entries
    sets = campaign_sets_kpi_series(
        organization=organization,
        kpis=list({o.kpi_id: o.kpi for o in several}.values()),
        sets={o.pk: [c.pk for c in o.campaigns.all()] for o in several},
        months={wanted[o.pk] for o in several},
    )
    for objective in objectives:
        month = wanted[objective.pk]
        scope = scopes[objective.pk]
        current = (
            sets[objective.pk][objective.kpi_id][month]
            if scope is None
            else values.get((objective.kpi_id, scope, month))
        )
        target = objective.target_absolute
        start = date(objective.start_date.year, objective.start_date.month, 1)
        deadline = date(objective.deadline.year, objective.deadline.month, 1)
        target_now = comparisons.linear_target(
            month, baseline=objective.baseline_value, target=target, start=start, deadline=deadline
        )
        span = target - objective.baseline_value
        progress = (
            (current - objective.baseline_value) / span * 100
            if current is not None and span != 0
            else None
        )
        months_left = (deadline.year - month.year) * 12 + deadline.month - month.month
        reached = comparisons.target_reached(
            current=current,
            baseline=objective.baseline_value,
            target=target,
            direction=objective.kpi.direction,
        )
        required = (
            None
            if reached
            else comparisons.required_monthly_change(
                current=current, target=target, months_left=months_left
            )
        )
        result.append(
            ObjectiveProgress(
                objective=objective,
                month=month,
                current=current,
                target_now=target_now,
                target=target,
                judged=judge(organization, objective.kpi, current, target_now),
                progress=progress,
                required_per_month=required,
                reached=reached,
            )
        )
    return result


# ---------------------------------------------------------------------------- freshness


@dataclass(frozen=True)
class Freshness:
    stale: bool  # some change is not reflected yet (recompute queued or running)
    stale_since: datetime | None
    computed_at: datetime | None  # latest computation


def freshness(*, organization: Organization) -> Freshness:
    since = StaleMark.objects.filter(organization=organization).aggregate(s=Min("created_at"))["s"]
    computed = KPIValue.objects.filter(organization=organization, scope=ALL).aggregate(
        c=Max("computed_at")
    )["c"]
    return Freshness(stale=since is not None, stale_since=since, computed_at=computed)


def data_span(*, organization: Organization) -> tuple[date, date] | None:
    """First and last month with stored values."""
    span = MetricAggregate.objects.filter(organization=organization, scope=ALL, grain="month")
    bounds = span.aggregate(first=Min("period_start"), last=Max("period_start"))
    if bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]
