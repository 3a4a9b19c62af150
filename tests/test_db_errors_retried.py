"""A task whose PostgreSQL connection is killed mid-run is retried and does its work, and the
error is on its CollectionRun row (issue 11: database errors are retried, not swallowed).

The worker's connections are ended with ``pg_terminate_backend`` (what a failover or an
idle-killer does) while the task waits on a slowed API call; its next query then meets an
OperationalError. Only this test database's other sessions are ended: the server stays up.

A connection killed while a worker is idle never reaches a task: Celery's Django fixup closes
every connection before and after each task (so CONN_MAX_AGE and CONN_HEALTH_CHECKS act in
the web and beat processes only, not in workers).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig, TradeCursor
from marketdata.models import Trade
from tests.marketdata.factories import pool as make_pool

from .celery_worker import prefork_worker
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FETCH_TRADES = "collectors.tasks.fetch_trades"


def end_other_sessions() -> int:
    """End every other session on this test database (the workers'); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.timeout(90)
def test_a_task_whose_database_connection_was_killed_is_retried_and_the_error_recorded(
    simulator, redis_client
):
    world = [p for dex in simulator.world()["pools"].values() for p in dex]
    pool = make_pool(address=world[0]["address"])
    CollectorConfig.current()
    simulator.add_fault("slow", count=1, path_contains="/trades", delay=3)
    started = timezone.now()

    with prefork_worker(simulator.base_url):
        tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        wait_until(lambda: simulator.simulator.faults.pending() == [], 30, "the slowed call")
        assert end_other_sessions() >= 1
        wait_until(
            lambda: CollectionRun.objects.filter(task=FETCH_TRADES, status="ok").exists(),
            40,
            "a run that did the work",
        )

    # The retry continues the interrupted run's row (one row per task), which says why.
    runs = CollectionRun.objects.filter(task=FETCH_TRADES, started_at__gte=started)
    assert runs.count() == 1, list(runs.values_list("status", "detail"))
    ok = runs.get()
    assert ok.status == "ok"
    assert "retried after an outage" in ok.detail, ok.detail
    assert "OperationalError" in ok.detail or "InterfaceError" in ok.detail, ok.detail
    assert ok.items_written > 0
    assert Trade.objects.filter(pool=pool).count() == ok.items_written
    assert TradeCursor.objects.get(pool=pool).last_collected_at > started
