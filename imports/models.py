from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportBatch(models.Model):
    """One file brought into an organization: who, when, what, and how it went.

    A file uploaded through the page is kept (ImportFile) as a *pending* batch while the
    person checks the preview and adjusts the mapping; applying it writes every value in one
    transaction (status *applied*) or nothing (*refused*). An applied batch can be undone
    as a whole: its ValueChange rows hold every previous value.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Not applied yet")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")
        UNDONE = "undone", _("Undone")

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=5, blank=True)
    shape = models.CharField(max_length=5, blank=True)
    rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices)
    applied_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The choices made on the preview, read again when the batch is applied.
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )  # every row's campaign, for a file without a campaign column
    # normalize_header(header) -> metric code, or "" for a column to ignore.
    mapping = models.JSONField(default=dict, blank=True)
    create_campaigns = models.BooleanField(default=False)
    new_campaign_channel = models.CharField(max_length=20, blank=True)
    created_campaigns = models.JSONField(default=list, blank=True)  # names

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "applied", "refused", "undone"]),
                name="import_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="import_org_time")]

    def __str__(self) -> str:
        return self.filename

    @property
    def can_preview(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.REFUSED)

    @property
    def changed_count(self) -> int:
        return self.created_count + self.updated_count


class ImportFile(models.Model):
    """The bytes of an uploaded file, kept between the preview and the apply.

    In the database rather than on a disk, so that any web process can read it back; a
    separate table so that listing batches never loads files. Deleted once the batch is
    applied, and with abandoned batches (imports.services.imports_cleanup).
    """

    batch = models.OneToOneField(ImportBatch, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")
