from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from campaigns import selectors as campaign_selectors

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


@org_view()
def overview(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    context = {
        "nav_active": "overview",
        "objectives": campaign_selectors.objectives_for_overview(organization=organization),
        "campaigns": campaign_selectors.campaigns_for_overview(organization=organization),
    }
    return render(request, "kpiboard/overview.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    """A bare view: liveness for the load balancer, and the baseline of bench/dashboard."""
    return HttpResponse("ok", content_type="text/plain")
