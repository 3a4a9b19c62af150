"""An answer the CDN kept for up to a minute may show a candle that was still open when it was
computed, though its interval has ended by the time it arrives: it is not final."""

from __future__ import annotations

import time

import httpx
import pytest

from collectors.services.ohlcv import collect_ohlcv
from marketdata.models import Candle
from tests.collectors.busy_pools import busiest_pool

from .clients import make_client

pytestmark = pytest.mark.django_db


def test_a_candle_open_in_a_stale_answer_is_not_final(simulator_factory, key_prefix):
    # The answer was computed 50 s ago: its newest minute was open then.
    lagging = simulator_factory(clock=lambda: time.time() - 50, cache_seconds=0)
    pool = busiest_pool(lagging, 1)
    client = make_client(lagging.base_url, prefix=key_prefix)
    while time.time() % 60 > 40:  # the served open minute has ended by now
        time.sleep(1)

    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    client.close()

    newest = Candle.objects.filter(pool=pool, timeframe="1m").latest("ts")
    url = f"{lagging.base_url}/networks/solana/pools/{pool.address}/ohlcv/minute"
    later = httpx.get(url, params={"before_timestamp": int(newest.ts.timestamp()), "limit": 1})
    assert newest.ts.timestamp() < time.time() // 60 * 60, "its interval has ended"
    assert not newest.is_final, "it was open when the answer was made"
    settled = later.json()["data"]["attributes"]["ohlcv_list"][0]
    assert settled[5] >= newest.volume_usd
