"""A fetch task whose worker process dies mid-run is redelivered and does its work then,
instead of being skipped for the dead process's lock. Real prefork worker, SIGKILL."""

from __future__ import annotations

import os
import signal

import pytest
from celery.result import AsyncResult
from django.utils import timezone

from collectors import tasks
from collectors.fleet.locks import lock_key
from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Trade
from tests.marketdata.factories import pool as make_pool

from .audit import assert_audit_clean
from .celery_worker import celery_worker, child_pids, wait_for_runs
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FETCH_TRADES = "collectors.tasks.fetch_trades"


def test_a_task_redelivered_after_its_worker_was_killed_does_its_work(simulator, redis_client):
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    pool = make_pool(address=address)
    CollectorConfig.current()
    key = lock_key(FETCH_TRADES, {"pool_id": pool.pk})
    simulator.add_fault("slow", count=1, path_contains="/trades", delay=60)
    started = timezone.now()

    with celery_worker(simulator.base_url, pool="prefork", concurrency=1) as worker:
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        wait_until(
            lambda: simulator.stats()["by_kind"].get("trades"), 60, "the first copy's API call"
        )
        assert redis_client.exists(key), "the first copy holds the lock"
        for child in child_pids(worker.pid):
            os.kill(child, signal.SIGKILL)

        outcome = AsyncResult(result.id).get(timeout=60)
        assert outcome != {"skipped": True}, "the redelivered copy was refused by the dead lock"
        wait_for_runs(FETCH_TRADES, 1, started, timeout=30)

    assert Trade.objects.filter(pool=pool).exists()
    run = CollectionRun.objects.get(task=FETCH_TRADES, status=CollectionRun.Status.OK)
    assert run.items_written > 0
    assert not redis_client.exists(key), "released after the redelivered run"
    assert_audit_clean()
