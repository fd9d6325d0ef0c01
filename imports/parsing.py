"""Read the metric files users upload: CSV or .xlsx, long or wide, French or English.

Pure: bytes in, typed records out, every problem reported with its line, column, value and
reason. Nothing here touches the database; the caller maps normalized headers (and, for the
long shape, metric names) to metric codes with a plain dict.

    info = sniff(upload, filename=upload.name, max_bytes=settings.IMPORT_MAX_BYTES)
    for item in iter_records(upload, info, header_map=aliases):
        ...  # a Record, or a Problem to show the user

Both functions stream: a CSV is decoded and parsed line by line, an .xlsx is read through
openpyxl's read-only mode. Only the duplicate-detection keys are kept, one small int a record.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from array import array
from bisect import bisect_left
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain, islice, repeat
from operator import itemgetter, or_
from typing import IO, Any, BinaryIO, Final, Literal, NamedTuple, TypeAlias

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

__all__ = [
    "Block",
    "CellError",
    "FileInfo",
    "Number",
    "ParseError",
    "Problem",
    "Record",
    "iter_blocks",
    "iter_records",
    "normalize_header",
    "parse_month",
    "parse_number",
    "parse_number_cell",
    "sniff",
]


# --- Messages -----------------------------------------------------------------------------


def _interpolate(message: object, params: dict[str, Any]) -> str:
    return str(message) % params


# Interpolated lazily, so a problem found in a worker renders in the language of whoever
# reads it later. A module-level function keeps the proxy picklable.
_lazy_interpolate = lazy(_interpolate, str)


def _msg(message: object, **params: Any) -> str:
    return _lazy_interpolate(message, params)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, placed as precisely as we can.

    ``line`` is the 1-based physical line of a CSV (the header is line 1 unless title lines
    precede it) or the sheet row of an .xlsx; ``None`` for the file as a whole. ``column``
    is the header text (the column letter for an .xlsx column without a header). ``code``
    is a stable identifier for programs and tests; ``reason`` is for people.
    """

    line: int | None
    column: str | None
    value: str | None
    reason: str
    code: str = ""

    def __str__(self) -> str:
        if self.line is not None and self.column is not None:
            return _('line %(line)s, column "%(column)s": %(reason)s') % {
                "line": self.line,
                "column": self.column,
                "reason": self.reason,
            }
        if self.line is not None:
            return _("line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}
        return str(self.reason)


class ParseError(Exception):
    """The file cannot be read at all; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


class CellError(ValueError):
    """A cell's text cannot be read as what its column holds."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return str(self.reason)


def _file_error(code: str, reason: str, line: int | None = None) -> ParseError:
    return ParseError([Problem(line, None, None, reason, code)])


# --- Results ------------------------------------------------------------------------------


class Number(NamedTuple):
    value: Decimal
    is_percent: bool = False


class Record(NamedTuple):
    """One metric value for one month (and campaign, when the file names campaigns)."""

    line: int
    month: date
    campaign: str | None
    metric: str
    value: Decimal | None
    is_percent: bool = False


@dataclass
class FileInfo:
    format: Literal["csv", "xlsx"]
    filename: str
    size_bytes: int
    encoding: str | None  # None for .xlsx
    delimiter: str | None  # None for .xlsx
    decimal_separator: Literal[",", "."]
    shape: Literal["long", "wide"]
    headers: list[str]
    header_line: int
    month_column: int
    campaign_column: int | None
    metric_columns: list[tuple[int, str]]  # wide: (index, header) of every metric column
    metric_column: int | None = None  # long
    value_column: int | None = None  # long
    # Bytes the encoding cannot decode (None: not counted). Each is reported on its line.
    undecodable: int | None = None

    def column_label(self, index: int) -> str:
        if index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        if self.format == "xlsx":
            return _column_letter(index)
        return f"#{index + 1}"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- Headers ------------------------------------------------------------------------------

_NON_ALNUM: Final = re.compile(r"[\W_]+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_header(text: str) -> str:
    """Lower-case, accents stripped, every run of non-alphanumerics one space, trimmed."""
    folded = text.lower() if text.isascii() else _strip_accents(text).casefold()
    return _NON_ALNUM.sub(" ", folded).strip()


MONTH_HEADERS: Final = frozenset(
    {"month", "mois", "date", "period", "periode", "year month", "month year", "mois annee"}
)
CAMPAIGN_HEADERS: Final = frozenset(
    {"campaign", "campagne", "campaign name", "nom de la campagne", "nom de campagne"}
)
METRIC_HEADERS: Final = frozenset({"metric", "metrique", "indicateur", "kpi"})
VALUE_HEADERS: Final = frozenset({"value", "valeur"})

_HEADER_SEARCH_LINES: Final = 10  # title lines an export may put above the header
_SAMPLE_ROWS: Final = 200  # data rows read by sniff() to find the decimal separator


def _layout(headers: list[str]) -> dict[str, Any] | None:
    """Columns and shape from a header row, or None when it has no month column."""
    names = [normalize_header(header) for header in headers]
    month = _first(names, MONTH_HEADERS)
    if month is None:
        return None
    campaign = _first(names, CAMPAIGN_HEADERS)
    metric = _first(names, METRIC_HEADERS)
    value = _first(names, VALUE_HEADERS)
    if metric is not None and value is not None:
        return {
            "shape": "long",
            "month_column": month,
            "campaign_column": campaign,
            "metric_columns": [],
            "metric_column": metric,
            "value_column": value,
        }
    taken = {month, campaign}
    metric_columns = [
        (index, header.strip())
        for index, (header, name) in enumerate(zip(headers, names, strict=True))
        if index not in taken and name
    ]
    return {
        "shape": "wide",
        "month_column": month,
        "campaign_column": campaign,
        "metric_columns": metric_columns,
        "metric_column": None,
        "value_column": None,
    }


def _first(names: list[str], wanted: frozenset[str]) -> int | None:
    for index, name in enumerate(names):
        if name in wanted:
            return index
    return None


# --- Numbers ------------------------------------------------------------------------------

_CURRENCY: Final = r"(?:€|\$|£|chf|eur|usd|gbp)"
_NUMBER_RE: Final = re.compile(
    rf"""
    (?P<sign1>[-+\u2212])?\s*
    (?P<cur1>{_CURRENCY})?\s*
    (?P<sign2>[-+\u2212])?\s*
    (?P<body>[.,]?[0-9](?:[0-9.,'\u2019\s]*[0-9])?)
    (?:e(?P<exp>[-+]?[0-9]{{1,3}}))?
    \s*(?P<pct1>%)?
    \s*(?P<cur2>{_CURRENCY})?
    \s*(?P<pct2>%)?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PLAIN_RE: Final = re.compile(r"-?[0-9]+(?:\.([0-9]+))?")
_GROUPED_FAST: Final[dict[str | None, re.Pattern[str]]] = {
    ",": re.compile(
        r"(-?)([1-9][0-9]{0,2}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,([0-9]+))?(?:[ \u00a0\u202f]?([€%]))?"
    ),
    ".": re.compile(
        r"(-?)([1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?(?:[ \u00a0\u202f]?([%]))?"
    ),
}
_NO_GROUPING: Final = str.maketrans("", "", " \u00a0\u202f,")
_BLANKS: Final = frozenset({"-", "\u2013", "\u2014"})  # how reports (ours too) write "no value"


def _not_a_number(text: str) -> CellError:
    return CellError("not_a_number", _msg(_('"%(value)s" is not a number'), value=text))


def parse_number(text: str, *, decimal_separator: str | None = None) -> Decimal | None:
    """Read a number the way people type it; None for an empty cell (missing, not zero).

    Raises CellError when the text is not a number, or when "1,234" could be either and
    no ``decimal_separator`` hint says which.
    """
    number = parse_number_cell(text, decimal_separator=decimal_separator)
    return None if number is None else number.value


def parse_number_cell(text: str, *, decimal_separator: str | None = None) -> Number | None:
    """Like parse_number, also telling whether the cell carried a percent sign."""
    plain = _PLAIN_RE.fullmatch(text)
    if plain is not None:
        fraction = plain.group(1)
        # "1.234" is a thousand in a file whose decimals use a comma.
        if fraction is None or decimal_separator == "." or len(fraction) != 3:
            return Number(Decimal(text))
    # What exports write most, "7 412", "9 158,38 €", "12,5 %", "1,234.56", without the
    # general parser; anything else (or a hint-less call) falls through to it.
    grouped = _GROUPED_FAST.get(decimal_separator)
    if grouped is not None and (match := grouped.fullmatch(text)) is not None:
        literal = match[1] + match[2].translate(_NO_GROUPING)
        if match[3]:
            literal += "." + match[3]
        return Number(Decimal(literal), match[4] == "%")
    stripped = text.strip()
    if not stripped or stripped in _BLANKS:
        return None
    negative = False
    if stripped[0] == "(" and stripped[-1] == ")":
        negative = True
        stripped = stripped[1:-1].strip()
    match = _NUMBER_RE.fullmatch(stripped)
    if match is None:
        raise _not_a_number(text)
    sign1, sign2 = match["sign1"], match["sign2"]
    signs = [sign for sign in (sign1, sign2) if sign]
    if len(signs) + negative > 1 or (match["cur1"] and match["cur2"]):
        raise _not_a_number(text)
    if match["pct1"] and match["pct2"]:
        raise _not_a_number(text)
    is_percent = bool(match["pct1"] or match["pct2"])
    if is_percent and (match["cur1"] or match["cur2"]):
        raise _not_a_number(text)
    if signs and signs[0] != "+":
        negative = True
    body, exponent = match["body"], match["exp"]
    if exponent and not _MANTISSA_RE.fullmatch(body):
        raise _not_a_number(text)  # "1,23E+05" is Excel's; "1 234E5" is nobody's
    integer, fraction = _split_digits(body, decimal_separator, text)
    literal = ("-" if negative else "") + (integer or "0")
    if fraction:
        literal += "." + fraction
    if exponent:
        literal += "E" + exponent
    try:
        return Number(Decimal(literal), is_percent)
    except InvalidOperation:  # pragma: no cover - the regexes only let digits through
        raise _not_a_number(text) from None


_GROUPED_RE: Final = re.compile(r"[1-9][0-9]{0,2}")
_MANTISSA_RE: Final = re.compile(r"[0-9]*[.,]?[0-9]+")


def _split_digits(body: str, hint: str | None, text: str) -> tuple[str, str]:
    """Integer and fraction digits of a number body, its separators understood."""
    dots, commas = body.count("."), body.count(",")
    spaced = any(char.isspace() or char in "'\u2019" for char in body)
    if dots and commas:
        decimal = "." if body.rfind(".") > body.rfind(",") else ","
        if body.count(decimal) != 1:
            raise _not_a_number(text)
    elif dots or commas:
        mark = "." if dots else ","
        if dots + commas > 1:
            decimal = None  # "1.234.567"
        else:
            head, tail = body.split(mark)
            if spaced or len(tail) != 3 or not _GROUPED_RE.fullmatch(head):
                decimal = mark  # "1 234,567", "12,5", "0,125", "1234,567"
            elif hint == mark:
                decimal = mark
            elif hint is not None:
                decimal = None
            else:
                raise CellError(
                    "ambiguous_number",
                    _msg(
                        _(
                            '"%(value)s" could be read with "%(mark)s" as decimal or as thousands separator'
                        ),
                        value=text,
                        mark=mark,
                    ),
                )
    else:
        decimal = None
    if decimal is None:
        integer, fraction = body, ""
    else:
        integer, fraction = body.rsplit(decimal, 1)
        if not fraction.isdigit():
            raise _not_a_number(text)
    if integer.isdigit() or not integer:
        return integer, fraction
    groups = re.split(r"[\s'\u2019.,]", integer)
    separators = {" " if char.isspace() else char for char in integer if not char.isdigit()}
    if (
        len(separators) != 1
        or not _GROUPED_RE.fullmatch(groups[0])
        or any(len(group) != 3 or not group.isdigit() for group in groups[1:])
    ):
        raise _not_a_number(text)
    return "".join(groups), fraction


# --- Months -------------------------------------------------------------------------------

_MONTH_NAMES: Final = {
    name: number
    for number, names in enumerate(
        [
            "janvier janv jan january",
            "fevrier fevr fev february feb",
            "mars mar march",
            "avril avr april apr",
            "mai may",
            "juin june jun",
            "juillet juil juill july jul",
            "aout aou august aug",
            "septembre sept sep september",
            "octobre oct october",
            "novembre nov november",
            "decembre dec december",
        ],
        start=1,
    )
    for name in names.split()
}
_TIME: Final = r"(?:[ t][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_YEAR_MONTH_RE: Final = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})")
_ISO_DATE_RE: Final = re.compile(rf"([0-9]{{4}})[-/.]([0-9]{{1,2}})[-/.]([0-9]{{1,2}}){_TIME}")
_MONTH_YEAR_RE: Final = re.compile(r"([0-9]{1,2})[-/.]([0-9]{4})")
_DAY_FIRST_RE: Final = re.compile(rf"([0-9]{{1,2}})[-/.]([0-9]{{1,2}})[-/.]([0-9]{{4}}){_TIME}")
_COMPACT_RE: Final = re.compile(r"([0-9]{4})([0-9]{2})")  # GA4's yearMonth: 202501
_NAME_YEAR_RE: Final = re.compile(r"(?:([0-9]{1,2})(?:er)? )?([a-z]+)\.?[ ,\-]*([0-9]{4})")
_YEAR_NAME_RE: Final = re.compile(r"([0-9]{4})[ \-]+([a-z]+)\.?")
_NAME_DAY_YEAR_RE: Final = re.compile(r"([a-z]+)\.? ([0-9]{1,2}), ([0-9]{4})")
# "jan-25" is Excel's mmm-yy; with a space ("Jan 25") it would read as a day, so no.
_NAME_SHORT_YEAR_RE: Final = re.compile(r"([a-z]+)\.? ?[-/'\u2019]([0-9]{2})")


def _bad_month(value: object) -> CellError:
    text = "" if value is None else str(value).strip()
    if not text:
        return CellError("bad_month", _msg(_("the month is missing")))
    return CellError(
        "bad_month",
        _msg(
            _('"%(value)s": month cannot be read (write it like 2025-01, 01/2025 or janvier 2025)'),
            value=text,
        ),
    )


def _month(year: int, month: int, day: int = 1) -> date | None:
    if not 1900 <= year <= 2199:
        return None
    try:
        date(year, month, day)
    except ValueError:
        return None
    return date(year, month, 1)


def _month_from_text(text: str) -> date | None:
    folded = " ".join(_strip_accents(text).casefold().split())
    if match := _YEAR_MONTH_RE.fullmatch(folded):
        return _month(int(match[1]), int(match[2]))
    if match := _MONTH_YEAR_RE.fullmatch(folded):
        return _month(int(match[2]), int(match[1]))
    if match := _ISO_DATE_RE.fullmatch(folded):
        return _month(int(match[1]), int(match[2]), int(match[3]))
    if match := _DAY_FIRST_RE.fullmatch(folded):
        return _month(int(match[3]), int(match[2]), int(match[1]))
    if match := _COMPACT_RE.fullmatch(folded):
        return _month(int(match[1]), int(match[2]))
    if match := _NAME_YEAR_RE.fullmatch(folded):
        number = _MONTH_NAMES.get(match[2])
        day = int(match[1]) if match[1] else 1
        return _month(int(match[3]), number, day) if number else None
    if match := _YEAR_NAME_RE.fullmatch(folded):
        number = _MONTH_NAMES.get(match[2])
        return _month(int(match[1]), number) if number else None
    if match := _NAME_DAY_YEAR_RE.fullmatch(folded):
        number = _MONTH_NAMES.get(match[1])
        return _month(int(match[3]), number, int(match[2])) if number else None
    if match := _NAME_SHORT_YEAR_RE.fullmatch(folded):
        number = _MONTH_NAMES.get(match[1])
        return _month(2000 + int(match[2]), number) if number else None
    return None


def parse_month(value: object) -> date:
    """The first day of the month a cell names: text in French or English, or a date."""
    if isinstance(value, datetime):
        return date(value.year, value.month, 1)
    if isinstance(value, date):
        return value.replace(day=1)
    if isinstance(value, Number):  # an .xlsx number cell: 202501
        value = str(value.value)
    if isinstance(value, str):
        month = _month_from_text(value)
        if month is not None:
            return month
    raise _bad_month(value)


# --- Sniffing -----------------------------------------------------------------------------

_HEAD_BYTES: Final = 64 * 1024
_CHUNK_BYTES: Final = 1024 * 1024
_MAX_LINE_CHARS: Final = 1024 * 1024
_ENCODING_NAMES: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
}
_DELIMITERS: Final = (";", "\t", ",")
# Decimal evidence in sample cells: two decimals ("12,50"), four or more ("0,1234"), or
# both separators in one number ("1.234,56"). Three digits alone ("1,234") proves nothing.
_COMMA_DECIMAL_RE: Final = re.compile(
    r"[0-9],(?:[0-9]{1,2}|[0-9]{4,})(?![0-9])|[0-9]\.[0-9]{3},[0-9]"
)
_POINT_DECIMAL_RE: Final = re.compile(
    r"[0-9]\.(?:[0-9]{1,2}|[0-9]{4,})(?![0-9])|[0-9],[0-9]{3}\.[0-9]"
)


def sniff(stream: BinaryIO | IO[bytes], *, filename: str, max_bytes: int) -> FileInfo:
    """Find out what the file is and how its columns are laid out, reading little of it.

    Raises ParseError for an empty or over-size file, a file that is not CSV or .xlsx, a
    header without a month column, or a header with no data below it. Leaves the stream
    wherever; iter_records() rewinds it.
    """
    size = _size(stream)
    if size == 0:
        raise _file_error("empty_file", _msg(_("The file is empty.")))
    if size > max_bytes:
        raise _file_error(
            "too_large",
            _msg(
                _("The file weighs %(size)s MB; the limit is %(limit)s MB."),
                size=_megabytes(size),
                limit=_megabytes(max_bytes),
            ),
        )
    stream.seek(0)
    head = stream.read(_HEAD_BYTES)
    if head.startswith(b"PK\x03\x04") and _is_xlsx(stream, max_bytes):
        return _sniff_xlsx(stream, filename=filename, size=size)
    kind = _binary_kind(head, stream)
    if kind is not None:
        raise _file_error(
            "not_tabular",
            _msg(
                _("This file is %(kind)s, not a CSV or .xlsx spreadsheet."),
                kind=kind,
            ),
        )
    return _sniff_csv(stream, head, filename=filename, size=size)


def _size(stream: BinaryIO | IO[bytes]) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


def _is_xlsx(stream: BinaryIO | IO[bytes], max_bytes: int) -> bool:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    if not any(member.filename.startswith("xl/") for member in members):
        return False
    # A few kilobytes that inflate to gigabytes would keep a worker busy for minutes.
    if sum(member.file_size for member in members) > max(40 * max_bytes, 200_000_000):
        raise _file_error(
            "not_tabular", _msg(_("This .xlsx file expands to an unreasonable size."))
        )
    return True


def _binary_kind(head: bytes, stream: BinaryIO | IO[bytes]) -> str | Promise | None:
    """What the file is, when it is something other than text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # Excel's "Unicode text": tab-separated UTF-16
    signatures: list[tuple[bytes, str | Promise]] = [
        (b"%PDF", _("a PDF document")),
        (b"\x89PNG", _("a PNG image")),
        (b"\xff\xd8\xff", _("a JPEG image")),
        (b"GIF8", _("a GIF image")),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            _(
                "an Excel 97-2003 workbook (.xls) or a password-protected workbook; save it as .xlsx or as CSV"
            ),
        ),
        (b"{\\rtf", _("an RTF document")),
    ]
    for signature, kind in signatures:
        if head.startswith(signature):
            return kind
    if head.startswith(b"PK\x03\x04"):
        stream.seek(0)
        with (
            contextlib.suppress(zipfile.BadZipFile, OSError, ValueError, KeyError),
            zipfile.ZipFile(stream) as archive,
        ):
            if b"opendocument.spreadsheet" in archive.read("mimetype"):
                return _("an OpenDocument spreadsheet (.ods); save it as .xlsx or as CSV")
        return _("a zip archive")
    start = head.lstrip()[:256].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table")):
        return _(
            "a web page (HTML) named like a spreadsheet; open it and save it as .xlsx or as CSV"
        )
    if start.startswith(b"<?xml"):
        return _("an XML document")
    controls = sum(head.count(bytes([byte])) for byte in (*range(9), 11, 12, *range(14, 32)))
    if b"\x00" in head or controls > len(head) // 100:
        return _("a binary file")
    return None


_CP1252_HOLES: Final = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")  # undefined bytes


def _detect_encoding(stream: BinaryIO | IO[bytes], head: bytes) -> tuple[str, int | None]:
    """The encoding, and how many bytes of the file it cannot decode (None: not counted).

    utf-8-sig or utf-16 from a BOM; else UTF-8 if the bytes mostly are; else Windows-1252.
    The whole file is scanned (in chunks): an export can be ASCII for thousands of lines
    before its first "é". A UTF-8 file with a few broken bytes stays UTF-8 so that they are
    reported on their lines instead of silently turning every accent into mojibake.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    invalid = valid = holes = 0
    stream.seek(0)
    while True:
        chunk = stream.read(_CHUNK_BYTES)
        text = decoder.decode(chunk, final=not chunk)
        if not text.isascii():
            bad = text.count("\ufffd")
            invalid += bad
            valid += len(text) - len(text.encode("ascii", "ignore")) - bad
            holes += sum(chunk.count(hole) for hole in _CP1252_HOLES)
        if not chunk:
            break
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", invalid
    if invalid == 0 or valid > invalid:
        return "utf-8", invalid
    return "cp1252", holes


def _choose_delimiter(line: str) -> str:
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    # French decimals use commas: on a tie, a semicolon or a tab is the delimiter.
    best = max((";", "\t"), key=counts.__getitem__)
    if counts[best] and counts[best] >= counts[","]:
        return best
    return ","


def _open_text(stream: BinaryIO | IO[bytes], encoding: str) -> io.TextIOWrapper:
    stream.seek(0)
    return io.TextIOWrapper(
        stream,  # type: ignore[arg-type]
        encoding=encoding,
        errors="replace",
        newline="",
    )


def _release(text: io.TextIOWrapper) -> None:
    # Detach so that closing the wrapper does not close the caller's file.
    with contextlib.suppress(ValueError):
        text.detach()


def _csv_reader(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)


def _sniff_csv(stream: BinaryIO | IO[bytes], head: bytes, *, filename: str, size: int) -> FileInfo:
    encoding, undecodable = _detect_encoding(stream, head)
    text = _open_text(stream, encoding)
    try:
        candidates: list[tuple[int, str]] = []
        number = 0
        while len(candidates) < _HEADER_SEARCH_LINES:
            line = text.readline(_MAX_LINE_CHARS)
            if not line:
                break
            number += 1
            if line.strip(" \t\r\n;,"):
                candidates.append((number, line))
    finally:
        _release(text)
    if not candidates:
        raise _file_error("empty_file", _msg(_("The file is empty.")))
    header_line = delimiter = None
    for number, line in candidates:
        guess = _choose_delimiter(line)
        cells = next(_csv_reader([line], guess), [])
        if _layout([cell.strip() for cell in cells]) is not None:
            header_line, delimiter = number, guess
            break
    if header_line is None or delimiter is None:
        first_number, first_line = candidates[0]
        cells = next(_csv_reader([first_line], _choose_delimiter(first_line)), [])
        raise _no_month_column(cells, first_number)

    text = _open_text(stream, encoding)
    try:
        reader = csv.reader(text, delimiter=delimiter)
        last = 0
        headers: list[str] = []
        samples: list[list[str]] = []
        try:
            for row in reader:
                start, last = last + 1, reader.line_num
                if start < header_line:
                    continue
                if not headers:
                    headers = [cell.strip() for cell in row]
                    continue
                if any(cell.strip() for cell in row):
                    samples.append(row)
                    if len(samples) >= _SAMPLE_ROWS:
                        break
        except csv.Error as exc:
            if not samples:  # else iter_records() reports it where it happens
                raise _malformed(last + 1, exc) from exc
    finally:
        _release(text)
    return _file_info(
        headers,
        samples,
        format="csv",
        filename=filename,
        size=size,
        encoding=encoding,
        delimiter=delimiter,
        header_line=header_line,
        undecodable=undecodable,
    )


def _no_month_column(cells: Iterable[object], line: int) -> ParseError:
    found = ", ".join(f'"{cell}"' for cell in cells if cell is not None and str(cell).strip())
    return _file_error(
        "no_month_column",
        _msg(
            _(
                "No month column: name one column Month, Mois, Date or Period (the first line holds %(headers)s)."
            ),
            headers=found or '""',
        ),
        line=line,
    )


def _file_info(
    headers: list[str],
    samples: list[list[Any]],
    *,
    format: Literal["csv", "xlsx"],
    filename: str,
    size: int,
    encoding: str | None,
    delimiter: str | None,
    header_line: int,
    undecodable: int | None = 0,
) -> FileInfo:
    while headers and not headers[-1]:
        headers.pop()  # "Month;Clicks;": a stray delimiter, not a column
    layout = _layout(headers)
    if layout is None:  # pragma: no cover - the header was chosen for its month column
        raise _no_month_column(headers, header_line)
    if layout["shape"] == "wide" and not layout["metric_columns"]:
        raise _file_error(
            "no_metric_columns",
            _msg(_("Besides the month and the campaign, the header names no metric.")),
            line=header_line,
        )
    if not samples:
        raise _file_error(
            "no_data",
            _msg(_("The file has a header but no data below it.")),
            line=header_line,
        )
    if layout["shape"] == "long":
        number_columns = [layout["value_column"]]
    else:
        number_columns = [index for index, _header in layout["metric_columns"]]
    comma = point = 0
    for row in samples:
        for index in number_columns:
            if index < len(row) and isinstance(row[index], str):
                comma += bool(_COMMA_DECIMAL_RE.search(row[index]))
                point += bool(_POINT_DECIMAL_RE.search(row[index]))
    decimal_separator: Literal[",", "."]
    if comma != point:
        decimal_separator = "," if comma > point else "."
    else:
        decimal_separator = "," if delimiter == ";" else "."
    return FileInfo(
        format=format,
        filename=filename,
        size_bytes=size,
        encoding=encoding,
        delimiter=delimiter,
        decimal_separator=decimal_separator,
        headers=headers,
        header_line=header_line,
        undecodable=undecodable,
        **layout,
    )


# --- .xlsx --------------------------------------------------------------------------------


def _open_workbook(stream: BinaryIO | IO[bytes]) -> Any:
    from openpyxl import load_workbook

    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Workbook contains no default style" and kin
            return load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises whatever its zip and XML layers raise
        raise _file_error(
            "unreadable_xlsx",
            _msg(
                _("This .xlsx file cannot be opened (%(error)s)."),
                error=str(exc) or type(exc).__name__,
            ),
        ) from exc


def _xlsx_value(cell: Any) -> object:
    """A cell as the parser wants it: str, date/datetime, Number, or "" when empty."""
    value = cell.value
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int | float):
        if isinstance(value, float):
            # Excel shows 15 significant digits; beyond them a float is binary noise.
            number = Decimal(int(value)) if value.is_integer() else Decimal(format(value, ".15g"))
        else:
            number = Decimal(value)
        if "%" in (cell.number_format or ""):
            return Number(number * 100, True)
        return Number(number)
    if isinstance(value, date):
        return value
    return str(value)


def _xlsx_rows(stream: BinaryIO | IO[bytes]) -> Generator[tuple[int, list[object]], None, None]:
    workbook = _open_workbook(stream)
    try:
        if not workbook.worksheets:
            raise _file_error("no_data", _msg(_("This .xlsx file has no worksheet.")))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong used range; trust the rows
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, [_xlsx_value(cell) for cell in row]
    finally:
        workbook.close()


def _sniff_xlsx(stream: BinaryIO | IO[bytes], *, filename: str, size: int) -> FileInfo:
    rows = _xlsx_rows(stream)
    header_line = 0
    headers: list[str] = []
    first: tuple[int, list[str]] | None = None
    samples: list[list[Any]] = []
    seen = 0
    try:
        for number, cells in rows:
            if not any(cells):
                continue
            if not headers:
                texts = [_xlsx_text(cell) for cell in cells]
                first = first or (number, texts)
                seen += 1
                if _layout(texts) is not None:
                    headers, header_line = texts, number
                elif seen >= _HEADER_SEARCH_LINES:
                    break
                continue
            samples.append(cells)
            if len(samples) >= _SAMPLE_ROWS:
                break
    except ParseError:
        raise
    except Exception as exc:
        raise _file_error(
            "unreadable_xlsx",
            _msg(
                _("This .xlsx file cannot be read (%(error)s)."),
                error=str(exc) or type(exc).__name__,
            ),
        ) from exc
    finally:
        rows.close()
    if not headers:
        if first is None:
            raise _file_error("empty_file", _msg(_("The file is empty.")))
        raise _no_month_column(first[1], first[0])
    return _file_info(
        headers,
        samples,
        format="xlsx",
        filename=filename,
        size=size,
        encoding=None,
        delimiter=None,
        header_line=header_line,
    )


def _xlsx_text(cell: object) -> str:
    if isinstance(cell, Number):
        return str(cell.value)
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


# --- Records ------------------------------------------------------------------------------

Cell: TypeAlias = object  # str from a CSV; str, Number, date or datetime from an .xlsx
Row: TypeAlias = tuple[int, list[Any]]
Rows: TypeAlias = Generator[Row | Problem, None, None]


class Block(NamedTuple):
    """Consecutive records whose cells all read without a doubt, column by column.

    What most of a machine-made CSV is: every month, campaign and metric already met and
    good, every value a plain number ("1234", "-5", "12.50", "12,50" with a decimal comma)
    or empty, no line repeating another's month, campaign and metric. Reading such lines
    as a block skips the per-record work (one Record each), which is most of the reading
    time of a big file; any doubt, and the lines are read one by one instead.
    """

    lines: Sequence[int]
    months: Sequence[date]
    campaigns: Sequence[str] | None  # None for a file without a campaign column
    codes: Sequence[str]
    values: Sequence[str]  # decimal literals ("1234.5"); "" for an empty cell
    negative: bool  # some value is negative
    widest: int  # the longest value literal

    def records(self) -> Iterator[Record]:
        campaigns = self.campaigns if self.campaigns is not None else repeat(None)
        for line, month, campaign, code, value in zip(
            self.lines, self.months, campaigns, self.codes, self.values, strict=False
        ):
            yield Record(line, month, campaign, code, Decimal(value) if value else None)


def iter_records(
    stream: BinaryIO | IO[bytes], info: FileInfo, *, header_map: Mapping[str, str | None]
) -> Iterator[Record | Problem]:
    """Every record of the file, and every problem, in file order.

    ``header_map`` maps a normalized header (see normalize_header) to a metric code, or to
    None for a column to ignore. Wide files look up their metric headers in it; long files
    look up the content of their metric column.
    """
    for item in iter_blocks(stream, info, header_map=header_map):
        if item.__class__ is Block:
            yield from item.records()  # type: ignore[union-attr]
        else:
            yield item  # type: ignore[misc]


def iter_blocks(
    stream: BinaryIO | IO[bytes], info: FileInfo, *, header_map: Mapping[str, str | None]
) -> Iterator[Block | Record | Problem]:
    """Like iter_records, with runs of plain records given as Blocks (CSV files only)."""
    chunks: Generator[Chunk, None, None]
    if info.format == "xlsx":
        chunks = _chunks(_xlsx_data_rows(stream, info))
    else:
        chunks = _csv_chunks(stream, info)
    try:
        if info.shape == "long":
            yield from _long_records(chunks, info, header_map)
        else:
            yield from _wide_records(chunks, info, header_map)
    finally:
        chunks.close()


# Rows read at once. Fewer than the 700 new containers after which Python's cyclic garbage
# collector runs: bigger chunks would survive collections, and be walked through again and
# again by the older generations' (a third of the reading time, measured).
_CHUNK_ROWS: Final = 500
# A column of plain values, each followed by a newline (empty: no value).
_PLAIN_COLUMN: Final = {
    ".": re.compile(r"(?:(?:-?[0-9]+(?:\.[0-9]+)?)?\n)*"),
    ",": re.compile(r"(?:(?:-?[0-9]+(?:,[0-9]+)?)?\n)*"),
}


def _chunks(rows: Rows) -> Generator[Chunk, None, None]:
    try:
        while chunk := list(islice(rows, _CHUNK_ROWS)):
            yield chunk
    finally:
        rows.close()


def _plain_values(
    cells: Iterable[str], count: int, decimal_separator: str
) -> tuple[list[str], bool] | None:
    """The cells as decimal literals, and whether one is negative; None unless every one
    is a plain number or empty.

    "1.234" is a plain number when the decimal separator is a point, and a thousand when it
    is a comma, like parse_number_cell reads it: with a comma, a point sends the lines to
    the full reading."""
    joined = "\n".join(cells) + "\n"
    if joined.count("\n") != count or not _PLAIN_COLUMN[decimal_separator].fullmatch(joined):
        return None
    if decimal_separator == ",":
        joined = joined.replace(",", ".")
    return joined.split("\n")[:-1], "-" in joined


def _known_cells(cells: Sequence[Cell], cache: dict, read: Callable[[Any], object]) -> list | None:
    """Each cell's cached reading (read() fills the cache), or None when one is missing."""
    for cell in set(cells).difference(cache):
        read(cell)
    found = list(map(cache.get, cells))
    return None if None in found else found


def _csv_data_rows(stream: BinaryIO | IO[bytes], info: FileInfo) -> Rows:
    """The data rows one by one, each line with bytes the encoding cannot decode flagged."""
    assert info.encoding is not None and info.delimiter is not None
    text = _open_text(stream, info.encoding)
    decoded_badly = [False]

    def flagged_lines() -> Iterator[str]:
        for line in text:
            if "\ufffd" in line:
                decoded_badly[0] = True
            yield line

    reader = csv.reader(flagged_lines(), delimiter=info.delimiter)
    width = len(info.headers)
    header_line = info.header_line
    last = 0
    try:
        for row in reader:
            start = last + 1
            last = reader.line_num
            if start <= header_line:
                decoded_badly[0] = False
                continue
            if decoded_badly[0]:
                decoded_badly[0] = False
                yield _decode_problem(start, row, info)
                continue
            item = _row_item(start, row, width)
            if item is not None:
                yield item
    except csv.Error as exc:
        yield _malformed(last + 1, exc).problems[0]
    finally:
        _release(text)


def _row_item(start: int, row: list[str], width: int) -> Row | Problem | None:
    """A data row as read (its first line, its cells), a Problem, or None for a blank line."""
    if len(row) != width or not row[0]:
        if not any(row):
            return None  # blank line, or only delimiters
        if len(row) > width and not any(cell.strip() for cell in row[width:]):
            del row[width:]  # trailing empty cells: a stray delimiter at line end
        elif len(row) != width:
            return _ragged(start, len(row), width)
    return start, row


class _Clean(NamedTuple):
    """Consecutive rows of one line each, all as wide as the header, none blank."""

    lines: range
    rows: list[list[str]]


Chunk: TypeAlias = "_Clean | list[Row | Problem]"


def _blocks_or_rows(
    chunks: Iterable[Chunk], block: Callable[[range, list[list[str]]], Block | None]
) -> Iterator[Block | Row | Problem]:
    """Each clean chunk as one Block when ``block`` reads it whole, else its rows one by one;
    the other chunks' rows and problems as they come. Rows are plain tuples, told apart from
    a Block or a Problem by their class (the fast test on this path)."""
    for chunk in chunks:
        if chunk.__class__ is _Clean:
            lines, rows = chunk  # type: ignore[misc]
            found = block(lines, rows)
            if found is not None:
                yield found
            else:
                yield from zip(lines, rows, strict=True)
        else:
            yield from chunk  # type: ignore[misc]


def _csv_chunks(stream: BinaryIO | IO[bytes], info: FileInfo) -> Generator[Chunk, None, None]:
    """The data rows by thousands: _Clean runs, read by the csv module alone (no Python
    code per row), or lists of rows and problems, as _csv_data_rows gives them."""
    if info.undecodable != 0:  # lines with bytes the encoding cannot decode: one by one
        yield from _chunks(_csv_data_rows(stream, info))
        return
    assert info.encoding is not None and info.delimiter is not None
    text = _open_text(stream, info.encoding)
    reader = csv.reader(text, delimiter=info.delimiter)
    width = len(info.headers)
    header_line = info.header_line
    last = 0  # the last line read
    try:
        while last < header_line:  # the title lines and the header, skipped
            try:
                next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield [_malformed(last + 1, exc).problems[0]]
                return
            last = reader.line_num
        while True:
            rows: list[list[str]] = []
            error = None
            try:
                rows.extend(islice(reader, _CHUNK_ROWS))  # keeps the rows read before an error
            except csv.Error as exc:
                error = exc
            if not rows and error is None:
                return
            one_line_each = error is None and reader.line_num - last == len(rows)
            if one_line_each and set(map(len, rows)) == {width} and all(map(any, rows)):
                yield _Clean(range(last + 1, reader.line_num + 1), rows)
                last = reader.line_num
                continue
            items: list[Row | Problem] = []
            for row in rows:
                start = last + 1
                last = start if one_line_each else start + _line_breaks(row)
                item = _row_item(start, row, width)
                if item is not None:
                    items.append(item)
            if error is not None:
                items.append(_malformed(last + 1, error).problems[0])
            yield items
            if error is not None:
                return
    finally:
        _release(text)


def _line_breaks(row: list[str]) -> int:
    """How many line breaks the row's quoted cells hold (each one more line of the file)."""
    return sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in row)


def _decode_problem(line: int, row: list[str], info: FileInfo) -> Problem:
    index = next((i for i, cell in enumerate(row) if "\ufffd" in cell), 0)
    encoding = _ENCODING_NAMES.get(info.encoding or "", info.encoding)
    return Problem(
        line,
        info.column_label(index),
        row[index] if row else "",
        _msg(_("holds bytes that are not valid %(encoding)s"), encoding=encoding),
        "decode_error",
    )


def _malformed(line: int, exc: csv.Error) -> ParseError:
    return _file_error(
        "malformed_csv",
        _msg(_("the CSV structure is broken here (%(error)s); reading stopped"), error=str(exc)),
        line=line,
    )


def _ragged(line: int, count: int, width: int) -> Problem:
    return Problem(
        line,
        None,
        None,
        _msg(_("%(count)s cells, but the header has %(width)s"), count=count, width=width),
        "ragged_row",
    )


def _xlsx_data_rows(stream: BinaryIO | IO[bytes], info: FileInfo) -> Rows:
    width = len(info.headers)
    number = info.header_line
    rows = _xlsx_rows(stream)
    try:
        for number, cells in rows:
            if number <= info.header_line or not any(cells):
                continue
            count = len(cells)
            if count > width:
                while count > width and cells[count - 1] == "":
                    count -= 1
                if count > width:
                    yield Problem(
                        number,
                        _column_letter(count - 1),
                        _cell_text(cells[count - 1]),
                        _msg(_("a value beyond the %(width)s columns of the header"), width=width),
                        "ragged_row",
                    )
                    continue
                del cells[width:]
            elif count < width:
                cells.extend([""] * (width - count))
            yield number, cells
    except ParseError as exc:
        yield from exc.problems
    except Exception as exc:
        yield Problem(
            number + 1,
            None,
            None,
            _msg(
                _("the file is damaged here (%(error)s); reading stopped"),
                error=str(exc) or type(exc).__name__,
            ),
            "damaged_file",
        )
    finally:
        rows.close()


def _cell_text(cell: Cell) -> str:
    if cell.__class__ is str:
        return cell  # type: ignore[return-value]
    if isinstance(cell, Number):
        return str(cell.value)
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _read_number(cell: Cell, decimal_separator: str) -> Number | None:
    if cell.__class__ is str:
        return parse_number_cell(cell, decimal_separator=decimal_separator)  # type: ignore[arg-type]
    if isinstance(cell, Number):
        return cell
    raise _not_a_number(_cell_text(cell))


class _Months:
    """parse_month with a memory: a file repeats its few dozen months on every row.

    Gives the month with its number since 1900 (under 3 600: parse_month stops at 2199),
    the low 12 bits of a duplicate-detection key; or the CellError.
    """

    def __init__(self) -> None:
        self.known: dict[object, tuple[date, int] | CellError] = {}

    def read(self, cell: Cell) -> tuple[date, int] | CellError:
        known = self.known.get(cell)
        if known is not None:
            return known
        try:
            month = parse_month(cell)
        except CellError as error:
            known = error
        else:
            known = (month, (month.year - 1900) * 12 + month.month - 1)
        if len(self.known) > 10_000:
            self.known.clear()
        self.known[cell] = known
        return known


class _Campaigns:
    """Campaign names with a small id each, so a duplicate key packs into one int."""

    def __init__(self, shift: int) -> None:
        self.shift = shift
        self.known: dict[object, tuple[str, int]] = {}
        self.ids: dict[str, int] = {}

    def read(self, cell: Cell) -> tuple[str, int]:
        known = self.known.get(cell)
        if known is None:
            name = _cell_text(cell).strip()
            number = self.ids.setdefault(name, len(self.ids) + 1)
            known = (name, number << self.shift)
            if len(self.known) < 100_000:
                self.known[cell] = known
        return known


class _Seen:
    """The keys of the records met so far (month, campaign and metric packed in one int),
    to find two lines giving the same one, and the line each was first met on.

    A block's keys go at once into the keys of its campaign (the key's high bits): a few
    thousand keys stay in the processor's cache, where a dict of a million keys costs a
    memory access per key. Their lines are looked up only to report a duplicate. Only
    dicts of ints and arrays: nothing the garbage collector has to walk through.
    """

    def __init__(self, campaign_shift: int) -> None:
        self.shift = campaign_shift
        self.parts: dict[int, dict[int, None]] = {}  # campaign -> its keys
        self.lines: dict[int, int] = {}  # keys met one by one -> line
        self.blocks: list[tuple[array[int], range]] = []  # keys met in blocks, their lines
        self.block_lines: dict[int, int] | None = None

    def add_block(self, keys: list[int], lines: range) -> bool:
        """Add the keys of a block, each on its line; False (nothing added) when a key
        repeats or was met before."""
        ordered = sorted(keys)
        shift, parts = self.shift, self.parts
        groups = []
        start, count = 0, len(ordered)
        while start < count:
            top = ordered[start] >> shift
            end = bisect_left(ordered, (top + 1) << shift, start)
            group = dict.fromkeys(ordered[start:end])
            known = parts.get(top)
            if len(group) != end - start or (
                known is not None and not known.keys().isdisjoint(group)
            ):
                return False
            groups.append((top, group))
            start = end
        for top, group in groups:
            known = parts.get(top)
            if known is None:
                parts[top] = group
            else:
                known.update(group)
        self.blocks.append((array("q", keys), lines))
        self.block_lines = None
        return True

    def first_line(self, key: int, line: int) -> int:
        """The line the key was first met on; ``line`` if it is met now for the first time."""
        part = self.parts.get(key >> self.shift)
        if part is None:
            part = self.parts[key >> self.shift] = {}
        elif key in part:
            found = self.lines.get(key)
            if found is None:
                if self.block_lines is None:
                    self.block_lines = {}
                    for keys, lines in reversed(self.blocks):  # the first line wins
                        self.block_lines.update(zip(keys, lines, strict=True))
                found = self.block_lines[key]
            return found
        part[key] = None
        self.lines[key] = line
        return line


_NO_CAMPAIGN: Final = (None, 0)


def _campaign_problem(line: int, info: FileInfo) -> Problem:
    assert info.campaign_column is not None
    return Problem(
        line,
        info.column_label(info.campaign_column),
        "",
        _msg(_("the campaign is missing")),
        "empty_campaign",
    )


def _month_problem(line: int, info: FileInfo, cell: Cell, error: CellError) -> Problem:
    label = info.column_label(info.month_column)
    return Problem(line, label, _cell_text(cell), error.reason, error.code)


def _block_campaigns(
    columns: Sequence[Sequence[Cell]], campaign_index: int | None, campaigns: _Campaigns
) -> tuple[list[str] | None, Iterable[int]] | None:
    """A block's campaign names and keys (none without a campaign column, keys 0), or None
    when a cell is unknown or blank: the lines are then read one by one."""
    if campaign_index is None:
        return None, repeat(0)
    found = _known_cells(columns[campaign_index], campaigns.known, campaigns.read)
    if found is None:
        return None
    names = list(map(itemgetter(0), found))
    if "" in names:
        return None
    return names, map(itemgetter(1), found)


def _long_records(
    chunks: Iterator[Chunk], info: FileInfo, header_map: Mapping[str, str | None]
) -> Iterator[Block | Record | Problem]:
    assert info.metric_column is not None and info.value_column is not None
    month_index, campaign_index = info.month_column, info.campaign_column
    metric_index, value_index = info.metric_column, info.value_column
    metric_label = info.column_label(metric_index)
    value_label = info.column_label(value_index)
    decimal_separator = info.decimal_separator
    # With a decimal point, "1234.5" (most cells of an English export) needs no full parse.
    plain = _PLAIN_RE.fullmatch if decimal_separator == "." else None
    # (month, campaign, metric) packs into one small int: campaign << 28 | metric << 12 | month.
    months = _Months()
    campaigns = _Campaigns(28)
    metrics: dict[object, tuple[str, int] | None] = {}  # metric cell -> (code, id) or skip
    metric_ids: dict[str, int] = {}
    seen = _Seen(28)

    def read_metric(cell: Cell) -> None:
        code, problem = _metric_code(cell, 0, metric_label, header_map)
        if problem is None:  # else the lines are read one by one, and it is reported there
            metrics[cell] = (
                None if code is None else (code, metric_ids.setdefault(code, len(metric_ids)) << 12)
            )

    def block(lines: range, rows: list[list[str]]) -> Block | None:
        """The rows as a Block, or None (nothing read: the lines are read one by one)."""
        columns = list(zip(*rows, strict=True))
        metric_found = _known_cells(columns[metric_index], metrics, read_metric)
        month_found = _known_cells(columns[month_index], months.known, months.read)
        if metric_found is None or month_found is None:
            return None  # an unknown or ignored metric, a bad month
        if set(map(type, month_found)) != {tuple}:
            return None
        found = _block_campaigns(columns, campaign_index, campaigns)
        if found is None:
            return None
        names, campaign_keys = found
        plain_values = _plain_values(columns[value_index], len(lines), decimal_separator)
        if plain_values is None:
            return None
        values, negative = plain_values
        keys = list(
            map(or_, map(or_, map(itemgetter(1), month_found), campaign_keys),
                map(itemgetter(1), metric_found))
        )  # fmt: skip
        if not seen.add_block(keys, lines):
            return None  # a duplicate: reported line by line
        return Block(
            lines,
            list(map(itemgetter(0), month_found)),
            names,
            list(map(itemgetter(0), metric_found)),
            values,
            negative,
            max(map(len, values)),
        )

    for item in _blocks_or_rows(chunks, block):
        if item.__class__ is not tuple:  # a Block read whole, or a Problem of the reader
            yield item  # type: ignore[misc]
            continue
        line, cells = item  # type: ignore[misc]

        raw_metric = cells[metric_index]
        try:
            metric = metrics[raw_metric]
        except KeyError:
            code, problem = _metric_code(raw_metric, line, metric_label, header_map)
            if problem is not None:
                yield problem
            metric = (
                None if code is None else (code, metric_ids.setdefault(code, len(metric_ids)) << 12)
            )
            if problem is None or problem.code == "unknown_metric":
                metrics[raw_metric] = metric  # an unknown name is reported once, a blank always
        if metric is None:
            continue

        month = months.read(cells[month_index])
        if isinstance(month, CellError):
            yield _month_problem(line, info, cells[month_index], month)
            continue

        campaign: tuple[str | None, int] = _NO_CAMPAIGN
        if campaign_index is not None:
            campaign = campaigns.read(cells[campaign_index])
            if not campaign[0]:
                yield _campaign_problem(line, info)
                continue

        raw_value = cells[value_index]
        if raw_value.__class__ is str and (
            raw_value.isdecimal() or (plain is not None and plain(raw_value))
        ):
            value: Decimal | None = Decimal(raw_value)
            is_percent = False
        else:
            try:
                number = _read_number(raw_value, decimal_separator)
            except CellError as error:
                yield Problem(line, value_label, _cell_text(raw_value), error.reason, error.code)
                continue
            value, is_percent = (None, False) if number is None else number

        first_line = seen.first_line(month[1] | campaign[1] | metric[1], line)
        if first_line != line:
            yield _duplicate(line, metric_label, _cell_text(raw_metric), first_line)
            continue
        yield Record(line, month[0], campaign[0], metric[0], value, is_percent)


def _metric_code(
    cell: Cell, line: int, label: str, header_map: Mapping[str, str | None]
) -> tuple[str | None, Problem | None]:
    text = _cell_text(cell).strip()
    if not text:
        return None, Problem(line, label, "", _msg(_("the metric is missing")), "empty_metric")
    name = normalize_header(text)
    if name in header_map:
        return header_map[name], None
    return None, Problem(
        line,
        label,
        text,
        _msg(
            _('"%(value)s" is not a known metric (this and any later line naming it are skipped)'),
            value=text,
        ),
        "unknown_metric",
    )


def _duplicate(line: int, label: str, value: str, first_line: int) -> Problem:
    return Problem(
        line,
        label,
        value,
        _msg(
            _("line %(line)s and line %(first_line)s give the same month, campaign and metric"),
            line=line,
            first_line=first_line,
        ),
        "duplicate",
    )


def _wide_records(
    chunks: Iterator[Chunk], info: FileInfo, header_map: Mapping[str, str | None]
) -> Iterator[Block | Record | Problem]:
    columns: list[tuple[int, str, str]] = []  # index, label, metric code
    taken: dict[str, str] = {}
    for index, header in info.metric_columns:
        name = normalize_header(header)
        if name not in header_map:
            yield Problem(
                info.header_line,
                header,
                header,
                _msg(
                    _('"%(value)s" is not a known metric; map this header or ignore the column'),
                    value=header,
                ),
                "unknown_header",
            )
            continue
        code = header_map[name]
        if code is None:
            continue
        if code in taken:
            yield Problem(
                info.header_line,
                header,
                header,
                _msg(
                    _(
                        'this column and column "%(other)s" both hold metric "%(code)s"; '
                        "only the first is read"
                    ),
                    other=taken[code],
                    code=code,
                ),
                "duplicate_column",
            )
            continue
        taken[code] = header
        columns.append((index, header, code))

    month_index, campaign_index = info.month_column, info.campaign_column
    decimal_separator = info.decimal_separator
    # (month, campaign) packs into one small int: campaign << 12 | month.
    months = _Months()
    campaigns = _Campaigns(12)
    seen = _Seen(12)
    codes = [code for _index, _label, code in columns]

    def block(lines: range, rows: list[list[str]]) -> Block | None:
        """The rows as a Block, or None (nothing read: the lines are read one by one)."""
        if not columns:
            return None
        cells = list(zip(*rows, strict=True))
        month_found = _known_cells(cells[month_index], months.known, months.read)
        if month_found is None or set(map(type, month_found)) != {tuple}:
            return None
        found = _block_campaigns(cells, campaign_index, campaigns)
        if found is None:
            return None
        names, campaign_keys = found
        width = len(columns)
        row_values = zip(*(cells[index] for index, _label, _code in columns), strict=True)
        plain_values = _plain_values(
            chain.from_iterable(row_values), len(lines) * width, decimal_separator
        )
        if plain_values is None:
            return None
        keys = list(map(or_, map(itemgetter(1), month_found), campaign_keys))
        if not seen.add_block(keys, lines):
            return None  # a duplicate: reported line by line
        values, negative = plain_values
        return Block(
            [line for line in lines for _ in codes],
            [month for month, _key in month_found for _ in codes],
            None if names is None else [name for name in names for _ in codes],
            codes * len(lines),
            values,
            negative,
            max(map(len, values)),
        )

    for item in _blocks_or_rows(chunks, block):
        if item.__class__ is not tuple:  # a Block read whole, or a Problem of the reader
            yield item  # type: ignore[misc]
            continue
        line, cells = item  # type: ignore[misc]

        month = months.read(cells[month_index])
        if isinstance(month, CellError):
            yield _month_problem(line, info, cells[month_index], month)
            continue

        campaign: tuple[str | None, int] = _NO_CAMPAIGN
        if campaign_index is not None:
            campaign = campaigns.read(cells[campaign_index])
            if not campaign[0]:
                yield _campaign_problem(line, info)
                continue

        first_line = seen.first_line(month[1] | campaign[1], line)
        if first_line != line:
            yield Problem(
                line,
                info.column_label(month_index),
                _cell_text(cells[month_index]),
                _msg(
                    _("line %(line)s and line %(first_line)s give the same month and campaign"),
                    line=line,
                    first_line=first_line,
                ),
                "duplicate",
            )
            continue

        for index, label, code in columns:
            raw = cells[index]
            if raw.__class__ is str and raw.isdecimal():
                yield Record(line, month[0], campaign[0], code, Decimal(raw), False)
                continue
            try:
                number = _read_number(raw, decimal_separator)
            except CellError as error:
                yield Problem(line, label, _cell_text(raw), error.reason, error.code)
                continue
            if number is None:
                yield Record(line, month[0], campaign[0], code, None, False)
            else:
                yield Record(line, month[0], campaign[0], code, number.value, number.is_percent)
