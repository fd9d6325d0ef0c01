"""What each kind of slide shows: its numbers, formatted, and its Plotly figure.

The reads and the figures are the dashboards' (dashboards.selectors: kpi_cards, funnel,
channel_table; dashboards.figures: kpi_timeseries_figure, funnel_steps, funnel_figure,
bars_figure), so a number and a chart on the TV are those of the dashboard page. What is the
TV's own is here:

- the slide's period, relative to the last complete month unless it is fixed;
- `tv_figure`: the dashboards' figures re-dressed for a screen across a room (the board's
  theme colours, type scaled up, thicker lines, no fixed height, the slide's period shaded);
- the tiles' sparklines, drawn as SVG: eight Plotly charts per slide would be eight plots to
  draw and purge at every turn of a wall screen;
- the objective slide, on metrics.selectors.objective_progress.

A slide costs a fixed number of queries whatever its number of KPIs, months or channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import get_language, gettext, pgettext_lazy

from dashboards import figures
from dashboards import selectors as dashboard_selectors
from dashboards.filters import Filters
from kpiboard import formatting
from kpiboard.models import Organization
from metrics import comparisons
from metrics.models import KPI
from metrics.periods import (
    Period,
    add_months,
    month_range,
    month_start,
    parse_period,
    rolling_12_months,
    year_to_date,
)
from metrics.recompute import ALL
from metrics.selectors import (
    judge,
    kpi_series,
    monthly_targets,
    objective_progress,
    objective_series,
    readings,
)

from .models import Comparison, Slide, SlideKind, SlidePeriod

SERIES_MONTHS = 13  # a KPI's chart: the period's last month and the twelve before it
CHANNEL_KPIS = ("roas", "cpa")

# The board themes' colours for the charts; they match static/css/board.css.
PALETTES: dict[str, dict[str, str]] = {
    "dark": {
        "text": "#e9eef5", "muted": "#a9b6c6", "grid": "#2a3442", "actual": "#56b4e9",
        "on_actual": "#08111b",
        "reference": "#93a1b3", "target": "#f0c419", "second": "#e69f00",
        "band": "rgba(86, 180, 233, 0.14)", "connector": "rgba(169, 182, 198, 0.16)",
    },
    "light": {
        "text": "#111827", "muted": "#465263", "grid": "#d5dbe3", "actual": "#0b6fb3",
        "on_actual": "#ffffff",
        "reference": "#6b7687", "target": "#b35900", "second": "#c96a00",
        "band": "rgba(11, 111, 179, 0.10)", "connector": "rgba(70, 82, 99, 0.12)",
    },
    "contrast": {
        "text": "#ffffff", "muted": "#ffffff", "grid": "#5c5c5c", "actual": "#ffd400",
        "on_actual": "#000000",
        "reference": "#ffffff", "target": "#00e5ff", "second": "#00e5ff",
        "band": "rgba(255, 255, 255, 0.16)", "connector": "rgba(255, 255, 255, 0.2)",
    },
}  # fmt: skip
TICK_SIZE = 28  # px at 1080 lines for the dashboards' 12 px ticks; board.js follows the screen
LINE_SCALE = 2.0
MARKER_SCALE = 2.6


def _language() -> str:
    return "fr" if (get_language() or "en").startswith("fr") else "en"


# ------------------------------------------------------------------------------ periods


def last_complete_month(today: date) -> date:
    return add_months(month_start(today), -1)


def slide_period(slide: Slide, organization: Organization, today: date) -> Period:
    """The period a slide shows, relative to the last complete month unless it is fixed."""
    last = last_complete_month(today)
    fiscal_start = organization.fiscal_year_start_month
    if slide.period == SlidePeriod.FIXED and slide.period_key:
        try:
            return parse_period(slide.period_key, fiscal_start)
        except ValueError:
            pass  # checked when the slide was added; a changed fiscal year falls back
    if slide.period == SlidePeriod.LAST_QUARTER:
        quarter = Period.containing(last, "quarter")
        return quarter if quarter.end == last else quarter.previous()
    if slide.period == SlidePeriod.YEAR_TO_DATE:
        return year_to_date(last, fiscal_start)
    if slide.period == SlidePeriod.ROLLING_12:
        return rolling_12_months(last)
    return Period.month(last.year, last.month)


def reference_period(period: Period, comparison: str) -> Period | None:
    """The period compared with; None when the comparison is the target."""
    if comparison == Comparison.PREVIOUS:
        return period.previous()
    if comparison == Comparison.LAST_YEAR:
        return period.same_period_last_year()
    return None


def comparison_label(period: Period, comparison: str) -> str:
    reference = reference_period(period, comparison)
    if reference is None:
        return gettext("vs target")
    return gettext("vs %(period)s") % {"period": reference.label(_language())}


# ---------------------------------------------------------------------------- formatting


@dataclass(frozen=True)
class Change:
    """A change as the screen says it: an arrow, the dashboards' text ("+0.6 pt (+15.0 %)"),
    and whether it is good news (blue) or bad (orange)."""

    tone: str  # good / bad / neutral / none
    arrow: str
    text: str


def change(delta: comparisons.Delta, unit: figures.Unit, *, neutral: bool = False) -> Change:
    if delta.absolute is None:
        return Change("none", "", formatting.NO_VALUE)
    arrow = "▲" if delta.absolute > 0 else "▼" if delta.absolute < 0 else "="
    tone = "neutral" if neutral or delta.good is None else ("good" if delta.good else "bad")
    return Change(tone, arrow, unit.delta_text(delta))


def relative_change(delta: comparisons.Delta) -> Change:
    """The change in percent only ("+12.5 %"), where a table has no room for more."""
    if delta.relative is None:
        return Change("none", "", formatting.NO_VALUE)
    sign = "+" if delta.relative > 0 else "\u2212" if delta.relative < 0 else "±"
    whole = change(delta, figures.Unit("count", 0, "", _language()))
    return Change(whole.tone, whole.arrow, sign + formatting.percent(abs(delta.relative), 1))


def kpi_unit(kpi: KPI, currency: str) -> figures.Unit:
    return figures.Unit(kpi.unit, kpi.decimals, currency, _language())


STATUS_LABELS = {  # lazy: read in the board's language, not the one at import time
    "on_track": pgettext_lazy("objective status", "On track"),
    "at_risk": pgettext_lazy("objective status", "At risk"),
    "off_track": pgettext_lazy("objective status", "Off track"),
}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status, "")) if status else ""


# ------------------------------------------------------------------------------- figures


def tv_figure(
    chart: figures.Chart, palette: dict[str, str], *, highlight: Period | None = None
) -> dict:
    """A dashboards' figure dressed for a TV: the board theme's colours instead of the
    page's, type and lines scaled up, the plot filling its box, the slide's period shaded."""
    colours = {
        figures.ACCENT: palette["actual"],
        figures.TARGET: palette["target"],
        figures.LAST_YEAR: palette["reference"],
        figures.REFERENCE_BAR: palette["second"],
        figures.TEXT: palette["text"],
        figures.MUTED: palette["muted"],
        figures.NEUTRAL: palette["muted"],
        figures.GRID: palette["grid"],
        "rgba(120, 130, 150, 0.12)": palette["connector"],
    }
    colours = {key.lower(): value for key, value in colours.items()}
    factor = TICK_SIZE / figures.TYPE_SCALE["tick"]

    def dress(node, key=""):
        if isinstance(node, dict):
            out = {}
            for name, value in node.items():
                if name == "size" and key.endswith("font") and isinstance(value, int | float):
                    out[name] = round(value * factor)
                elif name == "width" and key == "line" and isinstance(value, int | float):
                    out[name] = value * LINE_SCALE
                elif name == "size" and key == "marker" and isinstance(value, int | float):
                    out[name] = round(value * MARKER_SCALE)
                else:
                    out[name] = dress(value, name)
            return out
        if isinstance(node, list):
            return [dress(item, key) for item in node]
        if isinstance(node, str):
            return colours.get(node.lower(), node)
        return node

    figure = dress({"data": chart.figure["data"], "layout": chart.figure["layout"]})  # a copy
    layout = figure["layout"]
    for name in ("height", "hovermode", "hoverlabel"):
        layout.pop(name, None)
    layout["autosize"] = True
    layout.setdefault("font", {})["color"] = palette["muted"]
    layout["margin"] = {**layout.get("margin", {}), "l": 8, "r": 24, "b": 8, "pad": 10}
    if layout.get("showlegend"):
        layout["margin"]["t"] = 72
        layout.setdefault("legend", {}).setdefault("font", {})["color"] = palette["text"]
    longest, bars = 0.0, 0
    for trace in figure["data"]:
        trace["hoverinfo"] = "skip"
        trace.pop("hovertemplate", None)
        if trace.get("type") == "funnel":
            # The counts only: the shares of the stage before are listed beside the chart.
            trace.update(
                marker={"color": palette["actual"]}, texttemplate="%{x:,.0f}",
                textposition="auto", constraintext="none", cliponaxis=False,
                insidetextfont={"color": palette["on_actual"]},
                outsidetextfont={"color": palette["text"]},
            )  # fmt: skip
        if trace.get("type") == "bar":
            bars += 1
            trace["marker"]["color"] = palette["actual"] if bars == 1 else palette["second"]
            if trace.get("textfont"):
                trace["textfont"]["color"] = palette["text"]
            pattern = trace.get("marker", {}).get("pattern")
            if pattern:  # a second series: hatched over its own colour, not only lighter
                pattern.update(fillmode="overlay", fgcolor="rgba(0, 0, 0, 0.45)", size=16)
            if trace.get("orientation") == "h":
                longest = max([longest, *(x for x in trace.get("x", []) if x is not None)])
    if longest > 0:
        # Room for the amounts written after the longest bar, and few, level ticks.
        layout["xaxis"].update(range=[0, longest * 1.25], nticks=5, tickangle=0)
    for axis in ("xaxis", "yaxis"):
        if axis in layout and layout[axis].get("tickfont"):
            layout[axis]["tickfont"]["color"] = palette["text"]
    if "yaxis" in layout and all(t.get("type") == "scatter" for t in figure["data"]):
        # Lines need no zero on a TV: across a room, the gap to the target is the message.
        layout["yaxis"]["rangemode"] = "normal"
    if highlight is not None:
        layout["shapes"] = [*layout.get("shapes", []), {
            "type": "rect", "xref": "x", "yref": "paper", "x0": highlight.start.isoformat(),
            "x1": add_months(highlight.end, 1).isoformat(), "y0": 0, "y1": 1,
            "fillcolor": palette["band"], "line": {"width": 0}, "layer": "below",
        }]  # fmt: skip
    return figure


@dataclass(frozen=True)
class Sparkline:
    runs: list[str]  # SVG polyline points, one per run of months with values
    last: tuple[float, float] | None

    @property
    def dot(self) -> str:
        """An SVG path drawing the last point (a round cap on a zero-length line stays
        round when the sparkline is stretched)."""
        return f"M{self.last[0]} {self.last[1]}h0" if self.last else ""


def sparkline(values: list[Decimal | None], width: int = 120, height: int = 36) -> Sparkline:
    """A tiny line drawn as SVG in the page; months without a value break it."""
    known = [v for v in values if v is not None]
    if not known:
        return Sparkline([], None)
    low, high = min(known), max(known)
    span = (high - low) or Decimal(1)
    step = width / max(1, len(values) - 1)
    runs: list[str] = []
    current: list[str] = []
    last = None
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(" ".join(current))
            current = []
            continue
        x = round(i * step, 1)
        y = round(height - 3 - float((value - low) / span) * (height - 6), 1)
        current.append(f"{x},{y}")
        last = (x, y)
    if current:
        runs.append(" ".join(current))
    return Sparkline(runs, last)


# -------------------------------------------------------------------------------- slides


@dataclass
class SlideView:
    """A slide ready for the template: `kind` picks its markup; `figure` feeds Plotly."""

    slide: Slide
    kind: str
    title: str
    subtitle: str = ""
    figure: dict | None = None
    summary: str = ""  # the chart said in words (its accessible name)
    data: object = None
    message: str = ""


@dataclass(frozen=True)
class KPISlide:
    value: str
    reference: str
    change: Change
    comparison: str
    against_target: bool = False
    target: str = ""
    attainment: str = ""
    status: str | None = None
    status_label: str = ""


@dataclass(frozen=True)
class ObjectiveSlide:
    current: str
    target: str
    target_now: str
    progress_text: str
    progress_bar: int  # 0..100, the bar's width
    status: str | None
    status_label: str
    deadline: date
    read_at: str
    required: str
    reached: bool


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    change: Change
    comparison: str
    spark: Sparkline
    status: str | None = None
    status_label: str = ""


@dataclass(frozen=True)
class FunnelStage:
    label: str
    value: str
    step: str  # share of the previous stage that reached this one
    change: Change


@dataclass(frozen=True)
class ChannelRow:
    label: str
    roas: str
    cpa: str
    revenue: Change  # revenue vs the reference period


@dataclass
class Context:
    """What the slides of one screen share, read once."""

    organization: Organization
    today: date
    palette: dict[str, str]
    _followed: list[KPI] | None = field(default=None, repr=False)

    @property
    def currency(self) -> str:
        return self.organization.currency

    def followed_kpis(self) -> list[KPI]:
        """The KPIs followed on the overview (the first eight of the catalog if none)."""
        if self._followed is None:
            kpis = list(
                KPI.objects.filter(organization=self.organization).order_by("position", "code")
            )
            self._followed = ([k for k in kpis if k.followed] or kpis)[:8]
        return self._followed


def slide_view(slide: Slide, context: Context) -> SlideView:
    builder = {
        SlideKind.KPI: _kpi_slide,
        SlideKind.OBJECTIVE: _objective_slide,
        SlideKind.TILES: _tiles_slide,
        SlideKind.FUNNEL: _funnel_slide,
        SlideKind.CHANNELS: _channels_slide,
    }[SlideKind(slide.kind)]
    return builder(slide, context)


def _message(slide: Slide, title: str, subtitle: str, message: str) -> SlideView:
    return SlideView(slide, "message", title, subtitle, message=message)


def _subtitle(period: Period, comparison: str) -> str:
    return f"{period.label(_language())} · {comparison_label(period, comparison)}"


def _kpi_slide(slide: Slide, context: Context) -> SlideView:
    kpi = slide.kpi
    if kpi is None:
        return _message(slide, slide.title or slide.get_kind_display(), "",
                        gettext("The KPI of this slide was removed from the catalog."))  # fmt: skip
    organization, unit = context.organization, kpi_unit(kpi, context.currency)
    period = slide_period(slide, organization, context.today)
    (reading,) = readings(
        organization=organization, kpis=[kpi], period=period, against=slide.comparison
    )
    months = month_range(add_months(period.end, 1 - SERIES_MONTHS), period.end)
    actual = kpi_series(organization=organization, kpis=[kpi], first=months[0], last=months[-1])
    target = last_year = None
    extra = {}
    if slide.comparison == Comparison.TARGET:
        monthly = monthly_targets(
            organization=organization, kpis=[kpi], first=months[0], last=months[-1]
        ).get(kpi.pk, {})
        target = [monthly.get(m) for m in months]
        judged = judge(organization, kpi, reading.value, reading.reference)
        extra = {
            "against_target": True,
            "target": unit.text(reading.reference) if reading.reference is not None else "",
            "attainment": formatting.percent(judged.attainment, 0),
            "status": judged.status,
            "status_label": status_label(judged.status),
        }
    elif slide.comparison == Comparison.LAST_YEAR:
        before = kpi_series(
            organization=organization, kpis=[kpi], first=add_months(months[0], -12),
            last=add_months(months[-1], -12),
        )[kpi.pk]  # fmt: skip
        last_year = [before.get(add_months(m, -12)) for m in months]
    chart = figures.kpi_timeseries_figure(
        id=f"slide-{slide.pk}", name=kpi.label, months=months,
        actual=[actual[kpi.pk][m] for m in months], unit=unit, target=target,
        last_year=last_year,
    )  # fmt: skip
    data = KPISlide(
        value=unit.text(reading.value),
        reference=unit.text(reading.reference),
        change=change(reading.delta, unit),
        comparison=comparison_label(period, slide.comparison),
        **extra,
    )
    return SlideView(
        slide, "kpi", slide.title or kpi.label, _subtitle(period, slide.comparison),
        figure=tv_figure(chart, context.palette, highlight=period), summary=chart.summary,
        data=data,
    )  # fmt: skip


def _objective_slide(slide: Slide, context: Context) -> SlideView:
    objective = slide.objective
    if objective is None:
        return _message(slide, slide.title or slide.get_kind_display(), "",
                        gettext("The objective of this slide was removed."))  # fmt: skip
    organization, kpi = context.organization, objective.kpi
    unit = kpi_unit(kpi, context.currency)
    (progress,) = objective_progress(
        organization=organization, objectives=[objective], today=context.today
    )
    start, deadline = month_start(objective.start_date), month_start(objective.deadline)
    months = month_range(start, deadline)
    read_at = progress.month or deadline
    series = objective_series(
        organization=organization, objective=objective, first=start,
        last=min(read_at, deadline),
    )  # fmt: skip
    path = [
        comparisons.linear_target(
            m, baseline=objective.baseline_value, target=progress.target, start=start,
            deadline=deadline,
        )
        for m in months
    ]  # fmt: skip
    chart = figures.kpi_timeseries_figure(
        id=f"slide-{slide.pk}", name=gettext("Actual"), months=months,
        actual=[series.get(m) for m in months], unit=unit, target=path,
        target_name=gettext("Path to the target"),
    )  # fmt: skip
    required = ""
    if progress.required_per_month is not None:
        required = unit.delta_text(
            comparisons.compare(
                progress.required_per_month, Decimal(0), unit=kpi.unit, direction=kpi.direction
            )
        )
    pct = progress.progress
    data = ObjectiveSlide(
        current=unit.text(progress.current),
        target=unit.text(progress.target),
        target_now=unit.text(progress.target_now),
        progress_text=formatting.percent(pct, 0),
        progress_bar=int(max(0, min(100, pct))) if pct is not None else 0,
        status=progress.judged.status,
        status_label=status_label(progress.judged.status),
        deadline=objective.deadline,
        read_at=figures.month_text(read_at, _language()),
        required=required,
        reached=progress.reached,
    )
    subtitle = gettext("%(kpi)s · from %(start)s to %(deadline)s") % {
        "kpi": kpi.label,
        "start": figures.month_text(start, _language()),
        "deadline": figures.month_text(deadline, _language()),
    }
    return SlideView(
        slide, "objective", slide.title or objective.title, subtitle,
        figure=tv_figure(chart, context.palette), summary=chart.summary, data=data,
    )  # fmt: skip


def _tiles_slide(slide: Slide, context: Context) -> SlideView:
    organization, currency = context.organization, context.currency
    kpis = list(slide.kpis.all()) or context.followed_kpis()
    period = slide_period(slide, organization, context.today)
    title = slide.title or gettext("Key figures")
    subtitle = _subtitle(period, slide.comparison)
    if not kpis:
        return _message(slide, title, subtitle, gettext("The catalog has no KPI to show."))
    reference = reference_period(period, slide.comparison)
    filters = Filters(
        kind="custom", at=period.end, compare=slide.comparison, scope=ALL, period=period,
        reference=reference,
    )  # fmt: skip
    cards = dashboard_selectors.kpi_cards(organization=organization, kpis=kpis, filters=filters)
    tiles = []
    for card in cards:
        unit = kpi_unit(card.kpi, currency)
        against_target = reference is None
        tiles.append(
            Tile(
                label=card.kpi.label,
                value=unit.text(card.value),
                change=change(card.delta, unit),
                comparison=(
                    gettext("target %(value)s") % {"value": unit.text(card.target)}
                    if against_target
                    else comparison_label(period, slide.comparison)
                ),
                spark=sparkline(list(card.series)),
                status=card.judged.status if against_target else None,
                status_label=status_label(card.judged.status) if against_target else "",
            )
        )
    return SlideView(slide, "tiles", title, subtitle, data=tiles)


def _funnel_slide(slide: Slide, context: Context) -> SlideView:
    organization = context.organization
    period = slide_period(slide, organization, context.today)
    reference = reference_period(period, slide.comparison) or period.previous()
    campaign = slide.campaign
    scope = f"campaign:{campaign.pk}" if campaign else ALL
    title = slide.title or (
        gettext("Funnel: %(campaign)s") % {"campaign": campaign.name}
        if campaign
        else gettext("Funnel: all campaigns")
    )
    subtitle = _subtitle(period, slide.comparison)
    now = dashboard_selectors.funnel(organization=organization, scope=scope, period=period)
    before = dict(
        dashboard_selectors.funnel(organization=organization, scope=scope, period=reference)
    )
    steps = figures.funnel_steps(now)
    if len(steps) < 2:
        return _message(slide, title, subtitle, gettext("No funnel figures for %(period)s.") % {
            "period": period.label(_language())})  # fmt: skip
    count = figures.Unit("count", 0, context.currency, _language())
    stages = [
        FunnelStage(
            label=step.label,
            value=count.text(step.value),
            step=(
                gettext("%(share)s of the stage before")
                % {"share": formatting.percent(step.rate, 1)}
                if step.rate is not None
                else ""
            ),
            change=change(
                comparisons.compare(
                    step.value, before.get(step.label), unit="count", direction="higher"
                ),
                count,
            ),
        )
        for step in steps
    ]
    chart = figures.funnel_figure(
        id=f"slide-{slide.pk}", title=title, steps=steps, language=_language()
    )
    return SlideView(
        slide, "funnel", title, subtitle, figure=tv_figure(chart, context.palette),
        summary=chart.summary, data=stages,
    )  # fmt: skip


def _channels_slide(slide: Slide, context: Context) -> SlideView:
    organization, currency = context.organization, context.currency
    period = slide_period(slide, organization, context.today)
    reference = reference_period(period, slide.comparison) or period.previous()
    title = slide.title or gettext("Channels")
    subtitle = _subtitle(period, slide.comparison)
    kpis = {k.code: k for k in KPI.objects.filter(organization=organization, code__in=CHANNEL_KPIS)}
    rows = dashboard_selectors.channel_table(
        organization=organization, kpis=list(kpis.values()), period=period, reference=reference
    )
    rows = [r for r in rows if r.metrics["spend"][0] is not None or r.metrics["revenue"][0]]
    if not rows:
        return _message(slide, title, subtitle, gettext("No channel figures for %(period)s.") % {
            "period": period.label(_language())})  # fmt: skip
    rows.sort(key=lambda r: -(r.metrics["revenue"][0] or 0))
    money = figures.Unit("money", 0, currency, _language())

    def kpi_text(row, code):
        kpi = kpis.get(code)
        return kpi_unit(kpi, currency).text(row.kpis[code][0]) if kpi else formatting.NO_VALUE

    table = [
        ChannelRow(
            label=row.label,
            roas=kpi_text(row, "roas"),
            cpa=kpi_text(row, "cpa"),
            revenue=relative_change(
                comparisons.compare(*row.metrics["revenue"], unit="money", direction="higher")
            ),
        )
        for row in rows
    ]
    chart = figures.bars_figure(
        id=f"slide-{slide.pk}",
        title=gettext("Revenue and marketing spend by channel"),
        categories=[r.label for r in rows],
        series=[
            figures.Series(gettext("Revenue"), [r.metrics["revenue"][0] for r in rows]),
            figures.Series(gettext("Marketing spend"), [r.metrics["spend"][0] for r in rows]),
        ],
        unit=money,
    )
    return SlideView(
        slide, "channels", title, subtitle, figure=tv_figure(chart, context.palette),
        summary=chart.summary, data=table,
    )  # fmt: skip
