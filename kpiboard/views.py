from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dashboards import figures
from dashboards import selectors as dashboard_selectors
from dashboards.page_cache import Page, board_page
from dashboards.views import Board
from metrics import selectors as kpi_selectors
from metrics.models import KPI
from metrics.periods import add_months
from metrics.recompute import ALL

from .forms import OrganizationForm
from .services import organization_create
from .tenancy import org_view, user_memberships


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a person to the organization they looked at last, or their first one."""
    memberships = user_memberships(request.user)
    if not memberships:
        return render(request, "kpiboard/no_organization.html", status=200)
    slugs = [m.organization.slug for m in memberships]
    last = request.session.get("last_org")
    return redirect("overview", org_slug=last if last in slugs else slugs[0])


OVERVIEW_SECTIONS = {
    "summary": {"period", "compare", "scope"},
    "tiles": {"period", "compare", "scope"},
    "objectives": {"period", "scope"},
    "campaigns": {"period", "scope"},
}


@org_view()
def overview(request: HttpRequest) -> HttpResponse:
    """The organization at a glance: a tile per followed KPI, the objectives, the campaigns'
    spend vs budget, for a period, against a comparison, for all campaigns or some."""
    return board_page(request, _overview)


def _overview(request: HttpRequest) -> Page:
    board = Board(request)
    organization, filters = board.organization, board.filters
    wanted = board.wanted(OVERVIEW_SECTIONS)
    context = {"nav_active": "overview", "sections": list(OVERVIEW_SECTIONS)}
    if "tiles" in wanted:
        kpis = list(KPI.objects.filter(organization=organization, followed=True))
        cards = dashboard_selectors.kpi_cards(organization=organization, kpis=kpis, filters=filters)
        context["cards"] = cards
        context["sparks"] = {
            card.kpi.pk: figures.sparkline_figure(
                id=f"spark-{card.kpi.code}",
                name=card.kpi.label,
                months=card.months,
                values=card.series,
                unit=board.unit(card.kpi),
                direction=card.kpi.direction,
            )
            for card in cards
        }
    if "objectives" in wanted:
        objectives = [
            o
            for o in dashboard_selectors.objectives_of(organization=organization)
            if filters.scope == ALL
            or any(dashboard_selectors.in_scope(c, filters.scope) for c in o.campaigns.all())
        ]
        context["progress"] = kpi_selectors.objective_progress(
            organization=organization,
            objectives=objectives,
            today=add_months(filters.period.end, 1),
        )
    if "campaigns" in wanted:
        context["spend"] = dashboard_selectors.spend_by_campaign(
            organization=organization,
            campaigns=board.campaigns,
            period=filters.period,
            scope=filters.scope,
        )
    return board.page("kpiboard/overview.html", _("Overview"), context, wanted)


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    """Anyone with an account may start an organization; they become its first admin."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organization_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return redirect("overview", org_slug=organization.slug)
    return render(request, "kpiboard/organization_new.html", {"form": form})


def healthz(request: HttpRequest) -> HttpResponse:
    """A bare view: liveness for the load balancer, and the baseline of bench/dashboard."""
    return HttpResponse("ok", content_type="text/plain")
