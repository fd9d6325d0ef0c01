"""How the import pages show a value: with the decimals it has (up to six), as money in the
organization's currency when the metric is an amount."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _

from kpiboard import formatting

register = template.Library()


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return min(6, max(0, -exponent)) if isinstance(exponent, int) else 0


@register.simple_tag
def metric_value(value, metric, currency: str) -> str:
    if value is None:
        return formatting.NO_VALUE
    decimals = _decimals(value)
    if metric.kind == "money":
        return formatting.money(value, currency, decimals=max(2, decimals))
    if metric.kind == "percent":
        return formatting.percent(value, decimals)
    return formatting.number(value, decimals)


@register.filter
def delimiter_label(delimiter: str) -> str:
    names = {"\t": _("tab"), ";": _("semicolon (;)"), ",": _("comma (,)")}
    return str(names.get(delimiter, delimiter))


@register.filter
def encoding_label(encoding: str) -> str:
    names = {"utf-8": "UTF-8", "utf-8-sig": _("UTF-8 with BOM"), "cp1252": "Windows-1252"}
    return str(names.get(encoding, encoding or "—"))
