"""The KPI formula language: parsing, errors, evaluation, catalogs."""

# The typographic operators (U+00D7, U+00F7, U+2212) in these strings are on purpose.

from decimal import Decimal, getcontext, localcontext

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from metrics.formulas import (
    Catalog,
    Formula,
    FormulaError,
    check_formula,
    compile_catalog,
    parse,
)

D = Decimal
CENT = D("0.01")

STANDARD_KPIS = {
    "conversion_rate": "conversions / visitors * 100",
    "ctr": "clicks / impressions * 100",
    "cpc": "spend / clicks",
    "cpm": "spend / impressions * 1000",
    "cpl": "spend / leads",
    "cpa": "spend / conversions",
    "cac": "spend / new_customers",
    "roi": "(revenue - spend) / spend * 100",
    "roas": "revenue / spend",
    "bounce_rate": "bounces / sessions * 100",
    "engagement_rate": "engagements / reach * 100",
    "open_rate": "emails_opened / emails_sent * 100",
    "email_ctr": "email_clicks / emails_sent * 100",
    "lead_conversion_rate": "new_customers / leads * 100",
    "cart_abandonment_rate": "(carts - orders) / carts * 100",
    "aov": "revenue / orders",
    "retention_rate": "(customers_end - new_customers) / customers_start * 100",
    "churn_rate": "100 - retention_rate",
    "arpu": "revenue / ((customers_start + customers_end) / 2)",
    "clv": "arpu / (churn_rate / 100)",
    "ltv_cac": "clv / cac",
    "cac_payback_months": "cac / (arpu / months)",
    "nps": "(promoters - detractors) / (promoters + passives + detractors) * 100",
}

STANDARD_METRICS = (
    "sessions",
    "visitors",
    "bounces",
    "impressions",
    "reach",
    "clicks",
    "engagements",
    "followers",
    "mentions",
    "emails_sent",
    "emails_opened",
    "email_clicks",
    "leads",
    "conversions",
    "carts",
    "orders",
    "new_customers",
    "customers_start",
    "customers_end",
    "revenue",
    "spend",
    "promoters",
    "passives",
    "detractors",
)

# One quarter of made-up but consistent figures; every expected value below is worked by hand.
QUARTER = {
    "sessions": D(1200),
    "visitors": D(1010),
    "bounces": D(450),
    "impressions": D(10000),
    "reach": D(1000),
    "clicks": D(250),
    "engagements": D(19),
    "emails_sent": D(10000),
    "emails_opened": D(2200),
    "email_clicks": D(350),
    "leads": D(120),
    "conversions": D(91),
    "carts": D(200),
    "orders": D(60),
    "new_customers": D(30),
    "customers_start": D(200),
    "customers_end": D(180),
    "revenue": D("15000.00"),
    "spend": D("10000.00"),
    "promoters": D(60),
    "passives": D(25),
    "detractors": D(15),
}

EXPECTED_QUARTER = {
    "conversion_rate": D("9.01"),  # 91 / 1010 * 100 = 9.0099...
    "ctr": D("2.50"),  # 250 / 10000 * 100
    "cpc": D("40.00"),  # 10000 / 250
    "cpm": D("1000.00"),  # 10000 / 10000 * 1000
    "cpl": D("83.33"),  # 10000 / 120
    "cpa": D("109.89"),  # 10000 / 91 = 109.890...
    "cac": D("333.33"),  # 10000 / 30
    "roi": D("50.00"),  # (15000 - 10000) / 10000 * 100
    "roas": D("1.50"),  # 15000 / 10000
    "bounce_rate": D("37.50"),  # 450 / 1200 * 100
    "engagement_rate": D("1.90"),  # 19 / 1000 * 100
    "open_rate": D("22.00"),  # 2200 / 10000 * 100
    "email_ctr": D("3.50"),  # 350 / 10000 * 100
    "lead_conversion_rate": D("25.00"),  # 30 / 120 * 100
    "cart_abandonment_rate": D("70.00"),  # (200 - 60) / 200 * 100
    "aov": D("250.00"),  # 15000 / 60
    "retention_rate": D("75.00"),  # (180 - 30) / 200 * 100
    "churn_rate": D("25.00"),  # 100 - 75
    "arpu": D("78.95"),  # 15000 / ((200 + 180) / 2) = 15000 / 190 = 78.947...
    "clv": D("315.79"),  # 78.947... / 0.25 = 315.789...
    "ltv_cac": D("0.95"),  # 315.789... / 333.333... = 0.947...
    "cac_payback_months": D("12.67"),  # 333.333... / (78.947... / 3) = 12.666...
    "nps": D("45.00"),  # (60 - 15) / (60 + 25 + 15) * 100
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return compile_catalog(STANDARD_KPIS, STANDARD_METRICS)


def value(text: str, months: int = 1, **values: Decimal | None) -> Decimal | None:
    return parse(text).evaluate(values, months=months)


def parse_error(text: str) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        parse(text)
    return info.value


# --- the standard catalog on hand-computed numbers ------------------------------------------


def test_every_standard_kpi_matches_hand_computed_values(catalog):
    results = catalog.evaluate(QUARTER, months=3)

    assert set(results) == set(STANDARD_KPIS)
    quantized = {code: result.quantize(CENT) for code, result in results.items()}
    assert quantized == EXPECTED_QUARTER


def test_cac_of_seed_004_is_3333_33(catalog):
    results = catalog.evaluate({"spend": D(50000), "new_customers": D(15)}, months=1)

    assert results["cac"] == D("3333.333333333333333333333333")
    assert results["cac"].quantize(CENT) == D("3333.33")


def test_roi_is_gain_over_spend_in_percent():
    assert value(STANDARD_KPIS["roi"], revenue=D(42), spend=D(1)) == D(4100)
    assert value(STANDARD_KPIS["roi"], revenue=D(800), spend=D(1000)) == D(-20)


def test_conversion_rate_of_rolled_up_months_is_not_the_mean_of_rates():
    # DOMAIN rule 1: 1 / 10 and 90 / 1000 together are 91 / 1010 = 9.01 %, not 9.5 %.
    rate = value(STANDARD_KPIS["conversion_rate"], conversions=D(91), visitors=D(1010))

    assert rate.quantize(CENT) == D("9.01")


def test_churn_rate_is_100_minus_retention_rate(catalog):
    results = catalog.evaluate(
        {"customers_start": D(400), "customers_end": D(380), "new_customers": D(40)}, months=1
    )

    assert results["retention_rate"] == D(85)
    assert results["churn_rate"] == D(15)


def test_clv_goes_through_arpu_and_churn_rate(catalog):
    metrics = {
        "revenue": D(1000),
        "customers_start": D(90),
        "customers_end": D(110),
        "new_customers": D(29),
    }
    results = catalog.evaluate(metrics, months=1)

    assert results["arpu"] == D(10)  # 1000 / ((90 + 110) / 2)
    assert results["retention_rate"] == D(90)  # (110 - 29) / 90 * 100
    assert results["churn_rate"] == D(10)  # 100 - 90
    assert results["clv"] == D(100)  # 10 / (10 / 100)


def test_cac_payback_months_uses_the_number_of_months(catalog):
    metrics = {
        "spend": D(3000),
        "new_customers": D(10),  # cac = 300
        "revenue": D(6000),
        "customers_start": D(100),
        "customers_end": D(100),  # arpu = 60 over the quarter, 20 a month
    }

    assert catalog.evaluate(metrics, months=3)["cac_payback_months"] == D(15)
    assert catalog.evaluate(metrics, months=1)["cac_payback_months"] == D(5)


def test_nps_ranges_from_minus_100_to_100():
    nps = STANDARD_KPIS["nps"]

    assert value(nps, promoters=D(70), passives=D(20), detractors=D(10)) == D(60)
    assert value(nps, promoters=D(0), passives=D(0), detractors=D(5)) == D(-100)
    assert value(nps, promoters=D(8), passives=D(0), detractors=D(0)) == D(100)


def test_ltv_cac_divides_one_kpi_by_another(catalog):
    results = catalog.evaluate(QUARTER, months=3)

    assert results["ltv_cac"] == results["clv"] / results["cac"]


# --- grammar ---------------------------------------------------------------------------------


def test_subtraction_is_left_associative():
    assert value("10 - 4 - 3") == D(3)


def test_division_is_left_associative():
    assert value("8 / 4 / 2") == D(1)


def test_multiplication_binds_tighter_than_addition():
    assert value("2 * 3 + 4") == D(10)
    assert value("4 + 2 * 3") == D(10)
    assert value("(4 + 2) * 3") == D(18)


def test_unary_minus_and_plus():
    assert value("-2 * 3") == D(-6)
    assert value("2 * -3") == D(-6)
    assert value("2 - -3") == D(5)
    assert value("- -a", a=D(7)) == D(7)
    assert value("-a", a=D(7)) == D(-7)
    assert value("+a - +2", a=D(7)) == D(5)
    assert value("-(a - 10)", a=D(7)) == D(3)


def test_decimal_literals():
    assert value("0.5 * a", a=D(10)) == D(5)
    assert value("a * 1000", a=D("0.25")) == D(250)


def test_whitespace_is_optional_and_allowed_anywhere():
    assert value("(revenue-spend)/spend*100", revenue=D(3), spend=D(2)) == D(50)
    assert value("  ( revenue\t-\nspend )  /  spend  ", revenue=D(3), spend=D(2)) == D("0.5")
    # non-breaking spaces pasted from French documents
    assert value("revenue\u00a0/\u202fspend", revenue=D(3), spend=D(2)) == D("1.5")


def test_typographic_operators_are_accepted():
    assert value("conversions / visitors × 100", conversions=D(1), visitors=D(4)) == D(25)
    assert value("clicks ÷ impressions", clicks=D(1), impressions=D(4)) == D("0.25")
    assert value("(revenue − spend) ÷ spend × 100", revenue=D(3), spend=D(2)) == D(50)
    assert value("−a", a=D(2)) == D(-2)


def test_a_single_name_or_number_is_a_formula():
    assert value("visitors", visitors=D(12)) == D(12)
    assert value("42") == D(42)


def test_references_lists_names_without_months():
    formula = parse("cac / (arpu / months) + cac")

    assert formula.references() == frozenset({"cac", "arpu"})
    assert formula.text == "cac / (arpu / months) + cac"


def test_formula_is_immutable():
    formula = parse("a + b")

    with pytest.raises(AttributeError):
        formula.text = "a - b"


# --- no value: undefined is not zero ---------------------------------------------------------


def test_division_by_zero_gives_no_value():
    assert value("conversions / visitors * 100", conversions=D(5), visitors=D(0)) is None
    assert value("a / b", a=D(0), b=D("0.00")) is None
    assert value("a / b", a=D(1), b=D("-0")) is None


def test_division_by_an_expression_equal_to_zero_gives_no_value():
    assert value("a / (b - c)", a=D(1), b=D(2), c=D(2)) is None
    assert value("a / (1 - 1)", a=D(1)) is None
    assert value("1 / 0") is None


def test_undefined_times_zero_is_still_undefined():
    assert value("0 * (a / b)", a=D(1), b=D(0)) is None
    assert value("0 * a", a=None) is None


def test_zero_numerator_gives_zero():
    assert value("a / b * 100", a=D(0), b=D(10)) == D(0)


def test_missing_input_gives_no_value():
    assert value("conversions / visitors * 100", conversions=D(5), visitors=None) is None
    assert value("conversions / visitors * 100", conversions=D(5)) is None
    assert value("a + b", a=None, b=D(1)) is None
    assert value("-a", a=None) is None
    assert value("100 - a", a=None) is None


def test_not_a_number_input_gives_no_value():
    assert value("a + 1", a=D("NaN")) is None


def test_no_value_propagates_through_kpis(catalog):
    metrics = dict(QUARTER, customers_start=None)
    results = catalog.evaluate(metrics, months=3)

    for code in ("retention_rate", "churn_rate", "arpu", "clv", "ltv_cac", "cac_payback_months"):
        assert results[code] is None, code
    assert results["cac"].quantize(CENT) == D("333.33")


def test_full_retention_gives_no_clv_rather_than_infinity(catalog):
    metrics = {"revenue": D(100), "customers_start": D(10), "customers_end": D(10)}
    metrics["new_customers"] = D(0)
    results = catalog.evaluate(metrics, months=1)

    assert results["churn_rate"] == D(0)
    assert results["clv"] is None


def test_catalog_with_no_metrics_gives_no_value_for_every_kpi(catalog):
    assert catalog.evaluate({}, months=1) == dict.fromkeys(STANDARD_KPIS)


def test_months_is_a_builtin_name():
    assert value("months", months=3) == D(3)
    assert value("a / months", months=12, a=D(24)) == D(2)
    assert value("a / months", months=0, a=D(24)) is None
    assert value("months * 2", months=3, months_extra=D(99)) == D(6)


def test_months_argument_wins_over_a_value_called_months():
    assert parse("months").evaluate({"months": D(99)}, months=2) == D(2)


# --- decimal context ---------------------------------------------------------------------------


def test_global_decimal_context_is_untouched():
    context = getcontext()
    context.clear_flags()
    before = (context.prec, context.rounding, context.Emax, context.Emin, dict(context.traps))

    assert value("a / b", a=D(1), b=D(3)) == D("0.3333333333333333333333333333")
    assert value("a / b", a=D(1), b=D(0)) is None
    compile_catalog(STANDARD_KPIS, STANDARD_METRICS).evaluate(QUARTER, months=3)

    after = (context.prec, context.rounding, context.Emax, context.Emin, dict(context.traps))
    assert after == before
    assert not any(context.flags.values())


def test_results_do_not_depend_on_the_callers_decimal_context():
    with localcontext() as local:
        local.prec = 3
        result = value("a / b", a=D(50000), b=D(15))

    assert result == D("3333.333333333333333333333333")


def test_values_are_decimals_never_floats(catalog):
    results = catalog.evaluate(QUARTER, months=3)

    assert all(type(result) is Decimal for result in results.values())


# --- parse errors, with positions ----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_formula_is_an_error_at_position_0(text):
    error = parse_error(text)

    assert error.position == 0
    assert error.message == "The formula is empty."


def test_unexpected_character_is_reported_at_its_position():
    error = parse_error("visitors $ 2")

    assert error.position == 9
    assert error.message == 'Unexpected character "$" at position 10.'
    assert str(error) == error.message


def test_invisible_unexpected_character_is_shown_by_code_point():
    error = parse_error("a\u200b+ b")

    assert error.position == 1
    assert error.message == 'Unexpected character "U+200B" at position 2.'


def test_unexpected_end_is_reported_at_the_end():
    error = parse_error("conversions / visitors *")

    assert error.position == 24
    assert error.message == "The formula ends unexpectedly at position 25."


def test_unclosed_parenthesis_is_reported_where_it_opens():
    assert parse_error("(revenue - spend / spend").position == 0
    error = parse_error("a / (b * (c + d)")

    assert error.position == 4
    assert error.message == "Parenthesis opened at position 5 is never closed."


def test_unmatched_closing_parenthesis_is_reported_where_it_is():
    error = parse_error("revenue - spend) / spend")

    assert error.position == 15
    assert error.message == "Closing parenthesis at position 16 has no opening one."


def test_two_operands_in_a_row_is_an_error_at_the_second():
    error = parse_error("clicks impressions")

    assert error.position == 7
    assert error.message == 'Missing operator before "impressions" at position 8.'
    assert parse_error("2 (a)").position == 2
    assert parse_error("(a) (b)").position == 4
    assert parse_error("(a + b c)").position == 7


@pytest.mark.parametrize(
    ("text", "position", "number"),
    [
        ("1.2.3", 0, "1.2.3"),
        ("visitors * 1.2.3", 11, "1.2.3"),
        ("1. + a", 0, "1."),
        (".5 * a", 0, ".5"),
        ("1e3 * a", 0, "1e3"),
        ("2a", 0, "2a"),
    ],
)
def test_malformed_number_is_an_error_at_its_start(text, position, number):
    error = parse_error(text)

    assert error.position == position  # an index; the message counts characters from 1
    assert error.message == f'Invalid number "{number}" at position {position + 1}.'


@pytest.mark.parametrize(
    ("text", "typed", "fixed"), [("bounces * 0,5", "0,5", "0.5"), ("12,25 * a", "12,25", "12.25")]
)
def test_a_decimal_comma_is_answered_with_the_point_to_write(text, typed, fixed):
    error = parse_error(text)

    assert error.position == text.index(",")
    assert error.message == (
        f'Write decimals with a point: "{fixed}", not "{typed}" (position {error.position + 1}).'
    )


def test_operator_without_left_operand_is_an_error():
    error = parse_error("visitors * * 2")

    assert error.position == 11
    assert error.message == 'Unexpected "*" at position 12.'
    assert parse_error("/ a").position == 0
    assert parse_error("a + ×b").message == 'Unexpected "×" at position 5.'


def test_empty_parentheses_are_an_error():
    error = parse_error("a * ()")

    assert error.position == 5
    assert error.message == 'Unexpected ")" at position 6.'


def test_upper_case_code_is_an_error_that_suggests_lower_case():
    error = parse_error("conversions / Visitors")

    assert error.position == 14
    assert (
        error.message == 'Codes are lower-case: write "visitors", not "Visitors", at position 15.'
    )


def test_parse_error_is_a_value_error_without_code_or_kpi():
    error = parse_error("a +")

    assert isinstance(error, ValueError)
    assert error.code is None
    assert error.kpi is None


def test_too_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse(" + ".join(["a"] * 500))
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse("-(" * 500 + "a" + ")" * 500)
    assert parse("(" * 50 + "a" + ")" * 50).evaluate({"a": D(1)}, months=1) == D(1)


# --- no Python object is reachable --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("__import__", 0),
        ("__import__('os')", 0),
        ("visitors.__class__", 8),
        ("a[0]", 1),
        ("f(x)", 1),
        ("visitors; import os", 8),
        ("lambda: 1", 6),
        ("'a' + 1", 0),
        ("a ** 2", 3),
        ("a == b", 2),
        ("a if b else c", 2),
    ],
)
def test_python_syntax_is_a_parse_error(text, position):
    assert parse_error(text).position == position


def test_function_call_error_says_functions_are_not_supported():
    error = parse_error("round(cac)")

    assert error.position == 5
    assert error.message == 'Functions are not supported: "round(" at position 6.'


def test_dunder_names_are_rejected():
    assert parse_error("__class__").message == (
        'Names starting with "__" are not allowed: "__class__" at position 1.'
    )


def test_names_are_only_looked_up_in_the_values():
    # A name that is also a Python builtin is just a missing value.
    assert value("print + len") is None
    assert value("print + 1", print=D(1)) == D(2)


# --- check_formula: unknown codes and cycles ------------------------------------------------


def check(text: str, code: str, **formulas: str) -> Formula:
    kpis = dict(STANDARD_KPIS, **formulas)
    return check_formula(text, code=code, metric_codes=STANDARD_METRICS, kpi_formulas=kpis)


def test_check_accepts_metrics_other_kpis_and_months():
    formula = check("cac / (arpu / months)", "cac_payback_months")

    assert isinstance(formula, Formula)
    assert formula.references() == frozenset({"cac", "arpu"})


def test_unknown_code_is_reported_with_its_position_and_code():
    with pytest.raises(FormulaError) as info:
        check("conversions / vistors * 100", "conversion_rate")

    error = info.value
    assert error.message == 'Unknown code "vistors" at position 15.'
    assert error.position == 14
    assert error.code == "vistors"
    assert error.kpi == "conversion_rate"


def test_syntax_error_in_check_names_the_kpi():
    with pytest.raises(FormulaError) as info:
        check("spend /", "cac")

    assert info.value.kpi == "cac"
    assert info.value.position == 7


def test_direct_self_reference_is_a_cycle():
    with pytest.raises(FormulaError) as info:
        check("roi * 2", "roi")

    assert info.value.message == "Circular reference: roi → roi."
    assert info.value.position == 0
    assert info.value.kpi == "roi"


def test_indirect_reference_to_itself_is_a_cycle():
    with pytest.raises(FormulaError) as info:
        check("arpu / (churn_rate / 100)", "clv", arpu="clv / 12")

    assert info.value.message == "Circular reference: clv → arpu → clv."
    assert info.value.position == 0


def test_longer_cycle_is_named_step_by_step():
    with pytest.raises(FormulaError) as info:
        check("100 - retention_rate", "churn_rate", retention_rate="ltv_cac * 2")

    # churn_rate → retention_rate → ltv_cac → clv → churn_rate
    assert info.value.message == (
        "Circular reference: churn_rate → retention_rate → ltv_cac → clv → churn_rate."
    )
    assert info.value.position == 6


def test_new_kpi_referring_to_itself_is_a_cycle():
    with pytest.raises(FormulaError, match="Circular reference: margin → margin"):
        check("revenue - margin", "margin")


def test_check_replaces_the_saved_kpis_old_formula():
    # The stored formula of churn_rate is broken and circular; the new one fixes it.
    formula = check("100 - retention_rate", "churn_rate", churn_rate="churn_rate +")

    assert formula.evaluate({"retention_rate": D(80)}, months=1) == D(20)


def test_check_accepts_a_new_kpi_using_existing_kpis():
    formula = check("clv / cpa", "clv_cpa")

    assert formula.references() == frozenset({"clv", "cpa"})


def test_kpi_code_that_is_a_metric_code_is_refused():
    with pytest.raises(FormulaError, match="both a metric code and a KPI code"):
        check("clicks * 2", "visitors")


# --- compile_catalog ----------------------------------------------------------------------


def test_catalog_order_puts_dependencies_first(catalog):
    order = catalog.order

    assert set(order) == set(STANDARD_KPIS)
    assert len(order) == len(STANDARD_KPIS)
    for kpi, formula in STANDARD_KPIS.items():
        for used in parse(formula).references() & set(STANDARD_KPIS):
            assert order.index(used) < order.index(kpi), (used, kpi)


def test_catalog_order_is_stable_for_independent_kpis():
    catalog = compile_catalog({"b": "y / x", "a": "x + y", "c": "a * 2"}, ["x", "y"])

    assert catalog.order == ("b", "a", "c")


def test_catalog_evaluates_kpis_defined_before_their_dependencies():
    catalog = compile_catalog({"double": "single * 2", "single": "x + 1"}, ["x"])

    assert catalog.order == ("single", "double")
    assert catalog.evaluate({"x": D(1)}, months=1) == {"single": D(2), "double": D(4)}


def test_catalog_reports_the_first_broken_formula_with_its_kpi():
    formulas = dict(STANDARD_KPIS, cpc="spend // clicks", cpm="spend / ")

    with pytest.raises(FormulaError) as info:
        compile_catalog(formulas, STANDARD_METRICS)

    assert info.value.kpi == "cpc"
    assert info.value.position == 7


def test_catalog_reports_unknown_code_with_kpi_position_and_code():
    formulas = dict(STANDARD_KPIS, ctr="clicks / impresions * 100")

    with pytest.raises(FormulaError) as info:
        compile_catalog(formulas, STANDARD_METRICS)

    error = info.value
    assert (error.kpi, error.code, error.position) == ("ctr", "impresions", 9)
    assert error.message == 'Unknown code "impresions" at position 10.'


def test_catalog_reports_indirect_cycle():
    formulas = dict(STANDARD_KPIS, arpu="clv / 12")

    with pytest.raises(FormulaError) as info:
        compile_catalog(formulas, STANDARD_METRICS)

    assert info.value.message == "Circular reference: arpu → clv → arpu."
    assert info.value.kpi == "arpu"
    assert info.value.position == 0


def test_catalog_reports_direct_cycle():
    with pytest.raises(FormulaError) as info:
        compile_catalog({"a": "x + 1", "b": "2 * b"}, ["x"])

    assert info.value.message == "Circular reference: b → b."
    assert (info.value.kpi, info.value.position) == ("b", 4)


def test_catalog_refuses_months_as_a_kpi_code():
    with pytest.raises(FormulaError) as info:
        compile_catalog({"months": "x"}, ["x"])

    assert info.value.kpi == "months"


def test_base_metrics_follow_other_kpis(catalog):
    assert catalog.base_metrics("cac") == frozenset({"spend", "new_customers"})
    assert catalog.base_metrics("churn_rate") == frozenset(
        {"customers_end", "new_customers", "customers_start"}
    )
    assert catalog.base_metrics("ltv_cac") == frozenset(
        {"revenue", "customers_start", "customers_end", "new_customers", "spend"}
    )


def test_dependents_are_direct_and_transitive(catalog):
    assert catalog.dependents("retention_rate") == frozenset({"churn_rate", "clv", "ltv_cac"})
    assert catalog.dependents("cac") == frozenset({"ltv_cac", "cac_payback_months"})
    assert catalog.dependents("nps") == frozenset()


def test_dependents_of_a_metric_are_the_kpis_to_recompute(catalog):
    assert catalog.dependents("customers_start") == frozenset(
        {"retention_rate", "churn_rate", "arpu", "clv", "ltv_cac", "cac_payback_months"}
    )


def test_base_metrics_of_an_unknown_kpi_is_a_key_error(catalog):
    with pytest.raises(KeyError):
        catalog.base_metrics("nope")


# --- properties ---------------------------------------------------------------------------

_nonzero = st.decimals(
    min_value=D("-1e12"), max_value=D("1e12"), places=4, allow_nan=False, allow_infinity=False
).filter(lambda d: d != 0)


@given(a=_nonzero, b=_nonzero)
def test_dividing_then_multiplying_gives_back_the_value(a, b):
    result = value("a / b * b", a=a, b=b)

    assert abs(result - a) <= abs(a) * D("1e-26")


@given(st.text(alphabet="abxy_09.+-*/×÷−() \t$[]'\"é", max_size=40))
def test_parse_raises_only_formula_errors_and_evaluation_never_raises(text):
    try:
        formula = parse(text)
    except FormulaError as error:
        assert error.position is not None
        assert 0 <= error.position <= len(text)
        return
    result = formula.evaluate({"a": D(2), "b": D(0), "x": None}, months=1)
    assert result is None or isinstance(result, Decimal)
