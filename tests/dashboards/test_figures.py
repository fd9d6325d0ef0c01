"""The figures module: formatting, theme, and what each chart draws, says and tabulates.
Pure: no database."""

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboards import figures
from dashboards.figures import BenchmarkLine, Unit
from kpiboard import formatting
from metrics.comparisons import compare
from metrics.periods import add_months

D = Decimal
MONTHS = [add_months(date(2025, 1, 1), i) for i in range(12)]


# ------------------------------------------------------------------------- formatting


@given(
    value=st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=6),
    unit=st.sampled_from(["percent", "points", "money", "ratio", "count"]),
    decimals=st.integers(0, 4),
    currency=st.sampled_from(["EUR", "CHF", "USD", "GBP"]),
    language=st.sampled_from(["fr", "en"]),
)
def test_the_fast_formatter_writes_exactly_what_kpiboard_formatting_writes(
    value, unit, decimals, currency, language
):
    expected = formatting.kpi_value(
        value, unit=unit, decimals=decimals, currency=currency, language=language
    )
    assert Unit(unit, decimals, currency, language).text(value) == expected


def test_money_in_the_readers_language_and_the_organizations_currency():
    assert Unit("money", 2, "EUR", "fr").text(D("1234.5")) == "1\u202f234,50\u00a0€"
    assert Unit("money", 2, "CHF", "en").text(D(50000) / D(15)) == "CHF\u00a03,333.33"
    assert Unit("percent", 1, "EUR", "fr").text(D("12.5")) == "12,5\u00a0%"
    assert Unit("money", 2, "EUR", "en").text(None) == "—"


def test_a_rate_moves_by_points_and_by_percent():
    delta = compare(D("4.0"), D("4.6"), unit="percent", direction="higher")
    assert Unit("percent", 1, "EUR", "en").delta_text(delta) == "\u22120.6 pt (\u221213.0%)"
    delta = compare(D("4.6"), D("4.0"), unit="percent", direction="higher")
    assert Unit("percent", 1, "EUR", "fr").delta_text(delta) == "+0,6 pt (+15,0\u00a0%)"


def test_a_money_change_is_written_in_the_currency():
    delta = compare(D("41.20"), D("45"), unit="money", direction="lower")
    assert delta.good is True
    assert Unit("money", 2, "EUR", "en").delta_text(delta) == "\u2212€3.80 (\u22128.4%)"


def test_an_undefined_change_is_a_dash():
    delta = compare(None, D(3), unit="money", direction="lower")
    assert Unit("money", 2, "EUR", "en").delta_text(delta) == "—"


def test_axes_carry_the_unit():
    assert Unit("money", 2, "EUR", "fr").axis()["ticksuffix"] == "\u00a0€"
    assert Unit("money", 2, "CHF", "en").axis()["tickprefix"] == "CHF\u00a0"
    assert Unit("percent", 1, "EUR", "en").axis()["ticksuffix"] == "%"
    assert Unit("money", 0, "EUR", "en").axis(45000.0)["tickformat"] == "~s"


def test_the_plotly_locale_names_months_in_french():
    locale = figures.plotly_locale("fr")
    assert locale["name"] == "fr"
    assert locale["format"]["months"][0] == "janvier"
    assert locale["format"]["days"][0] == "dimanche"
    assert (locale["format"]["decimal"], locale["format"]["thousands"]) == (",", "\u202f")
    assert figures.separators("en") == ".,"


def test_the_direction_decides_the_colour_of_a_change():
    assert figures.delta_colour(True) == figures.GOOD
    assert figures.delta_colour(False) == figures.BAD
    assert figures.delta_colour(None) == figures.NEUTRAL


# ------------------------------------------------------------------------ time series


def timeseries(**kwargs):
    defaults = {
        "id": "ts",
        "name": "Conversion rate",
        "months": MONTHS,
        "actual": [D("2.0") + D(i) / 10 for i in range(12)],
        "unit": Unit("percent", 2, "EUR", "en"),
    }
    defaults.update(kwargs)
    return figures.kpi_timeseries_figure(**defaults)


def test_the_time_series_draws_actual_target_last_year_and_benchmarks_apart():
    actual = [D("2.0")] * 11 + [None]
    chart = timeseries(
        actual=actual,
        target=[D("2.5")] * 12,
        last_year=[D("1.8")] * 12,
        benchmarks=[BenchmarkLine("Sector", D("1.9"), date(2025, 6, 1), None, "Seed 000")],
    )
    traces = {t["name"]: t for t in chart.figure["data"]}
    assert traces["Conversion rate"]["line"]["dash"] == "solid"
    assert traces["Target"]["line"]["dash"] == "dot"
    assert traces["Same month last year"]["line"]["dash"] == "dash"
    assert traces["Sector"]["line"]["dash"] == "dashdot"
    assert traces["Sector"]["x"][0] == "2025-06-01"  # valid from June only
    assert traces["Conversion rate"]["y"][-1] is None  # no value: a gap, never 0
    assert chart.figure["data"][-1]["name"] == "Conversion rate"  # drawn on top
    json.dumps(chart.figure)  # plain JSON


def test_the_time_series_hover_shows_our_formatted_values():
    chart = timeseries(unit=Unit("money", 2, "EUR", "fr"), actual=[D("1234.5")] * 12)
    assert chart.figure["data"][-1]["customdata"][0] == "1\u202f234,50\u00a0€"
    assert chart.figure["layout"]["separators"] == ",\u202f"


def test_the_time_series_summary_says_where_the_kpi_is_and_was():
    chart = timeseries(target=[D("2.5")] * 12, last_year=[D("1.8")] * 12)
    assert chart.summary.startswith("Conversion rate: 3.10% in December 2025 (target 2.50%")
    assert "2.00% in January 2025" in chart.summary
    assert "highest 3.10% (December 2025)" in chart.summary


def test_the_time_series_table_holds_every_month():
    chart = timeseries(target=[None] * 11 + [D("2.5")])
    assert chart.table.columns == ("Month", "Conversion rate", "Target")
    assert chart.table.rows[0] == ("January 2025", "2.00%", "—")
    assert len(chart.table.rows) == 12
    html = chart.table.html()
    assert html.count("<tr>") == 13 and "<caption" in html


def test_a_time_series_without_value_is_empty_and_says_so():
    chart = timeseries(actual=[None] * 12)
    assert chart.empty
    assert chart.summary == "No value for these months yet."


def test_the_table_escapes_what_people_typed():
    chart = timeseries(name="<b>KPI</b>")
    assert "<b>" not in chart.table.html()
    assert "&lt;" in chart.figure["data"][-1]["hovertemplate"]


# -------------------------------------------------------------------------- sparkline


def test_the_sparkline_colours_its_last_point_by_the_direction():
    rising = [D(i) for i in range(12)]
    good = figures.sparkline_figure(
        id="s", name="CTR", months=MONTHS, values=rising, unit=Unit("percent", 1, "", "en")
    )
    bad = figures.sparkline_figure(
        id="s", name="CPA", months=MONTHS, values=rising, unit=Unit("money", 1, "EUR", "en"),
        direction="lower",
    )  # fmt: skip
    assert good.figure["data"][1]["marker"]["color"] == figures.GOOD
    assert bad.figure["data"][1]["marker"]["color"] == figures.BAD
    assert good.figure["config"]["staticPlot"] is True
    assert "from 0.0% (January 2025) to 11.0% (December 2025)" in good.summary
    assert len(good.table.rows) == 12


# ------------------------------------------------------------------------------- bars


def test_period_bars_compare_a_and_b_with_the_reference_hatched():
    chart = figures.period_bars_figure(
        id="b", title="By campaign", categories=["Spring", "Newsletter"],
        a=[D("2.5"), D("3.1")], a_label="Oct 2026", b=[D("2.0"), None], b_label="Sep 2026",
        unit=Unit("percent", 1, "EUR", "en"),
    )  # fmt: skip
    a, b = chart.figure["data"]
    assert a["marker"]["color"] == figures.ACCENT
    assert b["marker"]["pattern"]["shape"] == "/"
    assert chart.table.rows == (("Spring", "2.5%", "2.0%"), ("Newsletter", "3.1%", "—"))
    assert "highest Newsletter (3.1%), lowest Spring (2.5%)" in chart.summary


def test_period_bars_draw_the_target_as_a_line():
    chart = figures.period_bars_figure(
        id="b", title="By channel", categories=["Email"], a=[D(40)], a_label="Q1",
        unit=Unit("money", 2, "EUR", "en"), target=D(50),
    )  # fmt: skip
    assert chart.figure["layout"]["shapes"][0]["x0"] == 50.0
    assert "Target €50.00" in chart.figure["layout"]["annotations"][0]["text"]


# ----------------------------------------------------------------------------- funnel


def test_funnel_steps_give_conversion_and_drop_off_and_skip_unrecorded_steps():
    steps = figures.funnel_steps(
        [("Impressions", None), ("Clicks", D(1000)), ("Visitors", D(800)), ("Leads", D(80))]
    )
    assert [s.label for s in steps] == ["Clicks", "Visitors", "Leads"]
    assert steps[0].rate is None
    assert (steps[1].rate, steps[1].drop) == (D(80), D(20))
    assert (steps[2].rate, steps[2].drop) == (D(10), D(90))


def test_the_funnel_figure_says_where_most_prospects_are_lost():
    steps = figures.funnel_steps([("Clicks", D(1000)), ("Visitors", D(800)), ("Leads", D(80))])
    chart = figures.funnel_figure(id="f", title="Funnel", steps=steps, language="en")
    trace = chart.figure["data"][0]
    assert trace["type"] == "funnel"
    assert trace["customdata"][1] == "800 · 80.0% of previous"
    assert "1,000 clicks led to 80 leads (8.00%)" in chart.summary
    assert "largest drop is before leads: 90.0% of visitors lost" in chart.summary
    assert chart.table.rows[2] == ("Leads", "80", "10.0%", "90.0%")


def test_a_tiny_overall_share_keeps_two_significant_digits():
    steps = figures.funnel_steps([("Impressions", D(518736)), ("New customers", D(3))])
    chart = figures.funnel_figure(id="f", title="Funnel", steps=steps, language="fr")
    assert "518\u202f736 impressions led to 3 new customers (0,00058\u00a0%)" in chart.summary


def test_a_funnel_of_one_step_is_empty():
    chart = figures.funnel_figure(
        id="f", title="Funnel", steps=figures.funnel_steps([("Leads", D(3))]), language="en"
    )
    assert chart.empty


# ------------------------------------------------------------------------------ lines


def test_lines_change_colour_and_dash_together():
    series = [figures.Series(n, [D(i)] * 12) for i, n in enumerate(["SEO", "Email", "Display"])]
    chart = figures.lines_figure(
        id="l", title="Spend", months=MONTHS, series=series, unit=Unit("money", 0, "EUR", "en")
    )
    styles = {(t["line"]["color"], t["line"]["dash"]) for t in chart.figure["data"]}
    assert len(styles) == 3
    assert len({dash for _colour, dash in styles}) == 3
    assert "Display is highest (€2)" in chart.summary


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_figure_is_plain_json(language):
    unit = Unit("money", 2, "CHF", language)
    charts = [
        figures.kpi_timeseries_figure(
            id="t", name="x", months=MONTHS, actual=[D(1)] * 12, unit=unit, bars=True
        ),
        figures.sparkline_figure(id="s", name="x", months=MONTHS, values=[D(1)] * 12, unit=unit),
        figures.period_bars_figure(
            id="b", title="x", categories=["a"], a=[D(1)], a_label="A", unit=unit
        ),
    ]
    for chart in charts:
        json.loads(json.dumps(chart.figure))


def test_long_category_names_wrap_on_two_lines_and_keep_their_full_name_on_hover():
    chart = figures.period_bars_figure(
        id="b", title="By campaign", categories=["Google Ads – commandes en ligne du soir"],
        a=[D(1)], a_label="A", unit=Unit("count", 0, "", "fr"),
    )  # fmt: skip
    trace = chart.figure["data"][0]
    assert trace["y"] == ["Google Ads –<br>commandes en ligne…"]
    assert trace["customdata"][0][1] == "Google Ads – commandes en ligne du soir"
