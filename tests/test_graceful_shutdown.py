"""SIGTERM to a worker loses no task: the running one finishes before the worker exits, or,
if its process is killed with the worker, it is requeued and done by the next worker.
Real prefork workers on the test broker; the simulator holds the task's API call open."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from celery.result import AsyncResult
from django.utils import timezone

from collectors import tasks
from collectors.models import CollectionRun
from marketdata.models import Trade

from .celery_worker import child_pids, prefork_worker
from .fetch_tasks import FETCH_TRADES, first_pool, slow_trades_fetch
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_sigterm_lets_the_running_task_finish_before_the_worker_exits(simulator, redis_client):
    with prefork_worker(simulator.base_url) as worker:
        pool, result = slow_trades_fetch(simulator, delay=4)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        exited = timezone.now()

    assert AsyncResult(result.id).successful()
    run = CollectionRun.objects.get(task=FETCH_TRADES)
    assert run.status == CollectionRun.Status.OK and run.finished_at < exited
    assert Trade.objects.filter(pool=pool).exists()


def test_a_task_killed_with_its_worker_is_requeued_and_done_by_the_next_worker(
    simulator, redis_client
):
    with prefork_worker(simulator.base_url) as worker:
        pool, result = slow_trades_fetch(simulator, delay=30)
        # What a supervisor that signals the whole group does: the pool child dies mid-task.
        for pid in [*child_pids(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop on SIGTERM")
    assert not Trade.objects.filter(pool=pool).exists(), "the first copy never finished"

    with prefork_worker(simulator.base_url):
        AsyncResult(result.id).get(timeout=60)
        wait_until(
            lambda: CollectionRun.objects.filter(task=FETCH_TRADES, status="ok").exists(),
            30,
            "the redelivered run",
        )
    assert Trade.objects.filter(pool=pool).exists()
    assert simulator.stats()["by_kind"]["trades"] == 2


def test_a_countdown_retry_held_by_a_stopping_worker_is_done_by_the_next_one(
    simulator, redis_client
):
    pool = first_pool(simulator)
    simulator.add_fault("429_retry_after_0", count=1, path_contains="/trades")
    env = {"GECKO_RATE_LIMIT_COOLDOWN_FLOOR": "8"}

    with prefork_worker(simulator.base_url, **env) as worker:
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        wait_until(
            lambda: CollectionRun.objects.filter(
                correlation_id=result.id, status="waiting"
            ).exists(),
            60,
            "the run to wait on the cooldown",
        )
        worker.send_signal(signal.SIGTERM)  # its retry waits in this worker's memory (ETA)
        assert worker.wait(timeout=60) == 0
    assert not AsyncResult(result.id).ready()

    with prefork_worker(simulator.base_url, **env):
        AsyncResult(result.id).get(timeout=90)
    run = CollectionRun.objects.get(task=FETCH_TRADES)
    assert (run.status, run.correlation_id) == ("ok", result.id)
    assert Trade.objects.filter(pool=pool).exists()


def test_every_collector_task_is_acked_only_after_it_ran():
    from geckoproject.celery import app

    ours = {name: t for name, t in app.tasks.items() if name.startswith("collectors.tasks.")}
    assert "collectors.tasks.plan_collection" in ours and "collectors.tasks.fetch_ohlcv" in ours
    assert {name for name, t in ours.items() if not (t.acks_late and t.reject_on_worker_lost)} == (
        set()
    )
