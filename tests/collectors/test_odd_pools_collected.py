"""The collectors against the simulator's odd pools: a DEX id with ``_``, a null creation
time, h1/h24-only stats, implausible candles and a pool that disappears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.gecko.errors import NotFound
from collectors.services.ohlcv import collect_ohlcv
from collectors.services.pools import collect_top_pools
from collectors.services.trades import collect_trades
from marketdata.models import Candle, CandleCoverage, Pool, PoolSnapshot, Trade
from tests.marketdata import factories
from tests.marketdata.factories import pool as make_pool

from .clients import make_client

pytestmark = pytest.mark.django_db
ODD_DEX = "lifinity_v2"


def odd(simulator, key: str) -> dict:
    return next(p for p in simulator.world()["pools"][ODD_DEX] if key in p)


def test_pools_of_a_dex_with_an_underscore_keep_their_odd_shapes(simulator, gecko):
    world = simulator.world()
    now = world["now"]
    listed = {
        p["address"]
        for p in world["pools"][ODD_DEX]
        if p["pool_created_at"] <= now and p.get("gone_at", now + 1) > now
    }

    collect_top_pools(gecko, ODD_DEX, pages=1)

    pools = {p.address: p for p in Pool.objects.select_related("dex")}
    assert set(pools) == listed
    assert {p.dex.slug for p in pools.values()} == {ODD_DEX}
    assert pools[odd(simulator, "pool_created_at_served")["address"]].pool_created_at is None
    legacy = PoolSnapshot.objects.get(pool=pools[odd(simulator, "windows")["address"]])
    assert legacy.transactions_h24_buys is not None and legacy.volume_usd_h24 is not None


def test_implausible_candles_are_not_stored_nor_covered(simulator, gecko):
    garbled = odd(simulator, "implausible")
    pool = make_pool(address=garbled["address"])

    report = collect_ohlcv(gecko, pool.pk, "1h", max_pages=1, include_empty=False, limit=100)

    bad = {start: kind for start, _, kind in garbled["implausible"]}
    assert report.rejected == len(bad), "each kind is seen as implausible"
    stored = set(Candle.objects.filter(pool=pool, timeframe="1h").values_list("ts", flat=True))
    covered = list(CandleCoverage.objects.filter(pool=pool, timeframe="1h"))
    for start in bad:
        ts = datetime.fromtimestamp(start, tz=UTC)
        assert ts not in stored, bad[start]
        assert not any(c.start <= ts < c.end for c in covered), bad[start]
        assert any(c.end == ts for c in covered), "the hour before is still covered"
        assert any(c.start == ts + timedelta(hours=1) for c in covered)


def test_a_pool_that_disappeared_answers_not_found(simulator, gecko):
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    pool = make_pool(address=address)
    collect_trades(gecko, pool.pk, min_usd=0)
    simulator.control("gone", {"pool": address})

    with pytest.raises(NotFound):
        collect_trades(gecko, pool.pk, min_usd=0)


def test_a_network_id_with_an_underscore_is_stripped_not_split(simulator_factory, key_prefix):
    running = simulator_factory(network="polygon_pos")
    address = max(running.simulator.world.pools, key=lambda p: p.activity).address
    pool = Pool.objects.create(network=factories.network("polygon_pos"), address=address)
    client = make_client(running.base_url, prefix=key_prefix, network="polygon_pos")

    report = collect_trades(client, pool.pk, min_usd=0)
    client.close()

    assert report.written > 0
    trade = Trade.objects.filter(pool=pool).first()
    assert trade.trade_id.startswith("polygon_pos_")
    assert trade.block_number > 0
