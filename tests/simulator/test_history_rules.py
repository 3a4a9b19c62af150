"""OHLCV history by the API's rules: depth per plan, six months per call, what ``limit``
counts, and quiet months (by seed and by the control plane)."""

from __future__ import annotations

import httpx
import pytest

from simulator import LIMIT_COUNTS
from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)
DAY = 86400
SPAN = 183 * DAY
KEY = "CG-test-key"


def candles(running, pool: str, period: str, plan: str | None = None, **params) -> list[list]:
    base, headers = running.base_url, {}
    if plan is not None:
        base, headers = running.onchain_url, {f"x-cg-{plan}-api-key": KEY}
    resp = httpx.get(
        f"{base}/networks/solana/pools/{pool}/ohlcv/{period}",
        params=params,
        headers=headers,
        timeout=20,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["attributes"]["ohlcv_list"]


def deep_busy(running, older_than_days: int):
    pools = [
        p
        for p in running.simulator.world.pools
        if p.created_at < NOW - older_than_days * DAY
        and p.address not in running.simulator.world.quiet_spells
    ]
    return max(pools, key=lambda p: p.activity)


def test_a_pro_key_serves_years_back_but_six_months_per_call(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, api_key=KEY, plan="pro")
    pool = deep_busy(running, 300)
    newest = candles(running, pool.address, "day", plan="pro", limit=1000)
    assert NOW - SPAN <= newest[-1][0] <= NOW - SPAN + DAY, "no candle older than 183 days"
    before = newest[-1][0] - DAY
    older = candles(running, pool.address, "day", plan="pro", limit=1000, before_timestamp=before)
    assert older and older[0][0] == before, "the next page starts where it was asked"
    assert before - SPAN <= older[-1][0] <= before - SPAN + DAY
    far = pool.created_at + 10 * DAY
    first = candles(running, pool.address, "day", plan="pro", limit=1000, before_timestamp=far)
    assert first[-1][0] == pool.created_at // DAY * DAY, "history starts at the pool's creation"


@pytest.mark.parametrize("plan", [None, "demo"])
def test_keyless_and_demo_serve_six_months_back_from_now_only(simulator_factory, plan):
    key = {} if plan is None else {"api_key": KEY, "plan": plan}
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, **key)
    pool = deep_busy(running, 300)
    old = NOW - 200 * DAY
    assert candles(running, pool.address, "day", plan=plan, before_timestamp=old) == []
    rows = candles(running, pool.address, "day", plan=plan, limit=1000)
    assert NOW - SPAN <= rows[-1][0] <= NOW - SPAN + DAY


def quiet_pool(running):
    """A pool trading a few times a day: most minutes have no candle."""
    pools = [p for p in running.simulator.world.pools if p.created_at < NOW - 30 * DAY]
    return min(pools, key=lambda p: p.activity)


def test_limit_counts_intervals_by_default(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = quiet_pool(running)
    top = NOW // 60 * 60
    rows = candles(running, pool.address, "minute", limit=1000)
    assert 0 < len(rows) < 1000, "a quiet pool's 1,000 minutes hold fewer candles"
    assert rows[-1][0] >= top - 999 * 60, "nothing older than the 1,000 intervals asked about"
    assert running.control("config")["limit_counts"] == "intervals"


def test_limit_counts_candles_reaches_back_for_the_candles(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, limit_counts="candles")
    pool = quiet_pool(running)
    rows = candles(running, pool.address, "minute", limit=50)
    assert len(rows) == 50
    assert rows[-1][0] < NOW // 60 * 60 - 49 * 60, "the 50 newest candles, however far back"


def test_the_reading_switches_by_the_control_plane_and_refuses_others(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = quiet_pool(running)
    assert running.control("config", {"limit_counts": "candles"})["limit_counts"] == "candles"
    assert len(candles(running, pool.address, "minute", limit=50)) == 50
    refused = httpx.post(f"{running.sim_url}/__sim__/config", json={"limit_counts": "rows"})
    assert refused.status_code == 400
    assert "limit_counts 'rows'" in refused.json()["error"]
    assert all(reading in refused.json()["error"] for reading in LIMIT_COUNTS)


@pytest.mark.parametrize("limit_counts", LIMIT_COUNTS)
def test_a_quiet_spell_has_no_candles_and_no_trades(simulator_factory, limit_counts):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW, limit_counts=limit_counts)
    pool = deep_busy(running, 60)
    start, end = (NOW - 40 * DAY) // 3600 * 3600, (NOW - 10 * DAY) // 3600 * 3600
    assert running.simulator.trade_count(pool.address, start, end) > 0
    answer = running.control("quiet", {"pool": pool.address, "start": start, "end": end})
    assert answer["quiet"][pool.address] == [[start, end]]
    assert running.simulator.trade_count(pool.address, start, end) == 0
    rows = candles(running, pool.address, "hour", limit=1000, before_timestamp=end)
    inside = [r for r in rows if start <= r[0] < end]
    assert inside == [] and rows[0][0] == end, "the hour the spell ends in trades again"
    assert candles(running, pool.address, "day", limit=1000)[-1][0] < start
    running.reset()
    assert running.simulator.trade_count(pool.address, start, end) > 0, "reset forgets it"


def test_the_seed_gives_deep_pools_a_quiet_month(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    world = running.simulator.world
    spells = running.world()["quiet_spells"]
    assert spells and spells == {a: [list(s) for s in v] for a, v in world.quiet_spells.items()}
    for address, ((start, end),) in spells.items():
        pool = world.pool_by_address[address]
        assert pool.created_at < NOW - SPAN, "inside six months of 1m history"
        assert 28 * DAY <= end - start <= 42 * DAY and NOW - SPAN < start < end < NOW
        before = candles(running, address, "minute", limit=1000, before_timestamp=start - 1)
        during = candles(running, address, "minute", limit=1000, before_timestamp=end - 1)
        after = candles(running, address, "minute", limit=1000, before_timestamp=end + DAY)
        assert before and after[-1][0] >= end and all(r[0] < start for r in during)
        oldest = candles(running, address, "minute", limit=1000, before_timestamp=NOW - 182 * DAY)
        assert oldest, "the 1m history is six months deep"
