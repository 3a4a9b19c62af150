"""How many calls the next tick may spend: pure arithmetic over the plan's limits.

Two horizons bind: the per-minute rate and, on keyed plans, the monthly credit. The sustained
rate is the smaller of the two; a reserve share of it is left to backfill and retries; and the
work queued or running (in flight) counts against a ceiling of two ticks, so the ``api`` queue
never holds much more than that whatever happens to the workers.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Limits:
    """What the API plan allows. ``remaining_this_month`` is the API's own count when known."""

    rate_per_min: float
    monthly_credit: int | None = None
    remaining_this_month: int | None = None


@dataclass(frozen=True)
class TickBudget:
    sustained_per_min: float  # what the plan allows on average (rate and monthly credit)
    plannable_per_min: float  # after the reserve
    capacity: int  # calls this tick may enqueue
    carry: float  # fractional allowance left over for the next tick
    in_flight: int  # calls queued or running when the tick began
    monthly_bound: bool  # the monthly credit, not the rate, sets the pace
    largest: int = 1  # the most calls any tick may queue: a unit costing more is paid over ticks


def month_minutes_left(now: datetime) -> tuple[float, float]:
    """(minutes left in this UTC month, minutes in it)."""
    now = now.astimezone(UTC)
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = days * 1440.0
    return max(1.0, total - (now - start).total_seconds() / 60), total


def sustained_rate(limits: Limits, now: datetime) -> tuple[float, bool]:
    """Calls per minute the plan sustains to the month's end, and whether the credit binds.

    Without the API's own remaining count, the credit is spread evenly over the month.
    """
    if not limits.monthly_credit:
        return limits.rate_per_min, False
    left, total = month_minutes_left(now)
    if limits.remaining_this_month is not None:
        monthly = max(0, limits.remaining_this_month) / left
    else:
        monthly = limits.monthly_credit / total
    if monthly < limits.rate_per_min:
        return monthly, True
    return limits.rate_per_min, False


def tick_budget(
    limits: Limits,
    *,
    reserve_share: float,
    tick_seconds: float,
    in_flight: int,
    carry: float,
    now: datetime,
) -> TickBudget:
    """Calls this tick may enqueue: one tick's allowance plus what earlier ticks left unused,
    kept so that the work in flight never exceeds two ticks' worth (at least one call, so a
    plan of 0.2 calls a minute still makes progress, one call at a time).

    ``carry`` may be negative: a unit costing more than ``largest`` was queued whole, and the
    ticks after it pay for it before queueing more."""
    sustained, monthly_bound = sustained_rate(limits, now)
    plannable = sustained * (1.0 - reserve_share)
    per_tick = plannable * tick_seconds / 60.0
    ceiling = max(1.0, 2.0 * per_tick)
    allowance = min(max(ceiling, 1.0 + per_tick), carry + per_tick)
    capacity = max(0, math.floor(min(allowance, ceiling - in_flight)))
    return TickBudget(
        sustained_per_min=sustained,
        plannable_per_min=plannable,
        capacity=capacity,
        carry=allowance,
        in_flight=in_flight,
        monthly_bound=monthly_bound,
        largest=max(1, math.floor(ceiling)),
    )


def live_reserve(
    limits: Limits, *, live_need_per_min: float, reserve_share: float, now: datetime
) -> float:
    """Calls live collection needs from now to the month's end. The planner paces itself at
    (credit left / minutes left) less its reserve share, so serving ``live_need_per_min`` takes
    that need grossed up by the reserve share (capped by the rate: it can spend no more)."""
    left, _ = month_minutes_left(now)
    per_min = min(live_need_per_min / max(1e-9, 1.0 - reserve_share), limits.rate_per_min)
    return per_min * left


def backfill_allowance(
    limits: Limits, *, live_need_per_min: float, reserve_share: float, now: datetime
) -> int | None:
    """Calls backfills may still spend this month: the credit left less live collection's need
    to the month's end (never below 0). None: the plan has no monthly credit."""
    if not limits.monthly_credit:
        return None
    if limits.remaining_this_month is not None:
        remaining = float(limits.remaining_this_month)
    else:
        left, total = month_minutes_left(now)
        remaining = limits.monthly_credit * left / total
    reserve = live_reserve(
        limits, live_need_per_min=live_need_per_min, reserve_share=reserve_share, now=now
    )
    return max(0, math.floor(remaining - reserve))
