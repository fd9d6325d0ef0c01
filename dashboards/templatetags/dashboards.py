"""Template helpers of the dashboards: values in the KPI's unit, deltas with their direction
(colour, arrow AND word: never colour alone), statuses, bars' widths."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from kpiboard import formatting
from metrics.comparisons import Delta

from ..figures import Unit, current_language, month_text

register = template.Library()

STATUS = {
    "on_track": ("badge-good", "●"),
    "at_risk": ("badge-warn", "◐"),
    "off_track": ("badge-bad", "○"),
}


def unit_of(kpi, context) -> Unit:
    organization = context.get("organization")
    currency = organization.currency if organization is not None else "EUR"
    return Unit(kpi.unit, kpi.decimals, currency, current_language())


@register.simple_tag(takes_context=True)
def kpi_text(context, value, kpi) -> str:
    """A KPI's value in its unit: '2.6%', '€41.20', '1 234,50 €'."""
    return unit_of(kpi, context).text(value)


@register.simple_tag(takes_context=True)
def delta(context, value: Delta, kpi, reference_label: str = ""):
    """'▲ +0.6 pt (+15.0%) better': arrow for the way the value moved, colour and word for
    whether that is good news for this KPI (a lower CPA is good)."""
    if value is None or value.absolute is None:
        return format_html(
            '<span class="delta delta-none">—<span class="visually-hidden"> {}</span></span>',
            _("no change to show"),
        )
    text = unit_of(kpi, context).delta_text(value)
    if value.absolute == 0:
        return format_html(
            '<span class="delta delta-none"><span aria-hidden="true">＝</span> {} {}</span>',
            text,
            _("unchanged"),
        )
    arrow = "▲" if value.absolute > 0 else "▼"
    if value.good:
        css, word = "delta-good", _("better")
    else:
        css, word = "delta-bad", _("worse")
    return format_html(
        '<span class="delta {}"><span aria-hidden="true">{}</span> {} <span class="delta-word">{}</span></span>',
        css,
        arrow,
        text,
        word,
    )


@register.simple_tag
def status_badge(status: str | None):
    if status is None:
        return ""
    labels = {
        "on_track": _("On track"),
        "at_risk": _("At risk"),
        "off_track": _("Off track"),
    }
    css, icon = STATUS[status]
    return format_html(
        '<span class="badge {}"><span aria-hidden="true">{}</span> {}</span>',
        css,
        icon,
        labels[status],
    )


@register.filter
def pct(value, decimals: int = 0) -> str:
    """A value already in percent."""
    return Unit("percent", int(decimals), "", current_language()).text(value)


@register.filter
def bar_width(value) -> str:
    """A percentage clamped to 0..100 for a CSS width, with a dot as decimal separator."""
    if value is None:
        return "0"
    clamped = max(Decimal(0), min(Decimal(100), Decimal(value)))
    return f"{clamped:.1f}"


@register.filter
def money_text(value, currency: str) -> str:
    return Unit("money", 0, currency, current_language()).text(value)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def query_with(filters, **changes) -> str:
    """The view's query with some parameters changed; None drops one."""
    return filters.query(**{k: (None if v is None else str(v)) for k, v in changes.items()})


@register.filter
def unit_text(unit: Unit, value) -> str:
    return unit.text(value)


@register.filter
def month_short(value) -> str:
    """'Oct 2026', 'oct. 2026': a month in the reader's language (CLDR)."""
    if value is None:
        return formatting.NO_VALUE
    return month_text(value.replace(day=1), current_language(), "MMM y")
