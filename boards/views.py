"""Board pages (compose: admins; present: members) and the share-link screen.

The screen behind a share link lives outside /o/<slug>/: it needs no login, sets no cookie,
links to nothing, and its token opens that one board's screen and refresh, nothing else.
"""

import re
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.forms import add_service_errors
from dashboards import figures
from kpiboard.tenancy import org_view

from . import ratelimit, selectors, services
from .forms import BoardForm, ShareLinkForm, SlideForm
from .models import Board, ShareLink, Slide, token_digest

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")


def refresh_seconds() -> int:
    return int(getattr(settings, "BOARD_REFRESH_SECONDS", 180))


# ------------------------------------------------------------------------------ boards


@org_view()
@require_GET
def board_list(request: HttpRequest) -> HttpResponse:
    boards = selectors.boards_for_list(organization=request.organization)
    return render(request, "boards/board_list.html", {"nav_active": "boards", "boards": boards})


@org_view("admin")
@require_http_methods(["GET", "POST"])
def board_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = BoardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            board = services.board_create(
                organization=organization,
                name=form.cleaned_data["name"],
                theme=form.cleaned_data["theme"],
                user=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Board “%(name)s” created: add its slides.") % {
                "name": board.name})  # fmt: skip
            return redirect("board_detail", org_slug=organization.slug, board_id=board.pk)
    return render(
        request, "boards/board_form.html", {"nav_active": "boards", "form": form, "board": None}
    )


def _board(request: HttpRequest, board_id: int) -> Board:
    return get_object_or_404(Board, organization=request.organization, pk=board_id)


def _detail(
    request: HttpRequest,
    board: Board,
    *,
    slide_form: SlideForm | None = None,
    link_form: ShareLinkForm | None = None,
    new_link: dict | None = None,
) -> HttpResponse:
    organization = request.organization
    is_admin = request.membership.has_role("admin")
    context = {
        "nav_active": "boards",
        "board": board,
        "slides": selectors.board_slides(organization=organization, board=board),
        "now": timezone.now(),
        "new_link": new_link,
    }
    if is_admin:
        links = selectors.share_links(organization=organization, board=board)
        for link in links:
            link.state = link.status(context["now"])
        context.update(
            slide_form=slide_form or SlideForm(organization=organization),
            link_form=link_form or ShareLinkForm(),
            links=links,
            max_slides=services.MAX_SLIDES,
        )
    response = render(request, "boards/board_detail.html", context)
    if new_link:
        response["Cache-Control"] = "no-store"
    return response


@org_view()
@require_GET
def board_detail(request: HttpRequest, board_id: int) -> HttpResponse:
    return _detail(request, _board(request, board_id))


@org_view("admin")
@require_http_methods(["GET", "POST"])
def board_edit(request: HttpRequest, board_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    form = BoardForm(request.POST or None, initial={"name": board.name, "theme": board.theme})
    if request.method == "POST" and form.is_valid():
        try:
            services.board_update(
                organization=organization,
                board=board,
                name=form.cleaned_data["name"],
                theme=form.cleaned_data["theme"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Board saved."))
            return redirect("board_detail", org_slug=organization.slug, board_id=board.pk)
    return render(
        request, "boards/board_form.html", {"nav_active": "boards", "form": form, "board": board}
    )


@org_view("admin")
@require_http_methods(["GET", "POST"])
def board_delete(request: HttpRequest, board_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    if request.method == "POST":
        services.board_delete(organization=organization, board=board)
        messages.success(request, _("Board “%(name)s” deleted.") % {"name": board.name})
        return redirect("board_list", org_slug=organization.slug)
    links = selectors.share_links(organization=organization, board=board)
    now = timezone.now()
    return render(
        request,
        "boards/board_delete.html",
        {
            "nav_active": "boards",
            "board": board,
            "active_links": [link for link in links if link.is_valid(now)],
        },
    )


# ------------------------------------------------------------------------------ slides


@org_view("admin")
@require_POST
def slide_add(request: HttpRequest, board_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    form = SlideForm(request.POST, organization=organization)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.slide_add(
                organization=organization,
                board=board,
                kind=data["kind"],
                title=data["title"],
                kpi=data["kpi"],
                kpis=data["kpis"],
                objective=data["objective"],
                campaign=data["campaign"],
                period=data["period"],
                period_key=data["period_key"],
                comparison=data["comparison"],
                duration_seconds=data["duration_seconds"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Slide added."))
            return redirect(reverse("board_detail", args=[organization.slug, board.pk]) + "#slides")
    return _detail(request, board, slide_form=form)


def _slide(request: HttpRequest, board: Board, slide_id: int) -> Slide:
    return get_object_or_404(Slide, organization=request.organization, board=board, pk=slide_id)


@org_view("admin")
@require_POST
def slide_move(request: HttpRequest, board_id: int, slide_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    slide = _slide(request, board, slide_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.slide_move(organization=organization, slide=slide, offset=offset)
    return redirect(reverse("board_detail", args=[organization.slug, board.pk]) + "#slides")


@org_view("admin")
@require_POST
def slide_remove(request: HttpRequest, board_id: int, slide_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    services.slide_remove(organization=organization, slide=_slide(request, board, slide_id))
    messages.success(request, _("Slide removed."))
    return redirect(reverse("board_detail", args=[organization.slug, board.pk]) + "#slides")


# ------------------------------------------------------------------------- share links


@org_view("admin")
@require_POST
def share_link_create(request: HttpRequest, board_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    form = ShareLinkForm(request.POST)
    if form.is_valid():
        try:
            link, token = services.share_link_create(
                organization=organization,
                board=board,
                label=form.cleaned_data["label"],
                expires_at=form.expires_at(organization.time_zone),
                user=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
            if "expires_at" in getattr(error, "error_dict", {}):
                form.add_error("expires_on", error.error_dict["expires_at"])
        else:
            url = request.build_absolute_uri(reverse("board_screen", args=[token]))
            # Shown once, in this response only: the token is not stored.
            return _detail(request, board, new_link={"link": link, "url": url})
    return _detail(request, board, link_form=form)


@org_view("admin")
@require_POST
def share_link_revoke(request: HttpRequest, board_id: int, link_id: int) -> HttpResponse:
    organization = request.organization
    board = _board(request, board_id)
    link = get_object_or_404(ShareLink, organization=organization, board=board, pk=link_id)
    services.share_link_revoke(organization=organization, link=link, user=request.user)
    messages.success(request, _("Link revoked: its screen stops at its next refresh."))
    return redirect(reverse("board_detail", args=[organization.slug, board.pk]) + "#links")


# ------------------------------------------------------------------------------ screens


def _screen(
    request: HttpRequest, *, organization, board: Board, urls: dict, partial: bool
) -> HttpResponse:
    context = {
        "screen": selectors.screen(organization=organization, board=board, now=timezone.now()),
        "board": board,
        "organization": organization,
        "refresh_seconds": refresh_seconds(),
        "plotly_locale": figures.plotly_locale(translation.get_language() or "en"),
        **urls,
    }
    template = "boards/screen.html#data" if partial else "boards/screen.html"
    return render(request, template, context)


@org_view()
@require_GET
@never_cache
def present(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _board(request, board_id)
    slug = request.organization.slug
    urls = {
        "self_url": reverse("board_present", args=[slug, board.pk]),
        "refresh_url": reverse("board_present_refresh", args=[slug, board.pk]),
        "exit_url": reverse("board_detail", args=[slug, board.pk]),
    }
    return _screen(request, organization=request.organization, board=board, urls=urls,
                   partial=False)  # fmt: skip


@org_view()
@require_GET
@never_cache
def present_refresh(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _board(request, board_id)
    return _screen(request, organization=request.organization, board=board, urls={},
                   partial=True)  # fmt: skip


SCREEN_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    per_ip = getattr(settings, "BOARD_SCREEN_RATE_PER_IP", (120, 60))
    per_token = getattr(settings, "BOARD_SCREEN_RATE_PER_TOKEN", (30, 60))
    return ratelimit.Limit(*per_ip), ratelimit.Limit(*per_token)


def _invalid(request: HttpRequest, status: int, organization=None) -> HttpResponse:
    if organization is not None:
        translation.activate(organization.language)
    return render(request, "boards/screen_invalid.html", status=status)


def screen_access(view):
    """Open a share link's screen: rate limited per client and per token, then the token
    checked; unknown (404), revoked or expired (410) links get the invalid-link page."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        response = _screen_access(request, token, view)
        for name, value in SCREEN_HEADERS.items():
            response[name] = value
        return response

    return require_GET(wrapper)


def _screen_access(request: HttpRequest, token: str, view) -> HttpResponse:
    per_ip, per_token = _limits()
    for key, limit in (
        ("ip:" + _client_ip(request), per_ip),
        ("token:" + token_digest(token)[:32], per_token),
    ):
        retry_after = ratelimit.hit(key, limit)
        if retry_after is not None:
            response = HttpResponse(
                _("Too many requests: this screen tries again by itself."),
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(retry_after)
            return response
    link = selectors.share_link_for_token(token) if TOKEN_SHAPE.fullmatch(token) else None
    if link is None:
        return _invalid(request, 404)
    now = timezone.now()
    if not link.is_valid(now):
        return _invalid(request, 410, link.organization)
    translation.activate(link.organization.language)
    request.LANGUAGE_CODE = link.organization.language
    services.share_link_mark_used(link=link, now=now)
    return view(request, link, token)


@screen_access
def screen(request: HttpRequest, link: ShareLink, token: str) -> HttpResponse:
    urls = {
        "self_url": reverse("board_screen", args=[token]),
        "refresh_url": reverse("board_screen_refresh", args=[token]),
    }
    return _screen(request, organization=link.organization, board=link.board, urls=urls,
                   partial=False)  # fmt: skip


@screen_access
def screen_refresh(request: HttpRequest, link: ShareLink, token: str) -> HttpResponse:
    return _screen(request, organization=link.organization, board=link.board, urls={},
                   partial=True)  # fmt: skip
