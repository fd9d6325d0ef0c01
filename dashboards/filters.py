"""What a dashboard shows, read from its query string: a period, a comparison and a scope.

A view is its URL: every page builds what it shows from these parameters only, so a view can
be shared, reloaded and reached again with the back button. Reading never fails: a missing or
bad value falls back to its default, so an old or hand-edited link still opens a page.

    period   month | quarter | year | ytd | r12 | custom    (default: month)
    at       YYYY-MM, the month the period contains or ends with (default: the last month
             with data, at most the last complete month)
    from/to  YYYY-MM, the months of a custom period
    compare  previous | last_year | target | custom         (default: previous)
    vs       YYYY-MM, the first month of a custom comparison period (same length)
    scope    all | channel:<channel> | campaign:<id>       (default: all)

Quarters and years are fiscal when the organization's fiscal year does not start in January
(they are stored that way too).
"""

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from metrics.periods import (
    Period,
    add_months,
    month_start,
    previous_year_to_date,
    rolling_12_months,
    year_to_date,
)

PERIOD_KINDS = ("month", "quarter", "year", "ytd", "r12", "custom")
COMPARISONS = ("previous", "last_year", "target", "custom")
ALL = "all"
MAX_MONTHS = 120  # a custom period spans at most ten years
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def parse_month(text: str | None) -> date | None:
    """'2025-03' -> date(2025, 3, 1); None for anything else."""
    match = _MONTH.fullmatch((text or "").strip())
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def default_month(data_last: date | None, today: date) -> date:
    """The month a page opens on: the last month with data, but not the current month (it is
    not over), and the last complete month when there is no data yet."""
    last_complete = add_months(month_start(today), -1)
    return min(data_last, last_complete) if data_last else last_complete


@dataclass(frozen=True)
class Filters:
    kind: str
    at: date
    compare: str
    scope: str
    period: Period
    reference: Period | None  # None when comparing with targets
    vs: date | None = None  # first month of a custom comparison period
    extra: tuple[tuple[str, str], ...] = field(default=())  # page parameters (by, measure...)

    # ------------------------------------------------------------------ reading

    @classmethod
    def parse(
        cls,
        query: Mapping[str, str],
        *,
        default_at: date,
        fiscal_start: int = 1,
        scopes: Container[str] | None = None,
        fixed_scope: str | None = None,
    ) -> "Filters":
        """`scopes`: the scopes allowed besides "all" (the organization's channels and
        campaigns); `fixed_scope`: the page's own scope (a campaign's page)."""
        kind = query.get("period") or "month"
        if kind not in PERIOD_KINDS:
            kind = "month"
        at = parse_month(query.get("at")) or default_at
        period = _period(kind, at, query, fiscal_start)
        if kind == "custom":
            at = period.end
        compare = query.get("compare") or "previous"
        if compare not in COMPARISONS:
            compare = "previous"
        vs = parse_month(query.get("vs")) if compare == "custom" else None
        if compare == "custom" and vs is None:
            compare = "previous"
        reference = _reference(kind, period, compare, vs, fiscal_start)
        if fixed_scope is not None:
            scope = fixed_scope
        else:
            scope = query.get("scope") or ALL
            if scope != ALL and (scopes is None or scope not in scopes):
                scope = ALL
        return cls(kind, at, compare, scope, period, reference, vs)

    # ------------------------------------------------------------------ writing

    def params(self) -> dict[str, str]:
        """The canonical query: what a link to this view carries."""
        params = {"period": self.kind}
        if self.kind == "custom":
            params["from"] = month_key(self.period.start)
            params["to"] = month_key(self.period.end)
        else:
            params["at"] = month_key(self.at)
        params["compare"] = self.compare
        if self.compare == "custom" and self.reference is not None:
            params["vs"] = month_key(self.reference.start)
        params["scope"] = self.scope
        params.update(self.extra)
        return params

    def query(self, **changes: str | None) -> str:
        """'?period=...' with some parameters changed (None drops one)."""
        params = self.params()
        for name, value in changes.items():
            name = name.rstrip("_")  # from_= for "from"
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return "?" + urlencode(params)

    def with_extra(self, **extra: str) -> "Filters":
        return replace(self, extra=tuple(extra.items()))

    def moved(self, direction: int) -> str:
        """The query of the same view one period later (1) or earlier (-1)."""
        if self.kind == "custom":
            months = self.period.length * direction
            return self.query(
                from_=month_key(add_months(self.period.start, months)),
                to=month_key(add_months(self.period.end, months)),
            )
        step = {"quarter": 3, "year": 12}.get(self.kind, 1)
        return self.query(at=month_key(add_months(self.at, step * direction)))

    def changes(self, other: "Filters") -> set[str]:
        """What differs from another view: 'period', 'compare', 'scope' and extra names."""
        changed = set()
        if self.period != other.period or self.kind != other.kind:
            changed.add("period")
        if (self.compare, self.reference) != (other.compare, other.reference):
            changed.add("compare")
        if self.scope != other.scope:
            changed.add("scope")
        mine, theirs = dict(self.extra), dict(other.extra)
        changed |= {k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}
        return changed

    # ------------------------------------------------------------------ labels

    def period_label(self, language: str) -> str:
        label = self.period.label(language)
        if self.kind == "ytd":
            return _("Year to date (%(months)s)") % {"months": label}
        if self.kind == "r12":
            return _("12 months to %(month)s") % {"month": Period.month(
                self.period.end.year, self.period.end.month).label(language)}  # fmt: skip
        return label

    def reference_label(self, language: str) -> str:
        if self.reference is None:
            return _("target")
        return self.reference.label(language)

    def comparison_label(self, language: str) -> str:
        """'vs September 2026', 'vs target'."""
        if self.reference is None:
            return _("vs target")
        if self.compare == "last_year":
            return _("vs %(period)s (same period last year)") % {
                "period": self.reference.label(language)
            }
        return _("vs %(period)s") % {"period": self.reference.label(language)}


def _period(kind: str, at: date, query: Mapping[str, str], fiscal_start: int) -> Period:
    fiscal = fiscal_start != 1
    if kind == "month":
        return Period.month(at.year, at.month)
    if kind == "quarter":
        return Period.containing(at, "fiscal_quarter" if fiscal else "quarter", fiscal_start)
    if kind == "year":
        return Period.containing(at, "fiscal_year" if fiscal else "year", fiscal_start)
    if kind == "ytd":
        return year_to_date(at, fiscal_start)
    if kind == "r12":
        return rolling_12_months(at)
    first = parse_month(query.get("from")) or add_months(at, -2)
    last = parse_month(query.get("to")) or at
    if first > last:
        first, last = last, first
    first = max(first, add_months(last, -(MAX_MONTHS - 1)))
    return Period.range(first, last)


def _reference(
    kind: str, period: Period, compare: str, vs: date | None, fiscal_start: int
) -> Period | None:
    if compare == "target":
        return None
    if compare == "last_year" or (compare == "previous" and kind == "ytd"):
        # The previous year to date is the same months a year earlier (DOMAIN rule 5).
        return (
            previous_year_to_date(period.end, fiscal_start)
            if kind == "ytd"
            else period.same_period_last_year()
        )
    if compare == "previous":
        return period.previous()
    assert vs is not None
    last = add_months(vs, period.length - 1)
    try:  # the same grain when it lines up: stored values, no roll-up at read time
        return Period(vs, last, period.grain, period.fiscal_start)
    except ValueError:
        return Period.range(vs, last)
