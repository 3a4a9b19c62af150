"""Quiet pools' trades: read again early from spare budget, at once on a sign of activity, and
a pool that woke up is read at the pace of its newest trades, not at its 24 h count.

The last test runs the planner's pure core over a simulated day on a virtual clock: every tick
it plans, and each chosen poll "answers" what the API would show (the last ≤300 trades of 24 h)
from a known trade history, so the trades lost between polls are counted exactly.
"""

from __future__ import annotations

import math

import pytest

from collectors.planner import demand
from collectors.planner.demand import PoolState, Priority, Targets
from collectors.planner.plan import select

NOW = 1_757_000_000.0
HOUR = 3600.0
DAY = 86_400.0
TRADES_ONLY = Targets(freshness={}, timeframes=(), tick_seconds=60)
CANDLES = Targets(freshness={"1m": 2 * HOUR}, timeframes=("1m",), tick_seconds=60)


@pytest.mark.parametrize("per_day", [0.0, 1.0, 20.0])
def test_a_quiet_pool_is_polled_again_early_when_budget_is_spare(per_day):
    state = PoolState(1, "watchlist", per_day, NOW - HOUR)

    unit = demand.trades_unit(state, NOW, tick=60)
    chosen = select([unit], capacity=5, busy=set()).chosen

    assert unit.due_in > 20 * HOUR, "not due for most of a day"
    assert unit.priority == Priority.EARLY and chosen == [unit]
    just_polled = PoolState(1, "watchlist", per_day, NOW - 120)
    assert demand.trades_unit(just_polled, NOW, tick=60).priority == -1, "the API's cache"


def test_early_quiet_polls_come_after_everything_due():
    quiet = PoolState(1, "watchlist", 0.0, NOW - HOUR, {"1m": NOW - 3 * HOUR})
    busy = PoolState(2, "watchlist", 3000.0, NOW - DAY, {"1m": NOW - 60})
    units = demand.pool_units([quiet, busy], CANDLES, NOW)

    chosen = select(units, capacity=2, busy=set()).chosen

    assert [(u.pool_id, u.kind) for u in chosen] == [(2, "trades"), (1, "ohlcv")]


def test_a_sign_of_activity_makes_a_quiet_pools_trades_due_before_candle_deficits():
    woke = PoolState(1, "watchlist", 0.0, NOW - HOUR, {"1m": NOW - 60}, activity_since_poll=40)
    late_candles = PoolState(2, "watchlist", 0.0, NOW - 60, {"1m": NOW - 3 * HOUR})
    units = demand.pool_units([woke, late_candles], CANDLES, NOW)

    [trades] = [u for u in units if u.kind == "trades" and u.pool_id == 1]
    chosen = select(units, capacity=1, busy=set()).chosen

    assert trades.priority == Priority.PERISHABLE
    assert chosen == [trades], "trades perish; the candles can wait a tick"


def test_a_few_stray_trades_or_activity_its_estimate_expects_pull_nothing_forward():
    stray = PoolState(1, "watchlist", 0.0, NOW - HOUR, activity_since_poll=demand.SIGN_TRADES - 1)
    usual = PoolState(2, "watchlist", 200.0, NOW - HOUR, activity_since_poll=60)
    surge = PoolState(2, "watchlist", 200.0, NOW - HOUR, activity_since_poll=100)

    assert demand.trades_unit(stray, NOW, tick=60).priority == Priority.EARLY
    assert demand.trades_unit(usual, NOW, tick=60).priority == Priority.EARLY, "8 expected"
    assert demand.trades_unit(surge, NOW, tick=60).priority == Priority.PERISHABLE


def test_a_short_answer_of_recent_trades_is_read_as_the_pace_they_arrive_at():
    woke = [NOW - i * 3.6 for i in range(100)]  # 100 trades in the last 6 minutes: 1,000/h
    steady = [NOW - i * 600 for i in range(100)]  # 100 over 16.5 h

    assert demand.trades_per_day(woke, NOW) == pytest.approx(24_000, rel=0.1)
    assert demand.trade_interval(demand.trades_per_day(woke, NOW)) < 20 * 60
    assert demand.trades_per_day(steady, NOW) == 100, "a quiet pool's rate is still its count"
    few = [NOW - i for i in range(demand.RECENT_TRADES - 1)]
    assert demand.trades_per_day(few, NOW) == demand.RECENT_TRADES - 1, "too few for a pace"


class Day:
    """Pools whose trade rate (per hour) changes at known times; the API's answer at any
    moment is derived from it, evenly spaced trades being enough for a planner."""

    def __init__(self, rates: dict[int, list[tuple[float, float]]]) -> None:
        self.rates = rates  # pool → [(from time, trades per hour)], in time order

    def trades(self, pool: int, start: float, end: float) -> list[float]:
        out: list[float] = []
        steps = [*self.rates[pool], (end, 0.0)]
        for (since, per_hour), (until, _) in zip(steps, steps[1:], strict=False):
            a, b = max(since, start), min(until, end)
            if per_hour and b > a:
                gap = HOUR / per_hour
                t = since + math.ceil((a - since) / gap) * gap
                while t < b:
                    out.append(t)
                    t += gap
        return out


def run_day(world: Day, capacity_of, *, sign: bool) -> dict:
    """Plan every 60 s for 24 h; a chosen poll reads the API's answer, re-estimates the rate
    and counts the trades beyond the 300 it can show since the previous poll."""
    pools = list(world.rates)
    state = {p: PoolState(p, "watchlist", 0.0, NOW) for p in pools}
    lost = dict.fromkeys(pools, 0)
    polls: dict[int, list[float]] = {p: [] for p in pools}
    for step in range(1, 1440):
        now = NOW + step * 60
        if sign:
            state = {
                p: PoolState(
                    p,
                    "watchlist",
                    s.trades_per_day,
                    s.trades_polled_at,
                    activity_since_poll=len(world.trades(p, s.trades_polled_at, now)),
                )
                for p, s in state.items()
            }
        units = demand.pool_units(state.values(), TRADES_ONLY, now)
        for unit in select(units, capacity_of(units), busy=set()).chosen:
            p = unit.pool_id
            since = world.trades(p, state[p].trades_polled_at, now)
            lost[p] += max(0, len(since) - demand.TRADE_CAP)
            answer = world.trades(p, now - DAY, now + 1)[-demand.TRADE_CAP :]
            state[p] = PoolState(p, "watchlist", demand.trades_per_day(answer, now), now)
            polls[p].append(now)
    return {"lost": lost, "polls": polls}


def due_only(units):
    return sum(u.cost for u in units if 0 <= u.priority < Priority.EARLY)


def test_a_quiet_pool_that_turns_busy_is_read_within_minutes_when_budget_is_spare():
    """20 quiet pools and 2 calls a minute to spare; pool 0 turns busy (1,000 trades/h) at 3 h."""
    world = Day({p: [(NOW, 0.0)] for p in range(20)})
    world.rates[0] = [(NOW, 0.0), (NOW + 3 * HOUR, 1000.0)]

    day = run_day(world, lambda units: 2, sign=False)

    woke = NOW + 3 * HOUR
    first = min(t for t in day["polls"][0] if t > woke)
    assert first - woke <= 15 * 60, "read within minutes, not after 21.6 h"
    assert day["lost"][0] == 0, "then polled before 300 pile up"
    assert all(len(day["polls"][p]) >= 24 for p in range(20)), "every quiet pool, often"


def test_without_spare_budget_a_sign_of_activity_still_pulls_the_poll_forward():
    world = Day({p: [(NOW, 0.0)] for p in range(20)})
    world.rates[0] = [(NOW, 0.0), (NOW + 3 * HOUR, 1000.0)]

    day = run_day(world, due_only, sign=True)

    woke = NOW + 3 * HOUR
    first = min(t for t in day["polls"][0] if t > woke)
    assert first - woke <= 5 * 60
    assert day["lost"][0] == 0
    rest = [t - NOW for p in range(1, 20) for t in day["polls"][p]]
    assert rest and min(rest) >= 21 * HOUR, "no budget for the quiet rest: read when due"
