"""Numbers, money and months in the reader's language and the organization's currency.

Babel (CLDR) does the work: "1 234,50 €" in French, "CHF 3,333.33" in English. Values
are Decimal and are rounded only here, for display (DOMAIN rule 3). No value is "—".
"""

from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol
from django.utils.translation import get_language
from django.utils.translation import gettext as _

NO_VALUE = "—"


def locale_name(language: str | None = None) -> str:
    language = language or get_language() or "en"
    return "fr_FR" if language.startswith("fr") else "en_US"


def _pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def number(value: Decimal | None, decimals: int = 0, language: str | None = None) -> str:
    if value is None:
        return NO_VALUE
    return format_decimal(value, format=_pattern(decimals), locale=locale_name(language))


def _with_decimals(pattern: str, decimals: int) -> str:
    """Replace a CLDR pattern's fraction digits ("#,##0.00") by `decimals` digits."""
    fraction = "." + "0" * decimals if decimals > 0 else ""
    head, _sep, tail = pattern.partition("0.00")
    return head + "0" + fraction + tail if _sep else pattern


def money(
    value: Decimal | None, currency: str, decimals: int = 2, language: str | None = None
) -> str:
    if value is None:
        return NO_VALUE
    locale = Locale.parse(locale_name(language))
    pattern = _with_decimals(locale.currency_formats["standard"].pattern, decimals)
    text = format_currency(value, currency, format=pattern, locale=locale, currency_digits=False)
    symbol = get_currency_symbol(currency, locale)
    sign, body = (text[0], text[1:]) if text[:1] in "-\u2212" else ("", text)
    if symbol[-1:].isalpha() and body.startswith(symbol):
        # CLDR's currency spacing: "CHF 3,333.33" and "-CHF 3,333.33", not "CHF3,333.33".
        text = sign + symbol + "\u00a0" + body[len(symbol) :]
    return text


def percent(value: Decimal | None, decimals: int = 1, language: str | None = None) -> str:
    """A value already in percent (12.5 means 12.5 %)."""
    if value is None:
        return NO_VALUE
    locale = Locale.parse(locale_name(language))
    pattern = locale.percent_formats[None].pattern.replace("0", _pattern(decimals), 1)
    pattern = pattern.replace("#,##" + _pattern(decimals), _pattern(decimals))
    return format_percent(Decimal(value) / 100, format=pattern, locale=locale)


def month(value: date, language: str | None = None, style: str = "MMMM y") -> str:
    return format_date(value, style, locale=locale_name(language))


def kpi_value(
    value: Decimal | None, *, unit: str, decimals: int, currency: str, language: str | None = None
) -> str:
    if value is None:
        return NO_VALUE
    if unit == "money":
        return money(value, currency, decimals, language)
    if unit == "percent":
        return percent(value, decimals, language)
    if unit == "months":
        return _("%(value)s mo.") % {"value": number(value, decimals, language)}
    if unit == "ratio":
        return number(value, decimals, language) + "×"
    if unit == "points":
        return number(value, decimals, language)
    return number(value, decimals, language)


def person_name(user) -> str:
    """A person as every page names them: full name, else username; "" for nobody."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
