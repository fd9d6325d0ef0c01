from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Objective
from kpiboard.concurrency import fingerprint
from metrics.catalog_selectors import formula_check, formula_users
from metrics.catalog_services import (
    METRIC_FIELDS,
    catalog_kpi_save,
    catalog_metric_save,
    kpi_delete,
    metric_aliases_set,
    metric_delete,
)
from metrics.formulas import FormulaError
from metrics.models import KPI, Metric, MetricAlias, Target
from metrics.services import ValueWrite, entries_write

pytestmark = pytest.mark.django_db


def new_metric(org, code="downloads", **fields):
    values = {"label_fr": "Téléchargements", "label_en": "Downloads", "kind": "count"}
    values.update(fields)
    return catalog_metric_save(organization=org, code=code, rollup="sum", **values)


def new_kpi(org, code="download_rate", formula="downloads / visitors * 100", **fields):
    values = {
        "label_fr": "Taux de téléchargement",
        "label_en": "Download rate",
        "unit": "percent",
        "direction": "higher",
        "indicator": "leading",
        "stage": "consideration",
        "decimals": 2,
        "followed": False,
    }
    values.update(fields)
    return catalog_kpi_save(organization=org, code=code, formula=formula, **values)


def code_error(error) -> str:
    return " ".join(error.value.message_dict["code"])


def test_a_new_metric_goes_to_the_end_of_the_catalog(org):
    metric = new_metric(org)
    assert metric.position == max(org.metrics.values_list("position", flat=True))


def test_a_metric_code_used_by_a_formula_cannot_change(org, metric):
    with pytest.raises(ValidationError) as error:
        catalog_metric_save(organization=org, metric=metric("visitors"), code="users")
    assert "conversion_rate" in code_error(error)
    assert org.metrics.filter(code="visitors").exists()


def test_an_unused_metric_code_can_change(org):
    metric = new_metric(org)
    assert catalog_metric_save(organization=org, metric=metric, code="installs").code == "installs"


def test_a_metric_code_cannot_be_a_kpi_code(org):
    with pytest.raises(ValidationError) as error:
        new_metric(org, code="ctr")
    assert "code" in error.value.message_dict


def test_a_kpi_code_cannot_be_a_metric_code(org):
    with pytest.raises(ValidationError) as error:
        new_kpi(org, code="clicks", formula="1")
    assert "code" in error.value.message_dict


def test_a_kpi_code_used_by_another_formula_cannot_change(org):
    with pytest.raises(ValidationError) as error:
        catalog_kpi_save(organization=org, kpi=org.kpis.get(code="cac"), code="coca")
    assert "ltv_cac" in code_error(error)


def test_a_kpi_code_unused_elsewhere_can_change(org):
    new_metric(org)
    kpi = new_kpi(org)
    assert catalog_kpi_save(organization=org, kpi=kpi, code="dl_rate").code == "dl_rate"


def test_a_wrong_formula_is_refused_with_its_position(org):
    with pytest.raises(FormulaError) as error:
        new_kpi(org, formula="conversions / visitorz")
    assert error.value.position == 14
    assert not KPI.objects.filter(organization=org, code="download_rate").exists()


def test_a_kpi_code_taken_by_another_kpi_is_refused(org):
    with pytest.raises(ValidationError) as error:
        new_kpi(org, code="ctr", formula="clicks / impressions")
    assert "code" in error.value.message_dict


def test_a_metric_a_formula_uses_cannot_be_deleted(org, metric):
    with pytest.raises(ValidationError) as error:
        metric_delete(organization=org, metric=metric("spend"))
    assert "cpc" in error.value.messages[0]


def test_a_metric_with_values_cannot_be_deleted(org, campaign):
    metric = new_metric(org)
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, metric.pk, date(2025, 1, 1), Decimal(3))],
        user=None,
    )
    with pytest.raises(ValidationError) as error:
        metric_delete(organization=org, metric=metric)
    assert "1 monthly values" in error.value.messages[0]


def test_an_unused_metric_is_deleted_with_its_headers(org):
    metric = new_metric(org)
    metric_aliases_set(organization=org, metric=metric, aliases=["DL"])
    metric_delete(organization=org, metric=metric)
    assert not Metric.objects.filter(pk=metric.pk).exists()
    assert not MetricAlias.objects.filter(alias="DL").exists()


def test_a_kpi_an_objective_measures_cannot_be_deleted(org):
    kpi = org.kpis.get(code="roas")
    Objective.objects.create(
        organization=org,
        title="ROAS 4",
        kpi=kpi,
        category="conversion",
        baseline_value=3,
        baseline_start=date(2024, 1, 1),
        baseline_end=date(2024, 3, 1),
        target_value=4,
        start_date=date(2024, 4, 1),
        deadline=date(2024, 12, 31),
    )
    with pytest.raises(ValidationError) as error:
        kpi_delete(organization=org, kpi=kpi)
    assert "ROAS 4" in error.value.messages[0]


def test_a_kpi_another_formula_uses_cannot_be_deleted(org):
    with pytest.raises(ValidationError) as error:
        kpi_delete(organization=org, kpi=org.kpis.get(code="retention_rate"))
    assert "churn_rate" in error.value.messages[0]


def test_an_unused_kpi_is_deleted_with_its_targets(org):
    kpi = org.kpis.get(code="cpm")
    Target.objects.create(organization=org, kpi=kpi, month=date(2025, 1, 1), value=5)
    kpi_delete(organization=org, kpi=kpi)
    assert not KPI.objects.filter(pk=kpi.pk).exists()
    assert not Target.objects.filter(organization=org).exists()


def test_headers_are_replaced_and_never_shared_between_metrics(org, metric):
    downloads = new_metric(org, aliases=None)
    metric_aliases_set(organization=org, metric=downloads, aliases=["DL", "Téléch."])
    metric_aliases_set(organization=org, metric=downloads, aliases=["telech.", "Installs"])
    assert sorted(downloads.aliases.values_list("alias", flat=True)) == ["Installs", "Téléch."]
    with pytest.raises(ValidationError) as error:
        metric_aliases_set(organization=org, metric=downloads, aliases=["impr."])
    assert "impressions" in error.value.messages[0]


def test_a_metric_edited_meanwhile_is_not_overwritten(org):
    metric = new_metric(org)
    shown = fingerprint(metric, METRIC_FIELDS)
    Metric.objects.filter(pk=metric.pk).update(label_en="Theirs")
    with pytest.raises(ValidationError):
        catalog_metric_save(
            organization=org, metric=metric, label_en="Mine", expected_fingerprint=shown
        )


def test_formula_users_ignore_other_organizations(org, other_org):
    assert [k.code for k in formula_users(organization=org, code="clicks")] == ["ctr", "cpc"]


def test_the_formula_check_lists_what_a_formula_uses(org):
    check = formula_check(organization=org, text="(revenue - spend) / cac", code="x")
    assert check.error is None
    assert [(u.code, u.is_metric) for u in check.uses] == [
        ("revenue", True),
        ("spend", True),
        ("cac", False),
    ]


def test_the_formula_check_points_at_the_error(org):
    check = formula_check(organization=org, text="clicks / / impressions", code="x")
    assert check.position == 9
    assert check.caret_padding == " " * 9
    assert "position 10" in check.error


def test_the_formula_check_finds_a_cycle_through_the_kpi_being_edited(org):
    kpi = org.kpis.get(code="cac")
    check = formula_check(organization=org, text="ltv_cac * 2", code="cac", kpi_id=kpi.pk)
    assert "Circular" in check.error
