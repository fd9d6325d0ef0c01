"""The catalog pages: admins edit metrics (with their import headers) and KPIs."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.forms import add_service_errors
from kpiboard.concurrency import fingerprint
from kpiboard.tenancy import org_view

from . import catalog_selectors as selectors
from . import catalog_services as services
from .catalog_forms import KPIForm, MetricForm
from .formulas import FormulaError
from .models import KPI, Metric, MetricEntry


@org_view("admin")
def catalog(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    context = {
        "nav_active": "catalog",
        "metrics": selectors.metrics_for_catalog(organization=organization),
        "kpis": selectors.kpis_for_catalog(organization=organization),
    }
    return render(request, "metrics/catalog.html", context)


def _form_page(request, *, template: str, form, item, stamp: str, **extra) -> HttpResponse:
    context = {"nav_active": "catalog", "form": form, "item": item, "fingerprint": stamp, **extra}
    return render(request, template, context)


def _metric_form_page(request: HttpRequest, metric: Metric | None) -> HttpResponse:
    organization = request.organization
    initial = MetricForm.initial_for(metric) if metric else {"kind": "count", "rollup": "sum"}
    stamp = fingerprint(metric, services.METRIC_FIELDS) if metric else ""
    users = selectors.formula_users(organization=organization, code=metric.code) if metric else []
    if request.method == "POST":
        form = MetricForm(request.POST, initial=initial)
        if users:
            form.lock_code(users)
        if metric:
            stamp = request.POST.get("fingerprint", "")
        if form.is_valid():
            data = dict(form.cleaned_data)
            aliases = data.pop("aliases")
            data.pop("fingerprint")
            try:
                saved = services.catalog_metric_save(
                    organization=organization,
                    metric=metric,
                    aliases=aliases,
                    expected_fingerprint=stamp or None,
                    **data,
                )
            except ValidationError as error:
                add_service_errors(form, error)
                if metric and any(e.code == "conflict" for e in getattr(error, "error_list", [])):
                    stamp = fingerprint(Metric.objects.get(pk=metric.pk), services.METRIC_FIELDS)
            else:
                messages.success(request, _("Metric “%(code)s” saved.") % {"code": saved.code})
                return redirect(reverse("catalog", args=[organization.slug]) + "#metrics")
    else:
        form = MetricForm(initial=initial)
        if users:
            form.lock_code(users)
    value_count = (
        MetricEntry.objects.filter(organization=organization, metric=metric).count()
        if metric
        else 0
    )
    return _form_page(
        request,
        template="metrics/catalog_metric_form.html",
        form=form,
        item=metric,
        stamp=stamp,
        users=users,
        value_count=value_count,
    )


@org_view("admin")
@require_http_methods(["GET", "POST"])
def metric_create(request: HttpRequest) -> HttpResponse:
    return _metric_form_page(request, None)


@org_view("admin")
@require_http_methods(["GET", "POST"])
def metric_edit(request: HttpRequest, metric_id: int) -> HttpResponse:
    metric = get_object_or_404(Metric, organization=request.organization, pk=metric_id)
    return _metric_form_page(request, metric)


@org_view("admin")
@require_http_methods(["GET", "POST"])
def metric_delete(request: HttpRequest, metric_id: int) -> HttpResponse:
    organization = request.organization
    metric = get_object_or_404(Metric, organization=organization, pk=metric_id)
    refusal = None
    if request.method == "POST":
        try:
            services.metric_delete(organization=organization, metric=metric)
        except ValidationError as error:
            refusal = error.messages[0]
        else:
            messages.success(request, _("Metric “%(code)s” deleted.") % {"code": metric.code})
            return redirect(reverse("catalog", args=[organization.slug]) + "#metrics")
    users = selectors.formula_users(organization=organization, code=metric.code)
    value_count = MetricEntry.objects.filter(organization=organization, metric=metric).count()
    context = {
        "nav_active": "catalog",
        "item": metric,
        "kind": "metric",
        "refusal": refusal,
        "users": users,
        "value_count": value_count,
        "cancel_url": reverse("catalog_metric_edit", args=[organization.slug, metric.pk]),
    }
    return render(request, "metrics/catalog_delete.html", context, status=409 if refusal else 200)


def _kpi_form_page(request: HttpRequest, kpi: KPI | None) -> HttpResponse:
    organization = request.organization
    initial = (
        KPIForm.initial_for(kpi)
        if kpi
        else {"unit": "percent", "direction": "higher", "indicator": "leading", "decimals": 2}
    )
    stamp = fingerprint(kpi, services.KPI_EDIT_FIELDS) if kpi else ""
    users = (
        selectors.formula_users(organization=organization, code=kpi.code, exclude_kpi_id=kpi.pk)
        if kpi
        else []
    )
    check = None
    if request.method == "POST":
        form = KPIForm(request.POST, initial=initial)
        if users:
            form.lock_code(users)
        if kpi:
            stamp = request.POST.get("fingerprint", "")
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("fingerprint")
            try:
                saved = services.catalog_kpi_save(
                    organization=organization,
                    kpi=kpi,
                    expected_fingerprint=stamp or None,
                    **data,
                )
            except FormulaError as error:
                form.add_error("formula", error.message)
                check = selectors.FormulaCheck(
                    text=data["formula"], error=error.message, position=error.position
                )
            except ValidationError as error:
                add_service_errors(form, error)
                if kpi and any(e.code == "conflict" for e in getattr(error, "error_list", [])):
                    stamp = fingerprint(KPI.objects.get(pk=kpi.pk), services.KPI_EDIT_FIELDS)
            else:
                messages.success(request, _("KPI “%(code)s” saved.") % {"code": saved.code})
                return redirect(reverse("catalog", args=[organization.slug]) + "#kpis")
        text = form.data.get("formula", "")
    else:
        form = KPIForm(initial=initial)
        if users:
            form.lock_code(users)
        text = initial.get("formula", "")
    check_url = reverse("catalog_formula_check", args=[organization.slug])
    form.enable_live_check(f"{check_url}?kpi={kpi.pk}" if kpi else check_url)
    if check is None and text:
        check = selectors.formula_check(
            organization=organization,
            text=text,
            code=form.data.get("code") or (kpi.code if kpi else ""),
            kpi_id=kpi.pk if kpi else None,
        )
    return _form_page(
        request,
        template="metrics/catalog_kpi_form.html",
        form=form,
        item=kpi,
        stamp=stamp,
        users=users,
        check=check,
        metrics=list(Metric.objects.filter(organization=organization).order_by("code")),
        other_kpis=list(
            KPI.objects.filter(organization=organization)
            .exclude(pk=kpi.pk if kpi else None)
            .order_by("code")
        ),
    )


@org_view("admin")
@require_http_methods(["GET", "POST"])
def kpi_create(request: HttpRequest) -> HttpResponse:
    return _kpi_form_page(request, None)


@org_view("admin")
@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, kpi_id: int) -> HttpResponse:
    kpi = get_object_or_404(KPI, organization=request.organization, pk=kpi_id)
    return _kpi_form_page(request, kpi)


@org_view("admin")
@require_GET
def formula_check(request: HttpRequest) -> HttpResponse:
    """The live check under the formula field (HTMX, as the admin types)."""
    organization = request.organization
    kpi = None
    if request.GET.get("kpi", "").isdigit():
        kpi = get_object_or_404(KPI, organization=organization, pk=int(request.GET["kpi"]))
    code = request.GET.get("code", "").strip().lower() or (kpi.code if kpi else "")
    check = selectors.formula_check(
        organization=organization,
        text=request.GET.get("formula", ""),
        code=code,
        kpi_id=kpi.pk if kpi else None,
    )
    return render(request, "metrics/catalog_kpi_form.html#formula-check", {"check": check})


@org_view("admin")
@require_http_methods(["GET", "POST"])
def kpi_delete(request: HttpRequest, kpi_id: int) -> HttpResponse:
    organization = request.organization
    kpi = get_object_or_404(KPI, organization=organization, pk=kpi_id)
    refusal = None
    if request.method == "POST":
        try:
            services.kpi_delete(organization=organization, kpi=kpi)
        except ValidationError as error:
            refusal = error.messages[0]
        else:
            messages.success(request, _("KPI “%(code)s” deleted.") % {"code": kpi.code})
            return redirect(reverse("catalog", args=[organization.slug]) + "#kpis")
    context = {
        "nav_active": "catalog",
        "item": kpi,
        "kind": "kpi",
        "refusal": refusal,
        "users": selectors.formula_users(
            organization=organization, code=kpi.code, exclude_kpi_id=kpi.pk
        ),
        "objectives": list(kpi.objectives.order_by("title")),
        "consequences": selectors.kpi_delete_consequences(organization=organization, kpi=kpi),
        "cancel_url": reverse("catalog_kpi_edit", args=[organization.slug, kpi.pk]),
    }
    return render(request, "metrics/catalog_delete.html", context, status=409 if refusal else 200)
