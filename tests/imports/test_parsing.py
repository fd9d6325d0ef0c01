"""imports.parsing: bytes in, records and problems out. No database."""

import io
import pickle
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency, format_decimal
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from imports.parsing import (
    CellError,
    FileInfo,
    ParseError,
    Problem,
    Record,
    iter_records,
    normalize_header,
    parse_month,
    parse_number,
    parse_number_cell,
    sniff,
)

FILES = Path(__file__).parent / "files"
MAX_BYTES = 1_000_000

CODES = [
    "visitors",
    "sessions",
    "bounces",
    "conversions",
    "orders",
    "revenue",
    "spend",
    "clicks",
    "impressions",
    "leads",
    "new_customers",
]
FRENCH = {
    "visiteurs": "visitors",
    "rebonds": "bounces",
    "commandes": "orders",
    "chiffre d affaires": "revenue",
    "depenses marketing": "spend",
    "clics": "clicks",
    "taux de rebond info": None,
}
HEADER_MAP = {normalize_header(code): code for code in CODES} | FRENCH


def read(data, *, filename="metrics.csv", header_map=HEADER_MAP, max_bytes=MAX_BYTES):
    stream = io.BytesIO(data)
    info = sniff(stream, filename=filename, max_bytes=max_bytes)
    return info, list(iter_records(stream, info, header_map=header_map))


def records(items):
    return [item for item in items if isinstance(item, Record)]


def problems(items):
    return [item for item in items if isinstance(item, Problem)]


def only_problem(items):
    found = problems(items)
    assert len(found) == 1, [str(problem) for problem in found]
    return found[0]


def sniff_error(data, *, filename="metrics.csv", max_bytes=MAX_BYTES):
    with pytest.raises(ParseError) as caught:
        sniff(io.BytesIO(data), filename=filename, max_bytes=max_bytes)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


# --- The sample files users bring ---------------------------------------------------------


def test_it_reads_the_french_excel_sample():
    info, items = read((FILES / "boulangerie_fr_excel.csv").read_bytes())

    assert (info.format, info.encoding, info.delimiter) == ("csv", "cp1252", ";")
    assert (info.decimal_separator, info.shape, info.header_line) == (",", "wide", 1)
    assert info.headers[7:] == ["Chiffre d'affaires", "Dépenses marketing", "Taux de rebond (info)"]
    assert (info.month_column, info.campaign_column) == (0, 1)
    assert info.metric_columns[0] == (2, "Visiteurs")
    assert problems(items) == []
    found = records(items)
    assert len(found) == 63 * 7  # 63 lines, 7 metrics; the informational rate is ignored
    first = {record.metric: record for record in found if record.line == 2}
    assert first["visitors"] == Record(
        2, date(2024, 1, 1), "Gâteaux de fête", "visitors", Decimal("2952")
    )
    assert first["revenue"].value == Decimal("160.70")
    assert first["spend"].value == Decimal("213.66")
    campaigns = {record.campaign for record in found}
    assert campaigns == {"Gâteaux de fête", "Instagram – vitrine", "Newsletter du samedi"}
    assert {record.month for record in found} == {
        date(year, month, 1)
        for year, month in [(2024, m) for m in range(1, 13)] + [(2025, m) for m in range(1, 10)]
    }


def test_it_reports_the_informational_column_when_the_map_does_not_ignore_it():
    header_map = {key: code for key, code in HEADER_MAP.items() if key != "taux de rebond info"}

    _info, items = read((FILES / "boulangerie_fr_excel.csv").read_bytes(), header_map=header_map)

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        1,
        "Taux de rebond (info)",
        "Taux de rebond (info)",
        "unknown_header",
    )


def test_it_reads_the_english_long_sample():
    info, items = read((FILES / "wine_shop_long_en.csv").read_bytes())

    assert (info.encoding, info.delimiter, info.decimal_separator, info.shape) == (
        "utf-8",
        ",",
        ".",
        "long",
    )
    assert (info.month_column, info.campaign_column, info.metric_column, info.value_column) == (
        0,
        1,
        2,
        3,
    )
    assert problems(items) == []
    found = records(items)
    assert len(found) == 144
    assert found[0] == Record(
        2, date(2024, 1, 1), "China launch - WeChat", "impressions", Decimal("290717")
    )
    assert found[-1] == Record(
        145, date(2024, 12, 1), "China launch - Tmall ads", "revenue", Decimal("1187.14")
    )
    assert {record.metric for record in found} == {
        "impressions",
        "clicks",
        "leads",
        "new_customers",
        "spend",
        "revenue",
    }


# --- Encodings and delimiters -------------------------------------------------------------

FRENCH_TEXT = (
    "Mois;Campagne;Visiteurs;Dépenses marketing\r\njanvier 2025;Gâteaux – fête;1 234;1 234,56 €\r\n"
)


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (FRENCH_TEXT.encode("utf-8"), "utf-8"),
        (FRENCH_TEXT.encode("utf-8-sig"), "utf-8-sig"),
        (FRENCH_TEXT.encode("cp1252"), "cp1252"),
        (FRENCH_TEXT.encode("utf-16"), "utf-16"),
    ],
)
def test_it_decodes_every_encoding_excel_writes(encoded, encoding):
    info, items = read(encoded)

    assert info.encoding == encoding
    assert info.headers == ["Mois", "Campagne", "Visiteurs", "Dépenses marketing"]
    assert records(items) == [
        Record(2, date(2025, 1, 1), "Gâteaux – fête", "visitors", Decimal("1234")),
        Record(2, date(2025, 1, 1), "Gâteaux – fête", "spend", Decimal("1234.56")),
    ]


def test_it_finds_utf8_even_when_the_first_accent_comes_late():
    filler = "".join(f"2024-01,Campaign {n},clicks,{n}\n" for n in range(5000))
    data = ("month,campaign,metric,value\n" + filler + "2024-02,Café,clicks,1\n").encode()
    assert len(data) > 128 * 1024

    info, items = read(data)

    assert info.encoding == "utf-8"
    assert records(items)[-1].campaign == "Café"


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_it_reads_each_delimiter_with_quoted_fields(delimiter):
    d = delimiter
    text = (
        f"Month{d}Campaign{d}Clicks{d}Revenue\n"
        f'2025-01{d}"Spring{d} ""sale""\nsecond line"{d}12{d}"1,234.50"\n'
        f"2025-02{d}Plain{d}7{d}3\n"
    )

    info, items = read(text.encode())

    assert info.delimiter == delimiter
    found = records(items)
    assert found[0].campaign == f'Spring{d} "sale"\nsecond line'
    assert (found[0].metric, found[0].value) == ("clicks", Decimal("12"))
    assert found[1].value == Decimal("1234.50")
    assert [record.line for record in found] == [2, 2, 4, 4]  # the quoted newline is line 3


def test_it_prefers_the_semicolon_when_tied_with_the_comma():
    info, _items = read(b"Mois;Clics,Visiteurs\n01/2025;1,5\n")

    assert info.delimiter == ";"
    assert info.headers == ["Mois", "Clics,Visiteurs"]


def test_it_reads_a_django_upload_without_closing_it():
    upload = SimpleUploadedFile("metrics.csv", b"Month,Clicks\n2025-01,3\n")

    info = sniff(upload, filename=upload.name, max_bytes=MAX_BYTES)
    items = list(iter_records(upload, info, header_map=HEADER_MAP))

    assert records(items) == [Record(2, date(2025, 1, 1), None, "clicks", Decimal("3"))]
    assert not upload.closed


class CountingReader(io.BytesIO):
    largest_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data

    def read1(self, size=-1):
        data = super().read1(size)
        self.largest_read = max(self.largest_read, len(data))
        return data

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.largest_read = max(self.largest_read, count)
        return count


def test_it_streams_the_file_in_small_reads():
    rows = "".join(f"2024-{n % 12 + 1:02d},Campaign {n // 12},clicks,{n}\n" for n in range(120_000))
    data = ("month,campaign,metric,value\n" + rows).encode()
    assert len(data) > 3_000_000
    stream = CountingReader(data)

    info = sniff(stream, filename="big.csv", max_bytes=10_000_000)
    count = sum(
        1 for item in iter_records(stream, info, header_map=HEADER_MAP) if isinstance(item, Record)
    )

    assert count == 120_000
    assert stream.largest_read <= 1024 * 1024


# --- Numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", "1234"),
        ("1234.5", "1234.5"),
        ("1234,5", "1234.5"),
        ("  42  ", "42"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234\u202f567,5", "1234567.5"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56 €", "1234.56"),
        ("1234,56€", "1234.56"),
        ("€1,234.56", "1234.56"),
        ("$ 1,234.56", "1234.56"),
        ("£3", "3"),
        ("1234.56 USD", "1234.56"),
        ("EUR 12", "12"),
        ("12 eur", "12"),
        ("CHF 1'234.50", "1234.50"),
        ("1’234.50 CHF", "1234.50"),
        ("-12", "-12"),
        ("+12", "12"),
        ("\u221212,5", "-12.5"),
        ("(1 234,50)", "-1234.50"),
        ("(1 234,50 €)", "-1234.50"),
        ("-€12", "-12"),
        ("€-12", "-12"),
        ("- 12 €", "-12"),
        ("0,125", "0.125"),
        ("1234,567", "1234.567"),
        (",5", "0.5"),
        ("1,23E+05", "123000"),
        ("1.5e3", "1500"),
    ],
)
def test_it_reads_the_number_forms_users_type(text, expected):
    assert parse_number(text, decimal_separator=",") == Decimal(expected)
    if "," not in text:
        assert parse_number(text, decimal_separator=".") == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12,5 %", "12.5"), ("12.5%", "12.5"), ("-0,8 %", "-0.8"), ("100 %", "100")],
)
def test_it_flags_percentages(text, expected):
    number = parse_number_cell(text, decimal_separator=",")

    assert number is not None
    assert (number.value, number.is_percent) == (Decimal(expected), True)


def test_it_does_not_flag_plain_numbers_as_percentages():
    number = parse_number_cell("12,5", decimal_separator=",")

    assert number is not None
    assert number.is_percent is False


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("1,234", ",", "1.234"),
        ("1,234", ".", "1234"),
        ("1.234", ",", "1234"),
        ("1.234", ".", "1.234"),
        ("-1.234", ",", "-1234"),
        ("0,123", ".", "0.123"),  # a thousands group never follows a lone zero
    ],
)
def test_it_settles_a_lone_three_digit_group_with_the_file_decimal_separator(text, hint, expected):
    assert parse_number(text, decimal_separator=hint) == Decimal(expected)


def test_it_refuses_a_lone_three_digit_group_without_a_hint():
    with pytest.raises(CellError) as caught:
        parse_number("1,234")

    assert caught.value.code == "ambiguous_number"
    assert '"1,234"' in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "\u00a0", "-", "–", "—"])
def test_it_reads_an_empty_cell_as_missing_not_zero(text):
    assert parse_number(text, decimal_separator=",") is None
    assert parse_number_cell(text, decimal_separator=",") is None


@pytest.mark.parametrize(
    "text",
    [
        "n/a",
        "abc",
        "12a",
        "1,2,3",
        "1 23",
        "12.",
        "1.234,567.8",
        "1,234.567,8",
        "--5",
        "(-5)",
        "5 % €",
        "€ 5 $",
        "1 234E5",
        "0x1F",
        "NaN",
        "Infinity",
        "1_000",
    ],
)
def test_it_says_which_text_is_not_a_number(text):
    with pytest.raises(CellError) as caught:
        parse_number(text, decimal_separator=",")

    assert caught.value.code == "not_a_number"
    assert str(caught.value) == f'"{text}" is not a number'


@given(
    value=st.decimals(
        min_value=Decimal("-1e12"),
        max_value=Decimal("1e12"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    ),
    style=st.sampled_from([("fr", ","), ("en", "."), ("de", ","), ("de_CH", ".")]),
)
def test_it_reads_back_what_babel_writes(value, style):
    locale, decimal_separator = style
    if locale == "de_CH":
        # Swiss grouping is an apostrophe every three digits (1'234'567.5). Babel 2.19
        # groups Swiss numbers only once ("1234567'890.5", the apostrophe being its
        # pattern quote), which no spreadsheet writes: build the Swiss text from English.
        text = format_decimal(value, locale="en", decimal_quantization=False).replace(",", "'")
    else:
        text = format_decimal(value, locale=locale, decimal_quantization=False)

    assert parse_number(text, decimal_separator=decimal_separator) == value


def test_swiss_numbers_group_every_three_digits():
    assert parse_number("1'234'567'890.5", decimal_separator=".") == Decimal("1234567890.5")
    assert parse_number("-12’345.25", decimal_separator=".") == Decimal("-12345.25")
    with pytest.raises(CellError):
        parse_number("1234567'890.5", decimal_separator=".")


@given(
    value=st.decimals(
        min_value=Decimal("-1e9"),
        max_value=Decimal("1e9"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    ),
    style=st.sampled_from(
        [("fr", ",", "EUR"), ("en", ".", "USD"), ("en_GB", ".", "GBP"), ("fr_CH", ",", "CHF")]
    ),
)
def test_it_reads_back_amounts_babel_writes_with_their_currency(value, style):
    locale, decimal_separator, currency = style
    if locale == "fr_CH":  # Babel 2.19 groups Swiss numbers only once: see above
        text = format_currency(value, currency, locale="fr").replace("\u202f", "'")
    else:
        text = format_currency(value, currency, locale=locale)

    assert parse_number(text, decimal_separator=decimal_separator) == value


# --- Months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2025-01",
        "2025-1",
        "2025/01",
        "01/2025",
        "1/2025",
        "31/01/2025",
        "1.1.2025",
        "2025-01-31",
        "2025-01-31 00:00:00",
        "2025-01-31T10:00",
        "202501",
        "janv. 2025",
        "Janv 2025",
        "janvier 2025",
        "Janvier 2025",
        "JANVIER 2025",
        " janvier\u00a02025 ",
        "1er janvier 2025",
        "Jan 2025",
        "jan. 2025",
        "January 2025",
        "January 31, 2025",
        "2025 janvier",
        "jan-25",
        "janv.-25",
        "Jan '25",
        date(2025, 1, 31),
        datetime(2025, 1, 15, 13, 45),
    ],
)
def test_it_reads_the_month_forms_users_write(value):
    assert parse_month(value) == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("févr. 2025", date(2025, 2, 1)),
        ("fevrier 2025", date(2025, 2, 1)),
        ("Février 2025", date(2025, 2, 1)),
        ("mars 2025", date(2025, 3, 1)),
        ("avr. 2025", date(2025, 4, 1)),
        ("mai 2025", date(2025, 5, 1)),
        ("juin 2025", date(2025, 6, 1)),
        ("juil. 2025", date(2025, 7, 1)),
        ("août 2025", date(2025, 8, 1)),
        ("sept. 2025", date(2025, 9, 1)),
        ("Sep 2025", date(2025, 9, 1)),
        ("oct. 2025", date(2025, 10, 1)),
        ("nov. 2025", date(2025, 11, 1)),
        ("déc. 2025", date(2025, 12, 1)),
        ("December 2025", date(2025, 12, 1)),
        ("May 2025", date(2025, 5, 1)),
    ],
)
def test_it_knows_every_french_and_english_month_name(text, expected):
    assert parse_month(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2025-13",
        "13/2025",
        "31/02/2025",
        "01/31/2025",
        "Jan 25",
        "foo 2025",
        "1899-01",
        "45658",
        "hier",
        3.5,
    ],
)
def test_it_says_which_month_cannot_be_read(value):
    with pytest.raises(CellError) as caught:
        parse_month(value)

    assert caught.value.code == "bad_month"
    assert str(caught.value).startswith(f'"{value}": month cannot be read')


def test_it_says_the_month_is_missing():
    with pytest.raises(CellError) as caught:
        parse_month("  ")

    assert str(caught.value) == "the month is missing"


# --- Headers and shapes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chiffre d'affaires", "chiffre d affaires"),
        ("Impr.", "impr"),
        ("E-mails envoyés", "e mails envoyes"),
        ("  Dépenses   MARKETING ", "depenses marketing"),
        ("Taux de rebond (info)", "taux de rebond info"),
        ("new_customers", "new customers"),
        ("Clics\u00a0e-mail", "clics e mail"),
    ],
)
def test_it_normalizes_headers(text, expected):
    assert normalize_header(text) == expected


def test_it_reads_a_wide_file_without_a_campaign_column():
    info, items = read(b"Month,Clicks,Impressions\n2025-01,3,40\n")

    assert (info.shape, info.campaign_column) == ("wide", None)
    assert info.metric_columns == [(1, "Clicks"), (2, "Impressions")]
    assert records(items) == [
        Record(2, date(2025, 1, 1), None, "clicks", Decimal("3")),
        Record(2, date(2025, 1, 1), None, "impressions", Decimal("40")),
    ]


def test_it_reads_a_french_long_file_without_a_campaign_column():
    info, items = read("Période;Indicateur;Valeur\nfévr. 2025;Visiteurs;1 234\n".encode())

    assert (info.shape, info.campaign_column, info.decimal_separator) == ("long", None, ",")
    assert records(items) == [Record(2, date(2025, 2, 1), None, "visitors", Decimal("1234"))]


def test_it_keeps_empty_cells_as_missing_values():
    _info, items = read(b"Month,Campaign,Clicks,Impressions\n2025-01,A,,40\n")

    assert records(items)[0] == Record(2, date(2025, 1, 1), "A", "clicks", None)


def test_it_skips_title_lines_above_the_header():
    data = b'Campaign report\n"January 1, 2025 - March 31, 2025"\nMonth,Campaign,Clicks\nJan 2025,A,5\nFeb 2025,A,six\n'

    info, items = read(data)

    assert info.header_line == 3
    assert records(items) == [Record(4, date(2025, 1, 1), "A", "clicks", Decimal("5"))]
    assert only_problem(items).line == 5


def test_it_skips_blank_lines_and_keeps_counting_them():
    data = b"Mois;Clics\n\n01/2025;1\n;\n\n02/2025;2;\n"

    _info, items = read(data)

    assert problems(items) == []
    assert [(record.line, record.value) for record in records(items)] == [(3, 1), (6, 2)]


def test_it_ignores_a_stray_delimiter_at_the_end_of_the_header():
    info, items = read(b"Month;Clicks;\n2025-01;1\n2025-02;2;\n")

    assert info.headers == ["Month", "Clicks"]
    assert problems(items) == []
    assert len(records(items)) == 2


def test_it_tells_the_decimal_separator_from_the_data():
    _info, items = read(b"Month\tSpend\tClicks\n2025-01\t12,50\t1,234\n")

    assert [record.value for record in records(items)] == [Decimal("12.50"), Decimal("1.234")]


def test_it_reads_a_semicolon_file_with_decimal_points():
    info, items = read(b"Month;Spend;Clicks\n2025-01;1234.56;1.234\n")

    assert info.decimal_separator == "."
    assert [record.value for record in records(items)] == [Decimal("1234.56"), Decimal("1.234")]


def test_it_flags_percent_values_in_records():
    _info, items = read(b"Mois;Taux\n01/2025;12,5 %\n", header_map={"taux": "rate"})

    assert records(items) == [Record(2, date(2025, 1, 1), None, "rate", Decimal("12.5"), True)]


# --- .xlsx --------------------------------------------------------------------------------


def xlsx_bytes(rows, *, formats=None, sheet_before=False):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for coordinate, number_format in (formats or {}).items():
        sheet[coordinate].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_it_reads_an_xlsx_with_real_dates_and_numbers(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(
        xlsx_bytes(
            [
                ["Rapport boulangerie"],
                [],
                ["Mois", "Campagne", "Visiteurs", "Chiffre d'affaires", "Taux", "Clics"],
                [datetime(2025, 1, 1), "Gâteaux", 2952, 0.1 + 0.2, 0.125, None],
                [date(2025, 2, 1), "Gâteaux", 1234.0, "1 234,56 €", "12,5 %", 7],
                ["mars 2025", "Gâteaux", "12a", 5, 1, 8],
            ],
            formats={"E4": "0.0%"},
        )
    )
    header_map = HEADER_MAP | {"taux": "rate"}

    with path.open("rb") as stream:
        info = sniff(stream, filename=path.name, max_bytes=MAX_BYTES)
        items = list(iter_records(stream, info, header_map=header_map))

    assert (info.format, info.encoding, info.delimiter, info.header_line) == ("xlsx", None, None, 3)
    assert info.shape == "wide"
    found = {(record.line, record.metric): record for record in records(items)}
    assert found[4, "visitors"] == Record(
        4, date(2025, 1, 1), "Gâteaux", "visitors", Decimal("2952")
    )
    assert found[4, "revenue"].value == Decimal("0.3")  # not 0.30000000000000004
    assert (found[4, "rate"].value, found[4, "rate"].is_percent) == (Decimal("12.5"), True)
    assert found[4, "clicks"].value is None
    assert found[5, "visitors"].value == Decimal("1234")
    assert found[5, "revenue"].value == Decimal("1234.56")
    assert (found[5, "rate"].value, found[5, "rate"].is_percent) == (Decimal("12.5"), True)
    assert found[6, "revenue"].month == date(2025, 3, 1)
    assert all(
        type(record.value) is Decimal for record in found.values() if record.value is not None
    )
    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        6,
        "Visiteurs",
        "12a",
        "not_a_number",
    )


def test_it_reads_a_long_xlsx():
    data = xlsx_bytes(
        [
            ["month", "metric", "value"],
            ["2025-01", "Clicks", 3],
            [datetime(2025, 2, 3), "clicks", 4.5],
        ]
    )

    info, items = read(data, filename="long.xlsx")

    assert (info.format, info.shape) == ("xlsx", "long")
    assert records(items) == [
        Record(2, date(2025, 1, 1), None, "clicks", Decimal("3")),
        Record(3, date(2025, 2, 1), None, "clicks", Decimal("4.5")),
    ]


def test_it_reports_xlsx_values_beyond_the_header_by_column_letter():
    data = xlsx_bytes(
        [["Month", "Clicks"], ["2025-01", 3, None, "stray"], ["2025-02", "x"], ["2025-03"]]
    )

    _info, items = read(data, filename="metrics.xlsx")

    ragged, not_a_number = problems(items)
    assert (ragged.line, ragged.column, ragged.value, ragged.code) == (
        2,
        "D",
        "stray",
        "ragged_row",
    )
    assert str(ragged) == 'line 2, column "D": a value beyond the 2 columns of the header'
    assert (not_a_number.line, not_a_number.column, not_a_number.value) == (3, "Clicks", "x")
    assert records(items) == [
        Record(4, date(2025, 3, 1), None, "clicks", None)
    ]  # short rows are fine


def test_it_refuses_a_damaged_xlsx():
    data = bytearray(xlsx_bytes([["Month", "Clicks"], ["2025-01", 3]]))
    archive = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(bytes(data))) as source,
        zipfile.ZipFile(archive, "w") as target,
    ):
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            target.writestr(member, content)

    problem = sniff_error(archive.getvalue(), filename="broken.xlsx")

    assert problem.code == "unreadable_xlsx"


# --- Files that cannot be read ------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b";;;\n;;;\n"])
def test_it_refuses_an_empty_file(data):
    problem = sniff_error(data)

    assert (problem.line, problem.column, problem.value, problem.code) == (
        None,
        None,
        None,
        "empty_file",
    )
    assert str(problem) == "The file is empty."


def test_it_refuses_a_file_with_only_a_header():
    problem = sniff_error(b"Month,Campaign,Clicks\r\n\r\n")

    assert (problem.line, problem.code) == (1, "no_data")
    assert str(problem) == "line 1: The file has a header but no data below it."


def test_it_refuses_a_file_over_the_size_limit():
    problem = sniff_error(b"Month,Clicks\n" + b"2025-01,1\n" * 150_000, max_bytes=1_000_000)

    assert (problem.line, problem.code) == (None, "too_large")
    assert str(problem) == "The file weighs 1.5 MB; the limit is 1.0 MB."


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "an Excel 97-2003 workbook (.xls)"),
        (bytes(range(256)) * 4, "a binary file"),
        (b"<html><body><table><tr><td>Month</td></tr></table>", "a web page (HTML)"),
    ],
)
def test_it_refuses_a_file_that_is_not_csv_or_xlsx(data, kind):
    problem = sniff_error(data, filename="report.xls")

    assert problem.code == "not_tabular"
    assert str(problem).startswith(f"This file is {kind}")


def test_it_refuses_a_zip_that_is_not_a_workbook():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        target.writestr("word/document.xml", "<w/>")

    problem = sniff_error(archive.getvalue(), filename="metrics.xlsx")

    assert (problem.code, str(problem)) == (
        "not_tabular",
        "This file is a zip archive, not a CSV or .xlsx spreadsheet.",
    )


def test_it_refuses_a_header_without_a_month_column():
    problem = sniff_error(b"Campaign,Clicks\nA,1\n")

    assert (problem.line, problem.code) == (1, "no_month_column")
    assert '"Campaign", "Clicks"' in str(problem)


def test_it_refuses_a_header_without_metrics():
    problem = sniff_error(b"Month,Campaign\n2025-01,A\n")

    assert (problem.line, problem.code) == (1, "no_metric_columns")


def test_it_reports_undecodable_bytes_with_their_line():
    data = (
        "Mois;Campagne;Visiteurs\n01/2025;Café;1\n".encode()
        + b"02/2025;Caf\xff;2\n03/2025;Th\xc3\xa9;3\n"
    )

    info, items = read(data)

    assert (info.encoding, info.undecodable) == ("utf-8", 1)
    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        3,
        "Campagne",
        "Caf\ufffd",
        "decode_error",
    )
    assert str(problem) == 'line 3, column "Campagne": holds bytes that are not valid UTF-8'
    assert [record.line for record in records(items)] == [2, 4]


def test_it_reports_bytes_windows_1252_leaves_undefined():
    data = "Mois;Campagne;Visiteurs\n01/2025;Gâteau;1\n".encode("cp1252") + b"02/2025;x\x81y;2\n"

    info, items = read(data)

    assert info.encoding == "cp1252"
    problem = only_problem(items)
    assert (problem.line, problem.column, problem.code) == (3, "Campagne", "decode_error")
    assert str(problem.reason) == "holds bytes that are not valid Windows-1252"


def test_it_reports_a_ragged_row():
    data = b"Month,Campaign,Clicks,Impressions\n2025-01,A,1,2\n2025-02,A,1\n2025-03,A,1,2,3\n2025-04,A,1,2,,\n"

    _info, items = read(data)

    short, long = problems(items)
    assert (short.line, short.column, short.value, short.code) == (3, None, None, "ragged_row")
    assert str(short) == "line 3: 3 cells, but the header has 4"
    assert str(long) == "line 4: 5 cells, but the header has 4"
    assert [record.line for record in records(items)] == [2, 2, 5, 5]  # trailing empties are fine


def test_it_reports_text_in_a_number_cell():
    data = "Mois;Campagne;Visiteurs;Clics\n01/2025;A;12a;3\n".encode("cp1252")

    _info, items = read(data)

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        2,
        "Visiteurs",
        "12a",
        "not_a_number",
    )
    assert str(problem) == 'line 2, column "Visiteurs": "12a" is not a number'
    assert records(items) == [Record(2, date(2025, 1, 1), "A", "clicks", Decimal("3"))]


def test_it_reports_a_month_that_cannot_be_read():
    _info, items = read(b"Month,Campaign,Clicks\n2025-01,A,1\n13/2025,A,1\n")

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        3,
        "Month",
        "13/2025",
        "bad_month",
    )
    assert str(problem).startswith('line 3, column "Month": "13/2025": month cannot be read')


def test_it_reports_a_missing_campaign():
    _info, items = read(b"Month,Campaign,Clicks\n2025-01, ,1\n")

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        2,
        "Campaign",
        "",
        "empty_campaign",
    )


def test_it_reports_a_duplicate_key_naming_both_lines():
    data = b"month,campaign,metric,value\n2025-01,A,clicks,1\n2025-01,B,clicks,2\nJan 2025,A,Clicks,3\n"

    _info, items = read(data)

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        4,
        "metric",
        "Clicks",
        "duplicate",
    )
    assert str(problem.reason) == "line 4 and line 2 give the same month, campaign and metric"
    assert [record.value for record in records(items)] == [1, 2]


def test_it_reports_a_duplicate_row_in_a_wide_file():
    _info, items = read(b"Month,Campaign,Clicks\n2025-01,A,1\n2025-01,B,1\n01/2025,A,2\n")

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        4,
        "Month",
        "01/2025",
        "duplicate",
    )
    assert str(problem.reason) == "line 4 and line 2 give the same month and campaign"


def test_it_reports_an_unknown_header_once_at_line_1():
    _info, items = read(b"Month,Clicks,Likes\n2025-01,1,2\n2025-02,3,4\n")

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.value, problem.code) == (
        1,
        "Likes",
        "Likes",
        "unknown_header",
    )
    assert [record.metric for record in records(items)] == ["clicks", "clicks"]


def test_it_ignores_columns_the_map_sets_to_none():
    _info, items = read(
        b"Month,Clicks,Notes\n2025-01,1,hello\n", header_map=HEADER_MAP | {"notes": None}
    )

    assert problems(items) == []
    assert len(records(items)) == 1


def test_it_reports_two_columns_for_one_metric():
    _info, items = read(b"Month,Clicks,Clics\n2025-01,1,2\n")

    problem = only_problem(items)
    assert (problem.line, problem.column, problem.code) == (1, "Clics", "duplicate_column")
    assert records(items) == [Record(2, date(2025, 1, 1), None, "clicks", Decimal("1"))]


def test_it_reports_an_unknown_long_metric_once():
    data = b"month,metric,value\n2025-01,likes,1\n2025-02,Likes,2\n2025-02,likes,3\n2025-03,,4\n"

    _info, items = read(data)

    unknown, *others = problems(items)
    assert (unknown.line, unknown.column, unknown.value, unknown.code) == (
        2,
        "metric",
        "likes",
        "unknown_metric",
    )
    assert [(problem.line, problem.code) for problem in others] == [
        (3, "unknown_metric"),
        (5, "empty_metric"),
    ]


def test_it_reports_broken_csv_structure_and_stops():
    data = b'Month,Clicks\n2025-01,1\n2025-02,"' + b"x" * 200_000 + b"\n2025-03,3\n"

    _info, items = read(data)

    problem = only_problem(items)
    assert (problem.line, problem.code) == (3, "malformed_csv")
    assert len(records(items)) == 1


def test_it_refuses_a_file_whose_first_row_breaks_the_csv_structure():
    problem = sniff_error(b'Month,Clicks\n2025-01,"' + b"x" * 200_000 + b"\n")

    assert (problem.line, problem.code) == (2, "malformed_csv")


def test_it_names_the_cells_of_an_xlsx_header_without_a_month_column():
    problem = sniff_error(xlsx_bytes([["Campaign", 2025], ["A", 1]]), filename="x.xlsx")

    assert (problem.line, problem.code) == (1, "no_month_column")
    assert '"Campaign", "2025"' in str(problem)


# --- Problems -----------------------------------------------------------------------------


def test_problems_pickle_and_render_later():
    _info, items = read(b"Month,Clicks\n2025-01,12a\n")
    problem = only_problem(items)

    restored = pickle.loads(pickle.dumps(problem))

    assert str(restored) == 'line 2, column "Clicks": "12a" is not a number'


def test_file_info_labels_columns_without_a_header():
    info = FileInfo(
        format="xlsx",
        filename="x.xlsx",
        size_bytes=1,
        encoding=None,
        delimiter=None,
        decimal_separator=".",
        shape="wide",
        headers=["Month", ""],
        header_line=1,
        month_column=0,
        campaign_column=None,
        metric_columns=[],
    )

    assert [info.column_label(index) for index in (0, 1, 27)] == ["Month", "B", "AB"]


# --- Blocks: the fast path reads exactly what the line-by-line reading reads ---------------

CELLS = {
    "month": ["2025-01", "2025-02", "01/2025", "janv. 2025", "2025-13", "", "mars 2025"],
    "campaign": ["Spring sale", "spring sale", "Autumn", "", "Été"],
    "metric": ["visitors", "clicks", "Clics", "revenue", "likes", "", "taux de rebond info"],
    "value": ["12", "0", "007", "-3", "12.5", "12,5", "1.234", "1 234,5", "", "-", "x",
              "123456789012345", "99999999999999", "12 %", "1e3", "0.000001"],
}  # fmt: skip


def csv_text(rows, *, delimiter, shape):
    if shape == "long":
        header = ["Month", "Campaign", "Metric", "Value"]
        lines = [[r["month"], r["campaign"], r["metric"], r["value"]] for r in rows]
    else:
        header = ["Month", "Campaign", "Visitors", "Clicks", "Revenue"]
        lines = [[r["month"], r["campaign"], r["value"], r["value2"], r["value3"]] for r in rows]
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow(line)
    return out.getvalue().encode()


def comparable(items):
    return [
        (item.__class__.__name__, *(str(field) for field in item))
        if isinstance(item, Record)
        else (item.__class__.__name__, item.line, item.column, item.value, str(item), item.code)
        for item in items
    ]


class _Never:
    def fullmatch(self, text):
        return None


def read_both_ways(data, chunk):
    """What iter_records reads with blocks of `chunk` lines, and line by line."""
    from imports import parsing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "_CHUNK_ROWS", chunk)
        stream = io.BytesIO(data)
        info = sniff(stream, filename="metrics.csv", max_bytes=MAX_BYTES)
        blocks = list(parsing.iter_blocks(stream, info, header_map=HEADER_MAP))
        by_blocks = list(iter_records(stream, info, header_map=HEADER_MAP))
        patch.setattr(parsing, "_PLAIN_COLUMN", {",": _Never(), ".": _Never()})
        one_by_one = list(parsing.iter_blocks(stream, info, header_map=HEADER_MAP))
    assert not any(isinstance(item, parsing.Block) for item in one_by_one)
    return blocks, by_blocks, one_by_one


PLAIN = {
    "month": [f"{2020 + n // 12}-{n % 12 + 1:02d}" for n in range(120)] + ["01/2025"],
    "campaign": ["Spring sale", "Autumn"],
    "metric": ["visitors", "clicks", "revenue", "Clics"],
    "value": ["12", "0", "007", "12.5", "12,5", "", "-3", "99999999999999"],
}


def cells_from(choices):
    columns = {**choices, "value2": choices["value"], "value3": choices["value"]}
    return st.fixed_dictionaries({name: st.sampled_from(v) for name, v in columns.items()})


@settings(max_examples=300)
@given(
    rows=st.lists(
        st.one_of(cells_from(PLAIN), cells_from(PLAIN), cells_from(PLAIN), cells_from(CELLS)),
        min_size=1,
        max_size=40,
    ),
    delimiter=st.sampled_from([",", ";"]),
    shape=st.sampled_from(["long", "wide"]),
    chunk=st.integers(min_value=1, max_value=12),
    extra=st.sampled_from(["", "\n", "\n\n", ",,,,\n", '2025-01,"Spring\nsale",visitors,1\n']),
)
def test_blocks_read_exactly_what_the_lines_read_one_by_one_read(
    rows, delimiter, shape, chunk, extra
):
    data = csv_text(rows, delimiter=delimiter, shape=shape) + extra.replace(",", delimiter).encode()
    try:
        _blocks, by_blocks, one_by_one = read_both_ways(data, chunk)
    except ParseError:
        return

    assert comparable(by_blocks) == comparable(one_by_one)


@pytest.mark.parametrize("shape", ["long", "wide"])
def test_plain_lines_are_read_as_blocks_and_a_duplicate_far_below_is_still_found(shape):
    rows = [
        {"month": f"{2000 + n // 12}-{n % 12 + 1:02d}", "campaign": "Spring sale",
         "metric": "visitors", "value": str(n), "value2": "", "value3": "1.5"}
        for n in range(30)
    ] + [{"month": "2000-02", "campaign": "Spring sale", "metric": "visitors", "value": "9",
          "value2": "1", "value3": "2"}]  # fmt: skip
    blocks, by_blocks, one_by_one = read_both_ways(csv_text(rows, delimiter=",", shape=shape), 8)

    assert [item.__class__.__name__ for item in blocks][:3] == ["Block"] * 3  # 24 lines
    assert comparable(by_blocks) == comparable(one_by_one)
    [duplicate] = problems(by_blocks)
    assert (duplicate.line, duplicate.code) == (32, "duplicate")
    assert "line 3" in str(duplicate)
