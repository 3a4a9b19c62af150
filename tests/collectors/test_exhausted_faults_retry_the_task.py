"""A call whose every client attempt met a transient fault (5xx, 429, throttle, timeout,
truncated JSON) is not an unhandled exception: the task waits and retries with a backoff
countdown, recorded on its CollectionRun; past a task-level limit the run fails with the error
text, logged once at ERROR without a traceback. Real worker, simulator over HTTP."""

from __future__ import annotations

import time

import pytest
from celery.result import AsyncResult

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from tests.celery_worker import celery_worker
from tests.marketdata.factories import pool as make_pool

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FETCH_TRADES = "collectors.tasks.fetch_trades"
ENV = {
    "GECKO_RETRY_ATTEMPTS": "2",
    "GECKO_RETRY_BACKOFF": "0.05",
    "GECKO_RETRY_BACKOFF_MAX": "0.1",
    "GECKO_TASK_FAULT_BACKOFF": "1",
    "GECKO_BREAKER_FAILURES": "50",
}


def trades_task(simulator, redis_client):
    pool = make_pool(address=simulator.world()["pools"]["pumpswap"][0]["address"])
    CollectorConfig.current()
    return pool


def run_to_the_end(result, timeout: float = 60) -> set[str]:
    """Wait for the task's last state; return the run statuses seen on the way."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not AsyncResult(result.id).ready():
        seen |= set(
            CollectionRun.objects.filter(correlation_id=result.id).values_list("status", flat=True)
        )
        assert time.monotonic() < deadline, f"task not done; statuses seen {seen}"
        time.sleep(0.1)
    return seen


def test_exhausted_retries_wait_and_the_task_retries_later(simulator, redis_client, tmp_path):
    pool = trades_task(simulator, redis_client)
    simulator.add_fault("500", count=2, path_contains="/trades")
    simulator.add_fault("truncated", count=1, path_contains="/trades")
    simulator.add_fault("timeout", count=1, delay=3, path_contains="/trades")
    log = tmp_path / "worker.log"

    with celery_worker(simulator.base_url, log=log, GECKO_HTTP_TIMEOUT="1", **ENV):
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        seen = run_to_the_end(result)
        assert AsyncResult(result.id).successful()

    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "raised unexpected" not in output, output[-3000:]
    assert "waiting" in seen
    run = CollectionRun.objects.get(task=FETCH_TRADES)
    assert (run.status, run.api_calls, run.errors) == ("ok", 5, 4)
    assert run.items_written > 0
    assert "HTTP 500" in run.detail and "timed out" in run.detail, run.detail


def test_the_task_gives_up_past_its_limit_with_one_error_line(simulator, redis_client, tmp_path):
    pool = trades_task(simulator, redis_client)
    simulator.add_fault("500", count=100, path_contains="/trades")
    log = tmp_path / "worker.log"

    with celery_worker(simulator.base_url, log=log, GECKO_TASK_FAULT_RETRIES="2", **ENV):
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        run_to_the_end(result)

    run = CollectionRun.objects.get(task=FETCH_TRADES)
    assert (run.status, run.api_calls, run.errors) == ("failed", 6, 6), "3 tries of 2 attempts"
    assert "gave up" in run.detail and "HTTP 500" in run.detail, run.detail
    assert simulator.stats()["by_kind"]["trades"] == 6
    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "raised unexpected" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if " ERROR " in line or "ERROR/" in line]
    assert len(errors) == 1 and "HTTP 500" in errors[0], errors
