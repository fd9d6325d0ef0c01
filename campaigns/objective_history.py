"""Reads of a KPI's history for the objective form: the baseline over a period of months,
and the monthly series the target is compared with.

A baseline over several months follows DOMAIN rule 1: each metric is rolled up over the
months (and summed over the campaigns), then the formula is applied once. Monthly series
come from the stored KPI values when the scope is stored (all campaigns, or one campaign),
and are computed from the entries otherwise (several campaigns).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from kpiboard.models import Organization
from metrics.models import KPI, MetricEntry
from metrics.periods import month_range
from metrics.recompute import load_context
from metrics.rollups import aggregate_period
from metrics.selectors import campaigns_kpi_series

from .feasibility import Feasibility, assess, history_window
from .models import TargetKind


def _monthly_totals(
    organization: Organization,
    codes: Iterable[str],
    first: date,
    last: date,
    campaign_ids: list[int],
) -> dict[str, dict[date, Decimal]]:
    entries = MetricEntry.objects.filter(
        organization=organization, month__gte=first, month__lte=last, metric__code__in=codes
    )
    if campaign_ids:
        entries = entries.filter(campaign_id__in=campaign_ids)
    totals: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for code, month, total in (
        entries.values("metric__code", "month")
        .annotate(total=Sum("value"))
        .values_list("metric__code", "month", "total")
    ):
        totals[code][month] = total
    return totals


def kpi_value_over(
    *,
    organization: Organization,
    kpi: KPI,
    first: date,
    last: date,
    campaign_ids: Iterable[int] = (),
) -> Decimal | None:
    """The KPI over the months from ``first`` to ``last`` (first days), for the campaigns
    given, or all of them; None when the history has no value (or the formula divides by 0)."""
    months = month_range(first, last)
    if not months or kpi.organization_id != organization.pk:
        return None
    ctx = load_context(organization)
    if kpi.code not in ctx.catalog.order:
        return None  # its formula is broken: no value rather than an error page
    codes = ctx.catalog.base_metrics(kpi.code)
    totals = _monthly_totals(organization, codes, months[0], months[-1], list(campaign_ids))
    aggregates = aggregate_period(totals, {c: ctx.rollups[c] for c in codes}, months)
    if all(v is None for v in aggregates.values()):
        return None
    return ctx.catalog.evaluate(aggregates, months=len(months))[kpi.code]


def kpi_monthly_history(
    *,
    organization: Organization,
    kpi: KPI,
    first: date,
    last: date,
    campaign_ids: Iterable[int] = (),
) -> dict[date, Decimal]:
    """Month -> KPI value for the months that have one, oldest first."""
    if kpi.organization_id != organization.pk or first > last:
        return {}
    series = campaigns_kpi_series(
        organization=organization,
        kpi=kpi,
        campaign_ids=sorted(set(campaign_ids)),
        first=first,
        last=last,
    )
    return {month: value for month, value in series.items() if value is not None}


@dataclass(frozen=True)
class Outlook:
    """What the objective form shows beside the numbers typed."""

    campaign_count: int  # 0: all campaigns
    baseline_start: date | None
    baseline_end: date | None
    history_baseline: Decimal | None  # the KPI over the baseline period, from history
    baseline: Decimal | None  # the baseline the target and the path start from
    filled: bool  # the baseline was taken from history (rounded to the KPI's decimals)
    target: Decimal | None  # the value to reach (a relative target applied to the baseline)
    feasibility: Feasibility | None
    history_first: date | None  # the window the month-on-month changes come from
    history_last: date | None
    wrong_way: bool  # the target moves the KPI the way its direction calls bad


def objective_outlook(
    *,
    organization: Organization,
    kpi: KPI | None,
    campaign_ids: Iterable[int] = (),
    baseline_start: date | None = None,
    baseline_end: date | None = None,
    baseline: Decimal | None = None,
    fill_baseline: bool = False,
    target_kind: str | None = None,
    target_value: Decimal | None = None,
    start_date: date | None = None,
    deadline: date | None = None,
) -> Outlook:
    """Everything the form can say from what is filled in; missing inputs give None.

    With ``fill_baseline``, the baseline is the history's value for the baseline period
    (when it has one) rounded to the KPI's decimals, rather than ``baseline``.
    """
    campaign_ids = list(campaign_ids)
    history_baseline = None
    if kpi is not None and baseline_start and baseline_end and baseline_start <= baseline_end:
        history_baseline = kpi_value_over(
            organization=organization,
            kpi=kpi,
            first=baseline_start,
            last=baseline_end,
            campaign_ids=campaign_ids,
        )
    filled = False
    if fill_baseline and history_baseline is not None and kpi is not None:
        baseline = history_baseline.quantize(Decimal(1).scaleb(-min(kpi.decimals, 6)))
        filled = True
    target = target_value
    if target_kind == TargetKind.RELATIVE:
        target = (
            None
            if baseline is None or target_value is None
            else (baseline * (1 + target_value / 100))
        )
    feasibility = None
    first = last = None
    if kpi is not None and start_date and deadline and deadline > start_date:
        first, last = history_window(start_date)
        history = kpi_monthly_history(
            organization=organization, kpi=kpi, first=first, last=last, campaign_ids=campaign_ids
        )
        feasibility = assess(
            baseline=baseline, target=target, start=start_date, deadline=deadline, history=history
        )
    wrong_way = bool(
        kpi is not None
        and baseline is not None
        and target is not None
        and target != baseline
        and (target > baseline) != (kpi.direction == "higher")
    )
    return Outlook(
        campaign_count=len(campaign_ids),
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        history_baseline=history_baseline,
        baseline=baseline,
        filled=filled,
        target=target,
        feasibility=feasibility,
        history_first=first,
        history_last=last,
        wrong_way=wrong_way,
    )
