"""Campaign and objective pages: lists for everyone, forms for editors."""

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from kpiboard.concurrency import fingerprint
from kpiboard.formatting import kpi_value
from kpiboard.formatting import month as month_label
from kpiboard.tenancy import org_view
from metrics.models import KPI, MetricEntry, Target

from . import selectors, services
from .feasibility import HISTORY_MONTHS, signed_change
from .forms import CampaignForm, ObjectiveForm, add_service_errors, decimal_text
from .models import Campaign, Objective
from .objective_history import Outlook, objective_outlook

# What the baseline depends on: changing one of them fills it in again from history.
BASELINE_INPUTS = frozenset(("kpi", "baseline_start", "baseline_end", "campaigns"))


def is_conflict(error: ValidationError) -> bool:
    return any(e.code == "conflict" for e in getattr(error, "error_list", []))


# --------------------------------------------------------------------------- campaigns


@org_view()
def campaign_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    campaigns = selectors.campaigns_for_overview(organization=organization).prefetch_related(
        Prefetch("objectives", queryset=Objective.objects.order_by("title"))
    )
    return render(
        request,
        "campaigns/campaign_list.html",
        {"nav_active": "campaigns", "tab": "campaigns", "campaigns": campaigns},
    )


def _markets(organization) -> list[str]:
    return list(
        Campaign.objects.filter(organization=organization)
        .exclude(market="")
        .order_by("market")
        .values_list("market", flat=True)
        .distinct()
    )


def _campaign_form_page(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    organization = request.organization
    stamp = fingerprint(campaign, services.CAMPAIGN_FIELDS) if campaign else ""
    if request.method == "POST":
        form = CampaignForm(request.POST, organization=organization)
        if campaign:
            stamp = request.POST.get("fingerprint", "")
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.campaign_save(
                    organization=organization,
                    campaign=campaign,
                    name=data["name"],
                    channel=data["channel"],
                    market=data["market"],
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                    budget=data["budget"],
                    objectives=data["objectives"],
                    expected_fingerprint=stamp or None,
                )
            except ValidationError as error:
                add_service_errors(form, error)
                if is_conflict(error):
                    stamp = fingerprint(
                        Campaign.objects.get(pk=campaign.pk), services.CAMPAIGN_FIELDS
                    )
            else:
                if campaign:
                    messages.success(request, _("Campaign “%(name)s” saved.") % {"name": saved})
                else:
                    messages.success(request, _("Campaign “%(name)s” created.") % {"name": saved})
                return redirect("campaign_list", org_slug=organization.slug)
    elif campaign:
        form = CampaignForm(initial=CampaignForm.initial_for(campaign), organization=organization)
    else:
        form = CampaignForm(
            initial={"start_date": timezone.localdate().replace(day=1), "budget": Decimal(0)},
            organization=organization,
        )
    context = {
        "nav_active": "campaigns",
        "form": form,
        "campaign": campaign,
        "fingerprint": stamp,
        "markets": _markets(organization),
    }
    return render(request, "campaigns/campaign_form.html", context)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _campaign_form_page(request, None)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, organization=request.organization, pk=campaign_id)
    return _campaign_form_page(request, campaign)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def campaign_delete(request: HttpRequest, campaign_id: int) -> HttpResponse:
    organization = request.organization
    campaign = get_object_or_404(Campaign, organization=organization, pk=campaign_id)
    if request.method == "POST":
        services.campaign_delete(organization=organization, campaign=campaign)
        messages.success(request, _("Campaign “%(name)s” deleted.") % {"name": campaign.name})
        return redirect("campaign_list", org_slug=organization.slug)
    context = {
        "nav_active": "campaigns",
        "campaign": campaign,
        "value_count": MetricEntry.objects.filter(
            organization=organization, campaign=campaign
        ).count(),
        "target_count": Target.objects.filter(organization=organization, campaign=campaign).count(),
        "objectives": list(campaign.objectives.order_by("title")),
    }
    return render(request, "campaigns/campaign_delete.html", context)


# --------------------------------------------------------------------------- objectives


@org_view()
def objective_list(request: HttpRequest) -> HttpResponse:
    objectives = selectors.objectives_for_overview(organization=request.organization)
    return render(
        request,
        "campaigns/objective_list.html",
        {"nav_active": "campaigns", "tab": "objectives", "objectives": objectives},
    )


def _outlook_from(form: ObjectiveForm, organization, *, fill: bool) -> Outlook | None:
    """The outlook for what a bound form holds (its valid fields); None without a KPI."""
    data = form.cleaned_data
    kpi = data.get("kpi")
    if kpi is None:
        return None
    return objective_outlook(
        organization=organization,
        kpi=kpi,
        campaign_ids=[c.pk for c in data.get("campaigns") or []],
        baseline_start=data.get("baseline_start"),
        baseline_end=data.get("baseline_end"),
        baseline=data.get("baseline_value"),
        fill_baseline=fill,
        target_kind=data.get("target_kind"),
        target_value=data.get("target_value"),
        start_date=data.get("start_date"),
        deadline=data.get("deadline"),
    )


def _outlook_of(objective: Objective) -> Outlook:
    return objective_outlook(
        organization=objective.organization,
        kpi=objective.kpi,
        campaign_ids=[c.pk for c in objective.campaigns.all()],
        baseline_start=objective.baseline_start,
        baseline_end=objective.baseline_end,
        baseline=objective.baseline_value,
        target_kind=objective.target_kind,
        target_value=objective.target_value,
        start_date=objective.start_date,
        deadline=objective.deadline,
    )


def _period_label(first: date | None, last: date | None) -> str:
    if not first or not last:
        return ""
    if first == last:
        return month_label(first, style="MMM y")
    return f"{month_label(first, style='MMM y')} – {month_label(last, style='MMM y')}"


def describe_outlook(outlook: Outlook | None, kpi: KPI | None, currency: str) -> dict:
    """The outlook in words and formatted numbers, for the assist panel."""
    if outlook is None or kpi is None:
        return {}

    def value(v):
        return kpi_value(v, unit=kpi.unit, decimals=kpi.decimals, currency=currency)

    def change(v):
        return signed_change(v, unit=kpi.unit, decimals=kpi.decimals, currency=currency)

    feasibility = outlook.feasibility
    texts = {
        "kpi": kpi,
        "history_baseline": (
            None if outlook.history_baseline is None else value(outlook.history_baseline)
        ),
        "baseline_period": _period_label(outlook.baseline_start, outlook.baseline_end),
        "baseline": None if outlook.baseline is None else value(outlook.baseline),
        "filled": outlook.filled,
        "scope": (
            ngettext("%(n)s campaign", "%(n)s campaigns", outlook.campaign_count)
            % {"n": outlook.campaign_count}
            if outlook.campaign_count
            else _("all campaigns")
        ),
        "target": None if outlook.target is None else value(outlook.target),
        "window": _period_label(outlook.history_first, outlook.history_last),
        "history_months": HISTORY_MONTHS,
        "feasibility": feasibility,
        "wrong_way": outlook.wrong_way,
        "higher_is_better": kpi.direction == "higher",
    }
    if feasibility is not None and feasibility.needed is not None:
        texts["needed"] = change(feasibility.needed)
        texts["rising"] = feasibility.needed > 0
        texts["best"] = None if feasibility.best is None else change(feasibility.best)
    return texts


def _objective_form_page(request: HttpRequest, objective: Objective | None) -> HttpResponse:
    organization = request.organization
    stamp = fingerprint(objective, services.OBJECTIVE_FIELDS) if objective else ""
    outlook = None
    if request.method == "POST":
        form = ObjectiveForm(request.POST, organization=organization)
        if objective:
            stamp = request.POST.get("fingerprint", "")
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.objective_save(
                    organization=organization,
                    objective=objective,
                    title=data["title"],
                    description=data["description"],
                    kpi=data["kpi"],
                    category=data["category"],
                    campaigns=data["campaigns"],
                    baseline_start=data["baseline_start"],
                    baseline_end=data["baseline_end"],
                    baseline_value=data["baseline_value"],
                    target_kind=data["target_kind"],
                    target_value=data["target_value"],
                    start_date=data["start_date"],
                    deadline=data["deadline"],
                    owner=data["owner"],
                    expected_fingerprint=stamp or None,
                )
            except ValidationError as error:
                add_service_errors(form, error)
                if is_conflict(error):
                    stamp = fingerprint(
                        Objective.objects.get(pk=objective.pk), services.OBJECTIVE_FIELDS
                    )
            else:
                if objective:
                    messages.success(request, _("Objective “%(title)s” saved.") % {"title": saved})
                else:
                    messages.success(
                        request, _("Objective “%(title)s” created.") % {"title": saved}
                    )
                return redirect("objective_list", org_slug=organization.slug)
        outlook = _outlook_from(form, organization, fill=False)
        kpi = form.cleaned_data.get("kpi")
    elif objective:
        form = ObjectiveForm(
            initial=ObjectiveForm.initial_for(objective), organization=organization
        )
        outlook = _outlook_of(objective)
        kpi = objective.kpi
    else:
        form = ObjectiveForm(
            initial=ObjectiveForm.initial_new(timezone.localdate(), request.user),
            organization=organization,
        )
        kpi = None
    context = {
        "nav_active": "campaigns",
        "form": form,
        "objective": objective,
        "fingerprint": stamp,
        "assist": describe_outlook(outlook, kpi, organization.currency),
    }
    return render(request, "campaigns/objective_form.html", context)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def objective_create(request: HttpRequest) -> HttpResponse:
    return _objective_form_page(request, None)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = get_object_or_404(
        Objective.objects.select_related("kpi", "organization"),
        organization=request.organization,
        pk=objective_id,
    )
    return _objective_form_page(request, objective)


@org_view("editor")
@require_GET
def objective_assist(request: HttpRequest) -> HttpResponse:
    """The assist panel for the values in the form (HTMX). When the KPI, the baseline period
    or the campaigns changed, the baseline field comes back too, filled in from history."""
    organization = request.organization
    form = ObjectiveForm(request.GET, organization=organization)
    form.is_valid()  # only the valid fields are used; errors show when the form is saved
    changed = request.GET.get("changed", "")
    # An empty baseline is filled in too, except while the person is clearing it to type.
    refill = changed in BASELINE_INPUTS or (
        changed != "baseline_value" and not request.GET.get("baseline_value", "").strip()
    )
    outlook = _outlook_from(form, organization, fill=refill)
    context = {
        "assist": describe_outlook(outlook, form.cleaned_data.get("kpi"), organization.currency),
        # What is wrong with a baseline or target typed: said here at once, not at saving.
        "assist_errors": [
            message
            for name in ("baseline_value", "target_value")
            if request.GET.get(name, "").strip()
            for message in form.errors.get(name, [])
        ],
    }
    if refill:
        if outlook is not None and outlook.filled:
            decimals = form.cleaned_data["kpi"].decimals
            text = decimal_text(outlook.baseline, decimals, keep_zeros=True)
        else:
            text = request.GET.get("baseline_value", "")
        context["form"] = ObjectiveForm(initial={"baseline_value": text}, organization=organization)
        context["baseline_oob"] = True
    return render(request, "campaigns/objective_assist.html", context)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def objective_delete(request: HttpRequest, objective_id: int) -> HttpResponse:
    organization = request.organization
    objective = get_object_or_404(Objective, organization=organization, pk=objective_id)
    if request.method == "POST":
        services.objective_delete(organization=organization, objective=objective)
        messages.success(request, _("Objective “%(title)s” deleted.") % {"title": objective.title})
        return redirect("objective_list", org_slug=organization.slug)
    return render(
        request,
        "campaigns/objective_delete.html",
        {"nav_active": "campaigns", "objective": objective},
    )
