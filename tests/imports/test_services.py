"""imports.services: whole files checked, previewed, applied whole or not at all, undone."""

import contextlib
import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from imports.models import ImportBatch
from imports.services import ImportActionError, import_undo
from metrics.entry_selectors import activity, activity_rows, cell_history
from metrics.models import KPIValue, Metric, MetricAlias, MetricEntry, StaleMark, ValueChange
from metrics.services import ValueWrite, entries_write, metric_save

from .conftest import FILES, check_file, csv_bytes, run_file, snapshot, values, xlsx_bytes

pytestmark = pytest.mark.django_db

D = Decimal
JAN = date(2025, 1, 1)
BOULANGERIE = (FILES / "boulangerie_fr_excel.csv").read_bytes()
WINE = (FILES / "wine_shop_long_en.csv").read_bytes()


@pytest.fixture
def spring(campaign):
    return campaign  # "Spring sale", paid search


def codes(problems):
    return [problem.code for problem in problems]


def only_problem(check):
    assert check.problem_count == 1, [str(p) for p in check.problems]
    return check.problems[0]


# --- The two sample files -----------------------------------------------------------------


def test_the_french_excel_sample_is_imported_whole(org, editor, stager_kind):
    result = run_file(
        org,
        BOULANGERIE,
        filename="boulangerie.csv",
        user=editor,
        create_campaigns=True,
        new_campaign_channel="organic_social",
    )

    assert result.applied, [str(p) for p in result.check.problems]
    batch = result.batch
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (441, 0, 0)
    assert (batch.rows, batch.encoding, batch.delimiter, batch.shape) == (
        441,
        "cp1252",
        ";",
        "wide",
    )
    assert batch.created_by == editor and batch.sha256 and batch.applied_at
    assert sorted(batch.created_campaigns) == [
        "Gâteaux de fête",
        "Instagram – vitrine",
        "Newsletter du samedi",
    ]
    stored = values(org)
    assert len(stored) == 441
    assert stored[("Gâteaux de fête", "visitors", "2024-01")] == D("2952")
    assert stored[("Gâteaux de fête", "revenue", "2024-01")] == D("160.70")
    assert stored[("Gâteaux de fête", "spend", "2024-01")] == D("213.66")
    created = Campaign.objects.get(organization=org, name="Gâteaux de fête")
    assert (created.channel, created.start_date) == ("organic_social", date(2024, 1, 1))


def test_the_french_sample_ignores_its_computed_rate_with_a_notice(org):
    check = check_file(org, BOULANGERIE, create_campaigns=True, new_campaign_channel="seo")

    assert check.ok
    rate = next(c for c in check.columns if c.header == "Taux de rebond (info)")
    assert (rate.code, rate.how) == (None, "computed")
    assert any("Taux de rebond (info)" in str(notice) for notice in check.notices)
    matched = {c.header: (c.code, c.how) for c in check.columns}
    assert matched["Visiteurs"] == ("visitors", "label")
    assert matched["Dépenses marketing"] == ("spend", "label")
    assert matched["Sessions"] == ("sessions", "code")


def test_the_english_long_sample_is_imported_whole(org, stager_kind):
    result = run_file(org, WINE, create_campaigns=True, new_campaign_channel="paid_social")

    assert result.applied
    stored = values(org)
    assert len(stored) == 144
    assert stored[("China launch - WeChat", "impressions", "2024-01")] == D("290717")
    assert ("China launch - WeChat", "new_customers", "2024-01") in stored
    columns = {c.key: c.code for c in result.check.columns}
    assert columns["new customers"] == "new_customers"


def test_the_preview_says_what_would_change_and_writes_nothing(org, spring, metric):
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, metric("clicks").pk, date(2025, 1, 1), D("10"))],
        user=None,
    )
    before = snapshot(org)
    data = csv_bytes(
        "month,campaign,metric,value\n"
        "2025-01,Spring sale,clicks,12\n"
        "2025-02,Spring sale,clicks,7\n"
        "2025-01,Spring sale,impressions,500\n"
    )

    check = check_file(org, data)

    assert check.ok
    assert (check.counts.created, check.counts.updated, check.counts.unchanged) == (2, 1, 0)
    [update] = check.updates
    assert (update.line, update.campaign, update.metric.code) == (2, "Spring sale", "clicks")
    assert (update.old, update.new) == (D("10"), D("12"))
    assert [(a.line, a.metric.code) for a in check.additions] == [(3, "clicks"), (4, "impressions")]
    assert [(s.line, s.value) for s in check.sample] == [(2, D("12")), (3, D("7")), (4, D("500"))]
    assert snapshot(org) == before
    assert not ImportBatch.objects.exists()


# --- Generated variants: encodings, delimiters, numbers, months ---------------------------

WIDE_FR = (
    "Mois;Campagne;Visiteurs;Dépenses marketing\njanvier 2025;Spring sale;1\u00a0234;1 234,56 €\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_every_encoding_excel_writes_is_imported(org, spring, encoding):
    result = run_file(org, csv_bytes(WIDE_FR, encoding))

    assert result.applied, [str(p) for p in result.check.problems]
    assert values(org) == {
        ("Spring sale", "visitors", "2025-01"): D("1234"),
        ("Spring sale", "spend", "2025-01"): D("1234.56"),
    }


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_every_delimiter_is_imported(org, spring, delimiter):
    rows = [["month", "campaign", "clicks", "spend"], ["2025-03", "Spring sale", "1200", "99.5"]]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"

    result = run_file(org, csv_bytes(text))

    assert result.applied
    assert result.batch.delimiter == delimiter
    assert values(org) == {
        ("Spring sale", "clicks", "2025-03"): D("1200"),
        ("Spring sale", "spend", "2025-03"): D("99.5"),
    }


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1 234,56", D("1234.56")),
        ("1\u00a0234,56", D("1234.56")),
        ("1\u202f234,56", D("1234.56")),
        ("1 234,56 €", D("1234.56")),
        ("1\u202f234,56\u00a0€", D("1234.56")),
        ("12,5", D("12.5")),
        ("0,125", D("0.125")),
        ("1234", D("1234")),
    ],
)
def test_french_number_forms_are_imported(org, spring, cell, expected):
    text = f"Mois;Campagne;Dépenses marketing;Clics\n01/2025;Spring sale;{cell};3\n"

    result = run_file(org, csv_bytes(text))

    assert result.applied, [str(p) for p in result.check.problems]
    assert values(org)[("Spring sale", "spend", "2025-01")] == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("1,234.56", D("1234.56")), ("1234.5", D("1234.5")), ("$1,234.56", D("1234.56"))],
)
def test_english_number_forms_are_imported(org, spring, cell, expected):
    text = f'Month,Campaign,Marketing spend,Clicks\nJan 2025,Spring sale,"{cell}",3.5\n'

    result = run_file(org, csv_bytes(text))

    assert result.applied, [str(p) for p in result.check.problems]
    assert values(org)[("Spring sale", "spend", "2025-01")] == expected


def test_a_percent_sign_is_read_into_a_percent_metric(org, spring):
    metric_save(
        organization=org,
        code="share_of_voice",
        label_fr="Part de voix",
        label_en="Share of voice",
        kind="percent",
        rollup="last",
    )

    result = run_file(org, csv_bytes("Mois;Campagne;Part de voix\n2025-01;Spring sale;12,5 %\n"))

    assert result.applied
    assert values(org)[("Spring sale", "share_of_voice", "2025-01")] == D("12.5")


@pytest.mark.parametrize(
    "month",
    ["01/2025", "31/01/2025", "janv. 2025", "janvier 2025", "Jan 2025", "January 2025", "2025-01"],
)
def test_every_month_form_is_imported(org, spring, month):
    result = run_file(org, csv_bytes(f"Mois;Campagne;Clics\n{month};Spring sale;5\n"))

    assert result.applied, [str(p) for p in result.check.problems]
    assert values(org) == {("Spring sale", "clicks", "2025-01"): D("5")}


def test_a_wide_xlsx_with_real_dates_and_numbers_is_imported(org, spring):
    data = xlsx_bytes(
        [
            ["Month", "Campaign", "Clicks", "Cost", "Impr."],
            [date(2025, 2, 1), "Spring sale", 310, 45.5, 12000],
            [date(2025, 3, 1), "Spring sale", 290, 51.25, None],
        ]
    )

    result = run_file(org, data, filename="google-ads.xlsx")

    assert result.applied, [str(p) for p in result.check.problems]
    assert (result.batch.encoding, result.batch.delimiter) == ("", "")
    assert values(org) == {
        ("Spring sale", "clicks", "2025-02"): D("310"),
        ("Spring sale", "spend", "2025-02"): D("45.5"),
        ("Spring sale", "impressions", "2025-02"): D("12000"),
        ("Spring sale", "clicks", "2025-03"): D("290"),
        ("Spring sale", "spend", "2025-03"): D("51.25"),
    }
    assert result.check.blanks == 1


def test_a_long_xlsx_is_imported(org, spring):
    data = xlsx_bytes(
        [
            ["mois", "campagne", "indicateur", "valeur"],
            ["2025-04", "Spring sale", "Sessions", 400],
            ["2025-04", "Spring sale", "Prospects", 12],
        ]
    )

    result = run_file(org, data, filename="long.xlsx")

    assert result.applied
    assert values(org) == {
        ("Spring sale", "sessions", "2025-04"): D("400"),
        ("Spring sale", "leads", "2025-04"): D("12"),
    }


def test_a_file_without_a_campaign_column_goes_to_the_campaign_chosen(org, spring):
    data = csv_bytes("Month,Clicks,Impressions\n2025-05,10,1000\n")

    refused = check_file(org, data)
    result = run_file(org, data, campaign_id=spring.pk)

    assert codes(refused.problems) == ["campaign_required"]
    assert result.applied
    assert values(org) == {
        ("Spring sale", "clicks", "2025-05"): D("10"),
        ("Spring sale", "impressions", "2025-05"): D("1000"),
    }


def test_headers_match_saved_aliases_and_ad_platform_names(org, spring, metric):
    MetricAlias.objects.create(
        organization=org, metric=metric("leads"), alias="Formulaires", normalized="formulaires"
    )
    data = csv_bytes(
        "Month,Campaign,Amount spent,Link clicks,Total users,Key events,FORMULAIRES\n"
        "2025-01,Spring sale,10,20,30,40,50\n"
    )

    result = run_file(org, data)

    assert result.applied
    assert values(org) == {
        ("Spring sale", "spend", "2025-01"): D("10"),
        ("Spring sale", "clicks", "2025-01"): D("20"),
        ("Spring sale", "visitors", "2025-01"): D("30"),
        ("Spring sale", "conversions", "2025-01"): D("40"),
        ("Spring sale", "leads", "2025-01"): D("50"),
    }


def test_a_header_mapped_on_the_preview_is_saved_as_an_alias(org, spring):
    data = csv_bytes("Month,Campaign,Clics sponsorisés,Remarks\n2025-01,Spring sale,42,n/a\n")

    refused = check_file(org, data)
    result = run_file(org, data, mapping={"clics sponsorises": "clicks", "remarks": ""})

    assert codes(refused.problems) == ["unknown_header", "unknown_header"]
    assert result.applied
    assert values(org) == {("Spring sale", "clicks", "2025-01"): D("42")}
    alias = MetricAlias.objects.get(organization=org, normalized="clics sponsorises")
    assert (alias.metric.code, alias.alias) == ("clicks", "Clics sponsorisés")
    assert not MetricAlias.objects.filter(normalized="remarks").exists()
    # Next time the header is known.
    assert check_file(
        org, csv_bytes("Month,Campaign,Clics sponsorisés\n2025-02,Spring sale,1\n")
    ).ok


def test_a_long_file_metric_name_can_be_mapped(org, spring):
    data = csv_bytes(
        "month,campaign,metric,value\n2025-01,Spring sale,Impr.,10\n2025-01,Spring sale,Views,4\n"
    )

    refused = check_file(org, data)
    result = run_file(org, data, mapping={"views": "reach"})

    problem = only_problem(refused)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        3,
        "metric",
        "Views",
        "unknown_metric",
    )
    assert {c.header: c.how for c in refused.columns} == {"impr": "alias", "Views": "unknown"}
    assert result.applied
    assert values(org) == {
        ("Spring sale", "impressions", "2025-01"): D("10"),
        ("Spring sale", "reach", "2025-01"): D("4"),
    }


def test_empty_cells_are_missing_values_not_zeros(org, spring, metric):
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, metric("clicks").pk, date(2025, 1, 1), D("10"))],
        user=None,
    )

    result = run_file(org, csv_bytes("Month;Campaign;Clicks;Leads\n2025-01;Spring sale;;3\n"))

    assert result.applied
    assert values(org)[("Spring sale", "clicks", "2025-01")] == D("10")
    assert result.check.blanks == 1


# --- Bad files: every problem placed, nothing written -------------------------------------


def assert_refused_and_untouched(org, data, *, filename="metrics.csv", **kwargs):
    before = snapshot(org)
    result = run_file(org, data, filename=filename, **kwargs)
    assert not result.applied
    assert result.batch.status == ImportBatch.Status.REFUSED
    assert result.batch.error_count == result.check.problem_count > 0
    assert snapshot(org) == before
    return result.check


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Month,Campaign,Clicks,Likes\n2025-01,Spring sale,1,2\n",
            (1, "Likes", "Likes", "unknown_header"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,twelve\n",
            (2, "Clicks", "twelve", "not_a_number"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,-3\n",
            (2, "Clicks", "-3", "negative"),
        ),
        (
            "Month,Campaign,Marketing spend\n2025-01,Spring sale,-10.50\n",
            (2, "Marketing spend", "-10.50", "negative"),
        ),
        (
            "Month,Campaign,Clicks\nsomeday,Spring sale,3\n",
            (2, "Month", "someday", "bad_month"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,3,4,5\n",
            (2, None, None, "ragged_row"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,3\n2025-01,Spring sale,4\n",
            (3, "Month", "2025-01", "duplicate"),
        ),
        (
            "month,campaign,metric,value\n2025-01,Spring sale,clicks,3\n2025-01,Spring sale,clicks,4\n",
            (3, "metric", "clicks", "duplicate"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Autumn sale,3\n",
            (2, "Campaign", "Autumn sale", "unknown_campaign"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,12 %\n",
            (2, "Clicks", "12 %", "unexpected_percent"),
        ),
        (
            "Month,Campaign,Clicks\n2025-01,Spring sale,100000000000000\n",
            (2, "Clicks", "100000000000000", "too_large"),
        ),
    ],
    ids=[
        "unknown-header",
        "text-in-number",
        "negative-count",
        "negative-money",
        "bad-month",
        "ragged-row",
        "duplicate-wide",
        "duplicate-long",
        "unknown-campaign",
        "percent-in-count",
        "too-large",
    ],
)
def test_a_bad_row_refuses_the_whole_file_and_says_where(
    org, spring, metric, text, expected, stager_kind
):
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, metric("clicks").pk, date(2024, 12, 1), D("1"))],
        user=None,
    )
    good = "".join(f"2024-0{m},Spring sale,{m}\n" for m in range(1, 4))
    header, _newline, rest = text.partition("\n")
    if header == "Month,Campaign,Clicks":
        text = header + "\n" + good + rest  # good rows first: they must not be written either
        expected = (expected[0] + 3 if expected[0] > 1 else 1, *expected[1:])

    check = assert_refused_and_untouched(org, csv_bytes(text))

    problem = only_problem(check)
    assert (problem.line, problem.column, problem.value, problem.code) == expected
    assert str(problem.reason)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\n\n  \n", "empty_file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not_tabular"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_tabular"),
        (b"Campaign,Clicks\nSpring sale,3\n", "no_month_column"),
        (b"Month,Campaign,Clicks\n", "no_data"),
    ],
    ids=["empty", "blank-lines", "pdf", "png", "no-month", "header-only"],
)
def test_a_file_that_cannot_be_read_is_refused_untouched(org, spring, data, code):
    check = assert_refused_and_untouched(org, data)

    assert codes(check.problems) == [code]


def test_a_file_over_the_size_limit_is_refused_untouched(org, spring, settings):
    settings.IMPORT_MAX_BYTES = 100
    data = csv_bytes("Month,Campaign,Clicks\n" + "2025-01,Spring sale,3\n" * 10)

    check = assert_refused_and_untouched(org, data)

    [problem] = check.problems
    assert problem.code == "too_large"
    assert "MB" in str(problem.reason)


def test_the_default_size_limit_is_20_mb(settings):
    assert settings.IMPORT_MAX_BYTES == 20 * 1024 * 1024


def test_every_problem_is_reported_not_just_the_first(org, spring):
    text = "Month,Campaign,Clicks,Leads\nsomeday,Spring sale,1,2\n2025-01,Spring sale,x,-1\n2025-02,Nope,1,1\n"

    check = assert_refused_and_untouched(org, csv_bytes(text))

    assert [(p.line, p.column, p.code) for p in check.problems] == [
        (2, "Month", "bad_month"),
        (3, "Clicks", "not_a_number"),
        (3, "Leads", "negative"),
        (4, "Campaign", "unknown_campaign"),
    ]


def test_a_campaign_spelled_two_ways_is_a_problem(org, spring):
    text = "Month,Campaign,Clicks\n2025-01,Spring sale,1\n2025-02,SPRING SALE,2\n"

    check = assert_refused_and_untouched(org, csv_bytes(text))

    problem = only_problem(check)
    assert (problem.line, problem.value, problem.code) == (3, "SPRING SALE", "campaign_spelling")


def test_new_campaigns_need_a_channel(org):
    check = assert_refused_and_untouched(
        org, csv_bytes("Month,Campaign,Clicks\n2025-01,Autumn,1\n"), create_campaigns=True
    )

    assert codes(check.problems) == ["channel_required"]


def test_a_campaign_to_create_must_have_a_name_that_fits(org):
    name = "x" * 121
    check = assert_refused_and_untouched(
        org,
        csv_bytes(f"Month,Campaign,Clicks\n2025-01,{name},1\n"),
        create_campaigns=True,
        new_campaign_channel="seo",
    )

    assert codes(check.problems) == ["campaign_name_too_long"]


def test_a_file_without_any_value_is_refused(org, spring):
    check = assert_refused_and_untouched(
        org, csv_bytes("Month;Campaign;Clicks\n2025-01;Spring sale;\n")
    )

    assert codes(check.problems) == ["no_values"]


def test_campaigns_are_matched_case_insensitively(org, spring):
    result = run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,spring SALE,1\n"))

    assert result.applied
    assert values(org) == {("Spring sale", "clicks", "2025-01"): D("1")}


def test_the_problem_list_is_capped_but_the_count_is_not(org, spring):
    text = "Month,Campaign,Clicks\n" + "".join(f"2025-01,Spring sale,bad{n}\n" for n in range(1200))

    check = check_file(org, csv_bytes(text))

    assert check.problem_count == 1200
    assert len(check.problems) == 1000
    assert check.more_problems == 200


# --- Applying: history, idempotence, recompute, undo --------------------------------------


def test_applying_keeps_every_replaced_value_in_the_history(
    org, spring, metric, editor, stager_kind
):
    clicks = metric("clicks")
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, clicks.pk, date(2025, 1, 1), D("10"))],
        user=None,
    )
    data = csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n2025-02,Spring sale,7\n")

    result = run_file(org, data, user=editor)

    batch = result.batch
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (1, 1, 0)
    change = ValueChange.objects.get(import_batch=batch, month=date(2025, 1, 1))
    assert (change.old_value, change.new_value, change.changed_by, change.source) == (
        D("10"),
        D("12"),
        editor,
        "import",
    )
    entry = MetricEntry.objects.get(campaign=spring, metric=clicks, month=date(2025, 1, 1))
    assert (entry.value, entry.version, entry.import_batch, entry.updated_by, entry.source) == (
        D("12"),
        2,
        batch,
        editor,
        "import",
    )
    added = MetricEntry.objects.get(campaign=spring, metric=clicks, month=date(2025, 2, 1))
    assert (added.version, added.import_batch, added.kind) == (1, batch, "count")


def test_reimporting_the_same_file_changes_nothing(org, spring, stager_kind):
    data = csv_bytes("Month,Campaign,Clicks,Marketing spend\n2025-01,Spring sale,12,10.123\n")
    first = run_file(org, data)
    before = snapshot(org)

    again = run_file(org, data)

    assert again.applied
    assert (again.batch.created_count, again.batch.updated_count, again.batch.unchanged_count) == (
        0,
        0,
        2,
    )
    after = snapshot(org)
    assert after["applied"] == before["applied"] + [(again.batch.pk, "applied")]
    del after["applied"], before["applied"]
    assert after == before
    assert first.batch.sha256 == again.batch.sha256


def test_applying_marks_the_cells_stale_and_recomputes_after_commit(
    org, spring, django_capture_on_commit_callbacks
):
    data = csv_bytes("Month,Campaign,Clicks,Impressions\n2025-01,Spring sale,20,1000\n")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = run_file(org, data)
        marks = list(StaleMark.objects.filter(organization=org).values_list("campaign_id", "month"))
    assert marks == [(spring.pk, date(2025, 1, 1))]
    assert len(callbacks) == 1
    assert not KPIValue.objects.filter(organization=org).exists()

    callbacks[0]()

    assert result.applied
    assert not StaleMark.objects.filter(organization=org).exists()
    ctr = KPIValue.objects.get(
        organization=org, kpi__code="ctr", scope="all", grain="month", period_start=date(2025, 1, 1)
    )
    assert ctr.value == D("2")


def test_an_import_touching_much_of_the_organization_asks_for_one_full_recompute(
    org, spring, monkeypatch
):
    from imports import staging

    monkeypatch.setattr(staging, "FULL_RECOMPUTE_CELLS", 2)
    data = csv_bytes(
        "Month,Campaign,Clicks\n2025-01,Spring sale,1\n2025-02,Spring sale,1\n"
        "2025-03,Spring sale,1\n"
    )

    run_file(org, data)

    marks = StaleMark.objects.filter(organization=org)
    assert list(marks.values_list("campaign_id", "month", "kpi_id")) == [(None, None, None)]


def test_an_import_touching_little_of_the_organization_recomputes_its_cells(
    org, spring, metric, monkeypatch
):
    from imports import staging

    monkeypatch.setattr(staging, "FULL_RECOMPUTE_CELLS", 2)
    monkeypatch.setattr(staging, "FULL_RECOMPUTE_RATIO", 1)
    entries_write(
        organization=org,
        writes=[
            ValueWrite(spring.pk, metric("leads").pk, date(2024, month, 1), D("1"))
            for month in range(1, 13)
        ],
        user=None,
    )
    StaleMark.objects.all().delete()
    data = csv_bytes(
        "Month,Campaign,Clicks\n2025-01,Spring sale,1\n2025-02,Spring sale,1\n"
        "2025-03,Spring sale,1\n"
    )

    run_file(org, data)

    marks = StaleMark.objects.filter(organization=org).order_by("month")
    assert [m.month.month for m in marks] == [1, 2, 3]


def test_undo_puts_back_replaced_values_and_removes_added_ones(
    org, spring, metric, editor, stager_kind
):
    clicks = metric("clicks")
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, clicks.pk, date(2025, 1, 1), D("10"))],
        user=None,
    )
    before = values(org)
    result = run_file(
        org,
        csv_bytes(
            "Month,Campaign,Clicks\n2025-01,Spring sale,12\n2025-02,Spring sale,7\n2025-02,Autumn,3\n"
        ),
        create_campaigns=True,
        new_campaign_channel="email",
    )
    assert len(values(org)) == 3

    undone = import_undo(organization=org, batch=result.batch, user=editor)

    assert (undone.restored, undone.kept) == (3, 0)
    assert values(org) == before
    batch = ImportBatch.objects.get(pk=result.batch.pk)
    assert (batch.status, batch.undone_by) == ("undone", editor)
    assert batch.undone_at is not None
    # The undo is itself in the history, and the created campaign stays.
    undo = ValueChange.objects.filter(import_batch=batch, changed_at__gte=batch.undone_at)
    assert sorted((c.old_value, c.new_value) for c in undo) == [
        (D("3"), None),
        (D("7"), None),
        (D("12"), D("10")),
    ]
    assert Campaign.objects.filter(organization=org, name="Autumn").exists()
    with pytest.raises(ImportActionError):
        import_undo(organization=org, batch=batch, user=editor)


def test_undo_keeps_values_changed_since_the_import(org, spring, metric, editor, stager_kind):
    clicks = metric("clicks")
    entries_write(
        organization=org,
        writes=[ValueWrite(spring.pk, clicks.pk, date(2025, 1, 1), D("10"))],
        user=None,
    )
    result = run_file(
        org,
        csv_bytes(
            "Month,Campaign,Clicks\n2025-01,Spring sale,12\n2025-02,Spring sale,7\n"
            "2025-03,Spring sale,5\n"
        ),
    )
    entries_write(
        organization=org,
        writes=[
            ValueWrite(spring.pk, clicks.pk, date(2025, 1, 1), D("13")),
            ValueWrite(spring.pk, clicks.pk, date(2025, 2, 1), D("8")),
        ],
        user=editor,
    )

    undone = import_undo(organization=org, batch=result.batch, user=editor)

    assert values(org) == {
        ("Spring sale", "clicks", "2025-01"): D("13"),
        ("Spring sale", "clicks", "2025-02"): D("8"),
    }
    assert undone.restored == 1
    assert undone.kept == 2  # both paths keep additions in the history too


def test_undo_of_another_organization_s_import_is_impossible(org, other_org, spring, editor):
    result = run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"))

    with pytest.raises(ImportBatch.DoesNotExist):
        import_undo(organization=other_org, batch=result.batch, user=editor)


def test_campaigns_of_another_organization_are_unknown(org, other_org):
    Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=date(2025, 1, 1)
    )

    check = check_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Theirs,1\n"))

    assert codes(check.problems) == ["unknown_campaign"]


def history(org, campaign, metric, month):
    """A cell's history as its page shows it: (who, source, file, old, new), newest first."""
    changes = cell_history(
        organization=org, campaign=campaign, metric=metric, month=month, language="en"
    )
    return [(c.who, c.source_code, c.import_name, c.old, c.new) for c in changes]


def test_a_value_an_import_adds_has_its_creation_in_the_cell_history_and_the_activity(
    org, spring, metric, editor, stager_kind
):
    run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"), user=editor)

    assert history(org, spring, metric("clicks"), JAN) == [
        ("eddie", "import", "metrics.csv", "", "12")
    ]
    [row] = activity_rows(activity(organization=org), language="en")
    assert (row.who, row.import_name, row.campaign, row.metric, row.month, row.new) == (
        "eddie",
        "metrics.csv",
        spring,
        metric("clicks"),
        JAN,
        "12",
    )


def test_an_import_writes_no_history_row_for_the_values_it_adds(org, spring, editor):
    run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"), user=editor)

    assert not ValueChange.objects.exists()  # the entry tells its creation until it changes
    assert MetricEntry.objects.get().creation_logged is False


def test_the_first_change_to_an_imported_value_keeps_its_creation_in_the_history(
    org, spring, metric, editor, admin_user, stager_kind
):
    clicks = metric("clicks")
    run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"), user=editor)
    entries_write(
        organization=org, writes=[ValueWrite(spring.pk, clicks.pk, JAN, D("15"))], user=admin_user
    )
    run_file(
        org,
        csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,16\n"),
        filename="fix.csv",
        user=editor,
    )
    entries_write(
        organization=org, writes=[ValueWrite(spring.pk, clicks.pk, JAN, None)], user=admin_user
    )

    assert history(org, spring, clicks, JAN) == [
        ("alice", "form", "", "16", ""),
        ("eddie", "import", "fix.csv", "15", "16"),
        ("alice", "form", "", "12", "15"),
        ("eddie", "import", "metrics.csv", "", "12"),
    ]
    assert ValueChange.objects.count() == 4


def test_an_imported_value_replaced_by_the_next_import_keeps_its_creation(
    org, spring, metric, editor, admin_user
):
    clicks = metric("clicks")
    run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"), user=editor)

    result = run_file(
        org,
        csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,13\n"),
        filename="fix.csv",
        user=admin_user,
    )

    assert history(org, spring, clicks, JAN) == [
        ("alice", "import", "fix.csv", "12", "13"),
        ("eddie", "import", "metrics.csv", "", "12"),
    ]
    entry = MetricEntry.objects.get()
    assert (entry.version, entry.creation_logged, entry.import_batch) == (2, True, result.batch)


def test_undoing_an_import_removes_its_untouched_additions_and_says_so_in_the_history(
    org, spring, metric, editor, admin_user, stager_kind
):
    result = run_file(
        org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"), user=editor
    )

    undone = import_undo(organization=org, batch=result.batch, user=admin_user)

    assert (undone.restored, undone.kept) == (1, 0)
    assert values(org) == {}
    assert history(org, spring, metric("clicks"), JAN) == [
        ("alice", "undo", "metrics.csv", "12", ""),  # its undo, told apart
        ("eddie", "import", "metrics.csv", "", "12"),
    ]


def test_an_import_refuses_to_write_to_a_campaign_deleted_meanwhile(
    org, spring, editor, monkeypatch
):
    from imports import services

    create_campaigns = services._create_campaigns

    def campaign_deleted_after_the_check(*args, **kwargs):
        Campaign.objects.filter(pk=spring.pk).delete()
        return create_campaigns(*args, **kwargs)

    monkeypatch.setattr(services, "_create_campaigns", campaign_deleted_after_the_check)
    before = snapshot(org)

    with pytest.raises(ImportActionError, match="deleted meanwhile"):
        run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n"))

    assert snapshot(org) == before
    assert Campaign.objects.filter(pk=spring.pk).exists()  # the whole apply was rolled back


@pytest.mark.parametrize("deleted", ["campaign", "metric", "organization"])
def test_deleting_a_campaign_a_metric_or_an_organization_deletes_its_values_and_history(
    org, spring, metric, editor, deleted
):
    clicks = metric("clicks")
    run_file(
        org,
        csv_bytes("Month,Campaign,Clicks,Impressions\n2025-01,Spring sale,12,100\n"),
        user=editor,
    )
    run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,13\n"), user=editor)
    assert (MetricEntry.objects.count(), ValueChange.objects.count()) == (2, 2)

    {"campaign": spring, "metric": clicks, "organization": org}[deleted].delete()

    left = {"campaign": 0, "metric": 1, "organization": 0}[deleted]
    assert MetricEntry.objects.count() == left
    assert ValueChange.objects.count() == 0


def test_an_applied_import_cannot_be_deleted_in_the_admin(org, spring, rf):
    from django.contrib.admin.sites import site

    from imports.admin import ImportBatchAdmin

    applied = run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,12\n")).batch
    refused = run_file(org, csv_bytes("Month,Campaign,Clicks\n2025-01,Spring sale,x\n")).batch
    request = rf.get("/")
    request.user = type("Superuser", (), {"has_perm": lambda self, perm: True})()
    admin = ImportBatchAdmin(ImportBatch, site)

    assert not admin.has_delete_permission(request, applied)
    assert not admin.has_delete_permission(request)  # no bulk deletion
    assert admin.has_delete_permission(request, refused)


def import_racing(org, monkeypatch, delete):
    """Import a file, and call delete() once the import has written its values but not yet
    committed; returns once both are done: {"import": applied, "deleted": True}."""
    from django.db import connection

    from imports import staging

    written, deleter_waits = threading.Event(), threading.Event()
    original_apply = staging.PostgresStager.apply

    def apply_then_wait(self, **kwargs):
        counts = original_apply(self, **kwargs)
        written.set()
        assert deleter_waits.wait(timeout=30)
        return counts  # then the import commits

    monkeypatch.setattr(staging.PostgresStager, "apply", apply_then_wait)
    outcome = {}

    def import_file():
        try:
            data = csv_bytes("Month,Campaign,Clicks,Impressions\n2025-01,Spring sale,12,100\n")
            outcome["import"] = run_file(org, data).applied
        finally:
            connection.close()

    def deleter():
        try:
            assert written.wait(timeout=30)
            delete()
            outcome["deleted"] = True
        finally:
            connection.close()

    threads = [threading.Thread(target=import_file), threading.Thread(target=deleter)]
    for thread in threads:
        thread.start()
    for _attempt in range(300):  # until the deletion waits for the import's lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    deleter_waits.set()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.django_db(transaction=True)
def test_a_metric_deleted_while_an_import_writes_it_leaves_no_value_behind(
    org, spring, metric, monkeypatch
):
    """The Django admin deletes a metric's values, then the metric, without locking it first:
    here its values are deleted while an import is writing new ones. The metric's deletion
    waits for the import (which holds the metric), then takes the values the import wrote."""
    clicks, impressions = metric("clicks"), metric("impressions")

    outcome = import_racing(org, monkeypatch, Metric.objects.get(pk=clicks.pk).delete)

    assert outcome == {"import": True, "deleted": True}
    assert not MetricEntry.objects.filter(metric_id=clicks.pk).exists()
    assert not ValueChange.objects.filter(metric_id=clicks.pk).exists()
    assert list(MetricEntry.objects.values_list("metric_id", "value")) == [
        (impressions.pk, D("100"))
    ]


@pytest.mark.django_db(transaction=True)
def test_a_campaign_deleted_while_an_import_writes_it_goes_with_the_values_written(
    org, spring, monkeypatch
):
    """campaign_delete locks the campaign first: it waits for the import, then deletes the
    campaign with every value, including those the import has just written."""
    from campaigns.services import campaign_delete

    outcome = import_racing(
        org, monkeypatch, lambda: campaign_delete(organization=org, campaign=spring)
    )

    assert outcome == {"import": True, "deleted": True}
    assert not Campaign.objects.filter(pk=spring.pk).exists()
    assert not MetricEntry.objects.exists()
    assert not ValueChange.objects.exists()


def big_long_file(extra: str = "") -> bytes:
    """1 200 lines: what blocks are made of, and a few lines that are not."""
    lines = ["Month,Campaign,Metric,Value"]
    for n in range(1200):
        month = f"{2015 + n // 120}-{(n // 10) % 12 + 1:02d}"
        campaign = ("Spring sale", "Autumn")[n % 2]
        metric = ("visitors", "clicks", "revenue", "leads", "spend")[n % 5]
        value = "" if n % 97 == 0 else f"{n}.{n % 100:02d}" if metric == "revenue" else str(n)
        lines.append(f"{month},{campaign},{metric},{value}")
    return ("\n".join(lines) + "\n" + extra).encode()


@pytest.mark.parametrize(
    ("extra", "autumn_exists"),
    [
        ("", True),
        ("", False),  # a campaign to create: its values are counted one by one
        ("2030-01,spring sale,visitors,3\n", True),  # a second spelling
        ("2030-01,Spring sale,visitors,-3\n", True),  # a negative count
        ("2030-01,Spring sale,visitors,123456789012345\n", True),  # too large
        ("2015-01,Spring sale,visitors,5\n", True),  # a duplicate of line 2
    ],
)
def test_reading_by_blocks_checks_and_stages_what_reading_line_by_line_does(
    org, spring, metric, stager_kind, extra, autumn_exists, monkeypatch
):
    from imports import parsing, staging

    if autumn_exists:
        Campaign.objects.create(
            organization=org, name="Autumn", channel="seo", start_date=date(2015, 1, 1)
        )
    blocks_staged = []

    def check_and_staged():
        staged = []
        original = staging.staging

        @contextlib.contextmanager
        def spying(**kwargs):
            with original(**kwargs) as stager:
                add, add_block = stager.add, stager.add_block
                stager.add = lambda *row: staged.append((*row[:4], D(row[4]))) or add(*row)
                stager.add_block = lambda *cols: (
                    blocks_staged.append(len(cols[0]))
                    or staged.extend((*row[:4], D(row[4])) for row in zip(*cols, strict=True))
                    or add_block(*cols)
                )
                yield stager

        monkeypatch.setattr("imports.services.staging", spying)
        check = check_file(
            org, big_long_file(extra), create_campaigns=True, new_campaign_channel="seo"
        )
        missing = [(m.name, m.line, m.rows, m.first_month) for m in check.missing_campaigns]
        return (
            check.values,
            check.blanks,
            [(p.line, p.column, p.value, str(p), p.code) for p in check.problems],
            missing,
            check.counts,
            [(s.line, s.value) for s in check.sample],
            sorted(staged),
        )

    by_blocks = check_and_staged()
    monkeypatch.setattr(parsing, "_PLAIN_COLUMN", {",": NO_MATCH, ".": NO_MATCH})
    one_by_one = check_and_staged()

    assert by_blocks == one_by_one
    assert by_blocks[0] > 1000
    assert bool(blocks_staged) == autumn_exists  # both ways were taken


class _NoMatch:
    def fullmatch(self, text):
        return None


NO_MATCH = _NoMatch()
