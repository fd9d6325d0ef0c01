import zoneinfo

from babel.numbers import list_currencies
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def validate_currency(value: str) -> None:
    if value not in list_currencies():
        raise ValidationError(
            _("%(value)s is not an ISO 4217 currency code."), params={"value": value}
        )


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


class Organization(models.Model):
    """A tenant: a company or a client account. Nothing crosses from one to another."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[validate_currency]
    )
    language = models.CharField(
        _("default language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"), default=1
    )
    # DOMAIN rule 6: attainment thresholds, in percent, that an admin can change.
    on_track_threshold = models.DecimalField(
        _("on track from (attainment %)"), max_digits=6, decimal_places=2, default=100
    )
    at_risk_threshold = models.DecimalField(
        _("at risk from (attainment %)"), max_digits=6, decimal_places=2, default=90
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="organization_fiscal_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="organization_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(language__in=["fr", "en"]), name="organization_language_valid"
            ),
            models.CheckConstraint(
                condition=Q(at_risk_threshold__lte=models.F("on_track_threshold")),
                name="organization_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    EDITOR = "editor", _("Editor")
    ADMIN = "admin", _("Admin")


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class DataVersion(models.Model):
    """A number that changes, in the same transaction, with anything an organization's
    dashboards show: values, stale marks, the recompute, the catalog, targets, objectives,
    campaigns, benchmarks, settings. Cached pages are keyed by it.

    A row of its own, not a column of Organization: the recompute holds the organization row
    locked for its whole run, and writers must not queue behind it."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="data_version"
    )
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("data version")
        verbose_name_plural = _("data versions")

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.version}"
