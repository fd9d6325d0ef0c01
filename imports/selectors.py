"""Reads for the import pages: the header vocabulary, the history, a batch's changes."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from kpiboard.models import Organization
from metrics.models import KPI, Metric, MetricAlias, ValueChange
from metrics.selectors import freshness

from .models import ImportBatch
from .parsing import normalize_header

# How a column header (or, in a long file, a metric name) was matched.
HOW_CODE = "code"
HOW_LABEL = "label"
HOW_ALIAS = "alias"
HOW_CHOSEN = "chosen"  # mapped on the preview
HOW_COMPUTED = "computed"  # a KPI: kpiboard computes it, the column is ignored
HOW_IGNORED = "ignored"  # ignored on the preview
HOW_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Match:
    code: str | None  # metric code; None: the column is not read
    how: str


def known_headers(*, organization: Organization) -> dict[str, Match]:
    """Every normalized header the organization's files may use, and what it means.

    Metric codes, labels in both languages and the saved aliases name metrics; KPI codes and
    labels name values kpiboard computes, whose columns are skipped. When two meanings
    collide, the more deliberate one wins: an alias over a code, a code over a label, any
    metric over a KPI.
    """
    known: dict[str, Match] = {}
    for code, label_fr, label_en in KPI.objects.filter(organization=organization).values_list(
        "code", "label_fr", "label_en"
    ):
        for text in (label_fr, label_en, code):
            known[normalize_header(text)] = Match(None, HOW_COMPUTED)
    metrics = list(
        Metric.objects.filter(organization=organization).values_list("code", "label_fr", "label_en")
    )
    for code, label_fr, label_en in metrics:
        for text in (label_fr, label_en):
            known[normalize_header(text)] = Match(code, HOW_LABEL)
    for code, _fr, _en in metrics:
        known[normalize_header(code)] = Match(code, HOW_CODE)
    for normalized, code in MetricAlias.objects.filter(organization=organization).values_list(
        "normalized", "metric__code"
    ):
        known[normalized] = Match(code, HOW_ALIAS)
    known.pop("", None)
    return known


def import_list(*, organization: Organization) -> QuerySet[ImportBatch]:
    """The history: every import applied, refused or undone, newest first."""
    return (
        ImportBatch.objects.filter(organization=organization)
        .exclude(status=ImportBatch.Status.PENDING)
        .select_related("created_by", "undone_by")
        .order_by("-created_at", "-pk")
    )


def pending_imports(*, organization: Organization, limit: int = 10) -> list[ImportBatch]:
    """Files uploaded and not applied yet, newest first: an editor comes back to them."""
    return list(
        ImportBatch.objects.filter(organization=organization, status=ImportBatch.Status.PENDING)
        .select_related("created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def batch_changes(*, batch: ImportBatch, limit: int = 100) -> list[ValueChange]:
    """The first values the import replaced, with what they replaced (not the undo's)."""
    changes = ValueChange.objects.filter(
        organization=batch.organization_id, import_batch=batch, old_value__isnull=False
    )
    if batch.undone_at is not None:
        changes = changes.filter(changed_at__lt=batch.undone_at)
    return list(changes.select_related("campaign", "metric").order_by("pk")[:limit])


def same_file_imports(*, organization: Organization, batch: ImportBatch) -> list[ImportBatch]:
    """Earlier imports of the very same bytes (applying it again changes nothing new)."""
    return list(
        ImportBatch.objects.filter(
            organization=organization,
            sha256=batch.sha256,
            status__in=[ImportBatch.Status.APPLIED, ImportBatch.Status.UNDONE],
        )
        .exclude(pk=batch.pk)
        .select_related("created_by")
        .order_by("-created_at")[:3]
    )


@dataclass(frozen=True)
class Progress:
    fresh: bool  # the KPIs reflect every value written so far


def import_progress(*, organization: Organization) -> Progress:
    """Whether the KPI recompute an import asked for has caught up."""
    return Progress(fresh=not freshness(organization=organization).stale)
