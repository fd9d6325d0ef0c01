from decimal import Decimal

from kpiboard import formatting

NNBSP, NBSP = "\u202f", "\u00a0"


def test_money_in_french_and_in_english():
    assert formatting.money(Decimal("1234.5"), "EUR", language="fr") == f"1{NNBSP}234,50{NBSP}€"
    assert formatting.money(Decimal("3333.333"), "CHF", language="en") == f"CHF{NBSP}3,333.33"
    assert formatting.money(Decimal("-1234"), "CHF", language="en") == f"-CHF{NBSP}1,234.00"


def test_money_rounds_only_for_display():
    assert formatting.money(Decimal("3333.335"), "CHF", 0, language="en") == f"CHF{NBSP}3,333"


def test_percent_and_numbers_follow_the_language():
    assert formatting.percent(Decimal("12.5"), 1, "fr") == f"12,5{NBSP}%"
    assert formatting.percent(Decimal("12.5"), 1, "en") == "12.5%"
    assert formatting.number(Decimal("1234567.891"), 2, "fr") == f"1{NNBSP}234{NNBSP}567,89"


def test_no_value_is_a_dash_never_zero():
    assert formatting.money(None, "EUR") == "—"
    assert formatting.kpi_value(None, unit="percent", decimals=1, currency="EUR") == "—"


def test_english_dates_put_the_day_first_as_european_readers_expect():
    from datetime import date, datetime

    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override("en"):
        assert date_format(date(2024, 4, 1), "SHORT_DATE_FORMAT") == "1 Apr 2024"
        assert date_format(date(2026, 12, 31)) == "31 December 2026"
        when = datetime(2026, 12, 1, 23, 20)
        assert date_format(when, "SHORT_DATETIME_FORMAT") == "1 Dec 2026, 23:20"
    with translation.override("fr"):
        assert date_format(date(2024, 4, 1), "SHORT_DATE_FORMAT") == "01/04/2024"
