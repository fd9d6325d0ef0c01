"""Reporting periods: months, quarters, years, fiscal quarters and years, custom ranges.

Pure module (no ORM). A month is always a ``datetime.date`` on the first day of the month;
a period is an inclusive run of such months. Periods have a stable string ``key`` (used in
URLs and storage) that :func:`parse_period` reads back, and a human ``label`` in English or
French (month and quarter names come from Babel/CLDR).

Fiscal years are named by the calendar year in which they START: with a fiscal year
starting in April, ``FY2025`` is April 2025 .. March 2026 and is labelled "FY 2025/26".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton

__all__ = [
    "GRAINS",
    "RANGE",
    "Period",
    "add_months",
    "month_range",
    "month_start",
    "parse_period",
    "periods_containing",
    "previous_year_to_date",
    "rolling_12_months",
    "year_to_date",
]

GRAINS: tuple[str, ...] = ("month", "quarter", "year", "fiscal_quarter", "fiscal_year")
"""Grains whose values are stored (pre-computed); custom ranges use :data:`RANGE`."""

RANGE = "range"

_ALL_GRAINS = frozenset((*GRAINS, RANGE))
_FISCAL_GRAINS = frozenset(("fiscal_quarter", "fiscal_year"))
_GRAIN_LENGTH = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}


# --------------------------------------------------------------------------- months


def month_start(d: date) -> date:
    """The first day of the month of ``d`` (a ``datetime`` gives a plain ``date``)."""
    return date(d.year, d.month, 1)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after (or before, if negative) ``month``."""
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return date(y, m + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    """The month starts from ``first`` to ``last`` inclusive; empty if ``first > last``."""
    y, m = first.year, first.month
    end = (last.year, last.month)
    out: list[date] = []
    while (y, m) <= end:
        out.append(date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def _months_between(a: date, b: date) -> int:
    """Number of months from the month of ``a`` to the month of ``b`` (b - a)."""
    return (b.year - a.year) * 12 + b.month - a.month


def _fiscal_year_of(month: date, fiscal_start: int) -> int:
    """The name (start calendar year) of the fiscal year containing ``month``."""
    return month.year if month.month >= fiscal_start else month.year - 1


def _check_fiscal_start(fiscal_start: int) -> None:
    if not isinstance(fiscal_start, int) or not 1 <= fiscal_start <= 12:
        raise ValueError(f"fiscal_start must be a month number 1..12, got {fiscal_start!r}")


# --------------------------------------------------------------------------- labels


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    """Babel locale for a Django-style language code ("fr", "fr-ch", "en_US"); English if unknown."""
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


# Fiscal-year wording (CLDR has none). {years} is "2025/26" (or "2025" for calendar fiscal
# years), {q} is the CLDR abbreviated quarter ("Q2", "T2").
_EN_DASH = "\u2013"  # joins the two ends of a range label

_FISCAL_WORDS: dict[str, tuple[str, str]] = {
    "en": ("FY {years}", "{q} FY {years}"),
    "fr": ("Exercice {years}", "{q} exercice {years}"),
}


# --------------------------------------------------------------------------- Period


@dataclass(frozen=True, order=True)
class Period:
    """An inclusive run of months with a grain.

    ``start`` and ``end`` are first days of months (``end`` is the first day of the LAST
    month). ``fiscal_start`` only matters for fiscal grains; it is normalized to 1 for the
    others so that equal periods compare and hash equal.
    """

    start: date
    end: date
    grain: str
    fiscal_start: int = 1

    def __post_init__(self) -> None:
        start, end, grain = self.start, self.end, self.grain
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TypeError(f"Period.{name} must be a datetime.date, got {value!r}")
            if value.day != 1:
                raise ValueError(f"Period.{name} must be the first day of a month, got {value}")
        if grain not in _ALL_GRAINS:
            raise ValueError(f"unknown grain {grain!r}; expected one of {(*GRAINS, RANGE)}")
        if start > end:
            raise ValueError(f"period start {start} is after its end {end}")
        _check_fiscal_start(self.fiscal_start)
        if grain not in _FISCAL_GRAINS and self.fiscal_start != 1:
            object.__setattr__(self, "fiscal_start", 1)
        if grain == RANGE:
            return
        length = _months_between(start, end) + 1
        if length != _GRAIN_LENGTH[grain]:
            raise ValueError(f"a {grain} period spans {_GRAIN_LENGTH[grain]} months, not {length}")
        if grain == "quarter":
            aligned = start.month % 3 == 1
        elif grain == "year":
            aligned = start.month == 1
        elif grain == "fiscal_year":
            aligned = start.month == self.fiscal_start
        elif grain == "fiscal_quarter":
            aligned = (start.month - self.fiscal_start) % 3 == 0
        else:
            aligned = True
        if not aligned:
            raise ValueError(
                f"{start} does not start a {grain} (fiscal year starting in month "
                f"{self.fiscal_start})"
                if grain in _FISCAL_GRAINS
                else f"{start} does not start a {grain}"
            )

    # ----------------------------------------------------------------- constructors

    @classmethod
    def month(cls, y: int, m: int) -> Period:
        first = date(y, m, 1)
        return cls(first, first, "month")

    @classmethod
    def quarter(cls, y: int, q: int) -> Period:
        if not 1 <= q <= 4:
            raise ValueError(f"quarter must be 1..4, got {q!r}")
        first = date(y, 3 * q - 2, 1)
        return cls(first, add_months(first, 2), "quarter")

    @classmethod
    def year(cls, y: int) -> Period:
        return cls(date(y, 1, 1), date(y, 12, 1), "year")

    @classmethod
    def fiscal_year(cls, y: int, start_month: int) -> Period:
        """Fiscal year ``y`` = the 12 months from ``start_month`` of calendar year ``y``."""
        _check_fiscal_start(start_month)
        first = date(y, start_month, 1)
        return cls(first, add_months(first, 11), "fiscal_year", start_month)

    @classmethod
    def fiscal_quarter(cls, y: int, q: int, start_month: int) -> Period:
        """Quarter ``q`` (1..4) of fiscal year ``y`` (see :meth:`fiscal_year`)."""
        _check_fiscal_start(start_month)
        if not 1 <= q <= 4:
            raise ValueError(f"quarter must be 1..4, got {q!r}")
        first = add_months(date(y, start_month, 1), 3 * (q - 1))
        return cls(first, add_months(first, 2), "fiscal_quarter", start_month)

    @classmethod
    def range(cls, first_month: date, last_month: date) -> Period:
        """A custom range from ``first_month`` to ``last_month`` inclusive (any days)."""
        return cls(month_start(first_month), month_start(last_month), RANGE)

    @classmethod
    def containing(cls, month: date, grain: str, fiscal_start: int = 1) -> Period:
        """The period of ``grain`` that contains ``month``."""
        m = month_start(month)
        if grain == "month":
            return cls(m, m, "month")
        if grain == "quarter":
            first = date(m.year, m.month - (m.month - 1) % 3, 1)
            return cls(first, add_months(first, 2), "quarter")
        if grain == "year":
            return cls.year(m.year)
        if grain == "fiscal_year":
            return cls.fiscal_year(_fiscal_year_of(m, fiscal_start), fiscal_start)
        if grain == "fiscal_quarter":
            _check_fiscal_start(fiscal_start)
            first = add_months(m, -((m.month - fiscal_start) % 3))
            return cls(first, add_months(first, 2), "fiscal_quarter", fiscal_start)
        raise ValueError(f"no period of grain {grain!r} contains a month; expected one of {GRAINS}")

    # ----------------------------------------------------------------- properties

    @cached_property
    def months(self) -> tuple[date, ...]:
        """The month starts of the period, in order."""
        return tuple(month_range(self.start, self.end))

    @property
    def length(self) -> int:
        """Number of months."""
        return _months_between(self.start, self.end) + 1

    @property
    def _fiscal_year_number(self) -> int:
        return _fiscal_year_of(self.start, self.fiscal_start)

    @property
    def _fiscal_quarter_number(self) -> int:
        return (self.start.month - self.fiscal_start) % 12 // 3 + 1

    @property
    def key(self) -> str:
        """Stable identifier, read back by :func:`parse_period`."""
        s, grain = self.start, self.grain
        if grain == "month":
            return f"{s.year:04d}-{s.month:02d}"
        if grain == "quarter":
            return f"{s.year:04d}-Q{(s.month + 2) // 3}"
        if grain == "year":
            return f"{s.year:04d}"
        if grain == "fiscal_year":
            return f"FY{self._fiscal_year_number:04d}"
        if grain == "fiscal_quarter":
            return f"FY{self._fiscal_year_number:04d}-Q{self._fiscal_quarter_number}"
        e = self.end
        return f"{s.year:04d}-{s.month:02d}..{e.year:04d}-{e.month:02d}"

    def __str__(self) -> str:
        return self.key

    def label(self, language: str) -> str:
        """Human label: "January 2025" / "janvier 2025", "Q1 2025" / "T1 2025", "2025",
        "FY 2025/26" / "Exercice 2025/26", "Jan-Jun 2025" / "janv.-juin 2025" (with an en dash)."""
        loc = _locale(language)
        s, e, grain = self.start, self.end, self.grain
        if grain == "month":
            return format_skeleton("yMMMM", s, locale=loc)
        if grain == "quarter":
            return format_skeleton("yQQQ", s, locale=loc)
        if grain == "year":
            return str(s.year)
        if grain in _FISCAL_GRAINS:
            fy = self._fiscal_year_number
            years = str(fy) if self.fiscal_start == 1 else f"{fy}/{(fy + 1) % 100:02d}"
            year_fmt, quarter_fmt = _FISCAL_WORDS.get(loc.language, _FISCAL_WORDS["en"])
            if grain == "fiscal_year":
                return year_fmt.format(years=years)
            q = loc.quarters["format"]["abbreviated"][self._fiscal_quarter_number]
            return quarter_fmt.format(q=q, years=years)
        # range
        if s == e:
            return format_skeleton("yMMM", s, locale=loc)
        if s.year == e.year:  # "Jan-Jun 2025"
            first = format_date(s, "MMM", locale=loc)
            last = format_date(e, "MMM", locale=loc)
            return f"{first}{_EN_DASH}{last} {s.year}"
        # "Nov 2024-Feb 2025"
        first = format_skeleton("yMMM", s, locale=loc)
        last = format_skeleton("yMMM", e, locale=loc)
        return f"{first}{_EN_DASH}{last}"

    # ----------------------------------------------------------------- navigation

    def _shifted(self, n: int) -> Period:
        return Period(
            add_months(self.start, n), add_months(self.end, n), self.grain, self.fiscal_start
        )

    def previous(self) -> Period:
        """The period of the same grain and length just before this one."""
        return self._shifted(-self.length)

    def same_period_last_year(self) -> Period:
        """The same months one year earlier (same grain)."""
        return self._shifted(-12)

    def contains(self, month: date) -> bool:
        """Whether the month of ``month`` (any day) lies in the period."""
        return self.start <= month_start(month) <= self.end


# --------------------------------------------------------------------------- parsing

_KEY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("month", re.compile(r"(\d{4})-(\d{2})")),
    ("quarter", re.compile(r"(\d{4})-Q(\d)", re.IGNORECASE)),
    ("year", re.compile(r"(\d{4})")),
    ("fiscal_year", re.compile(r"FY(\d{4})", re.IGNORECASE)),
    ("fiscal_quarter", re.compile(r"FY(\d{4})-Q(\d)", re.IGNORECASE)),
    (RANGE, re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")),
)

_KEY_FORMS = "'2025-01', '2025-Q1', '2025', 'FY2025', 'FY2025-Q2' or '2025-01..2025-06'"


def parse_period(key: str, fiscal_start: int = 1) -> Period:
    """Read a :attr:`Period.key` back. ``fiscal_start`` gives meaning to fiscal keys.

    Raises ``ValueError`` with a message naming the accepted forms.
    """
    if not isinstance(key, str):
        raise TypeError(f"a period key is a string, got {type(key).__name__}")
    _check_fiscal_start(fiscal_start)
    text = key.strip()
    for grain, pattern in _KEY_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        n = [int(g) for g in match.groups()]
        try:
            if grain == "month":
                return Period.month(n[0], n[1])
            if grain == "quarter":
                return Period.quarter(n[0], n[1])
            if grain == "year":
                return Period.year(n[0])
            if grain == "fiscal_year":
                return Period.fiscal_year(n[0], fiscal_start)
            if grain == "fiscal_quarter":
                return Period.fiscal_quarter(n[0], n[1], fiscal_start)
            return Period.range(date(n[0], n[1], 1), date(n[2], n[3], 1))
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"invalid period key {key!r}: {exc}") from None
    raise ValueError(f"invalid period key {key!r}: expected {_KEY_FORMS}")


# --------------------------------------------------------------------------- helpers


def periods_containing(month: date, fiscal_start: int) -> list[Period]:
    """The stored periods containing ``month``: its month, quarter and year, plus its fiscal
    quarter and fiscal year when the fiscal year does not start in January."""
    _check_fiscal_start(fiscal_start)
    grains = GRAINS if fiscal_start != 1 else GRAINS[:3]
    return [Period.containing(month, grain, fiscal_start) for grain in grains]


def year_to_date(month: date, fiscal_start: int = 1) -> Period:
    """From the start of the (fiscal) year containing ``month`` through ``month``."""
    _check_fiscal_start(fiscal_start)
    m = month_start(month)
    return Period.range(date(_fiscal_year_of(m, fiscal_start), fiscal_start, 1), m)


def previous_year_to_date(month: date, fiscal_start: int = 1) -> Period:
    """The year-to-date period one year earlier (same number of months)."""
    return year_to_date(add_months(month_start(month), -12), fiscal_start)


def rolling_12_months(month: date) -> Period:
    """The 12 months ending with ``month``."""
    m = month_start(month)
    return Period.range(add_months(m, -11), m)
