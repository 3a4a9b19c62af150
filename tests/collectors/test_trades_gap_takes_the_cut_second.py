"""A full page of trades is cut at 300, and the cut can fall inside one second: a busy pool
trades several times a second at block time. The flagged range must then take in that whole
second, since the page shows only some of its trades (the replay's free run at 1,000 pools lost
3 trades of its busiest pool that no gap named: the gap ended where the oldest trade began)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from collectors.models import TradeCursor
from collectors.services.trades import API_TRADE_CAP, collect_trades
from marketdata.models import Gap, Trade
from tests.marketdata.factories import pool as make_pool

from .clients import make_client

pytestmark = pytest.mark.django_db
HOUR = 3600


def cut_inside_a_second(running, client, address: str, clock: list[float], now: float) -> int:
    """A moment whose full page ends partway through the oldest second it shows."""
    for step in range(2000):
        clock[0] = now - step * 3.0
        trades = client.trades(address, min_volume_usd=Decimal(0))
        assert len(trades) == API_TRADE_CAP, "a busy pool: a full page"
        oldest = int(min(t.block_timestamp for t in trades).timestamp())
        shown = sum(1 for t in trades if int(t.block_timestamp.timestamp()) == oldest)
        if running.simulator.trade_count(address, oldest, oldest + 1) > shown:
            return oldest
    pytest.fail("no page of the busiest pool was cut inside a second")


def test_a_full_page_cut_inside_a_second_flags_that_second(simulator_factory, key_prefix):
    clock = [datetime.now(UTC).timestamp()]
    running = simulator_factory(clock=lambda: clock[0], cache_seconds=0)
    busiest = max(running.simulator.world.pools, key=lambda p: p.trades_per_day)
    client = make_client(running.base_url, prefix=key_prefix)
    oldest = cut_inside_a_second(running, client, busiest.address, clock, clock[0])
    pool = make_pool(address=busiest.address)
    TradeCursor.objects.create(
        pool=pool,
        last_collected_at=datetime.fromtimestamp(clock[0] - HOUR, UTC),
        trades_per_day=busiest.trades_per_day,
    )

    report = collect_trades(client, pool.pk, min_usd=Decimal(0))
    client.close()

    second = datetime.fromtimestamp(oldest, UTC)
    stored = Trade.objects.filter(pool=pool, block_timestamp=second).count()
    made = running.simulator.trade_count(busiest.address, oldest, oldest + 1)
    assert report.possible_gap and stored < made, "the page showed part of its oldest second"
    gap = Gap.objects.get(pool=pool, timeframe=Gap.TRADES)
    assert gap.start <= second < gap.end, "the rest of that second may be missing: flag it"
