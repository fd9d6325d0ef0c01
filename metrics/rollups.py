"""Roll-ups of base metrics over campaigns and months (DOMAIN rule 1).

Pure module (no ORM), on the hot path of a full recompute: plain loops and dicts.

The rule: aggregate base metrics first, apply the KPI formula once. Precisely:

1. every metric sums across campaigns, month by month (:func:`sum_across`);
2. the monthly totals roll up over time with the metric's declared roll-up
   (:func:`rollup_over_time`, :func:`aggregate_period`):

   - ``"sum"``: the sum of the months of the period that have a value;
   - ``"first"``: the value of the earliest month of the period that has one;
   - ``"last"``: the value of the latest month of the period that has one.

   The three are associative, so a period can also be rolled up from the consecutive
   periods that make it up (:func:`combine_periods`: a year from its quarters).

A missing value is an absent key (``None`` is accepted and treated the same way). A metric
with no value in any month of the period is ``None`` ("no value", DOMAIN rule 2), never 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar

__all__ = [
    "ROLLUPS",
    "Rollup",
    "aggregate_period",
    "combine_periods",
    "rollup_over_time",
    "sum_across",
]

Rollup = Literal["sum", "first", "last"]
ROLLUPS: tuple[Rollup, ...] = ("sum", "first", "last")

K = TypeVar("K", bound=Hashable)


def sum_across(series: Iterable[Mapping[K, Decimal | None]]) -> dict[K, Decimal]:
    """Key-wise sum of several mappings (e.g. one ``{month: value}`` per campaign).

    A key present in no mapping (or only with ``None``) stays absent: missing is not 0.
    """
    out: dict[K, Decimal] = {}
    for mapping in series:
        for key, value in mapping.items():
            if value is None:
                continue
            total = out.get(key)
            out[key] = value if total is None else total + value
    return out


def rollup_over_time(
    values: Mapping[date, Decimal | None], how: Rollup, months: Iterable[date]
) -> Decimal | None:
    """Roll ``values`` (month -> total) up over ``months`` with ``how``.

    ``months`` are distinct month starts (a :attr:`Period.months`); their order does not
    matter. Months without a value are skipped; ``None`` if no month has one.
    """
    get = values.get
    if how == "sum":
        total: Decimal | None = None
        for month in months:
            value = get(month)
            if value is not None:
                total = value if total is None else total + value
        return total
    if how == "first":
        found: date | None = None
        result: Decimal | None = None
        for month in months:
            value = get(month)
            if value is not None and (found is None or month < found):
                found, result = month, value
        return result
    if how == "last":
        found = None
        result = None
        for month in months:
            value = get(month)
            if value is not None and (found is None or month > found):
                found, result = month, value
        return result
    raise ValueError(f"unknown roll-up {how!r}; expected one of {ROLLUPS}")


def aggregate_period(
    monthly: Mapping[str, Mapping[date, Decimal | None]],
    rollups: Mapping[str, Rollup],
    months: Sequence[date],
) -> dict[str, Decimal | None]:
    """Period value of every metric.

    ``monthly``: metric code -> {month: total across the campaigns in scope};
    ``rollups``: metric code -> declared roll-up (the catalog);
    ``months``: the distinct months of the period.

    Returns a value (or ``None``, no value) for every metric of ``rollups`` and of
    ``monthly``; a metric with values but no declared roll-up is a ``ValueError`` (summing a
    "last" metric such as followers by default would silently be wrong).
    """
    out: dict[str, Decimal | None] = {}
    for code, how in rollups.items():
        values = monthly.get(code)
        out[code] = None if not values else rollup_over_time(values, how, months)
    for code in monthly:
        if code not in out:
            raise ValueError(f"no roll-up declared for metric {code!r}")
    return out


def combine_periods(
    parts: Iterable[Mapping[str, Decimal | None]], rollups: Mapping[str, Rollup]
) -> dict[str, Decimal]:
    """Metric values of a period from those of the consecutive periods that make it up.

    ``parts``: metric code -> value of each part, in chronological order (a quarter's
    months, a year's quarters); ``rollups``: metric code -> declared roll-up.

    A sum of sums is the sum, the first of the firsts is the first, the last of the lasts is
    the last: a year combined from its quarters equals the year rolled up from its twelve
    months (:func:`aggregate_period`), with a third of the work when the quarters are at
    hand. Only metrics with a value appear in the result (missing is not 0); a metric with a
    value but no declared roll-up is a ``ValueError``.
    """
    out: dict[str, Decimal] = {}
    for part in parts:
        for code, value in part.items():
            if value is None:
                continue
            how = rollups.get(code)
            current = out.get(code)
            if current is None:
                if how not in ROLLUPS:
                    raise _rollup_error(code, how)
                out[code] = value
            elif how == "sum":
                out[code] = current + value
            elif how == "last":
                out[code] = value
            elif how != "first":
                raise _rollup_error(code, how)
    return out


def _rollup_error(code: str, how: str | None) -> ValueError:
    if how is None:
        return ValueError(f"no roll-up declared for metric {code!r}")
    return ValueError(f"unknown roll-up {how!r}; expected one of {ROLLUPS}")
