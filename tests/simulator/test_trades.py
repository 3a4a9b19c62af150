"""The simulator's /trades: last 300 within 24 h, threshold, id format, stable ids over time."""

from __future__ import annotations

import calendar
import time
from decimal import Context, Decimal

import httpx

from simulator import WSOL
from tests.simulator_fixture import SIMULATOR_NOW

NOW = int(SIMULATOR_NOW)
WIDE = Context(prec=200)
TRADE_KEYS = [
    "block_number",
    "tx_hash",
    "tx_from_address",
    "from_token_amount",
    "to_token_amount",
    "price_from_in_currency_token",
    "price_to_in_currency_token",
    "price_from_in_usd",
    "price_to_in_usd",
    "block_timestamp",
    "kind",
    "volume_in_usd",
    "from_token_address",
    "to_token_address",
]


def trades(running, pool: str, threshold: object = 0) -> list[dict]:
    resp = httpx.get(
        f"{running.base_url}/networks/solana/pools/{pool}/trades",
        params={"trade_volume_in_usd_greater_than": threshold},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def epoch(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def busiest(running):
    """The pool with the most trades a day: thousands, so 300 trades span only hours."""
    return max(running.simulator.world.pools, key=lambda p: p.activity)


def test_trade_objects_match_the_recorded_shape(simulator_frozen):
    pool = busiest(simulator_frozen)
    data = trades(simulator_frozen, pool.address, 100)
    assert len(data) == 300
    stamps = [epoch(t["attributes"]["block_timestamp"]) for t in data]
    assert stamps == sorted(stamps, reverse=True)
    assert NOW - 86400 < stamps[-1] and stamps[0] <= NOW
    kinds = set()
    for trade in data:
        attrs = trade["attributes"]
        assert trade["type"] == "trade" and list(attrs) == TRADE_KEYS
        network, block, tx, index, unix = trade["id"].rsplit("_", 4)
        assert network == "solana" and int(block) == attrs["block_number"]
        assert tx == attrs["tx_hash"] and 86 <= len(tx) <= 88 and int(index) > 0
        assert 4 <= int(unix) - epoch(attrs["block_timestamp"]) <= 8
        assert isinstance(attrs["block_number"], int)
        for key in TRADE_KEYS[3:9] + ["volume_in_usd"]:
            assert isinstance(attrs[key], str) and "e" not in attrs[key].lower()
        base_side = (pool.base.address, WSOL)
        if attrs["kind"] == "buy":
            assert (attrs["to_token_address"], attrs["from_token_address"]) == base_side
            assert attrs["price_from_in_currency_token"] == "1.0"
        else:
            assert attrs["kind"] == "sell"
            assert (attrs["from_token_address"], attrs["to_token_address"]) == base_side
            assert attrs["price_to_in_currency_token"] == "1.0"
        kinds.add(attrs["kind"])
        volume = Decimal(attrs["volume_in_usd"])
        assert volume > 100
        exact = WIDE.multiply(
            Decimal(attrs["from_token_amount"]), Decimal(attrs["price_from_in_usd"])
        )
        assert volume == exact
        assert len(attrs["volume_in_usd"].split(".")[1]) > 30
    assert kinds == {"buy", "sell"}


def test_threshold_filters_and_empty_means_zero(simulator_frozen):
    quiet = min(
        simulator_frozen.simulator.world.pools_by_dex["heaven"],
        key=lambda p: p.activity if p.created_at < NOW - 2 * 86400 else 1e9,
    )
    everything = trades(simulator_frozen, quiet.address, "")
    assert 0 < len(everything) < 300
    assert everything == trades(simulator_frozen, quiet.address, 0)
    cut = sorted(Decimal(t["attributes"]["volume_in_usd"]) for t in everything)[
        len(everything) // 2
    ]
    above = trades(simulator_frozen, quiet.address, str(cut))
    assert above and all(Decimal(t["attributes"]["volume_in_usd"]) > cut for t in above)
    assert {t["id"] for t in above} < {t["id"] for t in everything}
    assert trades(simulator_frozen, quiet.address, 10**12) == []
    bad = httpx.get(
        f"{simulator_frozen.base_url}/networks/solana/pools/{quiet.address}/trades",
        params={"trade_volume_in_usd_greater_than": "lots"},
    )
    assert bad.status_code == 400


def trade_count(running, pool: str, start: int, end: int, min_usd: float = 0) -> int:
    query = {"pool": pool, "start": start, "end": end, "min_usd": min_usd}
    return httpx.get(f"{running.sim_url}/__sim__/trade_count", params=query).json()["count"]


def test_busy_pool_returns_only_the_newest_300(simulator_frozen):
    pool = busiest(simulator_frozen)
    data = trades(simulator_frozen, pool.address)
    assert len(data) == 300
    oldest = epoch(data[-1]["attributes"]["block_timestamp"])
    assert NOW - oldest < 86400 * 600 / pool.trades_per_day
    assert trade_count(simulator_frozen, pool.address, oldest, NOW + 1) >= 300
    assert trade_count(simulator_frozen, pool.address, oldest + 1, NOW + 1) < 300


def test_trade_count_is_the_ground_truth_behind_the_trades_endpoint(simulator_frozen):
    quiet = min(
        (p for p in simulator_frozen.simulator.world.pools if p.created_at < NOW - 2 * 86400),
        key=lambda p: p.activity,
    )
    seen = trades(simulator_frozen, quiet.address, 20)
    assert 0 < len(seen) < 300
    day = (NOW - 86400 + 1, NOW + 1)
    assert trade_count(simulator_frozen, quiet.address, *day, 20) == len(seen)
    assert trade_count(simulator_frozen, quiet.address, *day) >= len(seen)
    tomorrow = (NOW + 1, NOW + 86400)
    assert trade_count(simulator_frozen, busiest(simulator_frozen).address, *tomorrow) == 0
    bad = httpx.get(f"{simulator_frozen.sim_url}/__sim__/trade_count", params={"pool": "nope"})
    assert bad.status_code == 400


def test_same_trades_keep_their_ids_and_new_ones_appear(simulator_factory):
    running = simulator_factory(clock=lambda: SIMULATOR_NOW)
    pool = busiest(running).address
    first = trades(running, pool, 50)
    assert first == trades(running, pool, 50)
    running.simulator.clock.advance(600)
    later = trades(running, pool, 50)
    new_ids = [t["id"] for t in later]
    old_ids = [t["id"] for t in first]
    assert new_ids[0] != old_ids[0]
    overlap = [i for i in old_ids if i in set(new_ids)]
    assert overlap == old_ids[: len(overlap)] and len(overlap) > 100
    assert new_ids[new_ids.index(overlap[0]) :] == overlap
