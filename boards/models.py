"""Boards: ordered slides shown full-screen at a board meeting or on the team's wall TV,
opened by members or through a revocable share link."""

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Theme(models.TextChoices):
    DARK = "dark", _("Dark")
    LIGHT = "light", _("Light")
    CONTRAST = "contrast", _("High contrast")


class Board(models.Model):
    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="boards"
    )
    name = models.CharField(_("name"), max_length=120)
    theme = models.CharField(_("theme"), max_length=10, choices=Theme.choices, default=Theme.DARK)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("board")
        verbose_name_plural = _("boards")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="board_name_unique"),
            models.CheckConstraint(
                condition=Q(theme__in=[t.value for t in Theme]), name="board_theme_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlideKind(models.TextChoices):
    KPI = "kpi", _("KPI with its chart")
    OBJECTIVE = "objective", _("Objective progress")
    TILES = "tiles", _("Wall of KPI tiles")
    FUNNEL = "funnel", _("Campaign funnel")
    CHANNELS = "channels", _("Channel breakdown")


class SlidePeriod(models.TextChoices):
    LAST_MONTH = "last_month", _("The last complete month")
    LAST_QUARTER = "last_quarter", _("The last complete quarter")
    YEAR_TO_DATE = "year_to_date", _("Year to date")
    ROLLING_12 = "rolling_12", _("The last 12 months")
    FIXED = "fixed", _("A fixed period")


class Comparison(models.TextChoices):
    PREVIOUS = "previous", _("vs previous period")
    LAST_YEAR = "last_year", _("vs same period last year")
    TARGET = "target", _("vs target")


class Slide(models.Model):
    """One screen of a board. Which fields matter depends on the kind: a KPI for "kpi", KPIs
    for "tiles" (none: the KPIs followed on the overview), an objective for "objective", a
    campaign (or all campaigns) for "funnel"."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="+"
    )
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="slides")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=SlideKind.choices)
    title = models.CharField(_("title"), max_length=120, blank=True)
    # A removed KPI, objective or campaign leaves the slide in place, saying so on screen.
    kpi = models.ForeignKey(
        "metrics.KPI", verbose_name=_("KPI"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    kpis = models.ManyToManyField(
        "metrics.KPI", verbose_name=_("KPIs"), blank=True, related_name="+"
    )
    objective = models.ForeignKey(
        "campaigns.Objective", verbose_name=_("objective"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
    )  # fmt: skip
    campaign = models.ForeignKey(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
    )  # fmt: skip
    period = models.CharField(
        _("period"), max_length=12, choices=SlidePeriod.choices, default=SlidePeriod.LAST_MONTH
    )
    period_key = models.CharField(_("fixed period"), max_length=20, blank=True)
    comparison = models.CharField(
        _("comparison"), max_length=10, choices=Comparison.choices, default=Comparison.PREVIOUS
    )
    duration_seconds = models.PositiveSmallIntegerField(_("duration (seconds)"), default=20)

    class Meta:
        verbose_name = _("slide")
        verbose_name_plural = _("slides")
        ordering = ["board", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in SlideKind]), name="slide_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(period__in=[p.value for p in SlidePeriod]), name="slide_period_valid"
            ),
            models.CheckConstraint(
                condition=Q(comparison__in=[c.value for c in Comparison]),
                name="slide_comparison_valid",
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=5, duration_seconds__lte=600),
                name="slide_duration_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()


def token_digest(token: str) -> str:
    """SHA-256 of a share link's token: the token is random (256 bits), so a plain hash is
    enough for a leaked table to open nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class ShareLink(models.Model):
    """Read-only access to one board, for a screen nobody logs in on. Only the token's hash
    is stored; the token itself is shown once, when the link is created."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="+"
    )
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(_("label"), max_length=120, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=4, editable=False
    )  # last characters, to tell links apart
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.label or f"…{self.token_hint}"

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, token_digest(token))

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def is_valid(self, now: datetime) -> bool:
        return self.status(now) == "active"
