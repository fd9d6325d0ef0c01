"""The view a URL describes: period, comparison, scope. Pure: no database."""

from datetime import date
from urllib.parse import parse_qsl

import pytest

from dashboards.filters import Filters, default_month, parse_month
from metrics.periods import Period

OCT = date(2026, 10, 1)


def parse(query: str = "", **kwargs) -> Filters:
    kwargs.setdefault("default_at", OCT)
    kwargs.setdefault("scopes", {"channel:email", "campaign:7"})
    return Filters.parse(dict(parse_qsl(query.lstrip("?"))), **kwargs)


def test_with_nothing_asked_the_page_shows_the_default_month_against_the_previous_one():
    filters = parse()
    assert filters.period == Period.month(2026, 10)
    assert filters.reference == Period.month(2026, 9)
    assert (filters.kind, filters.compare, filters.scope) == ("month", "previous", "all")


@pytest.mark.parametrize(
    "query",
    ["period=week", "at=2026-13", "at=yesterday", "compare=median", "scope=campaign:999",
     "scope=channel:tv", "period=custom&from=junk", "compare=custom"],
)  # fmt: skip
def test_a_bad_value_falls_back_to_its_default_instead_of_failing(query):
    filters = parse(query)
    assert filters.period.end <= OCT
    assert filters.compare in ("previous",) or "compare" not in query
    assert filters.scope == "all"


def test_the_default_month_is_the_last_month_with_data_but_never_the_current_month():
    today = date(2026, 11, 22)
    assert default_month(date(2026, 8, 1), today) == date(2026, 8, 1)
    assert default_month(date(2026, 11, 1), today) == date(2026, 10, 1)
    assert default_month(None, today) == date(2026, 10, 1)


def test_a_quarter_and_a_year_contain_the_month_asked_for():
    assert parse("period=quarter&at=2026-05").period == Period.quarter(2026, 2)
    assert parse("period=year&at=2026-05").period == Period.year(2026)


def test_quarters_and_years_are_fiscal_when_the_fiscal_year_starts_later():
    filters = parse("period=year&at=2026-02", fiscal_start=4)
    assert filters.period == Period.fiscal_year(2025, 4)
    assert parse("period=quarter&at=2026-05", fiscal_start=4).period == Period.fiscal_quarter(
        2026, 1, 4
    )


def test_year_to_date_is_compared_with_the_previous_year_to_date():
    filters = parse("period=ytd&at=2026-03&compare=previous")
    assert filters.period == Period.range(date(2026, 1, 1), date(2026, 3, 1))
    assert filters.reference == Period.range(date(2025, 1, 1), date(2025, 3, 1))


def test_rolling_twelve_months_end_with_the_month_asked_for():
    filters = parse("period=r12&at=2026-03")
    assert filters.period == Period.range(date(2025, 4, 1), date(2026, 3, 1))
    assert filters.reference == Period.range(date(2024, 4, 1), date(2025, 3, 1))


def test_same_period_last_year():
    assert parse("period=quarter&at=2026-05&compare=last_year").reference == Period.quarter(2025, 2)


def test_a_custom_range_reads_its_months_in_either_order():
    filters = parse("period=custom&from=2026-06&to=2026-01")
    assert filters.period == Period.range(date(2026, 1, 1), date(2026, 6, 1))
    assert filters.at == date(2026, 6, 1)


def test_a_custom_range_spans_at_most_ten_years():
    assert parse("period=custom&from=1990-01&to=2026-12").period.length == 120


def test_comparing_with_targets_has_no_reference_period():
    assert parse("compare=target").reference is None


def test_a_custom_comparison_keeps_the_grain_when_it_lines_up():
    assert parse("period=quarter&at=2026-05&compare=custom&vs=2024-04").reference == (
        Period.quarter(2024, 2)
    )
    reference = parse("period=quarter&at=2026-05&compare=custom&vs=2024-02").reference
    assert reference == Period.range(date(2024, 2, 1), date(2024, 4, 1))


def test_a_scope_is_kept_only_when_the_page_offers_it():
    assert parse("scope=campaign:7").scope == "campaign:7"
    assert parse("scope=campaign:8").scope == "all"
    assert parse("scope=campaign:8", fixed_scope="campaign:3").scope == "campaign:3"


def test_the_canonical_query_reads_back_to_the_same_view():
    for query in (
        "",
        "period=quarter&at=2026-05&compare=last_year&scope=channel:email",
        "period=custom&from=2026-01&to=2026-06&compare=custom&vs=2025-01",
        "period=ytd&at=2026-03&compare=target",
    ):
        filters = parse(query)
        again = parse(filters.query())
        assert again == filters
        assert not filters.changes(again)


def test_changes_name_what_differs():
    base = parse("period=month&at=2026-10")
    assert base.changes(parse("period=month&at=2026-10&compare=last_year")) == {"compare"}
    assert base.changes(parse("period=month&at=2026-09")) == {"period", "compare"}
    assert base.changes(parse("scope=channel:email")) == {"scope"}
    assert base.with_extra(by="channel").changes(base) == {"by"}


def test_the_period_links_move_by_one_period():
    assert "at=2026-09" in parse("period=month&at=2026-10").moved(-1)
    assert "at=2027-01" in parse("period=quarter&at=2026-10").moved(1)
    custom = parse("period=custom&from=2026-01&to=2026-03").moved(1)
    assert "from=2026-04" in custom and "to=2026-06" in custom


def test_labels_speak_the_readers_language():
    filters = parse("period=month&at=2026-10")
    assert filters.period_label("fr") == "octobre 2026"
    assert filters.comparison_label("en") == "vs September 2026"
    assert "2025" in parse("compare=last_year").comparison_label("en")
    assert parse("period=r12&at=2026-10").period_label("en") == "12 months to October 2026"


def test_parse_month_accepts_only_year_and_month():
    assert parse_month("2026-03") == date(2026, 3, 1)
    assert parse_month("2026-3") == date(2026, 3, 1)
    assert parse_month("2026-03-01") is None
    assert parse_month(None) is None
