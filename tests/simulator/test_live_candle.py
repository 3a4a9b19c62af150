"""The newest candle of every timeframe is still open: it grows over its interval from the
trades made so far and settles at the interval's end on the value served ever after."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)
MINUTE = NOW // 60 * 60 - 600
TIMEFRAMES = {"1m": ("minute", 1, 60), "15m": ("minute", 15, 900), "1h": ("hour", 1, 3600)}
TIMEFRAMES["1d"] = ("day", 1, 86400)


@pytest.fixture
def running(simulator_factory):
    return simulator_factory(clock=lambda: SIMULATOR_NOW, cache_seconds=0)


def busiest(running) -> str:
    return max(running.simulator.world.pools, key=lambda p: p.activity).address


def candle_at(running, pool: str, timeframe: str, now: int, ts: int) -> list | None:
    """The candle opening at ``ts`` as served when the clock reads ``now``."""
    period, aggregate, _ = TIMEFRAMES[timeframe]
    running.control("clock", {"now": now})
    resp = httpx.get(
        f"{running.base_url}/networks/solana/pools/{pool}/ohlcv/{period}",
        params={"aggregate": aggregate, "limit": 1, "before_timestamp": ts},
    )
    assert resp.status_code == 200, resp.text
    rows = [r for r in resp.json()["data"]["attributes"]["ohlcv_list"] if r[0] == ts]
    return rows[0] if rows else None


def grows(series: list[list]) -> None:
    """Open fixed; high never falls, low never rises, volume never falls."""
    for before, after in zip(series, series[1:], strict=False):
        assert after[1] == before[1]
        assert after[2] >= before[2] and after[3] <= before[3] and after[5] >= before[5]
        assert after[3] <= min(after[1], after[4]) <= max(after[1], after[4]) <= after[2]


@pytest.mark.parametrize("timeframe", sorted(TIMEFRAMES))
def test_the_open_candle_grows_and_settles_at_its_intervals_end(running, timeframe):
    pool = busiest(running)
    step = TIMEFRAMES[timeframe][2]
    start = MINUTE // step * step
    instants = [start + step * k // 6 + 5 for k in range(6)]
    series = [candle_at(running, pool, timeframe, t, start) for t in instants]
    series = [row for row in series if row is not None]
    assert len(series) >= 5, "a pool trading every minute shows its open candle"
    settled = candle_at(running, pool, timeframe, start + step, start)
    later = candle_at(running, pool, timeframe, start + step + 3 * 86400, start)
    assert settled == later, "a closed interval never changes again"
    grows([*series, settled])
    assert series[0][5] < settled[5] / 2, "a sixth into its interval, most volume is to come"
    assert series[-1] != settled, "still open five seconds before its end"


def test_an_open_minute_agrees_with_the_trades_served_at_the_same_instant(running):
    pool = busiest(running)
    now = MINUTE + 30
    row = candle_at(running, pool, "1m", now, MINUTE)
    trades = httpx.get(f"{running.base_url}/networks/solana/pools/{pool}/trades").json()["data"]
    mine = [t for t in trades if t["attributes"]["block_timestamp"] >= _iso(MINUTE)]
    assert mine and all(t["attributes"]["block_timestamp"] <= _iso(now) for t in mine)
    volume = sum(float(t["attributes"]["volume_in_usd"]) for t in mine)
    assert row[5] == pytest.approx(volume, rel=1e-6)


def test_an_hour_candle_is_the_sum_of_its_minutes_while_open(running):
    pool = busiest(running)
    hour = MINUTE // 3600 * 3600
    now = hour + 1810
    big = candle_at(running, pool, "1h", now, hour)
    running.control("clock", {"now": now})
    minutes = httpx.get(
        f"{running.base_url}/networks/solana/pools/{pool}/ohlcv/minute",
        params={"limit": 60},
    ).json()["data"]["attributes"]["ohlcv_list"]
    minutes = [m for m in minutes if m[0] >= hour]
    assert minutes[0][0] == now // 60 * 60, "the open minute is served"
    assert big[5] == pytest.approx(sum(m[5] for m in minutes), rel=1e-9)
    assert big[4] == minutes[0][4] and big[2] == max(m[2] for m in minutes)


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
