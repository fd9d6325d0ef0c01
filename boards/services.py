"""Writes on boards, their slides and their share links."""

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Objective
from kpiboard.models import Organization
from metrics.models import KPI
from metrics.periods import parse_period

from .models import Board, Comparison, ShareLink, Slide, SlideKind, SlidePeriod, Theme, token_digest

MAX_SLIDES = 30
MAX_TILES = 8
MIN_DURATION, MAX_DURATION = 5, 600
TOKEN_BYTES = 32  # 256 bits, printed as 43 URL-safe characters


def _check_name(organization: Organization, name: str, board: Board | None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the board a name.")})
    taken = Board.objects.filter(organization=organization, name__iexact=name)
    if board is not None:
        taken = taken.exclude(pk=board.pk)
    if taken.exists():
        raise ValidationError({"name": _("A board with this name already exists.")})
    return name


def _check_theme(theme: str) -> None:
    if theme not in Theme.values:
        raise ValidationError({"theme": _("Unknown theme.")})


def _touch(board: Board) -> None:
    Board.objects.filter(pk=board.pk).update(updated_at=timezone.now())


@transaction.atomic
def board_create(
    *,
    organization: Organization,
    name: str,
    theme: str = Theme.DARK,
    user: AbstractBaseUser | None = None,
) -> Board:
    _check_theme(theme)
    board = Board(
        organization=organization,
        name=_check_name(organization, name, None),
        theme=theme,
        created_by=user,
    )
    board.save()
    return board


@transaction.atomic
def board_update(*, organization: Organization, board: Board, name: str, theme: str) -> Board:
    board = Board.objects.select_for_update().get(organization=organization, pk=board.pk)
    _check_theme(theme)
    board.name = _check_name(organization, name, board)
    board.theme = theme
    board.save(update_fields=["name", "theme", "updated_at"])
    return board


@transaction.atomic
def board_delete(*, organization: Organization, board: Board) -> None:
    """Delete a board with its slides and share links: the screens showing it stop."""
    Board.objects.filter(organization=organization, pk=board.pk).delete()


# ------------------------------------------------------------------------------ slides


def _own(model, organization: Organization, obj, field: str):
    """`obj` if it belongs to the organization; ValidationError on `field` otherwise."""
    if obj is None:
        return None
    if not model.objects.filter(organization=organization, pk=obj.pk).exists():
        raise ValidationError({field: _("Choose one of this organization's.")})
    return obj


@transaction.atomic
def slide_add(
    *,
    organization: Organization,
    board: Board,
    kind: str,
    title: str = "",
    kpi: KPI | None = None,
    kpis: Iterable[KPI] = (),
    objective: Objective | None = None,
    campaign: Campaign | None = None,
    period: str = SlidePeriod.LAST_MONTH,
    period_key: str = "",
    comparison: str = Comparison.PREVIOUS,
    duration_seconds: int = 20,
) -> Slide:
    """Add a slide at the end of a board.

    Raises ValidationError (by field) for what the kind needs and is missing, objects of
    another organization, an unreadable fixed period, a comparison the kind cannot make,
    a duration out of 5..600 seconds, or a full board.
    """
    board = Board.objects.select_for_update().get(organization=organization, pk=board.pk)
    count = Slide.objects.filter(organization=organization, board=board).count()
    if count >= MAX_SLIDES:
        raise ValidationError(
            _("A board holds at most %(n)d slides.") % {"n": MAX_SLIDES}, code="full"
        )
    if kind not in SlideKind.values:
        raise ValidationError({"kind": _("Unknown kind of slide.")})
    if period not in SlidePeriod.values:
        raise ValidationError({"period": _("Unknown period.")})
    if comparison not in Comparison.values:
        raise ValidationError({"comparison": _("Unknown comparison.")})
    kpis = list(kpis)
    errors: dict[str, str] = {}
    if kind == SlideKind.KPI and kpi is None:
        errors["kpi"] = _("Choose the KPI this slide shows.")
    if kind == SlideKind.OBJECTIVE and objective is None:
        errors["objective"] = _("Choose the objective this slide follows.")
    if kind == SlideKind.TILES and len(kpis) > MAX_TILES:
        errors["kpis"] = _("A wall holds at most %(n)d tiles.") % {"n": MAX_TILES}
    if kind in (SlideKind.FUNNEL, SlideKind.CHANNELS) and comparison == Comparison.TARGET:
        errors["comparison"] = _(
            "Funnels and channel breakdowns compare with another period, not a target."
        )
    if period == SlidePeriod.FIXED:
        try:
            period_key = parse_period(
                period_key, organization.fiscal_year_start_month
            ).key  # normalized
        except (ValueError, TypeError):
            errors["period_key"] = _(
                "Write the period as 2025-03, 2025-Q1, 2025 or 2025-01..2025-06."
            )
    else:
        period_key = ""
    if not MIN_DURATION <= duration_seconds <= MAX_DURATION:
        errors["duration_seconds"] = _("Between %(min)d and %(max)d seconds.") % {
            "min": MIN_DURATION,
            "max": MAX_DURATION,
        }
    if errors:
        raise ValidationError(errors)
    _own(KPI, organization, kpi, "kpi")
    _own(Objective, organization, objective, "objective")
    _own(Campaign, organization, campaign, "campaign")
    if kpis and KPI.objects.filter(
        organization=organization, pk__in=[k.pk for k in kpis]
    ).count() != len({k.pk for k in kpis}):
        raise ValidationError({"kpis": _("Choose one of this organization's.")})
    slide = Slide.objects.create(
        organization=organization,
        board=board,
        position=count,  # positions are kept 0..n-1
        kind=kind,
        title=title.strip(),
        kpi=kpi if kind == SlideKind.KPI else None,
        objective=objective if kind == SlideKind.OBJECTIVE else None,
        campaign=campaign if kind == SlideKind.FUNNEL else None,
        period=period,
        period_key=period_key,
        comparison=comparison,
        duration_seconds=duration_seconds,
    )
    if kind == SlideKind.TILES and kpis:
        slide.kpis.set(kpis)
    _touch(board)
    return slide


@transaction.atomic
def slide_move(*, organization: Organization, slide: Slide, offset: int) -> None:
    """Move a slide `offset` places (negative: earlier); stops at either end."""
    board = Board.objects.select_for_update().get(organization=organization, pk=slide.board_id)
    order = list(
        Slide.objects.filter(organization=organization, board=board).values_list("pk", flat=True)
    )
    if slide.pk not in order:
        raise ValidationError(_("This slide is not on this board."))
    index = order.index(slide.pk)
    order.insert(max(0, min(len(order) - 1, index + offset)), order.pop(index))
    _renumber(organization, order)
    _touch(board)


def _renumber(organization: Organization, order: list[int]) -> None:
    for position, pk in enumerate(order):
        Slide.objects.filter(organization=organization, pk=pk).exclude(position=position).update(
            position=position
        )


@transaction.atomic
def slide_remove(*, organization: Organization, slide: Slide) -> None:
    board = Board.objects.select_for_update().get(organization=organization, pk=slide.board_id)
    Slide.objects.filter(organization=organization, pk=slide.pk).delete()
    _renumber(
        organization,
        list(
            Slide.objects.filter(organization=organization, board=board).values_list(
                "pk", flat=True
            )
        ),
    )
    _touch(board)


# ------------------------------------------------------------------------- share links


@transaction.atomic
def share_link_create(
    *,
    organization: Organization,
    board: Board,
    label: str = "",
    expires_at: datetime | None = None,
    user: AbstractBaseUser | None = None,
) -> tuple[ShareLink, str]:
    """A new link to `board`; returns it with its token, which is not stored and cannot be
    shown again."""
    if not Board.objects.filter(organization=organization, pk=board.pk).exists():
        raise ValidationError(_("This board is not in this organization."))
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise ValueError("expires_at must be an aware datetime")
        if expires_at <= timezone.now():
            raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(
        organization=organization,
        board=board,
        label=label.strip(),
        token_hash=token_digest(token),
        token_hint=token[-4:],
        created_by=user,
        expires_at=expires_at,
    )
    return link, token


@transaction.atomic
def share_link_revoke(
    *, organization: Organization, link: ShareLink, user: AbstractBaseUser | None = None
) -> ShareLink:
    """Revoke a link at once: its screen's next request ends on the invalid-link page."""
    link = ShareLink.objects.select_for_update().get(organization=organization, pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.revoked_by = user
        link.save(update_fields=["revoked_at", "revoked_by"])
    return link


def share_link_mark_used(*, link: ShareLink, now: datetime) -> None:
    """Note when a screen last asked for data, at most every few minutes (a TV polls)."""
    if link.last_used_at is None or (now - link.last_used_at).total_seconds() > 300:
        ShareLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now
