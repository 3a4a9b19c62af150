"""OHLCV from the simulator: shape, cross-timeframe consistency, paging, gaps and holes."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator import WSOL
from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)
DAY = 86400
SECONDS = {
    ("minute", 1): 60,
    ("minute", 5): 300,
    ("minute", 15): 900,
    ("hour", 1): 3600,
    ("hour", 4): 14400,
    ("hour", 12): 43200,
    ("day", 1): 86400,
}


def ohlcv(running, pool: str, timeframe: str, **params) -> list[list]:
    resp = httpx.get(
        f"{running.base_url}/networks/solana/pools/{pool}/ohlcv/{timeframe}",
        params=params,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["attributes"]["ohlcv_list"]


def pick(running, *, older_than: float = 0, busiest: bool = True, younger_than: float = 1e12):
    pools = [
        p
        for p in running.simulator.world.pools
        if NOW - older_than > p.created_at > NOW - younger_than
        and not p.fresh
        and p.busy_from is None  # a quiet pool that turns busy later has no candles yet
    ]
    return max(pools, key=lambda p: p.activity if busiest else -p.activity)


@pytest.fixture(scope="module")
def busy(simulator_frozen):
    return pick(simulator_frozen, older_than=200 * DAY).address


def test_shape_request_id_meta_and_order(simulator_frozen, busy):
    resp = httpx.get(f"{simulator_frozen.base_url}/networks/solana/pools/{busy}/ohlcv/hour")
    body = resp.json()
    assert body["data"]["id"] == resp.headers["x-request-id"]
    assert body["data"]["type"] == "ohlcv_request_response"
    rows = body["data"]["attributes"]["ohlcv_list"]
    assert len(rows) == 100
    for row in rows:
        assert isinstance(row[0], int) and all(isinstance(v, float) for v in row[1:])
        ts, o, h, low, c, v = row
        assert low <= min(o, c) <= max(o, c) <= h and v > 0 and ts % 3600 == 0
    stamps = [r[0] for r in rows]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    assert stamps[0] == NOW // 3600 * 3600
    pool = simulator_frozen.simulator.world.pool_by_address[busy]
    assert body["meta"]["base"] == {
        "address": pool.base.address,
        "name": pool.base.name,
        "symbol": pool.base.symbol,
        "coingecko_coin_id": pool.base.coingecko_coin_id,
    }
    assert body["meta"]["quote"]["address"] == WSOL
    assert body["meta"]["quote"]["coingecko_coin_id"] == "wrapped-solana"


@pytest.mark.parametrize(
    ("coarse", "fine"),
    [
        (("hour", 1), ("minute", 1)),
        (("hour", 4), ("hour", 1)),
        (("minute", 15), ("minute", 5)),
        (("day", 1), ("hour", 12)),
        (("hour", 12), ("hour", 4)),
        (("day", 1), ("hour", 1)),
    ],
)
def test_coarse_candle_is_the_aggregate_of_finer_ones(simulator_frozen, busy, coarse, fine):
    size, ratio = SECONDS[coarse], SECONDS[coarse] // SECONDS[fine]
    candles = ohlcv(
        simulator_frozen,
        busy,
        coarse[0],
        aggregate=coarse[1],
        limit=3,
        before_timestamp=NOW - 3 * DAY,
    )
    assert len(candles) == 3
    for ts, o, h, low, c, v in candles:
        rows = ohlcv(
            simulator_frozen,
            busy,
            fine[0],
            aggregate=fine[1],
            limit=ratio,
            before_timestamp=ts + size - 1,
        )
        rows = [r for r in rows if r[0] >= ts]
        assert 0 < len(rows) <= ratio
        assert o == rows[-1][1] and c == rows[0][4]
        assert h == max(r[2] for r in rows) and low == min(r[3] for r in rows)
        assert v == pytest.approx(sum(r[5] for r in rows), rel=1e-9)


def test_before_timestamp_is_inclusive(simulator_frozen, busy):
    rows = ohlcv(simulator_frozen, busy, "minute", aggregate=15, limit=10)
    target = rows[4][0]
    again = ohlcv(simulator_frozen, busy, "minute", aggregate=15, limit=3, before_timestamp=target)
    assert again[0] == rows[4] and again[1] == rows[5]
    mid = ohlcv(
        simulator_frozen, busy, "minute", aggregate=15, limit=1, before_timestamp=target + 899
    )
    assert mid[0][0] == target


def test_paging_back_six_months_overlaps_only_on_the_boundary(simulator_frozen, busy):
    seen: list[int] = []
    before = None
    for _ in range(12):
        params = {"aggregate": 1, "limit": 1000}
        if before is not None:
            params["before_timestamp"] = before
        page = [r[0] for r in ohlcv(simulator_frozen, busy, "hour", **params)]
        if before is not None:
            assert page[0] == before
            page = page[1:]
        if not page:
            break
        assert not set(page) & set(seen)
        seen.extend(page)
        before = page[-1]
    else:
        pytest.fail("paging never reached the start of history")
    assert seen == sorted(seen, reverse=True)
    assert NOW - 183 * DAY - 3600 <= seen[-1] <= NOW - 182 * DAY
    assert len(seen) > 180 * 24
    daily = ohlcv(simulator_frozen, busy, "day", limit=1000)
    assert 183 <= len(daily) <= 184 and daily[-1][0] >= NOW - 184 * DAY


def test_young_pool_history_starts_at_creation(simulator_frozen):
    pool = pick(simulator_frozen, older_than=3 * DAY, younger_than=20 * DAY)
    rows = ohlcv(simulator_frozen, pool.address, "hour", limit=1000)
    assert rows[-1][0] >= pool.created_at // 3600 * 3600
    assert len(rows) <= (NOW - pool.created_at) // 3600 + 2
    before = ohlcv(simulator_frozen, pool.address, "hour", before_timestamp=pool.created_at - 7200)
    assert before == []


def test_include_empty_intervals_fills_quiet_buckets(simulator_frozen):
    pool = pick(simulator_frozen, older_than=5 * DAY, busiest=False)
    params = {"aggregate": 1, "limit": 72, "before_timestamp": NOW - DAY}
    sparse = ohlcv(simulator_frozen, pool.address, "hour", **params)
    full = ohlcv(simulator_frozen, pool.address, "hour", include_empty_intervals="true", **params)
    assert len(full) == 72
    stamps = [r[0] for r in full]
    assert stamps == list(range(stamps[0], stamps[0] - 72 * 3600, -3600))
    assert all(r[0] >= stamps[-1] for r in sparse), "limit counts intervals (the default)"
    real = {r[0]: r for r in sparse if r[0] >= stamps[-1]}
    assert 0 < len(real) < 72
    for newer, older in zip(full, full[1:], strict=False):
        if newer[0] in real:
            assert newer == real[newer[0]]
        else:
            assert newer[1:] == [older[4]] * 4 + [0.0]


def test_invalid_parameters_are_rejected_and_limit_is_capped(simulator_frozen, busy):
    url = f"{simulator_frozen.base_url}/networks/solana/pools/{busy}/ohlcv"
    for timeframe, params in [
        ("hour", {"aggregate": 2}),
        ("minute", {"aggregate": 4}),
        ("day", {"aggregate": 4}),
        ("week", {}),
        ("hour", {"currency": "eur"}),
        ("hour", {"token": "nope"}),
        ("hour", {"limit": "abc"}),
    ]:
        resp = httpx.get(f"{url}/{timeframe}", params=params)
        assert resp.status_code == 400, (timeframe, params)
        assert resp.json()["errors"][0]["status"] == "400"
    filled = ohlcv(simulator_frozen, busy, "minute", limit=5000, include_empty_intervals="true")
    assert len(filled) == 1000
    missing = httpx.get(f"{simulator_frozen.base_url}/networks/solana/pools/Nope111/ohlcv/hour")
    assert missing.status_code == 404


def test_currency_and_token_perspective(simulator_frozen, busy):
    pool = simulator_frozen.simulator.world.pool_by_address[busy]
    usd = ohlcv(simulator_frozen, busy, "hour", limit=5, before_timestamp=NOW - DAY)
    quoted = ohlcv(
        simulator_frozen, busy, "hour", limit=5, before_timestamp=NOW - DAY, currency="token"
    )
    for a, b in zip(usd, quoted, strict=True):
        assert a[0] == b[0] and 180 < a[4] / b[4] < 230
    url = f"{simulator_frozen.base_url}/networks/solana/pools/{busy}/ohlcv/hour"
    sol = httpx.get(url, params={"token": "quote", "limit": 5}).json()
    assert sol["meta"]["base"]["address"] == WSOL
    assert sol["meta"]["quote"]["address"] == pool.base.address
    assert all(180 < r[4] < 230 for r in sol["data"]["attributes"]["ohlcv_list"])
    by_address = ohlcv(
        simulator_frozen, busy, "hour", limit=5, before_timestamp=NOW - DAY, token=pool.base.address
    )
    assert by_address == usd


def test_holes_remove_candles_until_cleared(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = pick(running, older_than=30 * DAY).address
    start = NOW // 3600 * 3600 - 10 * 3600
    reply = running.control("holes", {"pool": pool, "start": start, "end": start + 7200})
    assert reply["holes"] == {pool: [[start, start + 7200]]}
    hours = [r[0] for r in ohlcv(running, pool, "hour", limit=24)]
    assert start not in hours and start + 3600 not in hours
    assert start - 3600 in hours and start + 7200 in hours
    minutes = ohlcv(running, pool, "minute", limit=60, before_timestamp=start + 7199)
    assert all(r[0] < start for r in minutes)
    filled = {
        r[0]: r for r in ohlcv(running, pool, "hour", limit=24, include_empty_intervals="true")
    }
    assert filled[start][5] == 0.0 and filled[start][1] == filled[start - 3600][4]
    running.reset()
    assert start in [r[0] for r in ohlcv(running, pool, "hour", limit=24)]


def test_newest_candle_is_the_open_bucket(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = pick(running, older_than=30 * DAY).address
    first = ohlcv(running, pool, "hour", limit=2)
    assert first[0][0] == NOW // 3600 * 3600
    running.simulator.clock.advance(20 * 60)
    later = ohlcv(running, pool, "hour", limit=2)
    assert later[0][0] == first[0][0] and later[1] == first[1]
    assert later[0][5] > first[0][5] and later[0][1] == first[0][1]
    newest_minute = ohlcv(running, pool, "minute", limit=1)[0]
    assert newest_minute[0] == (NOW + 20 * 60) // 60 * 60
    assert newest_minute[4] == later[0][4]


def test_large_requests_are_fast_even_cold(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = pick(running, older_than=200 * DAY).address
    timings = {}
    for timeframe in ("minute", "day"):
        started = time.perf_counter()
        rows = ohlcv(running, pool, timeframe, limit=1000)
        timings[timeframe] = time.perf_counter() - started
        assert rows
    assert max(timings.values()) < 1.0, timings
