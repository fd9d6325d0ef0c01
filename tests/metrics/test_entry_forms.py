"""Reading what people type and paste into the grid, in French and in English."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from campaigns.models import Campaign
from metrics.forms import (
    EntryCellForm,
    PasteForm,
    TargetCellForm,
    block_separator,
    read_block,
    read_value,
    split_block,
)

pytestmark = pytest.mark.django_db

D = Decimal
MONTHS = [date(2025, m, 1) for m in range(1, 13)]


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("1 234,5", ",", D("1234.5")),
        ("1\u202f234,5", ",", D("1234.5")),
        ("1\u00a0234,50 €", ",", D("1234.50")),
        ("1,234.5", ".", D("1234.5")),
        ("1,234", ",", D("1.234")),  # French: a decimal comma
        ("1,234", ".", D("1234")),  # English: a thousands separator
        ("1.234", ",", D("1234")),
        ("42", ",", D("42")),
        ("", ",", None),
        ("   ", ".", None),
    ],
)
def test_numbers_are_read_as_people_type_them(metric, text, separator, expected):
    assert read_value(text, metric=metric("spend"), decimal_separator=separator) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12a", "is not a number"),
        ("-3", "cannot be negative"),
        ("(4)", "cannot be negative"),
        ("12 %", "Only a percentage"),
    ],
)
def test_a_count_refuses_what_it_cannot_be(metric, text, message):
    with pytest.raises(ValidationError) as refused:
        read_value(text, metric=metric("visitors"), decimal_separator=",")
    assert message in refused.value.messages[0]


def test_an_amount_says_it_cannot_be_negative(metric):
    with pytest.raises(ValidationError, match="amount cannot be negative"):
        read_value("-5 €", metric=metric("spend"), decimal_separator=",")


def test_split_block_reads_excel_and_sheets_clipboards():
    assert split_block("1\t2\r\n3\t4\r\n") == [["1", "2"], ["3", "4"]]
    assert split_block("1\t2\n\n") == [["1", "2"]]
    assert split_block('"1 234,5"\t2\n') == [["1 234,5", "2"]]
    assert split_block("1\t\t3\n") == [["1", "", "3"]]


def test_a_block_shows_its_decimal_separator_whatever_the_language():
    assert block_separator(["1,234", "12,50"], "en") == ","
    assert block_separator(["1,234", "12.50"], "fr") == "."
    assert block_separator(["1,234"], "fr") == ","
    assert block_separator(["1,234"], "en") == "."


def test_a_french_block_is_placed_from_the_starting_cell(org, metric):
    metrics = list(org.metrics.order_by("position", "code"))
    start = metrics.index(metric("visitors"))
    text = "1\u202f234,5\t2 000\t\n12,5\t7\t3\n"

    block = read_block(text, metrics=metrics[start:], months=MONTHS[2:], language="en")

    assert (block.rows, block.columns) == (2, 3)
    got = {(c.metric.code, c.month.month): c.value for c in block.cells}
    assert got == {
        ("visitors", 3): D("1234.5"),
        ("visitors", 4): D("2000"),
        ("visitors", 5): None,  # an empty pasted cell empties the grid's cell
        (metrics[start + 1].code, 3): D("12.5"),
        (metrics[start + 1].code, 4): D("7"),
        (metrics[start + 1].code, 5): D("3"),
    }
    assert block.errors == []


def test_a_bad_cell_is_reported_by_metric_and_month_with_its_text(org, metric):
    metrics = list(org.metrics.order_by("position", "code"))
    block = read_block("10\tdix\n", metrics=metrics, months=MONTHS, language="fr")

    [bad] = block.errors
    assert (bad.metric, bad.month, bad.text) == (metrics[0], MONTHS[1], "dix")
    assert "not a number" in bad.error


def test_a_block_wider_than_the_months_left_is_refused(org):
    metrics = list(org.metrics.order_by("position", "code"))
    with pytest.raises(ValidationError, match="only 2 months remain"):
        read_block("1\t2\t3\n", metrics=metrics, months=MONTHS[10:], language="en")


def test_a_block_taller_than_the_metrics_left_is_refused(org):
    metrics = list(org.metrics.order_by("position", "code"))
    with pytest.raises(ValidationError, match="only 1 metrics remain"):
        read_block("1\n2\n", metrics=metrics[-1:], months=MONTHS, language="en")


def test_the_cell_form_reads_the_value_in_the_persons_language(org, campaign, metric):
    data = {
        "campaign": campaign.pk,
        "metric": metric("visitors").pk,
        "month": "2025-03",
        "version": "0",
        "value": "1,234",
    }
    french = EntryCellForm(data, organization=org, language="fr")
    english = EntryCellForm(data, organization=org, language="en")

    assert french.is_valid() and english.is_valid()
    assert french.cleaned_data["number"] == D("1.234")
    assert english.cleaned_data["number"] == D("1234")
    assert french.cleaned_data["month"] == date(2025, 3, 1)


def test_the_cell_form_keeps_a_bad_value_apart_from_a_bad_cell(org, other_org, campaign, metric):
    typo = EntryCellForm(
        {"campaign": campaign.pk, "metric": metric("visitors").pk, "month": "2025-03",
         "version": "0", "value": "12a"},
        organization=org,
    )  # fmt: skip
    assert not typo.is_valid() and not typo.misplaced

    foreign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=date(2025, 1, 1)
    )
    elsewhere = EntryCellForm(
        {"campaign": foreign.pk, "metric": metric("visitors").pk, "month": "2025-13",
         "version": "0", "value": "1"},
        organization=org,
    )  # fmt: skip
    assert not elsewhere.is_valid() and elsewhere.misplaced
    assert {"campaign", "month"} <= set(elsewhere.errors)


def test_the_paste_form_places_the_block_below_the_starting_metric(org, campaign, metric):
    form = PasteForm(
        {"campaign": campaign.pk, "metric": metric("clicks").pk, "month": "2025-11",
         "text": "1\t2\n", "step": "check"},
        organization=org,
        language="en",
    )  # fmt: skip
    assert form.is_valid(), form.errors
    block = form.cleaned_data["block"]
    assert [(c.metric.code, c.month) for c in block.cells] == [
        ("clicks", date(2025, 11, 1)),
        ("clicks", date(2025, 12, 1)),
    ]


def test_the_paste_form_reads_back_the_versions_seen_in_the_preview(org, campaign, metric):
    form = PasteForm(
        {"campaign": campaign.pk, "metric": metric("clicks").pk, "month": "2025-11",
         "text": "1", "seen": "7:2025-11:3;8:2025-12:0;junk"},
        organization=org,
    )  # fmt: skip
    assert form.is_valid(), form.errors
    assert form.seen_versions() == {(7, date(2025, 11, 1)): 3, (8, date(2025, 12, 1)): 0}


def test_a_target_accepts_a_percent_sign_only_for_a_rate(org):
    with translation.override("fr"):
        rate = TargetCellForm(
            {"kpi": org.kpis.get(code="ctr").pk, "month": "2025-01", "value": "4,5 %"},
            organization=org,
        )
        cost = TargetCellForm(
            {"kpi": org.kpis.get(code="cpa").pk, "month": "2025-01", "value": "4,5 %"},
            organization=org,
        )
        assert rate.is_valid(), rate.errors
        assert rate.cleaned_data["number"] == D("4.5")
        assert rate.cleaned_data["campaign"] is None
        assert not cost.is_valid() and "value" in cost.errors


@pytest.mark.parametrize(
    ("language", "separator", "message"),
    [
        ("en", ".", '"dix" is not a number: type one such as 4.5.'),
        ("fr", ",", "« dix » n’est pas un nombre : saisissez-en un comme 4,5."),
    ],
)
def test_text_in_a_number_cell_is_answered_with_an_example_to_type(
    metric, language, separator, message
):
    with translation.override(language):
        with pytest.raises(ValidationError) as raised:
            read_value(" dix ", metric=metric("sessions"), decimal_separator=separator)
        assert raised.value.messages == [message]  # lazy: read in the language
