"""Writes on metrics, KPIs and their monthly values.

Every change to values marks what it touched as stale in the same transaction and asks
Celery, once the transaction has committed, to recompute the KPIs (metrics.recompute).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from imports.parsing import normalize_header
from kpiboard.models import Organization

from . import catalog
from .models import KPI, Metric, MetricAlias, MetricEntry, Source, StaleMark, ValueChange


def catalog_install(*, organization: Organization) -> None:
    """Give an organization the standard catalog. Codes it already has are left alone."""
    existing_metrics = set(organization.metrics.values_list("code", flat=True))
    new_metrics = [
        Metric(
            organization=organization,
            code=spec.code,
            label_fr=spec.label_fr,
            label_en=spec.label_en,
            description_fr=spec.description_fr,
            description_en=spec.description_en,
            kind=spec.kind,
            rollup=spec.rollup,
            position=position,
        )
        for position, spec in enumerate(catalog.METRICS)
        if spec.code not in existing_metrics
    ]
    Metric.objects.bulk_create(new_metrics)
    by_code = {m.code: m for m in organization.metrics.all()}
    taken = set(organization.metric_aliases.values_list("normalized", flat=True))
    aliases = []
    for spec in catalog.METRICS:
        for alias in spec.aliases:
            normalized = normalize_header(alias)
            if normalized not in taken:
                taken.add(normalized)
                aliases.append(
                    MetricAlias(
                        organization=organization,
                        metric=by_code[spec.code],
                        alias=alias,
                        normalized=normalized,
                    )
                )
    MetricAlias.objects.bulk_create(aliases)
    existing_kpis = set(organization.kpis.values_list("code", flat=True))
    KPI.objects.bulk_create(
        KPI(
            organization=organization,
            code=spec.code,
            label_fr=spec.label_fr,
            label_en=spec.label_en,
            description_fr=spec.description_fr,
            description_en=spec.description_en,
            formula=spec.formula,
            unit=spec.unit,
            direction=spec.direction,
            indicator=spec.indicator,
            stage=spec.stage,
            decimals=spec.decimals,
            followed=spec.followed,
            position=position,
        )
        for position, spec in enumerate(catalog.KPIS)
        if spec.code not in existing_kpis
    )


@dataclass(frozen=True)
class ValueWrite:
    campaign_id: int
    metric_id: int
    month: date
    value: Decimal | None  # None deletes the value


@dataclass(frozen=True)
class WriteResult:
    created: int
    updated: int
    deleted: int
    unchanged: int


def kpis_mark_stale(*, organization: Organization, cells: Iterable[tuple[int, date]]) -> None:
    """Mark (campaign, month) cells stale and recompute them once the transaction commits."""
    marks = [
        StaleMark(organization=organization, campaign_id=campaign_id, month=month)
        for campaign_id, month in sorted(set(cells))
    ]
    if not marks:
        return
    StaleMark.objects.bulk_create(marks)
    schedule_recompute(organization_id=organization.pk)


def schedule_recompute(*, organization_id: int) -> None:
    from .tasks import recompute_kpis

    transaction.on_commit(lambda: recompute_kpis.delay(organization_id))


@transaction.atomic
def entries_write(
    *,
    organization: Organization,
    writes: Iterable[ValueWrite],
    user: AbstractBaseUser | None,
    source: str = Source.FORM,
    import_batch=None,
) -> WriteResult:
    """Write many monthly values at once, with their history, as one change.

    Values equal to what is stored are left alone (re-importing a file changes nothing).
    """
    writes = list(writes)
    now = timezone.now()
    metrics = {m.pk: m for m in Metric.objects.filter(organization=organization)}
    keys = {(w.campaign_id, w.metric_id, w.month) for w in writes}
    campaign_ids = {k[0] for k in keys}
    months = {k[2] for k in keys}
    foreign_campaigns = campaign_ids - set(
        Campaign.objects.filter(organization=organization, pk__in=campaign_ids).values_list(
            "pk", flat=True
        )
    )
    foreign_metrics = {w.metric_id for w in writes} - metrics.keys()
    if foreign_campaigns or foreign_metrics:
        raise ValueError("Campaigns or metrics of another organization.")
    existing = {
        (e.campaign_id, e.metric_id, e.month): e
        for e in MetricEntry.objects.filter(
            organization=organization, campaign_id__in=campaign_ids, month__in=months
        ).select_for_update()
        if (e.campaign_id, e.metric_id, e.month) in keys
    }
    to_create: list[MetricEntry] = []
    to_update: list[MetricEntry] = []
    to_delete: list[int] = []
    changes: list[ValueChange] = []
    touched: set[tuple[int, date]] = set()
    unchanged = 0
    for w in writes:
        entry = existing.get((w.campaign_id, w.metric_id, w.month))
        old = entry.value if entry else None
        if old == w.value or (
            old is not None and w.value is not None and old.compare(w.value) == 0
        ):
            unchanged += 1
            continue
        if w.value is None:
            to_delete.append(entry.pk)
        elif entry is None:
            to_create.append(
                MetricEntry(
                    organization=organization,
                    campaign_id=w.campaign_id,
                    metric_id=w.metric_id,
                    month=w.month,
                    value=w.value,
                    kind=metrics[w.metric_id].kind,
                    source=source,
                    import_batch=import_batch,
                    updated_by=user,
                    updated_at=now,
                )
            )
        else:
            entry.value = w.value
            entry.version += 1
            entry.source = source
            entry.import_batch = import_batch
            entry.updated_by = user
            entry.updated_at = now
            to_update.append(entry)
        changes.append(
            ValueChange(
                organization=organization,
                campaign_id=w.campaign_id,
                metric_id=w.metric_id,
                month=w.month,
                old_value=old,
                new_value=w.value,
                changed_by=user,
                changed_at=now,
                source=source,
                import_batch=import_batch,
            )
        )
        touched.add((w.campaign_id, w.month))
    MetricEntry.objects.bulk_create(to_create, batch_size=2000)
    MetricEntry.objects.bulk_update(
        to_update,
        ["value", "version", "source", "import_batch", "updated_by", "updated_at"],
        batch_size=2000,
    )
    MetricEntry.objects.filter(pk__in=to_delete).delete()
    ValueChange.objects.bulk_create(changes, batch_size=2000)
    kpis_mark_stale(organization=organization, cells=touched)
    return WriteResult(
        created=len(to_create), updated=len(to_update), deleted=len(to_delete), unchanged=unchanged
    )


def kpis_mark_all_stale(*, organization: Organization) -> None:
    """Everything must be recomputed (a campaign changed channel, the fiscal year moved...)."""
    StaleMark.objects.create(organization=organization)
    schedule_recompute(organization_id=organization.pk)


KPI_FIELDS = (
    "code", "label_fr", "label_en", "description_fr", "description_en", "formula", "unit",
    "direction", "indicator", "stage", "decimals", "followed", "position",
)  # fmt: skip


@transaction.atomic
def kpi_save(*, organization: Organization, kpi: KPI | None = None, **fields) -> KPI:
    """Create or change a KPI. Its formula is checked (unknown codes, cycles) before
    anything is written; a new formula recomputes the KPI, and those built on it, everywhere.
    Raises FormulaError, or ValidationError for the other fields."""
    from django.core.exceptions import ValidationError

    from .formulas import check_formula

    unknown = set(fields) - set(KPI_FIELDS)
    if unknown:
        raise TypeError(f"Unknown KPI fields: {sorted(unknown)}")
    kpi = kpi or KPI(organization=organization)
    old_formula = kpi.formula if kpi.pk else None
    for name, value in fields.items():
        setattr(kpi, name, value)
    metric_codes = set(organization.metrics.values_list("code", flat=True))
    if kpi.code in metric_codes or kpi.code == "months":
        raise ValidationError({"code": _code_taken_message(kpi.code)})
    others = dict(organization.kpis.exclude(pk=kpi.pk).values_list("code", "formula"))
    check_formula(kpi.formula, code=kpi.code, metric_codes=metric_codes, kpi_formulas=others)
    kpi.full_clean()
    kpi.save()
    if kpi.formula != old_formula:
        StaleMark.objects.create(organization=organization, kpi=kpi)
        schedule_recompute(organization_id=organization.pk)
    return kpi


def _code_taken_message(code: str) -> str:
    from django.utils.translation import gettext

    return gettext("The code “%(code)s” is already used by a metric or is reserved.") % {
        "code": code
    }


@transaction.atomic
def metric_save(*, organization: Organization, metric: Metric | None = None, **fields) -> Metric:
    """Create or change a metric. A new roll-up changes every aggregate: all is recomputed."""
    from django.core.exceptions import ValidationError

    metric = metric or Metric(organization=organization)
    old = (metric.kind, metric.rollup) if metric.pk else None
    for name, value in fields.items():
        setattr(metric, name, value)
    if metric.code == "months" or organization.kpis.filter(code=metric.code).exists():
        raise ValidationError({"code": _code_taken_message(metric.code)})
    if (
        metric.pk
        and not metric.allows_negative
        and MetricEntry.objects.filter(metric=metric, value__lt=0).exists()
    ):
        from django.utils.translation import gettext

        raise ValidationError(
            {
                "kind": gettext(
                    "Some values of this metric are negative: a count or an amount cannot be."
                )
            }
        )
    metric.full_clean()
    metric.save()
    if old is not None and old[0] != metric.kind:
        MetricEntry.objects.filter(metric=metric).update(kind=metric.kind)
    if old is not None and old[1] != metric.rollup:
        kpis_mark_all_stale(organization=organization)
    return metric
