"""A Redis without persistence restarted mid-run (issue 11): the queue, the in-flight claims,
the locks and the bucket are gone. What was queued is not delivered; the planner plans it
again (its in-flight claims went with the queue), so every pool is still collected, once.

Production runs Redis with ``appendonly yes`` (tests/test_redis_restart.py: the queue is
delivered); this is the fallback when that is off or the AOF is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from collectors.models import CollectionRun, TradeCursor
from marketdata.models import CandleCoverage

from .audit import assert_audit_clean
from .celery_worker import celery_beat, celery_worker, wait_for_runs
from .collector_setup import planned_every, watched_world
from .ground_truth import assert_complete_and_unique
from .waiting import wait_until

pytestmark = [pytest.mark.slow]
POOLS = 10
TICK = 10
PLAN = "collectors.tasks.plan_collection"


def collected_since(moment) -> int:
    """Pools whose trades were polled and 1m candles fetched after ``moment``."""
    polled = set(
        TradeCursor.objects.filter(last_collected_at__gte=moment).values_list("pool", flat=True)
    )
    fetched = set(
        CollectionRun.objects.filter(
            task="collectors.tasks.fetch_ohlcv", status="ok", finished_at__gte=moment
        ).values_list("arguments__pool_id", flat=True)
    )
    return len(polled & fetched)


@pytest.mark.timeout(170)
@pytest.mark.parametrize("private_redis", [False], indirect=True)
def test_work_lost_with_a_volatile_redis_is_planned_again(private_stack, simulator, tmp_path):
    watched_world(simulator, POOLS)
    config = planned_every(TICK, ohlcv_timeframes=["1m"])
    # Slow answers keep the two worker threads busy, so the planner's fan-out waits queued.
    simulator.add_fault("slow", count=6, path_contains="/trades", delay=3)
    log: Path = tmp_path / "celery.log"
    env = {**private_stack.env, "LOG_LEVEL": "WARNING"}
    broker = private_stack.client()

    with (
        celery_worker(simulator.base_url, concurrency=2, log=log, **env) as worker,
        celery_beat(simulator.base_url, tmp_path, log=log, **env) as beat,
    ):
        wait_until(lambda: broker.llen("api") >= 4, 60, "fetch tasks queued", pause=0.05)
        private_stack.redis.restart(down_for=2)
        back = timezone.now()
        assert broker.llen("api") == 0, "a Redis without persistence comes back empty"
        wait_for_runs(PLAN, 2, back, timeout=60)
        wait_until(lambda: collected_since(back) == POOLS, 90, "every pool collected again")
        assert worker.poll() is None and beat.poll() is None

    output = log.read_text(errors="replace")
    assert "raised unexpected" not in output, output[-5000:]
    assert TradeCursor.objects.filter(last_collected_at__isnull=False).count() == POOLS
    assert (
        CandleCoverage.objects.filter(timeframe="1m").values("pool").distinct().count()
        >= 0.9 * POOLS
    )
    assert_complete_and_unique(simulator, float(config.min_trade_usd))
    assert_audit_clean()
