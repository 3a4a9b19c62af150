"""One planner run per beat tick, however many beats send it (a rolling deploy runs two).

Deterministic: the messages two beats send for one tick, run through the real task code
against the real broker. Real processes: tests/test_two_beats.py.
"""

from __future__ import annotations

import json
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors import tasks
from collectors.models import CollectionRun
from tests.marketdata.factories import pool as make_pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
INTERVAL = 300
PLAN = "collectors.tasks.plan_collection"


@pytest.fixture
def plan_every_5_min(db):
    every = IntervalSchedule.objects.create(every=INTERVAL, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="plan collection", task=PLAN, interval=every, kwargs=json.dumps({})
    )


@pytest.fixture
def watched_pools(db):
    pools = [make_pool(address=f"Poo{i}" + "1" * 40) for i in range(3)]
    for p in pools:
        WatchlistEntry.objects.create(pool_address=p.address, pool=p)
    return pools


def beat_headers(name: str, sent_at: float) -> dict:
    """What celery beat (with django-celery-beat) puts on the message of one tick."""
    return {"celery_beat_task": True, "periodic_task_name": name, "beat_sent_at": sent_at}


def queued(redis_client, queue: str = "api") -> int:
    return redis_client.llen(queue)


def test_the_second_beats_copy_of_a_tick_queues_nothing(
    redis_client, plan_every_5_min, watched_pools
):
    tick = (time.time() // INTERVAL) * INTERVAL + 10
    headers = beat_headers("plan collection", tick)

    first = tasks.plan_collection.apply(headers=headers).get()
    after_first = queued(redis_client)
    second = tasks.plan_collection.apply(headers={**headers, "beat_sent_at": tick + 0.05}).get()

    assert first == after_first >= len(watched_pools), "the trades of every pool, and more"
    assert second == {"skipped": True}
    assert queued(redis_client) == after_first, "the duplicate tick queued more fetches"
    assert CollectionRun.objects.filter(task=PLAN).count() == 1


def test_the_next_tick_a_retry_and_a_run_not_sent_by_beat_still_run(
    redis_client, plan_every_5_min, watched_pools
):
    tick = (time.time() // INTERVAL) * INTERVAL + 10
    headers = beat_headers("plan collection", tick)
    first = tasks.plan_collection.apply(headers=headers)

    again = tasks.plan_collection.apply(headers=headers, task_id=first.id).get()
    manual = tasks.plan_collection.apply().get()
    admin_run_now = tasks.plan_collection.apply(headers={"periodic_task_name": "plan collection"})
    next_tick = tasks.plan_collection.apply(
        headers=beat_headers("plan collection", tick + INTERVAL)
    )

    assert again != {"skipped": True}, "a retry or redelivery of the tick's own message runs"
    assert manual != {"skipped": True}
    assert admin_run_now.get() != {"skipped": True}, "the admin's 'run now' is not a tick"
    assert next_tick.get() != {"skipped": True}
    assert CollectionRun.objects.filter(task=PLAN).count() == 5


def test_ticks_of_different_periodic_tasks_do_not_collide(redis_client, db):
    every = IntervalSchedule.objects.create(every=INTERVAL, period=IntervalSchedule.SECONDS)
    for name in ("plan collection", "plan collection (second row)"):
        PeriodicTask.objects.create(name=name, task=PLAN, interval=every)
    tick = (time.time() // INTERVAL) * INTERVAL + 10

    results = [
        tasks.plan_collection.apply(headers=beat_headers(name, tick)).get()
        for name in ("plan collection", "plan collection (second row)")
    ]

    assert results == [0, 0], "both ran (nothing to plan)"
    assert CollectionRun.objects.filter(task=PLAN).count() == 2
