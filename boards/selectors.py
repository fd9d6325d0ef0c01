"""Reads of boards for their pages, and of a board's screen (every slide's figures)."""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from campaigns.models import Campaign
from kpiboard import formatting
from kpiboard.models import Organization
from metrics.models import KPI
from metrics.selectors import freshness

from . import slides
from .models import Board, ShareLink, Slide, token_digest


def boards_for_list(*, organization: Organization) -> QuerySet[Board]:
    now = timezone.now()
    active = Q(share_links__revoked_at=None) & (
        Q(share_links__expires_at=None) | Q(share_links__expires_at__gt=now)
    )
    return (
        Board.objects.filter(organization=organization)
        .annotate(
            slide_count=Count("slides", distinct=True),
            link_count=Count("share_links", filter=active, distinct=True),
        )
        .order_by("name")
    )


def board_slides(*, organization: Organization, board: Board) -> list[Slide]:
    """A board's slides in order, with what each shows, in a fixed number of queries."""
    return list(
        Slide.objects.filter(organization=organization, board=board)
        .select_related("kpi", "objective__kpi", "campaign")
        .prefetch_related(
            Prefetch("kpis", queryset=KPI.objects.order_by("position", "code")),
            Prefetch("objective__campaigns", queryset=Campaign.objects.order_by("pk")),
        )
        .order_by("position", "pk")
    )


def share_links(*, organization: Organization, board: Board) -> list[ShareLink]:
    return list(
        ShareLink.objects.filter(organization=organization, board=board)
        .select_related("created_by", "revoked_by")
        .order_by("-created_at", "-pk")
    )


def share_link_for_token(token: str) -> ShareLink | None:
    """The link a token opens, revoked and expired ones included (they say so); None for
    an unknown token. The lookup is by the token's hash, then checked in constant time."""
    if not token:
        return None
    link = (
        ShareLink.objects.select_related("board", "organization")
        .filter(token_hash=token_digest(token))
        .first()
    )
    if link is None or not link.matches(token):
        return None
    return link


# ------------------------------------------------------------------------------ screen


@dataclass(frozen=True)
class Screen:
    board: Board
    slides: list[slides.SlideView]
    as_of: datetime | None  # when the KPIs were last computed, in the organization's zone
    updating: bool  # a change is not yet reflected
    stamp: str  # "Figures through October 2025 · data as of 3 November 2025, 14:05"


def organization_today(organization: Organization, now: datetime) -> date:
    return timezone.localtime(now, zoneinfo.ZoneInfo(organization.time_zone)).date()


def screen(*, organization: Organization, board: Board, now: datetime) -> Screen:
    today = organization_today(organization, now)
    context = slides.Context(
        organization=organization,
        today=today,
        palette=slides.PALETTES.get(board.theme, slides.PALETTES["dark"]),
    )
    views = [
        slides.slide_view(slide, context)
        for slide in board_slides(organization=organization, board=board)
    ]
    fresh = freshness(organization=organization)
    as_of = (
        timezone.localtime(fresh.computed_at, zoneinfo.ZoneInfo(organization.time_zone))
        if fresh.computed_at
        else None
    )
    return Screen(
        board=board,
        slides=views,
        as_of=as_of,
        updating=fresh.stale,
        stamp=_stamp(slides.last_complete_month(today), as_of, fresh.stale),
    )


def _stamp(last_month: date, as_of: datetime | None, updating: bool) -> str:
    if as_of is None:
        return gettext("No figures yet")
    text = gettext("Figures through %(month)s · data as of %(when)s") % {
        "month": formatting.month(last_month),
        "when": dateformat.format(as_of, "j F Y, H:i"),
    }
    if updating:
        text += " · " + gettext("update in progress")
    return text
