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
