"""Every chart of kpiboard, built here as a plain plotly.js figure (a dict that becomes JSON).

One module and one theme for the dashboards and the board screen: a type scale, the Okabe-Ito
colour-blind-safe palette, dash styles so that no line is told apart by its colour alone, and
direction-aware colours (blue is good news, orange is bad, as in the CSS).

Each builder returns a :class:`Chart`: the figure, a text summary (the figure's caption and
its accessible name) and the table of the data behind it (shown in a <details>), so a chart
can be read without being seen. Values arrive as Decimal or None (no value: a gap in a line,
"—" in a table; DOMAIN rule 2) and are formatted here, in the reader's language and the
organization's currency (kpiboard.formatting): hover labels carry our formatted text, and axis
ticks follow the language through a plotly locale built from CLDR (:func:`plotly_locale`).

No figure depends on the ORM: give builders plain sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from html import escape

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kpiboard import formatting
from metrics.comparisons import Delta

# --------------------------------------------------------------------------------- theme

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# The CSS type scale (1.2 ratio from 16 px), in pixels for plotly.
TYPE_SCALE = {"small": 11, "tick": 12, "label": 13, "body": 14, "title": 17}

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
# vision deficiency. Yellow is left out of lines: it is too light on white.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
ACCENT = "#2456c9"  # the app's accent: the actual values
GOOD = "#0b6fb3"  # blue: good news (as --good in kpiboard.css)
BAD = "#b35900"  # orange: bad news (as --bad)
NEUTRAL = "#7a8599"
TARGET = OKABE_ITO["green"]
LAST_YEAR = "#8a94a6"
BENCHMARKS = (OKABE_ITO["purple"], OKABE_ITO["vermillion"], OKABE_ITO["sky"])
REFERENCE_BAR = "#a9b7cf"
GRID = "rgba(120, 130, 150, 0.22)"
TEXT = "#1d2330"
MUTED = "#5b6474"
# Categories (channels, campaigns): colour AND dash change together.
PALETTE = (
    ACCENT,
    OKABE_ITO["orange"],
    OKABE_ITO["green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["sky"],
    OKABE_ITO["purple"],
    "#6b5b00",
    "#555555",
    OKABE_ITO["blue"],
)
# Bars of different measures (spend, revenue): no orange, which means bad news here.
BAR_COLOURS = (ACCENT, OKABE_ITO["green"], OKABE_ITO["sky"], OKABE_ITO["purple"])
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")

ROLE_STYLES = {
    "actual": {"color": ACCENT, "width": 2.5, "dash": "solid"},
    "target": {"color": TARGET, "width": 2, "dash": "dot"},
    "last_year": {"color": LAST_YEAR, "width": 1.75, "dash": "dash"},
    "benchmark": {"color": BENCHMARKS[0], "width": 1.75, "dash": "dashdot"},
}

CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False}
STATIC_CONFIG = {**CONFIG, "staticPlot": True}


def delta_colour(good: bool | None) -> str:
    """Direction-aware colour of a change (Delta.good): blue good, orange bad, grey neither."""
    return NEUTRAL if good is None else (GOOD if good else BAD)


# ---------------------------------------------------------------------------- formatting


@dataclass(frozen=True)
class Unit:
    """How values of one kind are written: a KPI's unit and decimals, a currency, a language."""

    unit: str  # percent / points / money / ratio / count / months
    decimals: int
    currency: str
    language: str

    def text(self, value: Decimal | None) -> str:
        """The value as kpiboard.formatting.kpi_value writes it, about twenty times faster
        (a page formats hundreds of values): the number's digits by Python, the language's
        separators and the unit's affixes read once from Babel (tests check both agree)."""
        if value is None:
            return formatting.NO_VALUE
        fast = _fast_formatter(self.unit, self.decimals, self.currency, self.language)
        if fast is None:
            return formatting.kpi_value(
                value,
                unit=self.unit,
                decimals=self.decimals,
                currency=self.currency,
                language=self.language,
            )
        return fast(value)

    def delta_text(self, delta: Delta) -> str:
        """'+0.6 pt (+15.0 %)', '−€3.20 (−8.1 %)': the absolute change in the KPI's unit (in
        points for rates, DOMAIN rule 4), then the relative one when it is defined."""
        if delta.absolute is None:
            return formatting.NO_VALUE
        sign = "+" if delta.absolute > 0 else ("\u2212" if delta.absolute < 0 else "±")
        size = abs(delta.absolute)
        if delta.in_points:
            points = Unit("count", max(self.decimals, 1), self.currency, self.language)
            absolute = _("%(value)s pt") % {"value": points.text(size)}
        else:
            absolute = self.text(size)
        text = f"{sign}{absolute}"
        if delta.relative is not None:
            relative = Unit("percent", 1, self.currency, self.language).text(abs(delta.relative))
            rsign = "+" if delta.relative > 0 else ("\u2212" if delta.relative < 0 else "±")
            text += f" ({rsign}{relative})"
        return text

    def axis(self, largest: float | None = None) -> dict:
        """Tick prefix/suffix and d3 format for a value axis; amounts from ten thousand on
        are written short (12k, 1.5M) so that ticks stay on one line on a phone."""
        decimals = min(self.decimals, 2)
        big = largest is not None and abs(largest) >= 10_000 and self.unit in ("money", "count")
        axis = {"tickformat": "~s" if big else f",.{decimals}~f"}
        if self.unit == "money":
            sample = formatting.money(Decimal(0), self.currency, 0, self.language)
            prefix, _zero, suffix = sample.partition("0")
            axis.update(tickprefix=prefix, ticksuffix=suffix)
        elif self.unit == "percent":
            sample = formatting.percent(Decimal(0), 0, self.language)
            axis["ticksuffix"] = sample.partition("0")[2]
        elif self.unit == "ratio":
            axis["ticksuffix"] = "×"
        return axis


def _reference_text(unit: str, decimals: int, currency: str, language: str, value) -> str:
    return formatting.kpi_value(
        value, unit=unit, decimals=decimals, currency=currency, language=language
    )


@lru_cache(maxsize=512)
def _fast_formatter(unit: str, decimals: int, currency: str, language: str):
    """A formatter equal to kpiboard.formatting.kpi_value for one unit, or None (months:
    their wording is translated at call time)."""
    if unit == "months":
        return None
    name = formatting.locale_name(language)
    group, point = get_group_symbol(name), get_decimal_symbol(name)
    table = str.maketrans({",": group, ".": point})
    pattern = f"{{:,.{decimals}f}}"

    def digits(value: Decimal) -> str:
        return pattern.format(value).translate(table)

    sample = Decimal("1234.5")
    affixes = []
    for signed in (sample, -sample):
        text = _reference_text(unit, decimals, currency, language, signed)
        parts = text.split(digits(sample))
        if len(parts) != 2:
            return None
        affixes.append(tuple(parts))
    (prefix, suffix), (neg_prefix, neg_suffix) = affixes

    def format_value(value: Decimal) -> str:
        if value.is_signed():
            return neg_prefix + digits(-value) + neg_suffix
        return prefix + digits(value) + suffix

    return format_value


@lru_cache(maxsize=2048)
def month_text(month: date, language: str, style: str = "MMMM y") -> str:
    return formatting.month(month, language, style)


def separators(language: str) -> str:
    """plotly's layout.separators: the decimal symbol, then the grouping one."""
    name = formatting.locale_name(language)
    return get_decimal_symbol(name) + get_group_symbol(name)


@lru_cache(maxsize=8)
def plotly_locale(language: str) -> dict:
    """A plotly locale module (Plotly.register) built from CLDR: month and day names and
    separators, so that date axes and hover labels speak the reader's language."""
    code = "fr" if (language or "en").startswith("fr") else "en"
    loc = Locale.parse(formatting.locale_name(code))
    months = loc.months["format"]
    days = loc.days["format"]
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # CLDR counts from Monday, d3 from Sunday
    return {
        "moduleType": "locale",
        "name": code,
        "dictionary": {},
        "format": {
            "days": [days["wide"][i] for i in sunday_first],
            "shortDays": [days["abbreviated"][i] for i in sunday_first],
            "months": [months["wide"][i] for i in range(1, 13)],
            "shortMonths": [months["abbreviated"][i] for i in range(1, 13)],
            "date": "%d/%m/%Y" if code == "fr" else "%m/%d/%Y",
            "decimal": get_decimal_symbol(loc),
            "thousands": get_group_symbol(loc),
        },
    }


# -------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Table:
    """The data behind a chart, already formatted; the first column heads each row."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def html(self) -> SafeString:
        """The <table>, built here with plain string operations rather than in a template:
        a page holds hundreds of cells, and this is many times faster. Every text is
        escaped."""
        numeric = ' class="num"'
        head = "".join(
            f'<th scope="col"{numeric if i else ""}>{escape(str(c))}</th>'
            for i, c in enumerate(self.columns)
        )
        body = "\n".join(
            f'<tr><th scope="row">{escape(str(row[0]))}</th>'
            + "".join(f'<td class="num">{escape(str(c))}</td>' for c in row[1:])
            + "</tr>"
            for row in self.rows
        )
        return mark_safe(  # noqa: S308 - every text is escaped above
            f'<table><caption class="visually-hidden">{escape(str(self.caption))}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


@dataclass(frozen=True)
class Chart:
    id: str
    kind: str  # timeseries / sparkline / bars / funnel / lines: a CSS hook
    figure: dict
    summary: str
    table: Table
    empty: bool = False
    empty_text: str = ""

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal | None]
    role: str = "actual"  # actual / target / last_year / benchmark / category
    texts: Sequence[str] | None = None  # hover texts; default: the formatted values
    extra: dict = field(default_factory=dict)  # trace attributes to add or override


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _x(months: Sequence[date]) -> list[str]:
    return [m.isoformat() for m in months]


def _largest(*series: Sequence[Decimal | None] | None) -> float | None:
    values = [abs(v) for s in series if s for v in s if v is not None]
    return float(max(values)) if values else None


def _base_layout(language: str, unit: Unit | None = None, largest: float | None = None) -> dict:
    layout = {
        "autosize": True,
        "separators": separators(language),
        "font": {"family": FONT_FAMILY, "size": TYPE_SCALE["tick"], "color": MUTED},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 8, "r": 12, "t": 8, "b": 8, "pad": 4},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": TYPE_SCALE["label"]}},
        "showlegend": False,
    }
    if unit is not None:
        layout["yaxis"] = {
            **unit.axis(largest),
            "gridcolor": GRID,
            "zeroline": False,
            "automargin": True,
            "fixedrange": True,
            "rangemode": "tozero" if unit.unit in ("money", "count") else "normal",
        }
    return layout


def _legend(layout: dict) -> None:
    layout["showlegend"] = True
    layout["legend"] = {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "y": 1.02,
        "yanchor": "bottom",
        "font": {"size": TYPE_SCALE["label"], "color": TEXT},
    }
    layout["margin"]["t"] = 36


def _line_trace(
    months: Sequence[date], series: Series, unit: Unit, index: int = 0, *, label_months=None
) -> dict:
    style = ROLE_STYLES.get(series.role)
    if style is None:  # a category: colour and dash change together
        style = {
            "color": PALETTE[index % len(PALETTE)],
            "width": 2,
            "dash": DASHES[index % len(DASHES)],
        }
    texts = series.texts or [unit.text(v) for v in series.values]
    trace = {
        "type": "scatter",
        "mode": "lines+markers" if series.role in ("actual", "category") else "lines",
        "name": series.name,
        "x": _x(months),
        "y": [_float(v) for v in series.values],
        "customdata": list(texts),
        "hovertemplate": "%{customdata}<extra>" + _escape(series.name) + "</extra>",
        "line": {"color": style["color"], "width": style["width"], "dash": style["dash"]},
        "marker": {"size": 5, "color": style["color"]},
        "connectgaps": False,
        "xperiod": "M1",
        "xperiodalignment": "middle",
    }
    trace.update(series.extra)
    return trace


def _wrap(label: str, width: int = 20) -> str:
    """A long category name on two lines at most (plotly reads <br>), so that a phone keeps
    room for the bars: 'Google Ads – commandes<br>en ligne'."""
    label = _escape(label)
    if len(label) <= width:
        return label
    words, lines, line = label.split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    if len(lines[1]) > width:
        lines[1] = lines[1][: width - 1].rstrip() + "…"
    return "<br>".join(lines)


def _escape(text: str) -> str:
    """plotly reads '<' in names as markup and '%{' as a template."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("%{", "%&#123;")


def _time_layout(
    language: str, unit: Unit, months: Sequence[date], largest: float | None = None
) -> dict:
    layout = _base_layout(language, unit, largest)
    layout["hovermode"] = "x unified"
    count = len(months)
    # Month and year on two lines, few enough ticks to stay level on a phone.
    step = 1 if count <= 7 else 2 if count <= 13 else 3 if count <= 25 else 6 if count <= 49 else 12
    layout["xaxis"] = {
        "type": "date",
        "ticklabelmode": "period",
        "showgrid": False,
        "automargin": True,
        "fixedrange": True,
        "hoverformat": "%B %Y",
        "tickformat": "%b\n%Y",
        "dtick": f"M{step}",
    }
    if months:
        first = months[0]
        # Ticks on quarters (or half-years, years) counted from January.
        layout["xaxis"]["tick0"] = date(first.year, 1, 1).isoformat()
    if months:
        # Half a month of room on each side: the first and last points are not cut.
        layout["xaxis"]["range"] = [
            _shift_days(months[0], -2).isoformat(),
            _shift_days(_next_month(months[-1]), 2).isoformat(),
        ]
    return layout


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _shift_days(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)


def _extremes(months: Sequence[date], values: Sequence[Decimal | None]):
    known = [(v, m) for m, v in zip(months, values, strict=True) if v is not None]
    if not known:
        return None
    return known[0], known[-1], max(known), min(known)


@dataclass(frozen=True)
class BenchmarkLine:
    label: str
    value: Decimal
    start: date  # first month it is valid
    end: date | None  # last month, or open
    source: str = ""


def kpi_timeseries_figure(
    *,
    id: str,
    name: str,
    months: Sequence[date],
    actual: Sequence[Decimal | None],
    unit: Unit,
    target: Sequence[Decimal | None] | None = None,
    last_year: Sequence[Decimal | None] | None = None,
    benchmarks: Sequence[BenchmarkLine] = (),
    target_name: str | None = None,
    bars: bool = False,
) -> Chart:
    """A KPI month by month: the actual values (a line, or bars for amounts such as spend),
    its target path (dotted), the same month last year (dashed) and benchmarks (dash-dot
    reference lines over the months they are valid for)."""
    language = unit.language
    labels = [month_text(m, language) for m in months]
    target_name = target_name or _("Target")
    last_year_name = _("Same month last year")
    traces = []
    actual_series = Series(name, actual, "actual")
    actual_trace = _line_trace(months, actual_series, unit)
    if bars:
        for key in ("mode", "line", "connectgaps"):
            actual_trace.pop(key)
        actual_trace.update(type="bar", marker={"color": ACCENT})
    if last_year is not None and any(v is not None for v in last_year):
        traces.append(_line_trace(months, Series(last_year_name, last_year, "last_year"), unit))
    if target is not None and any(v is not None for v in target):
        traces.append(_line_trace(months, Series(target_name, target, "target"), unit))
    shown_benchmarks = []
    for index, bench in enumerate(benchmarks):
        inside = [m for m in months if bench.start <= m and (bench.end is None or m <= bench.end)]
        if not inside:
            continue
        shown_benchmarks.append(bench)
        colour = BENCHMARKS[index % len(BENCHMARKS)]
        text = unit.text(bench.value)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": bench.label,
                "x": _x(inside),
                "y": [float(bench.value)] * len(inside),
                "customdata": [text] * len(inside),
                "hovertemplate": "%{customdata}<extra>" + _escape(bench.label) + "</extra>",
                "line": {"color": colour, "width": 1.75, "dash": "dashdot"},
                "xperiod": "M1",
                "xperiodalignment": "middle",
            }
        )
    if bars:  # bars first, under the reference lines
        traces.insert(0, actual_trace)
    else:  # a line last, on top
        traces.append(actual_trace)
    layout = _time_layout(language, unit, months, _largest(actual, target, last_year))
    if bars:
        layout["bargap"] = 0.35
    if len(traces) > 1:
        _legend(layout)

    # Summary and table
    parts = []
    found = _extremes(months, actual)
    if found:
        (first_v, first_m), (last_v, last_m), (max_v, max_m), (min_v, min_m) = found
        index = list(months).index(last_m)
        context = []
        if target is not None and target[index] is not None:
            context.append(f"{target_name.lower()} {unit.text(target[index])}")
        if last_year is not None and last_year[index] is not None:
            context.append(_("a year earlier %(value)s") % {"value": unit.text(last_year[index])})
        head = _("%(name)s: %(value)s in %(month)s") % {
            "name": name,
            "value": unit.text(last_v),
            "month": month_text(last_m, language),
        }
        parts.append(head + (f" ({', '.join(context)})" if context else ""))
        if first_m != last_m:
            parts.append(
                _("%(value)s in %(month)s")
                % {"value": unit.text(first_v), "month": month_text(first_m, language)}
            )
            parts.append(
                _("highest %(value)s (%(month)s), lowest %(low)s (%(low_month)s)")
                % {
                    "value": unit.text(max_v),
                    "month": month_text(max_m, language),
                    "low": unit.text(min_v),
                    "low_month": month_text(min_m, language),
                }
            )
    for bench in shown_benchmarks:
        parts.append(f"{bench.label}: {unit.text(bench.value)}")
    summary = "; ".join(parts) + "." if parts else _("No value for these months yet.")

    columns = [_("Month"), name]
    has_target = target is not None and any(v is not None for v in target)
    has_last_year = last_year is not None and any(v is not None for v in last_year)
    if has_target:
        columns.append(target_name)
    if has_last_year:
        columns.append(last_year_name)
    rows = []
    for i, label in enumerate(labels):
        row = [label, unit.text(actual[i])]
        if has_target:
            row.append(unit.text(target[i]))  # type: ignore[index]
        if has_last_year:
            row.append(unit.text(last_year[i]))  # type: ignore[index]
        rows.append(tuple(row))
    caption = name
    if shown_benchmarks:
        caption += " · " + ", ".join(
            f"{b.label}{' (' + b.source + ')' if b.source else ''}: {unit.text(b.value)}"
            for b in shown_benchmarks
        )
    return Chart(
        id=id,
        kind="timeseries",
        figure={"data": traces, "layout": layout, "config": CONFIG},
        summary=summary,
        table=Table(caption, tuple(columns), tuple(rows)),
        empty=not found,
        empty_text=_("No value for these months yet."),
    )


def sparkline_figure(
    *,
    id: str,
    name: str,
    months: Sequence[date],
    values: Sequence[Decimal | None],
    unit: Unit,
    direction: str = "higher",
) -> Chart:
    """A small trend line without axes; its last point is coloured by whether the last move
    was good news for a KPI of that direction."""
    language = unit.language
    found = _extremes(months, values)
    points = [(m, v) for m, v in zip(months, values, strict=True) if v is not None]
    last_colour = NEUTRAL
    if len(points) >= 2 and points[-1][1] != points[-2][1]:
        went_up = points[-1][1] > points[-2][1]
        last_colour = delta_colour(went_up == (direction == "higher"))
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": _x(months),
            "y": [_float(v) for v in values],
            "line": {"color": ACCENT, "width": 2, "shape": "spline", "smoothing": 0.6},
            "fill": "tozeroy" if unit.unit in ("money", "count") else "none",
            "fillcolor": "rgba(36, 86, 201, 0.08)",
            "connectgaps": False,
            "hoverinfo": "skip",
        }
    ]
    if points:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [points[-1][0].isoformat()],
                "y": [float(points[-1][1])],
                "marker": {"size": 7, "color": last_colour, "line": {"width": 0}},
                "hoverinfo": "skip",
            }
        )
    layout = _base_layout(language)
    layout["margin"] = {"l": 4, "r": 6, "t": 6, "b": 4, "pad": 0}
    layout["xaxis"] = {"visible": False, "fixedrange": True}
    layout["yaxis"] = {"visible": False, "fixedrange": True}
    layout["hovermode"] = False
    if found:
        (first_v, first_m), (last_v, last_m), (max_v, max_m), _min = found
        summary = _(
            "%(name)s over 12 months: from %(first)s (%(first_month)s) to %(last)s "
            "(%(last_month)s), highest %(max)s (%(max_month)s)."
        ) % {
            "name": name,
            "first": unit.text(first_v),
            "first_month": month_text(first_m, language),
            "last": unit.text(last_v),
            "last_month": month_text(last_m, language),
            "max": unit.text(max_v),
            "max_month": month_text(max_m, language),
        }
    else:
        summary = _("No value in the last 12 months.")
    rows = tuple(
        (month_text(m, language, "MMM y"), unit.text(v))
        for m, v in zip(months, values, strict=True)
    )
    return Chart(
        id=id,
        kind="sparkline",
        figure={"data": traces, "layout": layout, "config": STATIC_CONFIG},
        summary=summary,
        table=Table(name, (_("Month"), name), rows),
        empty=not found,
        empty_text=_("No value yet"),
    )


def bars_figure(
    *,
    id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: Unit,
    target: Decimal | None = None,
    target_name: str | None = None,
) -> Chart:
    """Horizontal bars, one group per category (first category on top). Long names stay
    readable on a phone; a second series is hatched, not only lighter."""
    language = unit.language
    traces = []
    labels = [_wrap(c) for c in categories]
    for index, s in enumerate(series):
        texts = list(s.texts or [unit.text(v) for v in s.values])
        colour = REFERENCE_BAR if s.role == "reference" else BAR_COLOURS[index % len(BAR_COLOURS)]
        trace = {
            "type": "bar",
            "orientation": "h",
            "name": s.name,
            "y": labels,
            "x": [_float(v) for v in s.values],
            "customdata": [[t, c] for t, c in zip(texts, categories, strict=True)],
            "text": texts,
            "textposition": "outside",
            "cliponaxis": False,
            "textfont": {"size": TYPE_SCALE["small"], "color": TEXT},
            "hovertemplate": "%{customdata[1]}: %{customdata[0]}<extra>"
            + _escape(s.name)
            + "</extra>",
            "marker": {"color": colour},
        }
        if s.role == "reference":  # the period compared with: hatched, not only lighter
            trace["marker"]["pattern"] = {"shape": "/", "fgcolor": "#6f7f9c", "size": 6}
        trace.update(s.extra)
        traces.append(trace)
    layout = _base_layout(language)
    axis = unit.axis(_largest(*(s.values for s in series)))
    # Each bar carries its value: no tick labels to read across (nor to crowd a phone).
    layout["xaxis"] = {
        **axis,
        "showticklabels": False,
        "showgrid": False,
        "zeroline": True,
        "zerolinecolor": GRID,
        "automargin": True,
        "fixedrange": True,
    }
    layout["yaxis"] = {
        "autorange": "reversed",
        "automargin": True,
        "fixedrange": True,
        "tickfont": {"size": TYPE_SCALE["label"], "color": TEXT},
    }
    layout["barmode"] = "group"
    layout["bargap"] = 0.3
    layout["bargroupgap"] = 0.08
    per_category = 22 + 16 * len(series)
    layout["height"] = max(160, 70 + per_category * len(categories))
    layout["margin"]["r"] = 64  # room for the value written after the longest bar
    if len(series) > 1:
        _legend(layout)
    if target is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": float(target),
                "x1": float(target),
                "y0": 0,
                "y1": 1,
                "line": {"color": TARGET, "width": 2, "dash": "dot"},
            }
        ]
        layout["annotations"] = [
            {
                "x": float(target),
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "yanchor": "bottom",
                "text": _escape(f"{target_name or _('Target')} {unit.text(target)}"),
                "showarrow": False,
                "font": {"size": TYPE_SCALE["small"], "color": TARGET},
            }
        ]
        layout["margin"]["t"] = max(layout["margin"]["t"], 28)

    # Summary and table
    first = series[0] if series else None
    known = (
        [(v, c) for c, v in zip(categories, first.values, strict=True) if v is not None]
        if first
        else []
    )
    if known and first is not None:
        high, low = max(known), min(known)
        summary = _("%(title)s. %(series)s: highest %(high_name)s (%(high)s)") % {
            "title": title,
            "series": first.name,
            "high_name": high[1],
            "high": unit.text(high[0]),
        }
        if len(known) > 1:
            summary += _(", lowest %(low_name)s (%(low)s)") % {
                "low_name": low[1],
                "low": unit.text(low[0]),
            }
        summary += "."
    else:
        summary = _("%(title)s: no value for this period yet.") % {"title": title}
    columns = (title, *(s.name for s in series))
    rows = tuple(
        (category, *(unit.text(s.values[i]) for s in series))
        for i, category in enumerate(categories)
    )
    return Chart(
        id=id,
        kind="bars",
        figure={"data": traces, "layout": layout, "config": CONFIG},
        summary=summary,
        table=Table(title, columns, rows),
        empty=not known,
        empty_text=_("No value for this period yet."),
    )


def period_bars_figure(
    *,
    id: str,
    title: str,
    categories: Sequence[str],
    a: Sequence[Decimal | None],
    a_label: str,
    unit: Unit,
    b: Sequence[Decimal | None] | None = None,
    b_label: str = "",
    target: Decimal | None = None,
) -> Chart:
    """Period A vs period B for each category (campaign, channel), with the target as a
    dotted line when there is one."""
    series = [Series(a_label, a, "actual")]
    if b is not None:
        series.append(Series(b_label, b, "reference"))
    return bars_figure(
        id=id, title=title, categories=categories, series=series, unit=unit, target=target
    )


def lines_figure(
    *,
    id: str,
    title: str,
    months: Sequence[date],
    series: Sequence[Series],
    unit: Unit,
) -> Chart:
    """Several categories month by month (channels over time): colour and dash per line."""
    language = unit.language
    traces = [
        _line_trace(months, Series(s.name, s.values, "category", s.texts, s.extra), unit, i)
        for i, s in enumerate(series)
    ]
    layout = _time_layout(language, unit, months, _largest(*(s.values for s in series)))
    _legend(layout)
    known = [i for i in range(len(months)) if any(s.values[i] is not None for s in series)]
    if known:
        last = known[-1]
        value, top = max((s.values[last], s.name) for s in series if s.values[last] is not None)
        summary = _("%(title)s: in %(month)s, %(top)s is highest (%(value)s).") % {
            "title": title,
            "month": month_text(months[last], language),
            "top": top,
            "value": unit.text(value),
        }
    else:
        summary = _("%(title)s: no value for these months yet.") % {"title": title}
    columns = (_("Month"), *(s.name for s in series))
    rows = tuple(
        (month_text(m, language, "MMM y"), *(unit.text(s.values[i]) for s in series))
        for i, m in enumerate(months)
    )
    return Chart(
        id=id,
        kind="lines",
        figure={"data": traces, "layout": layout, "config": CONFIG},
        summary=summary,
        table=Table(title, columns, rows),
        empty=not known,
        empty_text=_("No value for these months yet."),
    )


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: Decimal | None
    rate: Decimal | None = None  # percent of the previous step that reached this one
    drop: Decimal | None = None  # percent of the previous step lost here


def funnel_steps(steps: Sequence[tuple[str, Decimal | None]]) -> list[FunnelStep]:
    """Conversion and drop-off between consecutive steps; a step without value is skipped
    (a campaign that records no impressions starts at its clicks)."""
    result: list[FunnelStep] = []
    previous: Decimal | None = None
    for label, value in steps:
        if value is None:
            continue
        rate = drop = None
        if previous is not None and previous > 0:
            rate = value / previous * 100
            drop = 100 - rate
        result.append(FunnelStep(label, value, rate, drop))
        previous = value
    return result


def _share_decimals(percent: Decimal) -> int:
    """Two decimals, or as many as show two significant digits of a tiny share (3 customers
    out of 518 736 impressions is 0.00058 %, not 0.00 %); at most six."""
    decimals = 2
    while 0 < percent < Decimal(10) ** (1 - decimals) and decimals < 6:
        decimals += 1
    return decimals


def funnel_figure(*, id: str, title: str, steps: Sequence[FunnelStep], language: str) -> Chart:
    """A funnel: each step's count, with the share of the previous step that reached it."""
    count = Unit("count", 0, "", language)
    texts, hovers = [], []  # short on the bar, in words on hover
    for step in steps:
        value = count.text(step.value)
        if step.rate is None:
            texts.append(value)
            hovers.append(value)
        else:
            rate = Unit("percent", 1, "", language).text(step.rate)
            texts.append(f"{value} · {rate}")
            hovers.append(_("%(value)s · %(rate)s of previous") % {"value": value, "rate": rate})
    largest = max((s.value for s in steps if s.value is not None), default=None)
    blues = ("#2456c9", "#3a6bd6", "#5482de", "#7099e6", "#8db0ec", "#a9c5f1", "#c4d8f5")
    traces = [
        {
            "type": "funnel",
            "y": [s.label for s in steps],
            "x": [_float(s.value) for s in steps],
            "text": texts,
            "customdata": hovers,
            "texttemplate": "%{text}",
            "cliponaxis": False,
            # Inside the wide bars, beside the thin ones (impressions dwarf new customers).
            "textposition": [
                "inside" if largest and (s.value or 0) / largest > Decimal("0.35") else "outside"
                for s in steps
            ],
            "insidetextanchor": "middle",
            "textfont": {"size": TYPE_SCALE["label"]},
            "hovertemplate": "%{y}: %{customdata}<extra></extra>",
            "marker": {"color": [blues[min(i, len(blues) - 1)] for i in range(len(steps))]},
            "connector": {"fillcolor": "rgba(120, 130, 150, 0.12)", "line": {"width": 0}},
            "constraintext": "both",
        }
    ]
    layout = _base_layout(language)
    layout["yaxis"] = {
        "automargin": True,
        "fixedrange": True,
        "tickfont": {"size": TYPE_SCALE["label"], "color": TEXT},
    }
    layout["xaxis"] = {"visible": False, "fixedrange": True}
    layout["height"] = max(180, 60 + 52 * len(steps))
    layout["funnelmode"] = "stack"
    if len(steps) >= 2 and steps[0].value:
        overall = steps[-1].value / steps[0].value * 100  # type: ignore[operator]
        summary = _("%(first)s %(first_label)s led to %(last)s %(last_label)s (%(overall)s).") % {
            "first": count.text(steps[0].value),
            "first_label": steps[0].label.lower(),
            "last": count.text(steps[-1].value),
            "last_label": steps[-1].label.lower(),
            "overall": formatting.percent(overall, _share_decimals(overall), language),
        }
        worst = max((s for s in steps if s.drop is not None), key=lambda s: s.drop)
        previous = steps[steps.index(worst) - 1]
        summary += " " + _(
            "The largest drop is before %(step)s: %(drop)s of %(previous)s lost."
        ) % {
            "step": worst.label.lower(),
            "drop": formatting.percent(worst.drop, 1, language),
            "previous": previous.label.lower(),
        }
    elif steps:
        summary = _("Only one step of the funnel is recorded: %(step)s.") % {
            "step": steps[0].label.lower()
        }
    else:
        summary = _("No funnel step is recorded for this period.")
    rows = tuple(
        (
            s.label,
            count.text(s.value),
            formatting.percent(s.rate, 1, language),
            formatting.percent(s.drop, 1, language),
        )
        for s in steps
    )
    return Chart(
        id=id,
        kind="funnel",
        figure={"data": traces, "layout": layout, "config": CONFIG},
        summary=summary,
        table=Table(
            title, (_("Step"), _("Count"), _("Reached from previous"), _("Drop-off")), rows
        ),
        empty=len(steps) < 2,
        empty_text=_(
            "A funnel needs at least two of impressions, clicks, visitors, leads and new "
            "customers for the period."
        ),
    )


def current_language() -> str:
    return "fr" if (get_language() or "en").startswith("fr") else "en"
