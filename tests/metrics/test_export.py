import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from metrics.recompute import kpis_recompute_stale
from metrics.services import ValueWrite, entries_write

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(org, campaign):
    metrics = {m.code: m.pk for m in org.metrics.all()}
    writes = [
        ValueWrite(campaign.pk, metrics["spend"], date(2025, 1, 1), Decimal("50000")),
        ValueWrite(campaign.pk, metrics["new_customers"], date(2025, 1, 1), Decimal(15)),
        ValueWrite(campaign.pk, metrics["spend"], date(2025, 2, 1), Decimal("1000")),
        ValueWrite(campaign.pk, metrics["new_customers"], date(2025, 2, 1), Decimal(0)),
    ]
    entries_write(organization=org, writes=writes, user=None)
    kpis_recompute_stale(organization_id=org.pk)
    return org


def export(*args):
    out = io.StringIO()
    call_command("export_kpis", *args, stdout=out)
    return out.getvalue()


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_the_documented_columns_and_dot_decimals(data):
    text = export("--org", "acme")
    assert text.splitlines()[0] == "period,campaign,kpi,value,unit"
    cac = [r for r in rows_of(text) if r["kpi"] == "cac"]
    assert cac[0] == {"period": "2025-01", "campaign": "", "kpi": "cac",
                      "value": "3333.3333333333", "unit": "money"}  # fmt: skip


def test_value_is_empty_when_there_is_none(data):
    cac = [r for r in rows_of(export("--org", "acme")) if r["kpi"] == "cac"]
    assert cac[1]["period"] == "2025-02"
    assert cac[1]["value"] == ""


def test_quarter_and_year_periods_are_named_2025_q1_and_2025(data):
    quarters = {r["period"] for r in rows_of(export("--org", "acme", "--grain", "quarter"))}
    years = {r["period"] for r in rows_of(export("--org", "acme", "--grain", "year"))}
    assert quarters == {"2025-Q1"}
    assert years == {"2025"}


def test_campaign_and_month_range_filter(data, campaign):
    rows = rows_of(export("--org", "acme", "--campaign", campaign.name, "--from", "2025-02",
                          "--to", "2025-02"))  # fmt: skip
    assert {r["period"] for r in rows} == {"2025-02"}
    assert {r["campaign"] for r in rows} == {campaign.name}


def test_text_cells_starting_like_a_formula_are_neutralized(data, org):
    campaign = Campaign.objects.create(organization=org, name="=HYPERLINK(\"x\")", channel="seo",
                                       start_date=date(2025, 1, 1))  # fmt: skip
    metrics = {m.code: m.pk for m in org.metrics.all()}
    entries_write(organization=org, writes=[ValueWrite(campaign.pk, metrics["clicks"],
                  date(2025, 1, 1), Decimal(1))], user=None)  # fmt: skip
    kpis_recompute_stale(organization_id=org.pk)
    rows = rows_of(export("--org", "acme", "--campaign", campaign.name))
    assert rows and all(r["campaign"] == '\'=HYPERLINK("x")' for r in rows)


def test_json_format(data):
    rows = json.loads(export("--org", "acme", "--format", "json"))
    assert {"period": "2025-01", "campaign": "", "kpi": "cac", "value": "3333.3333333333",
            "unit": "money"} in rows  # fmt: skip


def test_unknown_organization_and_bad_month_are_clear_errors(data):
    with pytest.raises(CommandError, match="No organization"):
        export("--org", "nope")
    with pytest.raises(CommandError, match="YYYY-MM"):
        export("--org", "acme", "--from", "01/2025")
