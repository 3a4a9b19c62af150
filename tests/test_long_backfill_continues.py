"""An async backfill longer than the task's soft time limit goes on in new tasks (issue 15,
defect 4).

One pool's 1m × 180 days is about 260 pages, some 21 minutes on the backfill lane, against a
600 s soft time limit. Here the limit is 4 s and every OHLCV answer takes 1 s, so a 4-day 1m
walk (six pages or so) outlives several tasks: each stops after a page before its limit (a
soft limit met anyway hands on too) and queues the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from collectors.models import CollectionRun, CollectorConfig
from marketdata.coverage import covered_spans, sync_gaps
from marketdata.models import Candle, Gap
from tests.ground_truth import served_candles
from tests.marketdata.factories import pool as make_pool

from .celery_worker import celery_worker, drained
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BACKFILL = "collectors.tasks.backfill_ohlcv"
GAP_BACKFILL = "collectors.tasks.backfill_gap"
DAYS = 4
LIMITS = {"CELERY_TASK_SOFT_TIME_LIMIT": "4", "CELERY_TASK_TIME_LIMIT": "60"}


def busiest_old_pool(sim, since: datetime) -> str:
    """A pool trading all through the range, so pages are full and the walk long."""
    pools = [p for dex in sim.world()["pools"].values() for p in dex]
    old = [p for p in pools if p["pool_created_at"] < since.timestamp() - 86400]
    return max(old, key=lambda p: p["trades_per_day"])["address"]


def covers(pool, since: datetime, until: datetime) -> bool:
    return any(s.start <= since and s.end >= until for s in covered_spans(pool.pk, "1m"))


@pytest.mark.timeout(150)
def test_a_backfill_longer_than_the_soft_time_limit_continues_until_done(simulator, redis_client):
    until = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    since = until - timedelta(days=DAYS)
    address = busiest_old_pool(simulator, since)
    pool = make_pool(address=address)
    CollectorConfig.current()
    simulator.add_fault("slow", count=1000, path_contains="/ohlcv/", delay=1.0)
    started = timezone.now()
    runs = CollectionRun.objects.filter(task=BACKFILL, started_at__gte=started)

    call_command(
        "backfill_ohlcv", "--pool", address, "--timeframe", "1m", "--since", since.isoformat(),
        "--until", until.isoformat(), "--async",
    )  # fmt: skip
    with celery_worker(simulator.base_url, pool="prefork", concurrency=1, **LIMITS):
        wait_until(
            lambda: covers(pool, since, until) or runs.filter(status="failed").exists(),
            100,
            "the range covered (or a run failed)",
        )
        drained(redis_client, 30)

    statuses = list(runs.order_by("pk").values_list("status", "detail"))
    assert all(status == CollectionRun.Status.OK for status, _ in statuses), statuses
    assert len(statuses) >= 2, "the walk went on in a new task"
    assert "continues in a new task" in statuses[0][1]
    assert covers(pool, since, until), "nothing in the range is left uncovered"
    assert sync_gaps(pool.pk, "1m") == []
    served = served_candles(simulator, address, "1m", since, until)
    stored = list(
        Candle.objects.filter(pool=pool, timeframe="1m", ts__gte=since, ts__lt=until).values_list(
            "ts", flat=True
        )
    )
    assert len(stored) == len(set(stored)) and set(stored) == set(served)


@pytest.mark.timeout(150)
def test_a_gap_backfill_longer_than_the_soft_time_limit_continues_until_filled(
    simulator, redis_client, settings
):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN, settings.GECKO_RATE_LIMIT_BURST = 6000, 50
    until = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    address = busiest_old_pool(simulator, until - timedelta(days=DAYS + 1))
    pool = make_pool(address=address)
    CollectorConfig.current()
    for start, end in ((until - timedelta(days=DAYS + 1), until - timedelta(days=DAYS)),
                       (until - timedelta(hours=1), until)):  # fmt: skip
        call_command(
            "backfill_ohlcv", "--pool", address, "--timeframe", "1m", "--since",
            start.isoformat(), "--until", end.isoformat(), "--no-progress", stdout=StringIO(),
        )  # fmt: skip
    (gap,) = sync_gaps(pool.pk, "1m")
    simulator.add_fault("slow", count=1000, path_contains="/ohlcv/", delay=1.0)
    started = timezone.now()
    runs = CollectionRun.objects.filter(task=GAP_BACKFILL, started_at__gte=started)

    call_command("backfill_ohlcv", "--gaps", "--async", stdout=StringIO())
    with celery_worker(simulator.base_url, pool="prefork", concurrency=1, **LIMITS):
        wait_until(
            lambda: (
                Gap.objects.get(pk=gap.pk).status != Gap.Status.OPEN
                or runs.filter(status="failed").exists()
            ),
            100,
            "the gap filled (or a run failed)",
        )
        drained(redis_client, 30)

    statuses = list(runs.order_by("pk").values_list("status", "detail"))
    assert all(status == CollectionRun.Status.OK for status, _ in statuses), statuses
    assert len(statuses) >= 2 and "continues in a new task" in statuses[0][1], statuses
    assert Gap.objects.get(pk=gap.pk).status == Gap.Status.FILLED
    assert sync_gaps(pool.pk, "1m") == []
