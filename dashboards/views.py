"""Dashboard pages: the KPI list, a KPI, the channels, a campaign (and the overview, in
kpiboard.views, built on the same Board).

Every page is a full page on a plain request. Its filter form and period links carry hx-get:
on such a request the page compares the new view with the one the browser shows
(HX-Current-URL) and sends back only the sections that depend on what changed, swapped out of
band; the browser's URL becomes the view's canonical URL (HX-Push-Url).

A page is rendered once per view of the data and served from the cache until the data
changes (dashboards.page_cache); only the layout around it is rendered on every request."""

from datetime import date
from decimal import Decimal
from html import escape
from urllib.parse import parse_qsl

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campaigns.forms import add_service_errors
from campaigns.models import Campaign, Channel
from kpiboard.tenancy import org_view
from metrics import selectors as kpi_selectors
from metrics.comparisons import compare, linear_target
from metrics.formulas import FormulaError, parse
from metrics.models import KPI, Benchmark, Stage
from metrics.periods import Period, add_months, month_range
from metrics.recompute import ALL

from . import figures, selectors, services
from .filters import Filters, default_month, month_key, parse_month
from .forms import BenchmarkForm
from .page_cache import Page, board_page, shown_query

PERIOD_CHOICES = [
    ("month", gettext_lazy("Month")),
    ("quarter", gettext_lazy("Quarter")),
    ("year", gettext_lazy("Year")),
    ("ytd", gettext_lazy("Year to date")),
    ("r12", gettext_lazy("Rolling 12 months")),
    ("custom", gettext_lazy("Custom range")),
]
COMPARE_CHOICES = [
    ("previous", gettext_lazy("Previous period")),
    ("last_year", gettext_lazy("Same period last year")),
    ("target", gettext_lazy("Target")),
    ("custom", gettext_lazy("Another period")),
]
WINDOW = 24  # months a time series shows at least (more for a longer period)
MAX_BARS = 15


class Board:
    """What every dashboard page reads first: the data span, the scope menu, the filters of
    the view asked for and, on an htmx request, of the view the browser shows."""

    def __init__(
        self,
        request: HttpRequest,
        *,
        scope: str | None = None,
        with_scopes: bool = True,
        extra: dict[str, tuple[str, ...]] | None = None,
        data_last: date | None = None,
    ) -> None:
        """`scope`: the page's own scope (a campaign's); `data_last`: the last month with data
        of that scope, when it is not the organization's."""
        self.request = request
        self.organization = organization = request.organization
        self.language = figures.current_language()
        self.state = selectors.data_state(organization=organization)
        self.span = (self.state.first, self.state.last) if self.state.last else None
        self.data_last = data_last or self.state.last
        self.default_at = default_month(self.data_last, timezone.localdate())
        self.campaigns: list[selectors.CampaignChoice] = []
        self.channels: list[tuple[str, str]] = []
        if with_scopes:
            self.campaigns, self.channels = selectors.scope_choices(organization=organization)
        self.scopes = {f"channel:{c}" for c, _label in self.channels} | {
            f"campaign:{c.pk}" for c in self.campaigns
        }
        self.fixed_scope = scope
        self.extra = extra or {}
        self.filters = self.parse(request.GET)
        self.previous = self._previous()

    def parse(self, query) -> Filters:
        filters = Filters.parse(
            query,
            default_at=self.default_at,
            fiscal_start=self.organization.fiscal_year_start_month,
            scopes=self.scopes,
            fixed_scope=self.fixed_scope,
        )
        extra = {}
        for name, choices in self.extra.items():
            value = query.get(name) or ""
            if choices and value not in choices:
                value = choices[0]
            if value:
                extra[name] = value
        return filters.with_extra(**extra)

    def _previous(self) -> Filters | None:
        shown = shown_query(self.request)
        if shown is None:
            return None
        query = QueryDict(mutable=True)
        for name, value in parse_qsl(shown, keep_blank_values=True):
            query.appendlist(name, value)
        return self.parse(query)

    @property
    def partial(self) -> bool:
        return self.previous is not None

    @cached_property
    def changed(self) -> set[str]:
        """What the view asked for changes from the one the browser shows (htmx requests)."""
        return set() if self.previous is None else self.filters.changes(self.previous)

    def wanted(self, sections: dict[str, set[str]]) -> set[str]:
        """The sections to build: all of them for a full page, else those depending on what
        changed (all of them when nothing did: the person asked again)."""
        if self.previous is None:
            return set(sections)
        names = {name for name, needs in sections.items() if needs & self.changed}
        return names or set(sections)

    def page(self, template: str, title: str, context: dict, wanted: set[str]) -> Page:
        """The page rendered: its content (the template's `content` partial), or on an htmx
        swap the wanted sections, out of band."""
        filters, language = self.filters, self.language
        context = {
            "board": self,
            "filters": filters,
            "language": language,
            "plotly_locale": figures.plotly_locale(language),
            "period_label": filters.period_label(language),
            "comparison_label": filters.comparison_label(language),
            "reference_label": filters.reference_label(language),
            "scope_label": self.scope_label() if self.fixed_scope is None else "",
            "period_choices": PERIOD_CHOICES,
            "compare_choices": COMPARE_CHOICES,
            **context,
        }
        if self.partial:
            html = "".join(
                render_to_string(f"{template}#{name}", {**context, "oob": True}, self.request)
                for name in context["sections"]
                if name in wanted
            )
            push_url = self.request.path + self.filters.query()
            return Page(template, title, "", mark_safe(html), push_url)  # noqa: S308
        nav = render_to_string("components/nav.html", context, self.request)
        content = render_to_string(f"{template}#content", context, self.request)
        return Page(template, title, nav, content)

    @cached_property
    def steps(self) -> dict[str, dict]:
        """The links to the period before and after (the next one only up to last month)."""
        last_complete = add_months(timezone.localdate().replace(day=1), -1)
        steps = {}
        for name, direction in (("prev", -1), ("next", 1)):
            query = self.filters.moved(direction)
            moved = self.parse(QueryDict(query[1:]))
            steps[name] = {
                "query": query,
                "label": moved.period_label(self.language),
                "available": moved.period.start <= last_complete,
            }
        return steps

    @cached_property
    def scope_options(self) -> str:
        """The scope menu's options: all campaigns, the channels in use, the campaigns. Built
        with plain string operations: an organization may run hundreds of campaigns and this
        menu is on every page."""
        chosen = self.filters.scope
        groups = [
            (_("Channels"), [(f"channel:{c}", label) for c, label in self.channels]),
            (_("Campaigns"), [(f"campaign:{c.pk}", c.name) for c in self.campaigns]),
        ]
        parts = [
            f'<option value="all"{" selected" if chosen == ALL else ""}>'
            f"{escape(_('All campaigns'))}</option>"
        ]
        for label, options in groups:
            if options:
                parts.append(f'<optgroup label="{escape(label)}">')
                parts.extend(
                    f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
                    f"{escape(name)}</option>"
                    for value, name in options
                )
                parts.append("</optgroup>")
        return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above

    # ------------------------------------------------------------------ helpers

    def unit(self, kpi: KPI) -> figures.Unit:
        return figures.Unit(kpi.unit, kpi.decimals, self.organization.currency, self.language)

    def money(self, decimals: int = 0) -> figures.Unit:
        return figures.Unit("money", decimals, self.organization.currency, self.language)

    def window(self, period: Period) -> list[date]:
        """The months a time series shows: at least two years ending with the period, from
        the first month with data on."""
        first = min(period.start, add_months(period.end, -(WINDOW - 1)))
        if self.span and self.span[0] > first:
            first = min(self.span[0], period.start)
        return month_range(first, period.end)

    def incomplete(self) -> bool:
        """Whether the period runs past the last month with data."""
        return self.data_last is not None and self.filters.period.end > self.data_last

    def scope_label(self) -> str:
        scope = self.filters.scope
        if scope == ALL:
            return _("All campaigns")
        if scope.startswith("channel:"):
            return dict(Channel.choices).get(scope.removeprefix("channel:"), scope)
        campaign_id = int(scope.removeprefix("campaign:"))
        return next((c.name for c in self.campaigns if c.pk == campaign_id), scope)


# --------------------------------------------------------------------------- KPI list

KPI_LIST_SECTIONS = {
    "summary": {"period", "compare", "scope"},
    "table": {"period", "compare", "scope"},
}


@org_view()
def kpi_list(request: HttpRequest) -> HttpResponse:
    return board_page(request, _kpi_list)


def _kpi_list(request: HttpRequest) -> Page:
    board = Board(request)
    wanted = board.wanted(KPI_LIST_SECTIONS)
    kpis = list(KPI.objects.filter(organization=board.organization).order_by("position", "code"))
    context = {"nav_active": "kpis", "sections": list(KPI_LIST_SECTIONS)}
    if "table" in wanted:
        cards = selectors.kpi_cards(
            organization=board.organization, kpis=kpis, filters=board.filters, series=False
        )
        by_stage = []
        for stage, label in Stage.choices:
            rows = [c for c in cards if c.kpi.stage == stage]
            if rows:
                by_stage.append((label, rows))
        context["stages"] = by_stage
    return board.page("dashboards/kpi_list.html", _("KPIs"), context, wanted)


# -------------------------------------------------------------------------------- KPI

KPI_SECTIONS = {
    "headline": {"period", "compare", "scope"},
    "timeseries": {"period", "scope"},
    "bars": {"period", "compare", "scope", "by"},
    "monthly": {"period", "scope"},
    "inputs": {"period", "scope", "inputs"},
}


@org_view()
def kpi_detail(request: HttpRequest, kpi_id: int) -> HttpResponse:
    return board_page(request, lambda request: _kpi_detail(request, kpi_id))


def _kpi_detail(request: HttpRequest, kpi_id: int) -> Page:
    organization = request.organization
    kpi = get_object_or_404(KPI, organization=organization, pk=kpi_id)
    board = Board(request, extra={"by": ("campaign", "channel"), "inputs": ()})
    filters = board.filters
    wanted = board.wanted(KPI_SECTIONS)
    unit = board.unit(kpi)
    context = {
        "nav_active": "kpis",
        "kpi": kpi,
        "sections": list(KPI_SECTIONS),
        "by": dict(filters.extra).get("by", "campaign"),
    }
    period = filters.period
    benchmarks = (
        selectors.kpi_benchmarks(organization=organization, kpi=kpi)
        if wanted & {"headline", "timeseries"}
        else []
    )
    if "headline" in wanted:
        (card,) = selectors.kpi_cards(organization=organization, kpis=[kpi], filters=filters)
        context["card"] = card
        context["benchmarks"] = [
            (b, compare(card.value, b.value, unit=kpi.unit, direction=kpi.direction))
            for b in benchmarks
            if _valid_in(b, period)
        ]
    if "timeseries" in wanted or "monthly" in wanted:
        context.update(_kpi_months(board, kpi, unit, benchmarks, with_chart="timeseries" in wanted))
    if "bars" in wanted:
        context["bars"] = _kpi_bars(board, kpi, unit, context["by"])
    if "inputs" in wanted:
        context["inputs"] = _kpi_inputs(board, kpi)
    return board.page("dashboards/kpi_detail.html", kpi.label, context, wanted)


def _valid_in(benchmark: Benchmark, period: Period) -> bool:
    return benchmark.period_start <= period.end and (
        benchmark.period_end is None or benchmark.period_end >= period.start
    )


def _kpi_months(
    board: Board, kpi: KPI, unit: figures.Unit, benchmarks: list[Benchmark], *, with_chart: bool
) -> dict:
    """The time series and the monthly table: actual, target path, last year, benchmarks, and
    the metrics behind each month's value."""
    organization, scope = board.organization, board.filters.scope
    months = board.window(board.filters.period)
    first, last = months[0], months[-1]
    catalog_kpis = {k.code: k for k in KPI.objects.filter(organization=organization)}
    formula_refs = _references(kpi)
    referenced_kpis = [catalog_kpis[c] for c in formula_refs if c in catalog_kpis]
    series = kpi_selectors.kpi_series(
        organization=organization,
        kpis=[kpi, *referenced_kpis],
        first=add_months(first, -12),
        last=last,
        scope=scope,
    )
    actual = [series[kpi.pk][m] for m in months]
    last_year = [series[kpi.pk][add_months(m, -12)] for m in months]
    targets = kpi_selectors.monthly_targets(
        organization=organization, kpis=[kpi], first=first, last=last, scope=scope
    ).get(kpi.pk, {})
    target = [targets.get(m) for m in months]
    if not targets:  # no monthly target: the path of the KPI's objective for this scope
        target = _objective_path(organization, kpi, scope, months)
    lines = [
        figures.BenchmarkLine(b.label, b.value, b.period_start, b.period_end, b.source)
        for b in benchmarks
    ]
    context: dict = {}
    if with_chart:
        context["timeseries"] = figures.kpi_timeseries_figure(
            id="kpi-timeseries",
            name=kpi.label,
            months=months,
            actual=actual,
            unit=unit,
            target=target,
            last_year=last_year,
            benchmarks=lines,
        )
    metric_refs = [c for c in formula_refs if c not in catalog_kpis]
    monthly = kpi_selectors.monthly_metrics(
        organization=organization, first=first, last=last, scope=scope
    )
    metrics = {
        m.code: m for m in organization.metrics.filter(code__in=metric_refs).only(
            "code", "label_fr", "label_en", "kind")
    }  # fmt: skip
    rows = []
    for i, month in reversed(list(enumerate(months))):
        inputs = []
        for code in formula_refs:
            if code in catalog_kpis:
                ref = catalog_kpis[code]
                inputs.append(board.unit(ref).text(series[ref.pk][month]))
            else:
                inputs.append(
                    _metric_text(board, metrics.get(code), monthly.get(code, {}).get(month))
                )
        rows.append(
            {
                "month": month,
                "key": month_key(month),
                "value": actual[i],
                "target": target[i],
                "judged": kpi_selectors.judge(organization, kpi, actual[i], target[i]),
                "last_year": last_year[i],
                "delta": compare(actual[i], last_year[i], unit=kpi.unit, direction=kpi.direction),
                "inputs": inputs,
            }
        )
    context["monthly_rows"] = rows
    context["formula_refs"] = [
        catalog_kpis[c].label if c in catalog_kpis else (metrics[c].label if c in metrics else c)
        for c in formula_refs
    ]
    return context


def _metric_text(board: Board, metric, value) -> str:
    if metric is not None and metric.kind == "money":
        return board.money(2).text(value)
    decimals = 0 if value is None or value == value.to_integral_value() else 2
    return figures.Unit("count", decimals, "", board.language).text(value)


def _references(kpi: KPI) -> list[str]:
    """The codes a KPI's formula uses, in the order they appear."""
    try:
        formula = parse(kpi.formula)
    except FormulaError:
        return []
    return sorted(formula.references(), key=lambda c: formula.position_of(c) or 0)


def _objective_path(organization, kpi: KPI, scope: str, months: list[date]) -> list:
    """Where the KPI's objective for this scope says it should be each month."""
    for objective in selectors.objectives_of(organization=organization, kpi=kpi):
        if kpi_selectors.objective_scope(objective) != scope:
            continue  # serves another campaign, or several together (no page shows those)
        deadline, start = objective.deadline, objective.start_date
        return [
            linear_target(
                m,
                baseline=objective.baseline_value,
                target=objective.target_absolute,
                start=start,
                deadline=deadline,
            )
            if m <= date(deadline.year, deadline.month, 1)
            else None
            for m in months
        ]
    return [None] * len(months)


def _kpi_bars(board: Board, kpi: KPI, unit: figures.Unit, by: str) -> figures.Chart:
    """Period A vs period B by campaign or by channel (the campaigns of the chosen channel)."""
    filters = board.filters
    if by == "channel":
        names = dict(board.channels)
        scopes = [f"channel:{c}" for c in names]
        label = {f"channel:{c}": name for c, name in names.items()}
    else:
        campaigns = board.campaigns
        if filters.scope.startswith("channel:"):
            channel = filters.scope.removeprefix("channel:")
            campaigns = [c for c in campaigns if c.channel == channel]
        scopes = [f"campaign:{c.pk}" for c in campaigns]
        label = {f"campaign:{c.pk}": c.name for c in campaigns}
    periods = [filters.period] if filters.reference is None else [filters.period, filters.reference]
    values = selectors.scope_values(
        organization=board.organization, kpis=[kpi], periods=periods, scopes=scopes
    )
    rows = [
        (
            label[s],
            values[(s, kpi.pk, filters.period)],
            values[(s, kpi.pk, filters.reference)] if filters.reference else None,
        )
        for s in scopes
    ]
    rows = [r for r in rows if r[1] is not None or r[2] is not None]
    best_first = kpi.direction == "lower"
    rows.sort(key=lambda r: (r[1] is None, (r[1] or 0) if best_first else -(r[1] or 0), r[0]))
    target = None
    if filters.reference is None:
        target = kpi_selectors.kpi_targets(
            organization=board.organization, kpis=[kpi], period=filters.period, scope=ALL
        ).get(kpi.pk)
    shown = rows[:MAX_BARS]
    title = _("By campaign") if by == "campaign" else _("By channel")
    chart = figures.period_bars_figure(
        id="kpi-bars",
        title=title,
        categories=[r[0] for r in shown],
        a=[r[1] for r in shown],
        a_label=filters.period_label(board.language),
        b=[r[2] for r in shown] if filters.reference else None,
        b_label=filters.reference_label(board.language),
        unit=unit,
        target=target,
    )
    if len(rows) > len(shown):
        # The table behind the chart holds every row, not only the bars drawn.
        table = figures.Table(
            chart.table.caption,
            chart.table.columns,
            tuple((r[0], unit.text(r[1]), *((unit.text(r[2]),) if filters.reference else ()))
                  for r in rows),
        )  # fmt: skip
        chart = figures.Chart(
            chart.id, chart.kind, chart.figure, chart.summary, table, chart.empty, chart.empty_text
        )
    return {"chart": chart, "shown": len(shown), "total": len(rows)}


def _kpi_inputs(board: Board, kpi: KPI) -> dict | None:
    """The panel 'behind the number': a month's (or the period's) inputs and formula."""
    key = dict(board.filters.extra).get("inputs")
    if not key:
        return None
    if key == "period":
        period, label = board.filters.period, board.filters.period_label(board.language)
    else:
        month = parse_month(key)
        if month is None:
            return None
        period = Period.month(month.year, month.month)
        label = period.label(board.language)
    data = selectors.kpi_inputs(
        organization=board.organization, kpi=kpi, period=period, scope=board.filters.scope
    )
    texts = {
        i.code: _metric_text(board, i.metric, i.value)
        for i in (*data.inputs, *data.base)
        if not i.is_kpi
    }
    return {
        "data": data,
        "label": label,
        "texts": texts,
        "codes": {i.code for i in data.inputs},
    }


# --------------------------------------------------------------------------- channels

CHANNEL_SECTIONS = {
    "summary": {"period", "compare"},
    "table": {"period", "compare"},
    "bars": {"period"},
    "trend": {"period", "measure"},
}
MEASURES = ("spend", "revenue", "cac", "roi", "conversion_rate")


@org_view()
def channels(request: HttpRequest) -> HttpResponse:
    return board_page(request, _channels)


def _channels(request: HttpRequest) -> Page:
    board = Board(request, scope=ALL, extra={"measure": MEASURES})
    organization, filters = board.organization, board.filters
    wanted = board.wanted(CHANNEL_SECTIONS)
    kpis = {
        k.code: k
        for k in KPI.objects.filter(organization=organization, code__in=selectors.CHANNEL_KPIS)
    }
    measure = dict(filters.extra).get("measure", "spend")
    context = {
        "nav_active": "channels",
        "sections": list(CHANNEL_SECTIONS),
        "kpis": kpis,
        "measure": measure,
        "measures": [
            (m, _measure_label(m, kpis, short=True))
            for m in MEASURES
            if m in kpis or m in selectors.CHANNEL_METRICS
        ],
    }
    used = [c for c, _label in board.channels]
    if "table" in wanted or "bars" in wanted:
        rows = selectors.channel_table(
            organization=organization,
            kpis=[kpis[c] for c in selectors.CHANNEL_KPIS if c in kpis],
            period=filters.period,
            reference=filters.reference,
        )
        rows = [r for r in rows if r.channel in used]
        context["rows"] = rows
        money = board.money()
        context["bars"] = figures.bars_figure(
            id="channel-bars",
            title=_("Spend and revenue by channel"),
            categories=[r.label for r in rows],
            series=[
                figures.Series(_("Spend"), [r.metrics["spend"][0] for r in rows]),
                figures.Series(_("Revenue"), [r.metrics["revenue"][0] for r in rows]),
            ],
            unit=money,
        )
    if "trend" in wanted:
        months = board.window(filters.period)
        scopes = [f"channel:{c}" for c in used]
        if measure in ("spend", "revenue"):
            monthly = selectors.monthly_by_scope(
                organization=organization, metric_code=measure, scopes=scopes,
                first=months[0], last=months[-1],
            )  # fmt: skip
            unit = board.money()
        else:
            kpi = kpis[measure]
            monthly = selectors.monthly_by_scope(
                organization=organization, kpi=kpi, scopes=scopes,
                first=months[0], last=months[-1],
            )  # fmt: skip
            unit = board.unit(kpi)
        names = dict(board.channels)
        context["trend"] = figures.lines_figure(
            id="channel-trend",
            title=_measure_label(measure, kpis),
            months=months,
            series=[
                figures.Series(names[s.removeprefix("channel:")], [monthly[s][m] for m in months])
                for s in scopes
            ],
            unit=unit,
        )
    return board.page("dashboards/channels.html", _("Channels"), context, wanted)


def _measure_label(code: str, kpis: dict[str, KPI], short: bool = False) -> str:
    if code == "spend":
        return _("Spend")
    if code == "revenue":
        return _("Revenue")
    if code not in kpis:
        return code
    label = kpis[code].label
    # "Customer acquisition cost (CAC)" -> "CAC" on a button
    if short and label.endswith(")") and "(" in label:
        return label[label.rindex("(") + 1 : -1]
    return label


# --------------------------------------------------------------------------- campaign

CAMPAIGN_SECTIONS = {
    "summary": {"period", "compare"},
    "kpis": {"period", "compare"},
    "objectives": {"period"},
    "spend": {"period"},
    "funnel": {"period"},
}


@org_view()
def campaign_dashboard(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return board_page(request, lambda request: _campaign_dashboard(request, campaign_id))


def _campaign_dashboard(request: HttpRequest, campaign_id: int) -> Page:
    organization = request.organization
    campaign = get_object_or_404(Campaign, organization=organization, pk=campaign_id)
    scope = f"campaign:{campaign.pk}"
    board = Board(
        request,
        scope=scope,
        with_scopes=False,
        data_last=selectors.last_month_of(organization=organization, campaign=campaign),
    )
    filters = board.filters
    wanted = board.wanted(CAMPAIGN_SECTIONS)
    context = {
        "nav_active": "campaigns",
        "campaign": campaign,
        "sections": list(CAMPAIGN_SECTIONS),
    }
    if "kpis" in wanted:
        kpis = list(KPI.objects.filter(organization=organization, followed=True))
        cards = selectors.kpi_cards(organization=organization, kpis=kpis, filters=filters)
        context["cards"] = cards
        context["sparks"] = _sparks(board, cards)
    if "objectives" in wanted:
        objectives = selectors.objectives_of(organization=organization, campaign=campaign)
        context["progress"] = kpi_selectors.objective_progress(
            organization=organization,
            objectives=objectives,
            today=add_months(filters.period.end, 1),
        )
    if "spend" in wanted or "funnel" in wanted:
        months = board.window(filters.period)
        start = date(campaign.start_date.year, campaign.start_date.month, 1)
        months = [m for m in months if m >= start] or months
        monthly = kpi_selectors.monthly_metrics(
            organization=organization, first=months[0], last=months[-1], scope=scope
        )
        if "spend" in wanted:
            spend, budget = selectors.campaign_monthly_spend(campaign, monthly, months)
            money = board.money()
            in_period = [
                s
                for m, s in zip(months, spend, strict=True)
                if filters.period.contains(m) and s is not None
            ]
            period_spend = sum(in_period, Decimal(0)) if in_period else None
            period_budget = selectors.budget_for(campaign, filters.period)
            to_date = [
                s
                for m, s in zip(months, spend, strict=True)
                if m <= filters.period.end and s is not None
            ]
            context["spend"] = {
                "chart": figures.kpi_timeseries_figure(
                    id="campaign-spend",
                    name=_("Spend"),
                    months=months,
                    actual=spend,
                    unit=money,
                    target=budget,
                    target_name=_("Budget"),
                    bars=True,
                ),
                "period_spend": period_spend,
                "period_budget": period_budget,
                "used": (period_spend / period_budget * 100)
                if period_spend is not None and period_budget
                else None,
                "window_spend": sum(to_date, Decimal(0)) if to_date else None,
                "window_first": months[0],
            }
        if "funnel" in wanted:
            steps = figures.funnel_steps(
                selectors.funnel(organization=organization, scope=scope, period=filters.period)
            )
            context["funnel"] = figures.funnel_figure(
                id="campaign-funnel",
                title=_("Funnel"),
                steps=steps,
                language=board.language,
            )
    return board.page("dashboards/campaign.html", campaign.name, context, wanted)


def _sparks(board: Board, cards) -> dict[int, figures.Chart]:
    return {
        c.kpi.pk: figures.sparkline_figure(
            id=f"spark-{c.kpi.code}",
            name=c.kpi.label,
            months=c.months,
            values=c.series,
            unit=board.unit(c.kpi),
            direction=c.kpi.direction,
        )
        for c in cards
    }


# ------------------------------------------------------------------------- benchmarks


@org_view()
def benchmarks(request: HttpRequest, kpi_id: int) -> HttpResponse:
    """The benchmarks of a KPI: everyone reads them, admins record and remove them."""
    organization = request.organization
    kpi = get_object_or_404(KPI, organization=organization, pk=kpi_id)
    is_admin = request.membership.has_role("admin")
    form = BenchmarkForm()
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        form = BenchmarkForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.benchmark_save(organization=organization, kpi=kpi, **data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Benchmark “%(label)s” recorded.") % data)
                return redirect("kpi_benchmarks", org_slug=organization.slug, kpi_id=kpi.pk)
    rows = selectors.kpi_benchmarks(organization=organization, kpi=kpi)
    return render(
        request,
        "dashboards/benchmarks.html",
        {
            "nav_active": "kpis",
            "kpi": kpi,
            "benchmarks": rows,
            "form": form,
            "unit": figures.Unit(
                kpi.unit, kpi.decimals, organization.currency, figures.current_language()
            ),
        },
        status=400 if form.errors else 200,
    )


@org_view("admin")
@require_POST
def benchmark_delete(request: HttpRequest, kpi_id: int, benchmark_id: int) -> HttpResponse:
    organization = request.organization
    benchmark = get_object_or_404(
        Benchmark, organization=organization, kpi_id=kpi_id, pk=benchmark_id
    )
    services.benchmark_delete(organization=organization, benchmark=benchmark)
    messages.success(request, _("Benchmark “%(label)s” removed.") % {"label": benchmark.label})
    return redirect("kpi_benchmarks", org_slug=organization.slug, kpi_id=kpi_id)
