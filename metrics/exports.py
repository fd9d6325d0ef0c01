"""Computed KPI values as rows for export (manage.py export_kpis, later the API)."""

import csv
import json
from collections.abc import Iterator
from datetime import date
from typing import IO

from campaigns.models import Campaign
from kpiboard.models import Organization

from .models import KPIValue
from .periods import Period

GRAIN_FILTER = {"month": ["month"], "quarter": ["quarter"], "year": ["year"]}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def period_key(grain: str, start: date) -> str:
    if grain == "month":
        return Period.month(start.year, start.month).key
    if grain == "quarter":
        return Period.quarter(start.year, (start.month - 1) // 3 + 1).key
    return Period.year(start.year).key


def export_rows(
    *,
    organization: Organization,
    campaign: Campaign | None = None,
    first: date | None = None,
    last: date | None = None,
    grain: str = "month",
) -> Iterator[dict]:
    """period, campaign, kpi, value, unit for every computed value, in a stable order."""
    values = KPIValue.objects.filter(organization=organization, grain=grain)
    values = (
        values.filter(scope=f"campaign:{campaign.pk}") if campaign else values.filter(scope="all")
    )
    if first:
        # A quarter or a year is exported when it contains the first month asked for.
        if grain == "quarter":
            first = date(first.year, first.month - (first.month - 1) % 3, 1)
        elif grain == "year":
            first = date(first.year, 1, 1)
        values = values.filter(period_start__gte=first)
    if last:
        values = values.filter(period_start__lte=last)
    rows = values.order_by("period_start", "kpi__position", "kpi__code").values_list(
        "period_start", "kpi__code", "kpi__unit", "value"
    )
    for start, code, unit, value in rows.iterator(chunk_size=5000):
        yield {
            "period": period_key(grain, start),
            "campaign": campaign.name if campaign else "",
            "kpi": code,
            "value": "" if value is None else format(value.normalize(), "f"),
            "unit": unit,
        }


def neutralize(text: str) -> str:
    """Keep a spreadsheet from reading a text cell as a formula (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def write_csv(rows, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "campaign", "kpi", "value", "unit"])
    for row in rows:
        writer.writerow(
            [row["period"], neutralize(row["campaign"]), neutralize(row["kpi"]), row["value"],
             row["unit"]]
        )  # fmt: skip


def write_json(rows, out: IO[str]) -> None:
    out.write("[")
    for index, row in enumerate(rows):
        out.write(("," if index else "") + "\n  " + json.dumps(row, ensure_ascii=False))
    out.write("\n]\n")
