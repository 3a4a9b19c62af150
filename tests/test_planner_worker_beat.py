"""The budget planner under a real beat and worker: 200 watchlist pools on a 120/min bucket.

Beat ticks ``plan_collection`` every minute; the worker runs what it queues against the
simulator over HTTP. The ``api`` queue must never hold much more than two minutes of budget, and
every pool must have its trades polled and its 1m candles fetched within a few minutes: trades
first (they perish), then 1m candles (the shortest history) before the longer timeframes.
"""

from __future__ import annotations

import logging
import time

import pytest

from collectors.models import CollectionRun, TradeCursor
from marketdata.models import Candle
from watchlist.models import WatchlistEntry

from .celery_worker import celery_beat, celery_worker, schedule_planner
from .collector_setup import configured, watched_world

logger = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
POOLS = 200
RATE = 120
TWO_MINUTES = 2 * RATE
# 407 calls (7 multi-pool, 200 trades, 200 first 1m pages) take 3.4 min at 120/min; a shared
# 2-core host has measured 5-6 min. Past 8 min something is queued that should not be.
DEADLINE = 8 * 60


def fetched_1m() -> int:
    """Pools whose 1m candles were fetched (a quiet pool's answer may hold none)."""
    runs = CollectionRun.objects.filter(
        task="collectors.tasks.fetch_ohlcv", status="ok", arguments__timeframe="1m"
    )
    return runs.values("arguments__pool_id").distinct().count()


@pytest.mark.timeout(DEADLINE + 120)
def test_200_pools_on_120_a_minute_get_trades_and_1m_candles_with_a_bounded_queue(
    simulator, redis_client, tmp_path
):
    watched_world(simulator, POOLS)
    # Defaults (60 s ticks, 15% reserve) but a first fetch reads one page (1,000 candles): the
    # test is about order and pace, not depth.
    configured(ohlcv_pages_per_fetch=1)
    schedule_planner(60)
    env = {"GECKO_RATE_LIMIT_PER_MIN": str(RATE), "GECKO_RATE_LIMIT_BURST": "3"}
    backlog: list[int] = []
    started = time.monotonic()
    done_at = None
    with celery_worker(simulator.base_url, **env), celery_beat(simulator.base_url, tmp_path, **env):
        while time.monotonic() - started < DEADLINE:
            backlog.append(redis_client.llen("api"))
            polled = TradeCursor.objects.filter(last_collected_at__isnull=False).count()
            if polled == POOLS and fetched_1m() == POOLS:
                done_at = time.monotonic() - started
                break
            time.sleep(0.5)
        # Keep watching the queue for one more tick after the goal: it must stay bounded.
        until = time.monotonic() + 60
        while done_at is not None and time.monotonic() < until:
            backlog.append(redis_client.llen("api"))
            time.sleep(0.5)

    stats = simulator.stats()
    logger.warning(
        "200 pools at %d/min: trades and 1m of every pool after %s s; api queue peaked at %d; "
        "simulator peak %d calls in 60 s, %d 429s",
        RATE,
        f"{done_at:.0f}" if done_at is not None else "-",
        max(backlog),
        stats["peak_rate_60s"],
        stats["status_429"],
    )
    assert done_at is not None, (
        f"after {DEADLINE}s: trades of "
        f"{TradeCursor.objects.filter(last_collected_at__isnull=False).count()} pools, 1m of "
        f"{fetched_1m()}"
    )
    assert max(backlog) <= TWO_MINUTES, f"api queue peaked at {max(backlog)}"
    assert max(backlog) > 0, "the queue was watched while work was queued"
    assert stats["status_429"] == 0
    assert stats["peak_rate_60s"] <= RATE + 3, "the bucket kept the simulator's minute"
    with_candles = Candle.objects.filter(timeframe="1m").values("pool").distinct().count()
    assert with_candles >= 0.9 * POOLS, "quiet pools aside, 1m candles are stored"
    assert not CollectionRun.objects.filter(status="failed").exists()
    assert WatchlistEntry.objects.filter(pool__isnull=True).count() == 0
