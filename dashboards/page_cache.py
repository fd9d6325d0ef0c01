"""Dashboard pages rendered once, served again until what they show changes.

A dashboard page is a pure function of a few things, and its cache key is made of all of
them: the organization and its data version (kpiboard.data_version: it moves, in the writing
transaction, with values, stale marks, the recompute, the catalog, targets, objectives,
campaigns, benchmarks), the organization's settings (currency, fiscal year, thresholds...),
the person's role (links for editors and admins), the language, today's date (a page opens
on the last complete month), the address with its query, and on an htmx swap the view the
browser shows (which sections are sent depends on it); and the code that renders it (a
deployment renders again).

What is cached holds nothing personal: no CSRF token, no name, no message. The layout
around it (the person's organizations, the language and logout forms, messages) is rendered
on every request.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from kpiboard.data_version import data_version


@dataclass(frozen=True)
class Page:
    """A rendered dashboard page, as the cache keeps it."""

    template: str  # the page's template (it extends dashboards/_page.html)
    title: str
    nav: str  # safe HTML: the main navigation (it depends on the role)
    content: str  # safe HTML: the page's content, or the sections an htmx swap replaces
    push_url: str = ""  # set on an htmx swap: the address the browser shows after it


def board_page(request: HttpRequest, build: Callable[[HttpRequest], Page]) -> HttpResponse:
    """The page `build` renders for this request, from the cache when it holds it."""
    key = page_key(request)
    # A shared cache (Redis) is read through this process's memory: a page never changes
    # under its key, and a hit then costs no round trip.
    stores = [caches["local"], caches["default"]] if settings.CACHE_SHARED else [caches["default"]]
    page = None
    for index, store in enumerate(stores):
        page = store.get(key)
        if page is not None:
            for nearer in stores[:index]:
                nearer.set(key, page, settings.PAGE_CACHE_SECONDS)
            break
    if page is None:
        page = build(request)
        for store in stores:
            store.set(key, page, settings.PAGE_CACHE_SECONDS)
    return respond(request, page)


def respond(request: HttpRequest, page: Page) -> HttpResponse:
    if page.push_url:
        response = HttpResponse(page.content)
        response["HX-Push-Url"] = page.push_url
    else:
        response = render(request, page.template, {"page": page})
    patch_vary_headers(response, ["HX-Request", "HX-Current-URL"])
    return response


def shown_query(request: HttpRequest) -> str | None:
    """On an htmx request from the same page, the query of the view the browser shows; None
    when a whole page is sent (a plain request, a history restore, another page)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request or not htmx.current_url:
        return None
    current = urlsplit(htmx.current_url)
    if current.path != request.path:
        return None
    return current.query


def page_key(request: HttpRequest) -> str:
    organization = request.organization
    shown = shown_query(request)
    parts = (
        release(),
        organization.pk,
        data_version(organization),
        organization.slug,
        organization.name,
        organization.currency,
        organization.language,
        organization.time_zone,
        organization.fiscal_year_start_month,
        organization.on_track_threshold,
        organization.at_risk_threshold,
        request.membership.role,
        translation.get_language(),
        timezone.localdate().isoformat(),
        request.path,
        _canonical(request.META.get("QUERY_STRING", "")),
        "page" if shown is None else "swap?" + _canonical(shown),
    )
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return f"dashboards:page:{digest}"


def _canonical(query: str) -> str:
    """The parameters in a fixed order (a parameter's repeated values keep theirs: the last
    one is the one read)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))


@cache
def release() -> str:
    """A digest of what renders the pages (templates, translations, code), read once per
    process: pages cached by another version of kpiboard are not served by this one. (What
    is kept holds no static file's address: those are in the layout.)"""
    root = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    patterns = ("templates/**/*.html", "locale/**/*.mo", "*/*.py", "*/templatetags/*.py")
    for path in sorted(p for pattern in patterns for p in root.glob(pattern)):
        if ".venv" in path.parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
