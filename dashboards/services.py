"""Writes of the dashboards: the benchmarks an admin records for a KPI."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kpiboard.data_version import organization_data_changed
from kpiboard.models import Organization
from metrics.models import KPI, Benchmark
from metrics.periods import month_start


@transaction.atomic
def benchmark_save(
    *,
    organization: Organization,
    kpi: KPI,
    label: str,
    value: Decimal,
    period_start: date,
    period_end: date | None = None,
    source: str = "",
) -> Benchmark:
    """Record a reference value for a KPI (a sector average, a competitor, a published
    figure), valid from a month, until a month or for good. Charts draw it as a line."""
    if kpi.organization_id != organization.pk:
        raise ValidationError(_("This KPI belongs to another organization."))
    label = label.strip()
    if not label:
        raise ValidationError({"label": _("Name the benchmark.")})
    period_start = month_start(period_start)
    period_end = month_start(period_end) if period_end else None
    if period_end is not None and period_end < period_start:
        raise ValidationError({"period_end": _("The end comes before the start.")})
    if not value.is_finite():
        raise ValidationError({"value": _("Enter a number.")})
    benchmark = Benchmark(
        organization=organization,
        kpi=kpi,
        label=label,
        source=source.strip(),
        period_start=period_start,
        period_end=period_end,
        value=value,
    )
    benchmark.full_clean(exclude=["organization", "kpi"])
    benchmark.save()
    organization_data_changed(organization_id=organization.pk)
    return benchmark


@transaction.atomic
def benchmark_delete(*, organization: Organization, benchmark: Benchmark) -> None:
    Benchmark.objects.filter(organization=organization, pk=benchmark.pk).delete()
    organization_data_changed(organization_id=organization.pk)
