"""A quiet pool's candles since its last trades poll make its trades due: against PostgreSQL, the
Redis in-flight set and the simulator over HTTP.

The pool's world is built so that it is created between its trades poll (which, made then,
answered nothing) and the candle fetch that shows it trading.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from collectors.models import TradeCursor
from collectors.planner import service as planner
from collectors.planner import snapshot
from collectors.planner.demand import SIGN_TRADES, Priority, unit_key
from collectors.services.ohlcv import collect_ohlcv
from marketdata.models import Candle
from simulator.world import build_world
from tests.collector_setup import configured
from tests.marketdata.factories import pool as make_pool
from tests.simulator_fixture import SIMULATOR_SEED
from watchlist.models import WatchlistEntry

from .clients import make_client

pytestmark = pytest.mark.django_db
HOUR = 3600


@pytest.fixture
def config(redis_client, settings):
    settings.GECKO_RATE_LIMIT_PER_MIN = 1  # one call a tick: what is due first is all it takes
    return configured(reserve_share=0.0)


@pytest.fixture
def woke(simulator_factory, key_prefix):
    """A watched pool (2,000–20,000 trades a day once it exists) polled for trades an hour ago,
    when it did not exist yet; created 40 minutes ago. Yields (pool, client, clock)."""
    world = build_world(SIMULATOR_SEED, 0)
    chosen = next(p for p in world.pools if 2_000 < p.trades_per_day < 20_000)
    now = time.time()
    clock = [now - HOUR]
    running = simulator_factory(
        clock=lambda: clock[0], epoch=int(now - 40 * 60) - chosen.created_at
    )
    client = make_client(running.base_url, prefix=key_prefix)
    pool = make_pool(address=chosen.address)
    WatchlistEntry.objects.create(pool_address=pool.address, pool=pool)
    # Polled an hour ago, before the pool existed: the API had nothing to show (it answers 404
    # for a pool not created yet, so the poll's outcome is recorded as the collector records it).
    TradeCursor.objects.create(
        pool=pool, last_collected_at=datetime.fromtimestamp(clock[0], UTC), trades_per_day=0
    )
    clock[0] = now
    yield pool, client, clock
    client.close()


def test_candles_since_the_last_trades_poll_make_a_quiet_pools_trades_due(config, woke):
    pool, client, _ = woke
    before = planner.tick(config, send=None)
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)

    [state] = snapshot.load(config, datetime.now(UTC)).pools
    after = planner.tick(config, send=None)

    assert Candle.objects.filter(pool=pool, timeframe="1m").exists()
    assert state.trades_per_day == 0 and state.activity_since_poll >= SIGN_TRADES
    trades = unit_key("trades", pool.pk)
    assert trades not in {u.key for u in before.selection.chosen}, "quiet: read when spare"
    [chosen] = after.selection.chosen
    assert (chosen.key, chosen.priority) == (trades, Priority.PERISHABLE)


def test_candles_from_before_the_poll_or_of_a_busy_pool_are_no_sign(config, woke):
    pool, client, _ = woke
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    cursor = TradeCursor.objects.get(pool=pool)

    cursor.last_collected_at = datetime.now(UTC)
    cursor.save()
    polled_since = snapshot.activity_since_poll(config)
    cursor.trades_per_day = 5_000
    cursor.last_collected_at = datetime.fromtimestamp(time.time() - HOUR, UTC)
    cursor.save()
    busy = snapshot.activity_since_poll(config)

    assert polled_since == {} and busy == {}


def test_with_no_usd_filter_each_candle_that_traded_counts_one(config, woke):
    pool, client, _ = woke
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    config.min_trade_usd = Decimal("0")
    config.save()

    activity = snapshot.activity_since_poll(config)

    traded = Candle.objects.filter(pool=pool, timeframe="1m", volume_usd__gt=0).count()
    assert traded > 0 and activity == {pool.pk: float(traded)}
