"""Comparisons, attainment, status and target paths (DOMAIN rules 4 and 6).

Pure module (no ORM). Values are ``Decimal`` or ``None`` ("no value", DOMAIN rule 2):
anything computed from a missing value, or through a division by zero, is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from metrics.periods import month_start

__all__ = [
    "DIRECTIONS",
    "STATUSES",
    "UNITS",
    "Delta",
    "attainment",
    "compare",
    "linear_target",
    "required_monthly_change",
    "status",
]

UNITS: tuple[str, ...] = ("percent", "points", "money", "ratio", "count", "months")
POINT_UNITS = frozenset(("percent", "points"))
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
STATUSES: tuple[str, ...] = ("on_track", "at_risk", "off_track")

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; expected one of {DIRECTIONS}")


@dataclass(frozen=True)
class Delta:
    """The change from ``reference`` to ``current``.

    ``absolute`` is in the KPI's unit, or in percentage points when ``in_points`` (a rate
    from 4.0 % to 4.6 % is +0.6 pt); ``relative`` is in percent of ``|reference|`` (+15 %).
    ``good`` says whether the change is good news given the KPI's direction; ``None`` when
    there is no change or it is undefined.
    """

    current: Decimal | None
    reference: Decimal | None
    absolute: Decimal | None
    relative: Decimal | None
    in_points: bool
    good: bool | None


def compare(
    current: Decimal | None, reference: Decimal | None, *, unit: str, direction: str
) -> Delta:
    """Delta of ``current`` against ``reference`` for a KPI of ``unit`` and ``direction``."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")
    _check_direction(direction)
    absolute: Decimal | None = None
    relative: Decimal | None = None
    good: bool | None = None
    if current is not None and reference is not None:
        absolute = current - reference
        if reference:
            relative = absolute / abs(reference) * _HUNDRED
        if absolute:
            good = (absolute > 0) == (direction == "higher")
    return Delta(
        current=current,
        reference=reference,
        absolute=absolute,
        relative=relative,
        in_points=unit in POINT_UNITS,
        good=good,
    )


def attainment(actual: Decimal | None, target: Decimal | None, *, direction: str) -> Decimal | None:
    """Attainment in percent (DOMAIN rule 6).

    ``actual / target * 100`` for higher-is-better KPIs, ``target / actual * 100`` for
    lower-is-better ones. ``None`` when a value is missing or the divisor is zero or
    negative: with a negative divisor the ratio inverts its meaning (an NPS of -20 against
    a target of -10 would read 200 %), so it is undefined rather than misleading.
    """
    _check_direction(direction)
    if actual is None or target is None:
        return None
    numerator, divisor = (actual, target) if direction == "higher" else (target, actual)
    if divisor <= _ZERO:
        return None
    return numerator / divisor * _HUNDRED


def status(
    attainment_pct: Decimal | None,
    *,
    on_track: Decimal = _HUNDRED,
    at_risk: Decimal = Decimal(90),
) -> str | None:
    """``"on_track"`` from ``on_track`` %, ``"at_risk"`` from ``at_risk`` %, else
    ``"off_track"``; ``None`` without attainment."""
    if at_risk > on_track:
        raise ValueError(f"at-risk threshold {at_risk} is above the on-track one {on_track}")
    if attainment_pct is None:
        return None
    if attainment_pct >= on_track:
        return "on_track"
    if attainment_pct >= at_risk:
        return "at_risk"
    return "off_track"


def linear_target(
    month: date, *, baseline: Decimal, target: Decimal, start: date, deadline: date
) -> Decimal | None:
    """Target for ``month`` on the straight path from ``baseline`` (at the start month) to
    ``target`` (at the deadline's month). ``None`` before the start; ``target`` from the
    deadline's month on. Any day of a month stands for the month."""
    m, first, last = month_start(month), month_start(start), month_start(deadline)
    if last < first:
        raise ValueError(f"deadline {deadline} is before the start {start}")
    if m < first:
        return None
    if m >= last:
        return target
    elapsed = (m.year - first.year) * 12 + m.month - first.month
    total = (last.year - first.year) * 12 + last.month - first.month
    return baseline + (target - baseline) * elapsed / total


def required_monthly_change(
    *, current: Decimal | None, target: Decimal | None, months_left: int
) -> Decimal | None:
    """Change per month needed to go linearly from ``current`` to ``target`` in
    ``months_left`` months; ``None`` if a value is missing or no month is left."""
    if current is None or target is None or months_left <= 0:
        return None
    return (target - current) / months_left


def target_reached(
    *, current: Decimal | None, baseline: Decimal, target: Decimal, direction: str
) -> bool:
    """Whether ``current`` is at the target or beyond it, beyond meaning further along the
    way from the baseline to the target (from CHF 3 333 toward CHF 2 500, CHF 2 403 is
    beyond), or, when the target keeps the baseline, better by the KPI's direction."""
    _check_direction(direction)
    if current is None:
        return False
    higher = target > baseline if target != baseline else direction == "higher"
    return current >= target if higher else current <= target
