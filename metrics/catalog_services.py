"""Admin edits of the metric and KPI catalog, on top of metrics.services.

Codes are identifiers used in formulas: once a formula uses a code, the code cannot change
(a rename would silently break that formula), and what a formula uses cannot be deleted.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from imports.parsing import normalize_header
from kpiboard.concurrency import check_unchanged
from kpiboard.data_version import organization_data_changed
from kpiboard.models import Organization

from .catalog_selectors import formula_users
from .models import KPI, Metric, MetricAlias, MetricEntry
from .services import KPI_FIELDS, kpi_save, metric_save

METRIC_FIELDS = (
    "code", "label_fr", "label_en", "description_fr", "description_en", "kind", "rollup",
)  # fmt: skip
KPI_EDIT_FIELDS = tuple(f for f in KPI_FIELDS if f != "position")


def _codes_list(kpis: list[KPI]) -> str:
    return ", ".join(k.code for k in kpis)


def _refuse_rename(organization: Organization, old: str, new: str, exclude_kpi_id=None) -> None:
    if old == new:
        return
    users = formula_users(organization=organization, code=old, exclude_kpi_id=exclude_kpi_id)
    if users:
        raise ValidationError(
            {
                "code": _(
                    "The code “%(code)s” cannot change: the formula of %(kpis)s uses it. "
                    "Change those formulas first."
                )
                % {"code": old, "kpis": _codes_list(users)}
            }
        )


def _next_position(model, organization: Organization) -> int:
    top = model.objects.filter(organization=organization).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


@transaction.atomic
def catalog_metric_save(
    *,
    organization: Organization,
    metric: Metric | None = None,
    aliases: list[str] | None = None,
    expected_fingerprint: str | None = None,
    **fields,
) -> Metric:
    """Create or change a metric, and replace its import header aliases if given.

    Raises ValidationError by field: a code used by a formula that would change, a code taken
    by another metric or a KPI, an alias another metric already has, an edit made meanwhile.
    """
    unknown = set(fields) - set(METRIC_FIELDS)
    if unknown:
        raise TypeError(f"Unknown metric fields: {sorted(unknown)}")
    if metric is not None and metric.pk:
        metric = Metric.objects.select_for_update().get(organization=organization, pk=metric.pk)
        check_unchanged(metric, METRIC_FIELDS, expected_fingerprint)
        _refuse_rename(organization, metric.code, fields.get("code", metric.code))
    else:
        metric = Metric(organization=organization, position=_next_position(Metric, organization))
    code = fields.get("code", metric.code)
    if Metric.objects.filter(organization=organization, code=code).exclude(pk=metric.pk).exists():
        raise ValidationError({"code": _("Another metric already has this code.")})
    metric = metric_save(organization=organization, metric=metric, **fields)
    if aliases is not None:
        metric_aliases_set(organization=organization, metric=metric, aliases=aliases)
    return metric


def metric_aliases_set(*, organization: Organization, metric: Metric, aliases: list[str]) -> None:
    """The column headers that mean this metric in imported files (replaces the old list)."""
    wanted: dict[str, str] = {}
    for alias in aliases:
        alias = alias.strip()
        normalized = normalize_header(alias)
        if normalized and normalized not in wanted:
            wanted[normalized] = alias[:120]
    taken = {
        a.normalized: a
        for a in MetricAlias.objects.filter(
            organization=organization, normalized__in=wanted
        ).exclude(metric=metric)
    }
    if taken:
        clashes = ", ".join(f"“{a.alias}” ({a.metric.code})" for a in taken.values())
        raise ValidationError(
            {"aliases": _("Already the header of another metric: %(list)s.") % {"list": clashes}}
        )
    MetricAlias.objects.filter(organization=organization, metric=metric).exclude(
        normalized__in=wanted
    ).delete()
    existing = set(
        MetricAlias.objects.filter(organization=organization, metric=metric).values_list(
            "normalized", flat=True
        )
    )
    MetricAlias.objects.bulk_create(
        MetricAlias(organization=organization, metric=metric, alias=alias, normalized=normalized)
        for normalized, alias in wanted.items()
        if normalized not in existing
    )


@transaction.atomic
def metric_delete(*, organization: Organization, metric: Metric) -> None:
    """Delete a metric nothing uses: no formula, no value. Raises ValidationError otherwise."""
    metric = Metric.objects.select_for_update().get(organization=organization, pk=metric.pk)
    users = formula_users(organization=organization, code=metric.code)
    if users:
        raise ValidationError(
            _("“%(code)s” cannot be deleted: the formula of %(kpis)s uses it.")
            % {"code": metric.code, "kpis": _codes_list(users)}
        )
    count = MetricEntry.objects.filter(organization=organization, metric=metric).count()
    if count:
        raise ValidationError(
            _(
                "“%(code)s” cannot be deleted: it has %(count)s monthly values. "
                "Delete them from the data entry grid first."
            )
            % {"code": metric.code, "count": count}
        )
    metric.delete()
    organization_data_changed(organization_id=organization.pk)


@transaction.atomic
def catalog_kpi_save(
    *,
    organization: Organization,
    kpi: KPI | None = None,
    expected_fingerprint: str | None = None,
    **fields,
) -> KPI:
    """Create or change a KPI (formula checked by kpi_save: FormulaError with a position).

    Raises ValidationError by field: a code used by another formula that would change, a
    code taken by another KPI or a metric, an edit made meanwhile by someone else.
    """
    if kpi is not None and kpi.pk:
        kpi = KPI.objects.select_for_update().get(organization=organization, pk=kpi.pk)
        check_unchanged(kpi, KPI_EDIT_FIELDS, expected_fingerprint)
        _refuse_rename(organization, kpi.code, fields.get("code", kpi.code), exclude_kpi_id=kpi.pk)
    else:
        kpi = KPI(organization=organization, position=_next_position(KPI, organization))
    code = fields.get("code", kpi.code)
    if KPI.objects.filter(organization=organization, code=code).exclude(pk=kpi.pk).exists():
        raise ValidationError({"code": _("Another KPI already has this code.")})
    return kpi_save(organization=organization, kpi=kpi, **fields)


@transaction.atomic
def kpi_delete(*, organization: Organization, kpi: KPI) -> None:
    """Delete a KPI that no formula and no objective uses, with its values and targets."""
    kpi = KPI.objects.select_for_update().get(organization=organization, pk=kpi.pk)
    users = formula_users(organization=organization, code=kpi.code, exclude_kpi_id=kpi.pk)
    if users:
        raise ValidationError(
            _("“%(code)s” cannot be deleted: the formula of %(kpis)s uses it.")
            % {"code": kpi.code, "kpis": _codes_list(users)}
        )
    objectives = list(kpi.objectives.order_by("title").values_list("title", flat=True))
    if objectives:
        raise ValidationError(
            _("“%(code)s” cannot be deleted: the objective %(titles)s measures it.")
            % {"code": kpi.code, "titles": ", ".join(f"“{t}”" for t in objectives)}
        )
    try:
        kpi.delete()
    except ProtectedError:
        raise ValidationError(
            _("“%(code)s” cannot be deleted: other pages still use it.") % {"code": kpi.code}
        ) from None
    organization_data_changed(organization_id=organization.pk)
