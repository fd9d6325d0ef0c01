"""Template filters that format numbers for the reader's language (see kpiboard.formatting)."""

from django import template

from kpiboard import formatting

register = template.Library()


@register.filter
def money(value, currency: str) -> str:
    return formatting.money(value, currency)


@register.filter
def money0(value, currency: str) -> str:
    return formatting.money(value, currency, decimals=0)


@register.filter
def number(value, decimals: int = 0) -> str:
    return formatting.number(value, int(decimals))


@register.filter
def month_label(value) -> str:
    return formatting.month(value) if value else formatting.NO_VALUE


@register.simple_tag
def kpi_value(value, kpi, currency: str) -> str:
    return formatting.kpi_value(value, unit=kpi.unit, decimals=kpi.decimals, currency=currency)


@register.filter
def person(user) -> str:
    """formatting.person_name; "" also for a variable the template lacks."""
    return formatting.person_name(user or None)
