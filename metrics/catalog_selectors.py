"""Reads for the catalog pages: what uses a code, and the live check of a formula."""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch

from kpiboard.models import Organization

from .formulas import FormulaError, check_formula, parse
from .models import KPI, Metric, MetricAlias, Target


def formula_users(*, organization: Organization, code: str, exclude_kpi_id=None) -> list[KPI]:
    """The organization's KPIs whose formula uses ``code`` (a metric or KPI code)."""
    users = []
    for kpi in KPI.objects.filter(organization=organization).exclude(pk=exclude_kpi_id):
        try:
            references = parse(kpi.formula).references()
        except FormulaError:
            continue  # a broken formula uses nothing we can tell
        if code in references:
            users.append(kpi)
    return users


def metrics_for_catalog(*, organization: Organization) -> list[Metric]:
    """Metrics with their aliases and the number of values each has (one query each)."""
    return list(
        Metric.objects.filter(organization=organization)
        .annotate(value_count=Count("entries"))
        .prefetch_related(Prefetch("aliases", queryset=MetricAlias.objects.order_by("alias")))
        .order_by("position", "code")
    )


def kpis_for_catalog(*, organization: Organization) -> list[KPI]:
    return list(
        KPI.objects.filter(organization=organization)
        .annotate(objective_count=Count("objectives"))
        .order_by("position", "code")
    )


def kpi_delete_consequences(*, organization: Organization, kpi: KPI) -> dict[str, int]:
    """What deleting a KPI takes with it, for the confirmation page."""
    return {
        "targets": Target.objects.filter(organization=organization, kpi=kpi).count(),
        "benchmarks": kpi.benchmarks.count(),
    }


@dataclass(frozen=True)
class CodeUse:
    code: str
    label: str
    is_metric: bool


@dataclass(frozen=True)
class FormulaCheck:
    """The live check of a formula: what it uses, or where it goes wrong."""

    text: str
    error: str | None = None
    position: int | None = None
    uses: list[CodeUse] = field(default_factory=list)
    uses_months: bool = False

    @property
    def caret_padding(self) -> str:
        """Spaces that put a caret, on the next line, right under the error (monospace)."""
        return " " * min(self.position or 0, len(self.text))


def formula_check(
    *, organization: Organization, text: str, code: str = "", kpi_id: int | None = None
) -> FormulaCheck:
    """Check ``text`` as the formula of KPI ``code`` (``kpi_id`` when it exists already)."""
    metrics = {m.code: m for m in Metric.objects.filter(organization=organization)}
    kpis = {k.code: k for k in KPI.objects.filter(organization=organization).exclude(pk=kpi_id)}
    try:
        formula = check_formula(
            text,
            code=code or "",
            metric_codes=metrics,
            kpi_formulas={c: k.formula for c, k in kpis.items()},
        )
    except FormulaError as error:
        return FormulaCheck(text=text, error=error.message, position=error.position)
    uses = []
    for name in sorted(formula.references(), key=lambda n: formula.position_of(n) or 0):
        if name in metrics:
            uses.append(CodeUse(name, metrics[name].label, True))
        elif name in kpis:
            uses.append(CodeUse(name, kpis[name].label, False))
    return FormulaCheck(text=text, uses=uses, uses_months=formula.position_of("months") is not None)
