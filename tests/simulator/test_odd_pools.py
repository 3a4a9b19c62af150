"""The API's rarer shapes and fates, by seed and by control, walked over HTTP: ids with ``_``,
a null ``pool_created_at``, h1/h24-only stats, a quiet pool turning busy, a pool created
mid-run, a pool that disappears, and implausible candles."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)
HOUR = 3600
ODD_DEX = "lifinity_v2"


@pytest.fixture
def running(simulator_factory):
    return simulator_factory(clock=lambda: SIMULATOR_NOW, cache_seconds=0)


def odd(running, key: str) -> dict:
    pools = running.world()["pools"][ODD_DEX]
    return next(p for p in pools if key in p)


def get(running, path: str, **params) -> httpx.Response:
    return httpx.get(f"{running.base_url}/{path}", params=params, timeout=10)


def at(running, ts: float) -> None:
    running.control("clock", {"now": ts})


def test_a_dex_id_with_an_underscore_is_listed_and_related(running):
    dexes = get(running, "networks/solana/dexes", page=2).json()["data"]
    assert ODD_DEX in [d["id"] for d in dexes]
    pools = get(running, f"networks/solana/dexes/{ODD_DEX}/pools").json()["data"]
    assert pools and all(p["relationships"]["dex"]["data"]["id"] == ODD_DEX for p in pools)
    assert all(p["id"] == f"solana_{p['attributes']['address']}" for p in pools)


def test_a_pool_can_have_no_creation_time(running):
    pool = odd(running, "pool_created_at_served")["address"]
    attrs = get(running, f"networks/solana/pools/{pool}").json()["data"]["attributes"]
    assert "pool_created_at" in attrs and attrs["pool_created_at"] is None
    multi = get(running, f"networks/solana/pools/multi/{pool}").json()["data"]
    assert multi[0]["attributes"]["pool_created_at"] is None


def test_a_pool_can_have_only_the_h1_and_h24_windows(running):
    pool = odd(running, "windows")["address"]
    attrs = get(running, f"networks/solana/pools/{pool}").json()["data"]["attributes"]
    for field in ("price_change_percentage", "transactions", "volume_usd"):
        assert set(attrs[field]) == {"h1", "h24"}, field
    assert set(attrs["transactions"]["h24"]) == {"buys", "sells"}


def test_a_quiet_pool_turns_busy(running):
    waking = odd(running, "busy_from")
    pool, wakes = waking["address"], waking["busy_from"]
    assert wakes - waking["pool_created_at"] > 2 * 86400, "days of nothing first"
    at(running, wakes - 60)
    assert get(running, f"networks/solana/pools/{pool}/trades").json()["data"] == []
    quiet = get(running, f"networks/solana/pools/{pool}").json()["data"]["attributes"]
    assert quiet["transactions"]["h24"] == {"buys": 0, "sells": 0, "buyers": 0, "sellers": 0}
    assert (
        get(running, f"networks/solana/pools/{pool}/ohlcv/day").json()["data"]["attributes"][
            "ohlcv_list"
        ]
        == []
    )

    at(running, wakes + HOUR)
    trades = get(running, f"networks/solana/pools/{pool}/trades").json()["data"]
    assert len(trades) == 300, "more than one page of trades within the hour"
    made = httpx.get(
        f"{running.sim_url}/__sim__/trade_count",
        params={"pool": pool, "start": wakes, "end": wakes + HOUR},
    ).json()["count"]
    assert 500 < made < 4000, "about 1,000 an hour (busy and quiet days vary)"
    busy = get(running, f"networks/solana/pools/{pool}").json()["data"]["attributes"]
    assert busy["transactions"]["h1"]["buys"] + busy["transactions"]["h1"]["sells"] == made


def test_a_pool_created_mid_run_has_no_data_before_its_creation(running):
    newborn = max(running.world()["pools"][ODD_DEX], key=lambda p: p["pool_created_at"])
    pool, born = newborn["address"], newborn["pool_created_at"]
    assert born > running.world()["epoch"], "created after the run began"
    listed = {p["attributes"]["address"] for p in _dex_pools(running)}
    assert pool not in listed
    for path in ("", "/trades", "/ohlcv/minute"):
        assert get(running, f"networks/solana/pools/{pool}{path}").status_code == 404, path
    assert get(running, f"networks/solana/pools/multi/{pool}").json()["data"] == []

    at(running, born + 6 * HOUR)
    attrs = get(running, f"networks/solana/pools/{pool}").json()["data"]["attributes"]
    assert attrs["pool_created_at"] == _iso(born)
    assert pool in {p["attributes"]["address"] for p in _dex_pools(running)}
    rows = get(running, f"networks/solana/pools/{pool}/ohlcv/minute", limit=1000).json()
    stamps = [r[0] for r in rows["data"]["attributes"]["ohlcv_list"]]
    assert stamps and min(stamps) >= born // 60 * 60


def test_a_pool_disappears_by_seed(running):
    doomed = odd(running, "gone_at")
    pool, gone = doomed["address"], doomed["gone_at"]
    at(running, gone - 1)
    assert get(running, f"networks/solana/pools/{pool}").status_code == 200
    assert get(running, f"networks/solana/pools/{pool}/trades").status_code == 200
    at(running, gone)
    for path in ("", "/trades", "/ohlcv/hour"):
        resp = get(running, f"networks/solana/pools/{pool}{path}")
        assert resp.status_code == 404 and resp.json()["errors"][0]["title"] == "Not Found"
    assert pool not in {p["attributes"]["address"] for p in _dex_pools(running)}


def test_a_pool_disappears_by_control(running):
    pool = running.world()["pools"]["pumpswap"][0]["address"]
    assert get(running, f"networks/solana/pools/{pool}/trades").status_code == 200
    running.control("gone", {"pool": pool, "at": NOW + 600})
    assert get(running, f"networks/solana/pools/{pool}/trades").status_code == 200
    at(running, NOW + 600)
    assert get(running, f"networks/solana/pools/{pool}/trades").status_code == 404
    running.reset()
    at(running, NOW + 600)
    assert get(running, f"networks/solana/pools/{pool}/trades").status_code == 200
    bad = httpx.post(f"{running.sim_url}/__sim__/gone", json={"pool": "nope"})
    assert bad.status_code == 400 and "unknown pool nope" in bad.json()["error"]


def test_candles_can_be_implausible_by_seed(running):
    garbled = odd(running, "implausible")
    pool = garbled["address"]
    kinds = {}
    for start, end, kind in garbled["implausible"]:
        rows = _hours(running, pool, end)
        kinds[kind] = [r for r in rows if start <= r[0] < end]
        fine = [r for r in rows if not start - 2 * HOUR < r[0] < end + HOUR]
        assert all(r[3] <= min(r[1], r[4]) <= max(r[1], r[4]) <= r[2] and r[5] > 0 for r in fine)
    (high_low,) = kinds["high_below_low"]
    assert high_low[2] < high_low[3]
    (negative,) = kinds["negative_volume"]
    assert negative[5] < 0
    (scaled,) = kinds["price_1e6"]
    neighbours = [r for r in _hours(running, pool, scaled[0] + 3 * HOUR) if r[0] != scaled[0]]
    assert scaled[4] > 1e5 * max(r[4] for r in neighbours)


def test_candles_can_be_made_implausible_by_control(running):
    pool = max(running.simulator.world.pools, key=lambda p: p.activity).address
    hour = NOW // HOUR * HOUR - 5 * HOUR
    running.control(
        "implausible", {"pool": pool, "start": hour, "end": hour + 60, "kind": "negative_volume"}
    )
    minutes = get(
        running, f"networks/solana/pools/{pool}/ohlcv/minute", before_timestamp=hour + 120
    ).json()["data"]["attributes"]["ohlcv_list"]
    assert [r[0] for r in minutes if r[5] < 0] == [hour]
    (big,) = [r for r in _hours(running, pool, hour + HOUR) if r[0] == hour]
    assert big[5] < 0, "every timeframe's candle over the range"
    wrong = httpx.post(
        f"{running.sim_url}/__sim__/implausible",
        json={"pool": pool, "start": hour, "end": hour + 60, "kind": "upside_down"},
    )
    assert wrong.status_code == 400 and "unknown kind 'upside_down'" in wrong.json()["error"]


def _hours(running, pool: str, before: int) -> list[list]:
    body = get(
        running, f"networks/solana/pools/{pool}/ohlcv/hour", before_timestamp=before, limit=12
    ).json()
    return body["data"]["attributes"]["ohlcv_list"]


def _dex_pools(running) -> list[dict]:
    return get(running, f"networks/solana/dexes/{ODD_DEX}/pools").json()["data"]


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
