"""Is an objective achievable? The A of SMART, on plain data (no ORM).

The path from the baseline to the target is linear (DOMAIN rule 6): the change it needs each
month is compared with the largest change of the same sign the KPI's history shows from one
month to the next. A target needing more than history ever did is not impossible, but it
deserves a plain warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from metrics.comparisons import required_monthly_change
from metrics.periods import add_months, month_start

HISTORY_MONTHS = 24


def months_between(start: date, deadline: date) -> int:
    """Months from the start's month to the deadline's month, at least one."""
    return max(1, (deadline.year - start.year) * 12 + deadline.month - start.month)


def history_window(start: date) -> tuple[date, date]:
    """The HISTORY_MONTHS months before the objective starts: what was known then."""
    last = add_months(month_start(start), -1)
    return add_months(last, -(HISTORY_MONTHS - 1)), last


def month_on_month_changes(history: Mapping[date, Decimal]) -> list[Decimal]:
    """Changes between consecutive months that both have a value (a gap breaks the chain)."""
    changes = []
    for month, value in history.items():
        previous = history.get(add_months(month, -1))
        if previous is not None and value is not None:
            changes.append(value - previous)
    return changes


@dataclass(frozen=True)
class Feasibility:
    months: int
    needed: Decimal | None  # change per month on the straight path; None without values
    best: Decimal | None  # largest history change of the same sign as needed; None if none
    compared: int  # month-on-month changes found in the history window

    @property
    def beyond_history(self) -> bool:
        """True when the path needs more per month than the history ever showed."""
        if self.needed is None or not self.needed or self.compared == 0:
            return False
        if self.best is None:
            return True  # history never moved that way
        return abs(self.needed) > abs(self.best)


def assess(
    *,
    baseline: Decimal | None,
    target: Decimal | None,
    start: date,
    deadline: date,
    history: Mapping[date, Decimal],
) -> Feasibility:
    months = months_between(start, deadline)
    needed = required_monthly_change(current=baseline, target=target, months_left=months)
    changes = month_on_month_changes(history)
    best = None
    if needed:
        same_sign = [c for c in changes if (c > 0) == (needed > 0) and c]
        if same_sign:
            best = max(same_sign, key=abs)
    return Feasibility(months=months, needed=needed, best=best, compared=len(changes))


MINUS = "\u2212"


def signed_change(value: Decimal, *, unit: str, decimals: int, currency: str) -> str:
    """A change in the KPI's unit, always signed: "+0.40 pt", "−3.20 €", "+120".

    Rates move in percentage points (DOMAIN rule 4). A change too small for the KPI's
    decimals gets more of them rather than reading "+0".
    """
    from kpiboard.formatting import kpi_value, number

    digits = decimals
    while digits < 6 and value and abs(value) < Decimal(1).scaleb(-digits):
        digits += 1
    sign = "+" if value > 0 else MINUS if value < 0 else ""
    magnitude = abs(value)
    if unit in ("percent", "points"):
        text = number(magnitude, digits) + "\u00a0pt"
    else:
        text = kpi_value(magnitude, unit=unit, decimals=digits, currency=currency)
    return sign + text
