"""Tenancy: every page of an organization lives under /o/<slug>/ and goes through here.

A user who is not a member gets 404, exactly as if the organization did not exist: nothing
tells an outsider what is there. A member whose role is too low for the action gets 403.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation

from .models import Membership, Role

LANGUAGE_COOKIE_NAME = "django_language"


def org_view(role: str = Role.VIEWER) -> Callable:
    """Decorate a view taking (request, org_slug, ...): sets request.organization/.membership."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args, **kwargs) -> HttpResponse:
            # One query for the person's memberships: the one asked for, and the switcher's
            # list that the context processor would otherwise read again.
            memberships = user_memberships(request.user)
            membership = next((m for m in memberships if m.organization.slug == org_slug), None)
            request.memberships = memberships
            if membership is None:
                raise Http404("No such organization.")
            # Set before the role check: a member refused a page still sees the
            # organization's frame, in its language, and the error page says their role.
            request.organization = membership.organization
            request.membership = membership
            if LANGUAGE_COOKIE_NAME not in request.COOKIES:
                # The person has not chosen a language: the organization's default applies.
                translation.activate(membership.organization.language)
                request.LANGUAGE_CODE = membership.organization.language
            if not membership.has_role(role):
                raise PermissionDenied
            if request.session.get("last_org") != org_slug:  # no session write per page
                request.session["last_org"] = org_slug
            return view(request, *args, **kwargs)

        wrapper.org_role = role  # type: ignore[attr-defined]
        return wrapper

    return decorator


def user_memberships(user) -> list[Membership]:
    """The person's memberships with their organizations and the organizations' data
    versions (what cached pages are keyed by): read with the person (kpiboard.backends), or
    one query."""
    if not user.is_authenticated:
        return []
    loaded = getattr(user, "loaded_memberships", None)
    if loaded is not None:
        return loaded
    return list(
        Membership.objects.select_related("organization", "organization__data_version")
        .filter(user=user)
        .order_by("organization__name")
    )
