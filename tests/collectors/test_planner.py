"""The planner's pure core: what is due, in which order, and how much fits a tick."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.models import DEFAULT_FRESHNESS_MINUTES
from collectors.planner import demand
from collectors.planner.budget import Limits, backfill_allowance, sustained_rate, tick_budget
from collectors.planner.demand import PoolState, Priority, Targets
from collectors.planner.plan import report, select
from marketdata.timeframes import ALL_TIMEFRAMES

NOW = 1_757_000_000.0
DAY = 86_400.0
TARGETS = Targets(
    freshness={tf: m * 60.0 for tf, m in DEFAULT_FRESHNESS_MINUTES.items()},
    timeframes=ALL_TIMEFRAMES,
    tick_seconds=60,
)


def fresh(**ages: float) -> dict[str, float]:
    """Every timeframe fetched a minute ago, except the ages (seconds) given, e.g. m1=7200."""
    until = dict.fromkeys(ALL_TIMEFRAMES, NOW - 60)
    for name, age in ages.items():
        until[name[1:] + name[0]] = NOW - age
    return until


def units_of(*states: PoolState) -> list[demand.Unit]:
    return demand.pool_units(states, TARGETS, NOW)


def test_a_busy_pool_is_polled_before_300_trades_accumulate():
    per_day = 3000.0
    interval = demand.trade_interval(per_day)
    assert interval == pytest.approx(0.9 * 300 / per_day * DAY)
    assert demand.trade_interval(10.0) == pytest.approx(0.9 * DAY), "quiet: the 24 h window"
    assert demand.trade_interval(None) == pytest.approx(0.9 * DAY)

    state = PoolState(1, "watchlist", per_day, NOW - interval + 30, fresh())
    assert demand.trades_unit(state, NOW, tick=60).priority == Priority.PERISHABLE
    calm = PoolState(1, "watchlist", per_day, NOW - interval + 600, fresh())
    assert demand.trades_unit(calm, NOW, tick=60).priority == Priority.EARLY


def test_the_trade_rate_comes_from_one_answer():
    assert demand.trades_per_day([NOW - i * 600 for i in range(100)], NOW) == 100
    six_hours = [NOW - i * 72 for i in range(300)]  # 300 trades in 6 h: a full answer
    assert demand.trades_per_day(six_hours, NOW) == pytest.approx(300 * DAY / (299 * 72))
    assert demand.trades_per_day([NOW - 2 * DAY], NOW) == 0, "older than the window"


def test_ohlcv_asks_only_for_what_is_missing():
    state = PoolState(1, "watchlist", 10, NOW, fresh(m1=600, h1=3 * DAY))
    by_tf = {u.timeframe: u for u in demand.ohlcv_units(state, TARGETS, NOW)}
    assert by_tf["1m"].kwargs["limit"] == 12, "10 closed bars, the moving one, one of slack"
    assert by_tf["1h"].kwargs["limit"] == 74
    assert by_tf["1h"].priority == Priority.FRESHNESS and by_tf["1h"].lag == 2 * DAY
    never = PoolState(2, "watchlist", None, None, {})
    assert all(u.kwargs["limit"] == 1000 for u in demand.ohlcv_units(never, TARGETS, NOW))


def test_trades_at_risk_first_then_candle_deficits_then_the_next_tier_then_metadata():
    watch = PoolState(1, "watchlist", 3000.0, NOW - DAY, fresh(m1=3 * 3600, m5=7 * 3600, m15=3600))
    top = PoolState(2, "top", 50.0, NOW - DAY, fresh(m1=3 * 3600))
    units = units_of(watch, top) + demand.token_info_units([("TokenA", "watchlist")])
    chosen = select(units, capacity=100, busy=set()).chosen
    kinds = [(u.kind, u.tier, u.timeframe) for u in chosen]
    assert kinds[:5] == [
        ("trades", "watchlist", None),
        ("ohlcv", "watchlist", "1m"),  # 3 h against 2 h: 1.5 targets old
        ("ohlcv", "watchlist", "5m"),  # 7 h against 6 h: 1.17
        ("trades", "top", None),  # the top pools live on what the watchlist leaves
        ("ohlcv", "top", "1m"),
    ]
    assert kinds[5] == ("token_info", "watchlist", None), "metadata after every due unit"
    early = chosen[6:]
    assert early and all(u.priority == Priority.EARLY for u in early)
    assert early[0].tier == "watchlist", "leftover budget refreshes the watchlist first"


@pytest.mark.parametrize("capacity", [0, 1, 3, 17, 250])
def test_a_plan_never_spends_more_than_its_capacity(capacity):
    states = [
        PoolState(i, "watchlist" if i % 3 else "top", float(i * 37 % 2000), None, {})
        for i in range(60)
    ]
    units = units_of(*states) + [demand.details_unit(95)]
    selection = select(units, capacity, busy=set())
    assert selection.spent == sum(u.cost for u in selection.chosen) <= capacity
    if capacity >= 4:
        assert selection.chosen[0].kind == "details", "4 calls link 95 new watchlist pools"
    assert len({u.key for u in selection.chosen}) == len(selection.chosen)


def test_work_already_in_flight_is_not_planned_again():
    units = units_of(PoolState(1, "watchlist", None, None, {}))
    busy = {demand.unit_key("trades", 1), demand.unit_key("ohlcv", 1, "1m")}
    chosen = select(units, 100, busy).chosen
    assert {u.key for u in chosen} == {u.key for u in units} - busy


def test_over_budget_serves_the_watchlist_first_and_says_the_top_tier_lags():
    watch = [PoolState(i, "watchlist", 100.0, NOW - DAY, fresh(m1=3 * 3600)) for i in range(10)]
    top = [PoolState(100 + i, "top", 100.0, NOW - DAY, fresh(m1=3 * 3600)) for i in range(10)]
    units = units_of(*watch, *top)
    chosen = select(units, capacity=25, busy=set()).chosen
    assert [u.tier for u in chosen] == ["watchlist"] * 20 + ["top"] * 5
    assert [u.kind for u in chosen[:10]] == ["trades"] * 10, "perishable trades first"
    assert {u.kind for u in chosen[20:]} == {"trades"}, "the top tier's leftover: trades first"

    need = {t.tier: t for t in report(units, {"watchlist": 10, "top": 10}, 1e9).tiers}
    per_pool = need["watchlist"].need_per_min / 10
    summary = report(units, {"watchlist": 10, "top": 10}, plannable_per_min=per_pool * 15)
    assert summary.degradation() == (("watchlist", "full"), ("top", "partial"))
    assert summary.tiers[1].headroom_per_min < 0
    assert {pool for pool, _ in summary.tiers[1].lagging} == {100 + i for i in range(10)}
    assert all(seconds == pytest.approx(3600) for _, seconds in summary.tiers[0].lagging)


def test_the_demo_keys_monthly_credit_is_a_quarter_call_a_minute():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rate, bound = sustained_rate(Limits(25, monthly_credit=10_000), now)
    assert bound and rate == pytest.approx(10_000 / (30 * 1440))
    assert rate == pytest.approx(0.23, abs=0.01)
    half_spent = datetime(2026, 11, 16, tzinfo=UTC)
    rate, _ = sustained_rate(Limits(500, 500_000, remaining_this_month=100_000), half_spent)
    assert rate == pytest.approx(100_000 / (15 * 1440)), "the API's own remaining count"


def test_a_tick_enqueues_one_ticks_budget_and_keeps_in_flight_within_two():
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    args = {"reserve_share": 0.15, "tick_seconds": 60, "now": now}
    first = tick_budget(Limits(25), in_flight=0, carry=0, **args)
    assert first.plannable_per_min == pytest.approx(21.25) and first.capacity == 21
    backed_up = tick_budget(Limits(25), in_flight=30, carry=0, **args)
    assert backed_up.capacity == 12, "2 × 21.25 − 30 in flight"
    assert tick_budget(Limits(25), in_flight=60, carry=0, **args).capacity == 0


def test_a_fraction_of_a_call_a_tick_still_makes_progress():
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    carry, granted = 0.0, 0
    for _ in range(60):
        budget = tick_budget(
            Limits(25, 10_000),
            reserve_share=0.0,
            tick_seconds=60,
            in_flight=0,
            carry=carry,
            now=now,
        )
        granted += budget.capacity
        carry = budget.carry - budget.capacity
    assert 13 <= granted <= 14, "an hour of ~0.23 calls a minute"


def test_daily_completeness_costs_about_the_physical_minimum():
    for per_day in (0, 10, 299, 300, 3000, 30_000):
        need = demand.completeness_per_day(per_day, ALL_TIMEFRAMES)
        least = demand.minimum_per_day(per_day, ALL_TIMEFRAMES)
        assert need <= 1.2 * least, (per_day, need, least)


def test_stale_pool_details_are_refreshed_30_a_call_watchlist_first():
    stale = [(i, "top") for i in range(40)] + [(100 + i, "watchlist") for i in range(25)]
    units = demand.pool_details_units(stale)
    assert [len(u.kwargs["pool_ids"]) for u in units] == [30, 30, 5]
    assert units[0].kwargs["pool_ids"][:25] == list(range(100, 125))
    assert {u.priority for u in units} == {Priority.METADATA}
    assert len({u.key for u in units}) == 3


def test_a_timeframe_is_not_asked_again_before_its_next_interval_settles():
    day = 86_400
    midnight = NOW // day * day
    targets = Targets(freshness={"1d": float(day)}, timeframes=("1d",), tick_seconds=60)
    # The last answer proved the day up to today's 00:00; at 23:59:30 its target is reached,
    # but the day has not settled: asking now would prove nothing new.
    late = PoolState(1, "watchlist", 10, NOW, {"1d": midnight})
    [unit] = demand.ohlcv_units(late, targets, midnight + day - 30)
    assert unit.due_in <= 60 and unit.priority == -1
    [unit] = demand.ohlcv_units(late, targets, midnight + day + 30)
    assert unit.priority == Priority.FRESHNESS, "it settles within the tick"


def test_new_pools_get_trades_and_their_finest_candles_before_any_slower_timeframe():
    """200 new pools at 120 calls a minute: a trades poll and one page of 1m candles each is 400
    calls, four ticks of the plannable 102; no 5m+ unit of any pool (not even one far behind)
    comes before the last of them."""
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    clock = now.timestamp()
    states = {i: PoolState(i, "watchlist", None, None, {}) for i in range(200)}
    behind = fresh(m5=30 * DAY)  # 5m thirty days behind: it outscores any fresh work
    for i in range(1000, 1020):
        states[i] = PoolState(i, "watchlist", 100.0, clock - 60, behind)
    targets = Targets(TARGETS.freshness, TARGETS.timeframes, 60)
    first_data = {demand.unit_key("trades", i) for i in range(200)} | {
        demand.unit_key("ohlcv", i, "1m") for i in range(200)
    }
    carry, ticks, slower_first = 0.0, 0, []
    while first_data:
        ticks += 1
        budget = tick_budget(
            Limits(120), reserve_share=0.15, tick_seconds=60, in_flight=0, carry=carry, now=now
        )
        units = demand.pool_units(states.values(), targets, clock)
        chosen = select(units, budget.capacity, set(), largest=budget.largest).chosen
        carry = budget.carry - sum(u.cost for u in chosen)
        for unit in chosen:
            first_data.discard(unit.key)
            if unit.kind == "ohlcv" and unit.timeframe != "1m" and first_data:
                slower_first.append(unit.key)
            state = states[unit.pool_id]
            if unit.kind == "trades":
                states[unit.pool_id] = PoolState(
                    state.pool_id, state.tier, 100.0, clock, state.fetched_until
                )
            else:
                until = {**state.fetched_until, unit.timeframe: clock - 60}
                states[unit.pool_id] = PoolState(
                    state.pool_id, state.tier, state.trades_per_day, state.trades_polled_at, until
                )
        clock += 60
        assert ticks <= 10, f"{len(first_data)} first-data units still waiting"
    assert slower_first == [], "a slower timeframe was served before a new pool's first data"
    assert ticks <= 4, "one page of 1m per new pool: 400 calls at 102 a tick"


def test_backfills_may_spend_only_what_live_collection_leaves_of_the_month():
    mid_month = datetime(2026, 11, 16, tzinfo=UTC)  # 15 days = 21,600 minutes left
    demo = Limits(25, 10_000, remaining_this_month=6_000)
    args = {"reserve_share": 0.15, "now": mid_month}
    live = 0.17 * 21_600 / 0.85  # the planner keeps 15% aside, so it paces at need / 0.85
    assert backfill_allowance(demo, live_need_per_min=0.17, **args) == pytest.approx(
        6_000 - live, abs=1
    )
    assert backfill_allowance(demo, live_need_per_min=0.5, **args) == 0, "live needs it all"
    assert backfill_allowance(Limits(25), live_need_per_min=0.17, **args) is None, "no credit"
