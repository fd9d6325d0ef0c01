"""Writes on metrics, KPIs and their monthly values.

Every change to values marks what it touched as stale in the same transaction and asks
Celery, once the transaction has committed, to recompute the KPIs (metrics.recompute).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from imports.parsing import normalize_header
from kpiboard.data_version import organization_data_changed
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

    # Stale marks were just written (every path that writes them comes here): pages change
    # ("Recomputing…"), and change again when the recompute ends.
    organization_data_changed(organization_id=organization_id)
    transaction.on_commit(lambda: recompute_kpis.delay(organization_id))


def entries_lock(
    *, organization: Organization, campaign_ids: Iterable[int], metric_ids: Iterable[int]
) -> bool:
    """Lock the campaigns and metrics values are about to be written for, until the end of
    the transaction; False when one of them is not (or no longer) the organization's.

    What PostgreSQL's foreign-key check would do for every row written, once per write (the
    entries and their history have no such constraint: see MetricEntry). The campaigns are
    locked FOR NO KEY UPDATE, like entries_set does: writers of a campaign's values queue,
    so what a write compares with is what it replaces, and deleting the campaign waits. The
    metrics only FOR KEY SHARE: their deletion, or a change of kind, waits.
    """
    from django.db import connection

    campaign_ids, metric_ids = sorted(set(campaign_ids)), sorted(set(metric_ids))
    campaigns = (
        Campaign.objects.filter(organization=organization, pk__in=campaign_ids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    if len(campaigns) != len(campaign_ids):
        return False
    if not metric_ids:
        return True
    if connection.vendor != "postgresql":  # SQLite: one writer at a time anyway
        found = Metric.objects.filter(organization=organization, pk__in=metric_ids).count()
        return found == len(metric_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM metrics_metric WHERE organization_id = %s AND id = ANY(%s)"
            " ORDER BY id FOR KEY SHARE",
            [organization.pk, metric_ids],
        )
        return len(cursor.fetchall()) == len(metric_ids)


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
    if not entries_lock(
        organization=organization,
        campaign_ids=campaign_ids,
        metric_ids={w.metric_id for w in writes},
    ):
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
        if entry is not None and not entry.creation_logged:
            changes.append(entry.creation_change())  # an import's addition, unchanged so far
            entry.creation_logged = True
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
        [
            "value",
            "version",
            "source",
            "import_batch",
            "updated_by",
            "updated_at",
            "creation_logged",
        ],
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
    organization_data_changed(organization_id=organization.pk)
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
        and MetricEntry.objects.filter(
            organization=organization, metric=metric, value__lt=0
        ).exists()
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
        MetricEntry.objects.filter(organization=organization, metric=metric).update(
            kind=metric.kind
        )
    if old is not None and old[1] != metric.rollup:
        kpis_mark_all_stale(organization=organization)
    organization_data_changed(organization_id=organization.pk)
    return metric


# --- Data entry: one cell, a pasted block, a target ---------------------------------------


@dataclass(frozen=True)
class CellState:
    """What a cell holds now: its value (None when empty), version, and who set it when."""

    metric_id: int
    month: date
    value: Decimal | None
    version: int  # 0 when the cell is empty
    updated_by: AbstractBaseUser | None = None
    updated_at: datetime | None = None
    source: str = ""


class Conflict(Exception):
    """Someone else changed the value(s) since they were read: nothing was written.

    ``cells`` holds the current state of every cell that changed; for a single cell the
    shortcuts ``value``, ``version``, ``updated_by`` and ``updated_at`` read the first one.
    """

    def __init__(self, cells: list[CellState]) -> None:
        super().__init__(f"{len(cells)} value(s) changed meanwhile.")
        self.cells = cells

    @property
    def current(self) -> CellState:
        return self.cells[0]

    @property
    def value(self) -> Decimal | None:
        return self.current.value

    @property
    def version(self) -> int:
        return self.current.version

    @property
    def updated_by(self) -> AbstractBaseUser | None:
        return self.current.updated_by

    @property
    def updated_at(self) -> datetime | None:
        return self.current.updated_at


@dataclass(frozen=True)
class CellWrite:
    """A value typed or pasted into the grid, with the version the person saw."""

    metric_id: int
    month: date
    value: Decimal | None
    expected_version: int


ENTRY_QUANTUM = Decimal("0.000001")
ENTRY_LIMIT = Decimal("1e14")  # MetricEntry.value: 20 digits, 6 of them decimals


def entry_value_check(*, metric: Metric, value: Decimal | None) -> Decimal | None:
    """The value as stored (rounded to the column's 6 decimals), or ValidationError."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext

    if value is None:
        return None
    if not value.is_finite() or abs(value) >= ENTRY_LIMIT:
        raise ValidationError(gettext("This number is too large."), code="too_large")
    if value < 0 and not metric.allows_negative:
        if metric.kind == "money":
            message = gettext("An amount cannot be negative.")
        else:
            message = gettext("A count cannot be negative.")
        raise ValidationError(message, code="negative")
    return value.quantize(ENTRY_QUANTUM)


def _cell_state(entry: MetricEntry | None, metric_id: int, month: date) -> CellState:
    if entry is None:
        return CellState(metric_id, month, None, 0)
    return CellState(
        metric_id,
        month,
        entry.value,
        entry.version,
        entry.updated_by,
        entry.updated_at,
        entry.source,
    )


def _same_value(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.compare(b) == 0


def _is_own_form_write(entry: MetricEntry | None, user: AbstractBaseUser | None) -> bool:
    # A person saving the same cell twice in a row (their first save still on its way when
    # they typed again) is not a conflict: the version they hold is one of their own.
    return (
        entry is not None
        and user is not None
        and entry.source == Source.FORM
        and entry.updated_by_id == user.pk
    )


def _renumber_new_entries(*, organization: Organization, campaign: Campaign, keys) -> None:
    """A value deleted then typed again must not get back a version someone still holds
    (1): a new entry's version is the number of changes its cell has ever had."""
    from django.db.models import Count

    keys = set(keys)
    if not keys:
        return
    counts = {
        (row["metric_id"], row["month"]): row["n"]
        for row in ValueChange.objects.filter(
            organization=organization,
            campaign=campaign,
            metric_id__in={k[0] for k in keys},
            month__in={k[1] for k in keys},
        )
        .values("metric_id", "month")
        .annotate(n=Count("id"))
    }
    entries = [
        e
        for e in MetricEntry.objects.filter(
            organization=organization,
            campaign=campaign,
            metric_id__in={k[0] for k in keys},
            month__in={k[1] for k in keys},
        )
        if (e.metric_id, e.month) in keys and counts.get((e.metric_id, e.month), 1) > e.version
    ]
    for entry in entries:
        entry.version = counts[(entry.metric_id, entry.month)]
    MetricEntry.objects.bulk_update(entries, ["version"])


def entries_set(
    *,
    organization: Organization,
    campaign: Campaign,
    cells: Iterable[CellWrite],
    user: AbstractBaseUser | None,
    source: str = Source.FORM,
) -> WriteResult:
    """Save grid cells as one change, or nothing: optimistic concurrency on every cell.

    Raises Conflict (with every cell someone else changed since it was read) and
    ValidationError (a negative count or amount...) before anything is written. A cell
    whose value already is the one written is never a conflict.
    """
    from django.core.exceptions import ValidationError

    cells = list(cells)
    if campaign.organization_id != organization.pk:
        raise ValueError("Campaign of another organization.")
    metrics = {m.pk: m for m in Metric.objects.filter(organization=organization)}
    if any(c.metric_id not in metrics for c in cells):
        raise ValueError("Metrics of another organization.")
    writes: list[ValueWrite] = []
    for c in cells:
        try:
            value = entry_value_check(metric=metrics[c.metric_id], value=c.value)
        except ValidationError as error:
            raise ValidationError({f"{c.metric_id}:{c.month:%Y-%m}": error.messages}) from None
        writes.append(ValueWrite(campaign.pk, c.metric_id, c.month, value))
    with transaction.atomic():
        # Writers of one campaign queue here, so two first values of an empty cell cannot
        # both be created; entries_write then locks the entries themselves. NO KEY UPDATE:
        # rows referencing the campaign (KPI values of a running recompute) are not blocked.
        Campaign.objects.select_for_update(no_key=True).filter(pk=campaign.pk).first()
        keys = {(c.metric_id, c.month) for c in cells}
        current = {
            (e.metric_id, e.month): e
            for e in MetricEntry.objects.select_related("updated_by")
            .filter(
                organization=organization,
                campaign=campaign,
                metric_id__in={k[0] for k in keys},
                month__in={k[1] for k in keys},
            )
            .select_for_update(of=("self",))
            if (e.metric_id, e.month) in keys
        }
        conflicts = []
        for c, w in zip(cells, writes, strict=True):
            entry = current.get((c.metric_id, c.month))
            version = entry.version if entry else 0
            if (
                version != c.expected_version
                and not _same_value(entry.value if entry else None, w.value)
                and not _is_own_form_write(entry, user)
            ):
                conflicts.append(_cell_state(entry, c.metric_id, c.month))
        if conflicts:
            raise Conflict(conflicts)
        result = entries_write(organization=organization, writes=writes, user=user, source=source)
        _renumber_new_entries(
            organization=organization,
            campaign=campaign,
            keys={
                (w.metric_id, w.month)
                for w in writes
                if w.value is not None and (w.metric_id, w.month) not in current
            },
        )
    return result


def entry_set(
    *,
    organization: Organization,
    campaign: Campaign,
    metric: Metric,
    month: date,
    value: Decimal | None,
    expected_version: int,
    user: AbstractBaseUser | None,
    source: str = Source.FORM,
) -> CellState:
    """Save one grid cell (None empties it) if nobody changed it since version
    ``expected_version`` was read (0: it was empty). Raises Conflict, or ValidationError
    for a value the metric cannot take. Returns the cell as now stored."""
    from django.core.exceptions import ValidationError

    if metric.organization_id != organization.pk:
        raise ValueError("Metric of another organization.")
    try:
        entries_set(
            organization=organization,
            campaign=campaign,
            cells=[CellWrite(metric.pk, month, value, expected_version)],
            user=user,
            source=source,
        )
    except ValidationError as error:
        raise ValidationError(error.messages[0]) from None
    entry = (
        MetricEntry.objects.select_related("updated_by")
        .filter(organization=organization, campaign=campaign, metric=metric, month=month)
        .first()
    )
    return _cell_state(entry, metric.pk, month)


def entries_paste(
    *,
    organization: Organization,
    campaign: Campaign,
    cells: Iterable[CellWrite],
    user: AbstractBaseUser | None,
) -> WriteResult:
    """Save a block pasted into the grid, checked as a whole: all its cells or none.
    Raises Conflict listing the cells changed since the block was previewed."""
    return entries_set(
        organization=organization, campaign=campaign, cells=cells, user=user, source=Source.FORM
    )


@transaction.atomic
def target_set(
    *,
    organization: Organization,
    kpi: KPI,
    campaign: Campaign | None,
    month: date,
    value: Decimal | None,
    expected: Decimal | None,
) -> Decimal | None:
    """Set (None: remove) a KPI's target for a month, for one campaign or all of them.

    Targets carry no version: ``expected`` is the target the person saw, and a different
    stored one raises Conflict (with no author: targets do not record who set them).
    """
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext

    from .models import Target

    if kpi.organization_id != organization.pk or (
        campaign is not None and campaign.organization_id != organization.pk
    ):
        raise ValueError("KPI or campaign of another organization.")
    if month.day != 1:
        raise ValueError("A month starts on its first day.")
    if value is not None:
        if not value.is_finite() or abs(value) >= ENTRY_LIMIT:
            raise ValidationError(gettext("This number is too large."), code="too_large")
        if value < 0 and kpi.unit not in ("percent", "points"):
            raise ValidationError(gettext("This target cannot be negative."), code="negative")
        value = value.quantize(ENTRY_QUANTUM)
    KPI.objects.select_for_update(no_key=True).filter(pk=kpi.pk).first()  # writers queue
    target = (
        Target.objects.select_for_update()
        .filter(organization=organization, kpi=kpi, campaign=campaign, month=month)
        .first()
    )
    current = target.value if target else None
    if _same_value(current, value):
        return current
    if not _same_value(current, expected):
        raise Conflict([CellState(kpi.pk, month, current, 1 if target else 0)])
    if value is None:
        target.delete()
    elif target is None:
        Target.objects.create(
            organization=organization, kpi=kpi, campaign=campaign, month=month, value=value
        )
    else:
        target.value = value
        target.save(update_fields=["value"])
    organization_data_changed(organization_id=organization.pk)
    return value
