"""Helpers for the import tests: files built in memory, imports run through the services,
and a snapshot of everything an import could write."""

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from campaigns.models import Campaign
from imports import staging
from imports.models import ImportBatch
from imports.services import ImportOptions, import_check, import_run
from metrics.models import (
    KPIValue,
    MetricAggregate,
    MetricAlias,
    MetricEntry,
    StaleMark,
    ValueChange,
)

FILES = Path(__file__).parent / "files"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def xlsx_bytes(rows, *, formats=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for (row, column), number_format in (formats or {}).items():
        sheet.cell(row=row, column=column).number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def options(**kwargs) -> ImportOptions:
    return ImportOptions(**kwargs)


def check_file(org, data: bytes, *, filename="metrics.csv", **kwargs):
    return import_check(
        organization=org,
        stream=io.BytesIO(data),
        filename=filename,
        options=ImportOptions(**kwargs),
    )


def run_file(org, data: bytes, *, filename="metrics.csv", user=None, **kwargs):
    return import_run(
        organization=org,
        stream=io.BytesIO(data),
        filename=filename,
        options=ImportOptions(**kwargs),
        user=user,
    )


def values(org) -> dict:
    """(campaign name, metric code, "YYYY-MM") -> value, for everything stored."""
    return {
        (e.campaign.name, e.metric.code, e.month.strftime("%Y-%m")): e.value
        for e in MetricEntry.objects.filter(organization=org).select_related("campaign", "metric")
    }


def snapshot(org) -> dict:
    """Every row an import could write, but the import records themselves."""
    tables = {
        "entries": MetricEntry.objects.order_by("pk").values_list(
            "pk", "campaign_id", "metric_id", "month", "value", "version", "import_batch_id"
        ),
        "changes": ValueChange.objects.order_by("pk").values_list(
            "pk", "campaign_id", "metric_id", "month", "old_value", "new_value"
        ),
        "campaigns": Campaign.objects.order_by("pk").values_list("pk", "name", "channel"),
        "aliases": MetricAlias.objects.order_by("pk").values_list("pk", "normalized", "metric_id"),
        "stale": StaleMark.objects.order_by("pk").values_list("pk", "campaign_id", "month"),
        "kpi_values": KPIValue.objects.order_by("pk").values_list("pk", "value"),
        "aggregates": MetricAggregate.objects.order_by("pk").values_list("pk", "value"),
        "applied": ImportBatch.objects.exclude(status=ImportBatch.Status.REFUSED)
        .order_by("pk")
        .values_list("pk", "status"),
    }
    return {name: list(rows) for name, rows in tables.items()}


@pytest.fixture(params=["postgresql", "memory"])
def stager_kind(request, monkeypatch):
    """Run a test through the PostgreSQL COPY path and through the embedded mode's path."""
    monkeypatch.setattr(staging, "STAGING_KIND", request.param)
    return request.param


@pytest.fixture
def memory_path(monkeypatch):
    monkeypatch.setattr(staging, "STAGING_KIND", "memory")
