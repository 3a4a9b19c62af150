"""A busy pool due for its trades comes before a new pool's first poll: the replay's free tier
at 1,000 new pools flagged 1,400 lost trades of its busiest pools in the first 40 minutes,
their second polls waiting behind a thousand first ones. A quiet pool, which loses nothing for
a day, still waits its turn."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors.models import DEFAULT_FRESHNESS_MINUTES
from collectors.planner import demand
from collectors.planner.budget import Limits, tick_budget
from collectors.planner.demand import PoolState, Targets, trade_interval
from collectors.planner.plan import select
from marketdata.timeframes import ALL_TIMEFRAMES

NOW = datetime(2026, 11, 1, 1, tzinfo=UTC)
TARGETS = Targets(
    freshness={tf: m * 60.0 for tf, m in DEFAULT_FRESHNESS_MINUTES.items()},
    timeframes=ALL_TIMEFRAMES,
    tick_seconds=60,
)


def test_a_busy_pool_due_now_is_polled_before_a_thousand_first_polls():
    clock = NOW.timestamp()
    fetched = dict.fromkeys(ALL_TIMEFRAMES, clock - 60)
    busy = [
        PoolState(i, "watchlist", 50_000.0, clock - trade_interval(50_000.0) + 30, fetched)
        for i in range(5)
    ]
    quiet = [
        PoolState(10 + i, "watchlist", 50.0, clock - trade_interval(50.0) + 30, fetched)
        for i in range(5)
    ]
    new = [PoolState(100 + i, "watchlist", None, None, {}) for i in range(1000)]
    budget = tick_budget(
        Limits(25), reserve_share=0.15, tick_seconds=60, in_flight=0, carry=0.0, now=NOW
    )

    units = demand.pool_units([*busy, *quiet, *new], TARGETS, clock)
    chosen = {u.key for u in select(units, budget.capacity, set()).chosen}

    assert {f"trades:{p.pool_id}" for p in busy} <= chosen
    assert not {f"trades:{p.pool_id}" for p in quiet} & chosen
