"""A budget short of demand delays units; it must not forget any (the replay's demo run left
every pool's 5m and 15m candles unfetched for three days: never-fetched units kept a fixed score
that the ever-later catch-ups of the finer timeframes outgrew). Where the budget suffices, no
timeframe falls so far behind that one fetch leaves a gap."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from collectors.models import DEFAULT_FRESHNESS_MINUTES
from collectors.planner import demand
from collectors.planner.budget import Limits, tick_budget
from collectors.planner.demand import PoolState, Targets
from collectors.planner.plan import select
from marketdata.timeframes import ALL_TIMEFRAMES

DAY = 86_400.0
TICK = 300.0
START = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
TARGETS = Targets(
    freshness={tf: m * 60.0 for tf, m in DEFAULT_FRESHNESS_MINUTES.items()},
    timeframes=ALL_TIMEFRAMES,
    tick_seconds=TICK,
)


@dataclass
class Served:
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    longest_idle: dict[str, float] = field(default_factory=dict)  # after the first time

    def note(self, key: str, clock: float) -> None:
        self.first.setdefault(key, clock)
        if key in self.last:
            idle = clock - self.last[key]
            self.longest_idle[key] = max(self.longest_idle.get(key, 0.0), idle)
        self.last[key] = clock


def run_demo_key(pools: int, days: float) -> Served:
    """``pools`` new watchlist pools (50 trades a day each) on the demo key, 15% kept in
    reserve, planned every 5 minutes; each chosen unit's answer is as fresh as it can be."""
    clock = START
    states = {i: PoolState(i, "watchlist", None, None, {}, 0.0, clock) for i in range(pools)}
    served, carry = Served(), 0.0
    while clock < START + days * DAY:
        budget = tick_budget(
            Limits(25, 10_000),
            reserve_share=0.15,
            tick_seconds=TICK,
            in_flight=0,
            carry=carry,
            now=datetime.fromtimestamp(clock, UTC),
        )
        units = demand.pool_units(states.values(), TARGETS, clock)
        chosen = select(units, budget.capacity, set(), largest=budget.largest).chosen
        carry = budget.carry - sum(u.cost for u in chosen)
        for unit in chosen:
            served.note(unit.key, clock)
            state = states[unit.pool_id]
            if unit.kind == "trades":
                states[unit.pool_id] = replace(state, trades_per_day=50.0, trades_polled_at=clock)
            else:
                until = {**state.fetched_until, unit.timeframe: clock - 60}
                states[unit.pool_id] = replace(state, fetched_until=until)
        clock += TICK
    return served


def every_key(pools: int) -> set[str]:
    return {
        demand.unit_key(*parts)
        for i in range(pools)
        for parts in (("trades", i), *(("ohlcv", i, tf) for tf in ALL_TIMEFRAMES))
    }


def test_on_a_budget_short_of_demand_every_unit_is_still_served():
    """100 pools need more than the demo key's ~280 calls a day, even at one page per page
    span; over eight days every unit must still come round, and trades (lost for good past
    24 h) never wait that long."""
    served = run_demo_key(100, 8)
    never = sorted(every_key(100) - set(served.first))
    assert never == [], f"{len(never)} units never served, e.g. {never[:5]}"
    late_trades = {k: v for k, v in served.longest_idle.items() if k.startswith("trades")}
    assert max(late_trades.values()) < DAY


def test_where_the_budget_suffices_no_timeframe_falls_a_fetch_behind():
    """40 pools fit the demo key once their first fetches are done: after its first fetch no
    timeframe waits so long that one fetch (two pages) no longer reaches back to the last."""
    served = run_demo_key(40, 6)
    assert set(served.first) == every_key(40)
    reach = {tf: TARGETS.max_pages * demand.OHLCV_PAGE * s for tf, s in TF_SECONDS.items()}
    behind = {
        key: idle
        for key, idle in served.longest_idle.items()
        if key.startswith("ohlcv") and idle >= reach[key.rsplit(":", 1)[1]]
    }
    assert behind == {}


TF_SECONDS = {tf: float(s) for tf, s in demand.TIMEFRAME_SECONDS.items()}
