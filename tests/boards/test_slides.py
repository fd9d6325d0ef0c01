"""What each kind of slide reads and shows."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from boards import services, slides
from boards.models import Slide
from dashboards import figures
from metrics.periods import Period, add_months
from metrics.selectors import kpi_value

from .conftest import full_board, last_complete_month, seed

pytestmark = pytest.mark.django_db

PALETTE = slides.PALETTES["dark"]


def slide(**fields):
    fields.setdefault("kind", "kpi")
    fields.setdefault("period", "last_month")
    return Slide(**fields)


# Periods


@pytest.mark.parametrize(
    ("period", "key", "today", "expected"),
    [
        ("last_month", "", date(2025, 3, 15), "2025-02"),
        ("last_month", "", date(2025, 1, 1), "2024-12"),
        ("last_quarter", "", date(2025, 4, 2), "2025-Q1"),  # March ended Q1
        ("last_quarter", "", date(2025, 3, 15), "2024-Q4"),  # Q1 is not over
        ("year_to_date", "", date(2025, 5, 3), "2025-01..2025-04"),
        ("rolling_12", "", date(2025, 5, 3), "2024-05..2025-04"),
        ("fixed", "2024-Q3", date(2025, 5, 3), "2024-Q3"),
    ],
)
def test_a_slide_period_follows_the_last_complete_month_unless_fixed(
    org, period, key, today, expected
):
    assert slides.slide_period(slide(period=period, period_key=key), org, today).key == expected


def test_year_to_date_follows_the_fiscal_year(org):
    org.fiscal_year_start_month = 4
    period = slides.slide_period(slide(period="year_to_date"), org, date(2025, 6, 10))
    assert period.key == "2025-04..2025-05"


def test_the_reference_is_the_previous_period_the_year_before_or_none_for_a_target():
    period = Period.quarter(2025, 2)
    assert slides.reference_period(period, "previous") == Period.quarter(2025, 1)
    assert slides.reference_period(period, "last_year") == Period.quarter(2024, 2)
    assert slides.reference_period(period, "target") is None


# Figures dressed for a TV


def test_a_tv_figure_takes_the_board_colours_and_large_type():
    chart = figures.kpi_timeseries_figure(
        id="x", name="Conversion rate", months=[date(2025, 1, 1), date(2025, 2, 1)],
        actual=[Decimal("4.1"), Decimal("4.6")], unit=figures.Unit("percent", 1, "EUR", "en"),
        target=[Decimal("4"), Decimal("4.5")],
    )  # fmt: skip
    figure = slides.tv_figure(chart, PALETTE, highlight=Period.month(2025, 2))
    actual, target = figure["data"][1], figure["data"][0]
    assert actual["line"]["color"] == PALETTE["actual"]
    assert target["line"]["color"] == PALETTE["target"]
    assert actual["line"]["width"] == figures.ROLE_STYLES["actual"]["width"] * 2
    assert figure["layout"]["font"]["size"] == slides.TICK_SIZE
    assert "height" not in figure["layout"]
    assert figure["layout"]["yaxis"]["rangemode"] == "normal"
    assert all(t["hoverinfo"] == "skip" for t in figure["data"])
    (band,) = figure["layout"]["shapes"]
    assert (band["x0"], band["x1"]) == ("2025-02-01", "2025-03-01")
    assert chart.figure["data"][1]["line"]["color"] == figures.ACCENT  # not changed in place


def test_a_sparkline_breaks_where_a_month_has_no_value():
    line = slides.sparkline([Decimal(1), Decimal(3), None, Decimal(2)])
    assert len(line.runs) == 2
    assert line.runs[0].split()[1].endswith(",3.0")  # the highest value at the top
    assert line.last[0] == 120.0
    assert line.dot == "M120.0 18.0h0"
    assert slides.sparkline([None, None]).runs == []


# Slides from data


@pytest.fixture
def data(org):
    return seed(org)


def context(org, theme="dark"):
    return slides.Context(
        organization=org, today=add_months(last_complete_month(), 1), palette=slides.PALETTES[theme]
    )


def test_a_kpi_slide_shows_the_value_its_comparison_and_a_13_month_chart(org, data):
    board = full_board(org, data=data)
    first = board.slides.get(position=0)  # conversion rate vs last year
    view = slides.slide_view(first, context(org))
    last = last_complete_month()
    value = kpi_value(organization=org, kpi=first.kpi, period=Period.month(last.year, last.month))
    assert view.kind == "kpi"
    assert view.data.value == figures.Unit("percent", 2, "EUR", "en").text(value)
    assert view.data.change.arrow in "▲▼="
    names = [t["name"] for t in view.figure["data"]]
    assert names == ["Same month last year", "Conversion rate"]
    assert len(view.figure["data"][1]["x"]) == slides.SERIES_MONTHS
    assert view.summary


def test_a_kpi_slide_against_its_target_says_the_attainment_and_status(org, data):
    board = full_board(org, data=data)
    cpa = board.slides.get(position=1)
    view = slides.slide_view(cpa, context(org))
    assert view.data.against_target
    assert view.data.target.startswith("€")
    assert view.data.status in ("on_track", "at_risk", "off_track")
    assert [t["name"] for t in view.figure["data"]] == ["Target", "Cost per acquisition (CPA)"]


def test_a_kpi_slide_without_target_says_so(org, data):
    board = services.board_create(organization=org, name="B")
    s = services.slide_add(
        organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="nps"),
        comparison="target",
    )  # fmt: skip
    view = slides.slide_view(s, context(org))
    assert view.data.against_target and view.data.target == ""


def test_an_objective_slide_shows_the_progress_and_the_path(org, data):
    board = full_board(org, data=data)
    view = slides.slide_view(board.slides.get(kind="objective"), context(org))
    assert view.kind == "objective"
    assert view.title == "Convert 2.5 % of visitors"
    assert 0 <= view.data.progress_bar <= 100
    assert view.data.status_label
    assert [t["name"] for t in view.figure["data"]] == ["Path to the target", "Actual"]


def test_an_objective_slide_says_when_the_target_is_reached_rather_than_what_is_needed(
    org, data, login, viewer
):
    objective = data["objective"]  # conversion rate about 2.5 % now: 2 % is behind it
    objective.target_value = Decimal(2)
    objective.save()
    board = services.board_create(organization=org, name="B")
    s = services.slide_add(organization=org, board=board, kind="objective", objective=objective)
    view = slides.slide_view(s, context(org))
    assert view.data.reached and view.data.progress_bar == 100
    html = login(viewer).get(reverse("board_present", args=[org.slug, board.pk])).content
    assert b"Target reached." in html and b"Needed:" not in html
    objective.target_value = Decimal(3)  # still ahead
    objective.save()
    view = slides.slide_view(s, context(org))
    assert not view.data.reached and view.data.required.startswith("+")


def test_an_objective_status_is_said_in_the_boards_language(org, data):
    board = full_board(org, data=data)
    objective_slide = board.slides.get(kind="objective")
    english = slides.slide_view(objective_slide, context(org)).data.status_label
    with translation.override("fr"):
        french = slides.slide_view(objective_slide, context(org)).data.status_label
    assert english in ("On track", "At risk", "Off track")
    assert french in ("En bonne voie", "À risque", "Hors trajectoire")


def test_a_wall_of_tiles_shows_the_followed_kpis_by_default(org, data):
    board = full_board(org, data=data)
    view = slides.slide_view(board.slides.get(kind="tiles"), context(org))
    followed = list(org.kpis.filter(followed=True).order_by("position", "code"))[:8]
    assert [t.label for t in view.data] == [k.label for k in followed]
    assert all(t.spark.runs for t in view.data if t.value != "—")


def test_a_wall_of_tiles_shows_the_chosen_kpis(org, data):
    board = services.board_create(organization=org, name="B")
    chosen = [org.kpis.get(code="roas"), org.kpis.get(code="ctr")]
    s = services.slide_add(organization=org, board=board, kind="tiles", kpis=chosen)
    view = slides.slide_view(s, context(org))
    assert {t.label for t in view.data} == {k.label for k in chosen}


def test_a_funnel_slide_shows_each_stage_and_the_share_of_the_one_before(org, data):
    board = full_board(org, data=data)
    view = slides.slide_view(board.slides.get(kind="funnel"), context(org))
    assert view.kind == "funnel"
    assert [s.label for s in view.data][:2] == ["Impressions", "Clicks"]
    assert view.data[0].step == ""
    assert "of the stage before" in view.data[1].step
    assert view.figure["data"][0]["type"] == "funnel"


def test_a_channel_slide_lists_the_channels_with_figures_richest_first(org, data):
    board = full_board(org, data=data)
    view = slides.slide_view(board.slides.get(kind="channels"), context(org))
    assert [r.label for r in view.data] == ["Paid search", "Paid social", "Email"]
    assert all(r.roas.endswith("×") for r in view.data)
    assert [t["name"] for t in view.figure["data"]] == ["Revenue", "Marketing spend"]


def test_slides_without_data_say_so_instead_of_failing(org):
    board = services.board_create(organization=org, name="Empty")
    funnel = services.slide_add(organization=org, board=board, kind="funnel")
    channels = services.slide_add(organization=org, board=board, kind="channels")
    for s in (funnel, channels):
        view = slides.slide_view(s, context(org))
        assert view.kind == "message" and view.message


def test_a_slide_whose_kpi_was_removed_says_so(org):
    board = services.board_create(organization=org, name="B")
    s = services.slide_add(organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="nps"))
    org.kpis.get(code="nps").delete()
    s.refresh_from_db()
    view = slides.slide_view(s, context(org))
    assert view.kind == "message"
    assert "removed" in view.message


def test_slides_speak_the_active_language(org, data):
    board = full_board(org, data=data)
    with translation.override("fr"):
        view = slides.slide_view(board.slides.get(position=0), context(org))
    assert "\u202f%" in view.data.value or "\u00a0%" in view.data.value
    assert view.figure["layout"]["separators"].startswith(",")


def test_the_tiles_cost_the_same_queries_for_two_or_eight_kpis(org, data):
    board = services.board_create(organization=org, name="B")
    kpis = list(org.kpis.order_by("position")[:8])
    two = services.slide_add(organization=org, board=board, kind="tiles", kpis=kpis[:2])
    eight = services.slide_add(organization=org, board=board, kind="tiles", kpis=kpis)
    with CaptureQueriesContext(connection) as small:
        slides.slide_view(Slide.objects.get(pk=two.pk), context(org))
    with CaptureQueriesContext(connection) as large:
        slides.slide_view(Slide.objects.get(pk=eight.pk), context(org))
    assert len(large) == len(small)
