"""A fetch task whose worker process dies mid-run is redelivered and does its work then,
instead of being skipped for the dead process's lock. Real prefork worker, SIGKILL."""

from __future__ import annotations

import os
import signal

import pytest
from celery.result import AsyncResult
from django.utils import timezone

from collectors.fleet.locks import lock_key
from collectors.models import CollectionRun
from marketdata.models import Trade

from .audit import assert_audit_clean
from .celery_worker import child_pids, prefork_worker, wait_for_runs
from .fetch_tasks import FETCH_TRADES, slow_trades_fetch

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_task_redelivered_after_its_worker_was_killed_does_its_work(simulator, redis_client):
    started = timezone.now()

    with prefork_worker(simulator.base_url) as worker:
        pool, result = slow_trades_fetch(simulator, delay=60)  # the first copy
        key = lock_key(FETCH_TRADES, {"pool_id": pool.pk})
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
