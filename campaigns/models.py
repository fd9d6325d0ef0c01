from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SEO = "seo", _("SEO")
    PAID_SEARCH = "paid_search", _("Paid search")
    ORGANIC_SOCIAL = "organic_social", _("Organic social")
    PAID_SOCIAL = "paid_social", _("Paid social")
    EMAIL = "email", _("Email")
    DISPLAY = "display", _("Display")
    AFFILIATION = "affiliation", _("Affiliation")
    REFERRAL = "referral", _("Referral / word of mouth")
    OFFLINE = "offline", _("Offline / events")


class Campaign(models.Model):
    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=120)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    market = models.CharField(_("market / region"), max_length=80, blank=True)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="campaign_name_unique"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in Channel]), name="campaign_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ObjectiveCategory(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    CONVERSION = "conversion", _("Conversion")
    LOYALTY = "loyalty", _("Loyalty")


class TargetKind(models.TextChoices):
    ABSOLUTE = "absolute", _("Absolute value")
    RELATIVE = "relative", _("Change vs baseline (%)")


class Objective(models.Model):
    """A SMART objective: one KPI, a baseline, a target, a start and a deadline."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="objectives"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kpi = models.ForeignKey("metrics.KPI", on_delete=models.PROTECT, related_name="objectives")
    category = models.CharField(_("category"), max_length=12, choices=ObjectiveCategory.choices)
    baseline_value = models.DecimalField(_("baseline"), max_digits=20, decimal_places=6)
    baseline_start = models.DateField(_("baseline period from"))
    baseline_end = models.DateField(_("baseline period to"))
    target_kind = models.CharField(
        _("target type"), max_length=10, choices=TargetKind.choices, default=TargetKind.ABSOLUTE
    )
    target_value = models.DecimalField(_("target"), max_digits=20, decimal_places=6)
    start_date = models.DateField(_("start"))
    deadline = models.DateField(_("deadline"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_objectives",
    )
    campaigns = models.ManyToManyField(
        Campaign, verbose_name=_("campaigns"), related_name="objectives", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["deadline", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=F("start_date")), name="objective_deadline_after_start"
            ),
            models.CheckConstraint(
                condition=Q(baseline_end__gte=F("baseline_start")),
                name="objective_baseline_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(category__in=[c.value for c in ObjectiveCategory]),
                name="objective_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(target_kind__in=["absolute", "relative"]),
                name="objective_target_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def target_absolute(self) -> Decimal:
        """The value to reach: the target itself, or the baseline moved by the relative %."""
        if self.target_kind == TargetKind.RELATIVE:
            return self.baseline_value * (1 + self.target_value / 100)
        return self.target_value
