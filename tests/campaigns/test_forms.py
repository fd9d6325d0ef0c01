from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from campaigns.forms import CampaignForm, DecimalTextField, MonthField, ObjectiveForm
from metrics.models import KPI

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("fr", "1 234,56", Decimal("1234.56")),
        ("fr", "1\u202f234,5 €", Decimal("1234.5")),
        ("fr", "4,5", Decimal("4.5")),
        ("en", "1,234.56", Decimal("1234.56")),
        ("en", "4.5", Decimal("4.5")),
        ("en", "-0.4", Decimal("-0.4")),
    ],
)
def test_numbers_are_read_as_people_type_them(language, text, expected):
    with translation.override(language):
        assert DecimalTextField().clean(text) == expected


def test_a_word_is_not_a_number_and_the_message_shows_an_example():
    with translation.override("fr"), pytest.raises(Exception) as error:
        DecimalTextField().clean("beaucoup")
    assert "4,5" in str(error.value)


@pytest.mark.parametrize("text", ["2025-03", "03/2025", "mars 2025", "Mar 2025"])
def test_a_month_can_be_typed_several_ways(text):
    assert MonthField().clean(text) == date(2025, 3, 1)


def campaign_data(**fields):
    data = {
        "name": "Summer push",
        "channel": "email",
        "market": "",
        "start_date": "2025-06-01",
        "end_date": "",
        "budget": "1000",
    }
    data.update(fields)
    return data


def test_a_negative_budget_is_refused_next_to_the_field(org):
    form = CampaignForm(campaign_data(budget="-5"), organization=org)
    assert not form.is_valid()
    assert list(form.errors) == ["budget"]


def test_the_campaign_form_offers_only_the_organizations_objectives(org, other_org):
    from .conftest import make_objective

    mine, foreign = make_objective(org), make_objective(other_org)
    form = CampaignForm(campaign_data(objectives=[foreign.pk]), organization=org)
    assert not form.is_valid()
    assert "objectives" in form.errors
    assert list(form.fields["objectives"].queryset) == [mine]


def objective_data(org, **fields):
    data = {
        "title": "More sales",
        "kpi": org.kpis.get(code="conversion_rate").pk,
        "category": "conversion",
        "baseline_start": "2024-10",
        "baseline_end": "2024-12",
        "baseline_value": "4.1",
        "target_kind": "absolute",
        "target_value": "5",
        "start_date": "2025-01-01",
        "deadline": "2025-06-30",
    }
    data.update(fields)
    return data


def test_a_complete_objective_form_is_valid(org):
    form = ObjectiveForm(objective_data(org), organization=org)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["baseline_end"] == date(2024, 12, 1)


def test_a_deadline_before_the_start_is_refused_next_to_the_deadline(org):
    form = ObjectiveForm(objective_data(org, deadline="2024-12-31"), organization=org)
    assert not form.is_valid()
    assert list(form.errors) == ["deadline"]


def test_a_baseline_period_backwards_is_refused_next_to_its_end(org):
    form = ObjectiveForm(objective_data(org, baseline_end="2024-09"), organization=org)
    assert not form.is_valid()
    assert list(form.errors) == ["baseline_end"]


def test_a_fall_beyond_minus_100_percent_is_refused(org):
    data = objective_data(org, target_kind="relative", target_value="-150")
    form = ObjectiveForm(data, organization=org)
    assert not form.is_valid()
    assert list(form.errors) == ["target_value"]


def test_another_organizations_kpi_is_not_a_choice(org, other_org):
    data = objective_data(org, kpi=other_org.kpis.get(code="conversion_rate").pk)
    form = ObjectiveForm(data, organization=org)
    assert not form.is_valid()
    assert "kpi" in form.errors


def test_only_members_can_own_an_objective(org, editor, outsider):
    form = ObjectiveForm(objective_data(org, owner=outsider.pk), organization=org)
    assert not form.is_valid()
    assert "owner" in form.errors
    form = ObjectiveForm(objective_data(org, owner=editor.pk), organization=org)
    assert form.is_valid(), form.errors


def test_the_objective_form_names_kpis_by_label_and_adds_the_code_only_to_tell_two_apart(org):
    twin = org.kpis.get(code="ctr")
    KPI.objects.create(
        organization=org, code="ctr_social", label_en=twin.label_en, label_fr=twin.label_fr,
        formula="clicks / impressions * 100", unit="percent", direction="higher",
        indicator="leading", stage="awareness",
    )  # fmt: skip
    choices = [label for _value, label in ObjectiveForm(organization=org).fields["kpi"].choices]
    assert "Conversion rate" in choices
    assert f"{twin.label_en} (ctr)" in choices and f"{twin.label_en} (ctr_social)" in choices
