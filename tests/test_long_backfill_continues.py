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

from collectors.models import CollectionRun
from marketdata.coverage import covered_spans, sync_gaps
from marketdata.models import Gap
from tests.ground_truth import served_candles

from .celery_worker import drained, prefork_worker
from .slow_backfills import BACKFILL, gap_between, last_whole_minutes, slow_walk
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
GAP_BACKFILL = "collectors.tasks.backfill_gap"
DAYS = 4
LIMITS = {"CELERY_TASK_SOFT_TIME_LIMIT": "4", "CELERY_TASK_TIME_LIMIT": "60"}


def covers(pool, since: datetime, until: datetime) -> bool:
    return any(s.start <= since and s.end >= until for s in covered_spans(pool.pk, "1m"))


@pytest.mark.timeout(150)
def test_a_backfill_longer_than_the_soft_time_limit_continues_until_done(simulator, redis_client):
    walk = slow_walk(simulator, DAYS, delay=1.0, count=1000)
    pool, since, until = walk.pool, walk.since, walk.until
    started = timezone.now()
    runs = CollectionRun.objects.filter(task=BACKFILL, started_at__gte=started)

    call_command(*walk.command())
    with prefork_worker(simulator.base_url, **LIMITS):
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
    served = served_candles(simulator, walk.address, "1m", since, until)
    stored = walk.stored()
    assert len(stored) == len(set(stored)) and set(stored) == set(served)


@pytest.mark.timeout(150)
def test_a_gap_backfill_longer_than_the_soft_time_limit_continues_until_filled(
    simulator, redis_client, settings
):
    until = last_whole_minutes()
    _, pool, gap = gap_between(
        settings, simulator, ((until - timedelta(days=DAYS + 1), until - timedelta(days=DAYS)),
                              (until - timedelta(hours=1), until)),
    )  # fmt: skip
    simulator.add_fault("slow", count=1000, path_contains="/ohlcv/", delay=1.0)
    started = timezone.now()
    runs = CollectionRun.objects.filter(task=GAP_BACKFILL, started_at__gte=started)

    call_command("backfill_ohlcv", "--gaps", "--async", stdout=StringIO())
    with prefork_worker(simulator.base_url, **LIMITS):
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
