"""A run that had to wait (MustWait) and was retried ends as *one* row with the outcome,
found by its correlation id (the Celery task id), instead of a row stuck at "waiting".

The end-to-end test takes the real path: a real worker, the simulator answering 429, the
shared Redis bucket on cooldown, the task's retry with countdown, the retry's success.
"""

from __future__ import annotations

import json
import time

import pytest
from celery.result import AsyncResult

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from collectors.runs.tracking import track_run
from tests.celery_worker import celery_worker
from tests.marketdata.factories import pool as make_pool

FETCH_TRADES = "collectors.tasks.fetch_trades"


@pytest.mark.django_db
def test_a_retry_with_the_same_id_continues_the_waiting_row():
    with track_run(FETCH_TRADES, {"pool_id": 1}, correlation_id="task-1") as tally:
        tally.api_calls, tally.items_written = 2, 5
        tally.status, tally.detail = CollectionRun.Status.WAITING, "rate limit; wait 30s"
    with track_run(FETCH_TRADES, {"pool_id": 1}, correlation_id="task-1") as tally:
        tally.api_calls, tally.items_written, tally.detail = 1, 7, "300 received"

    run = CollectionRun.objects.get()
    assert (run.status, run.api_calls, run.items_written) == ("ok", 3, 12)
    assert run.correlation_id == "task-1" and run.finished_at is not None
    assert run.detail.startswith("300 received") and "rate limit; wait 30s" in run.detail


@pytest.mark.django_db
def test_another_task_id_never_takes_over_a_waiting_row():
    with track_run(FETCH_TRADES, {"pool_id": 1}, correlation_id="task-1") as tally:
        tally.api_calls, tally.status = 1, CollectionRun.Status.WAITING
    with track_run(FETCH_TRADES, {"pool_id": 1}, correlation_id="task-2"):
        pass
    assert sorted(CollectionRun.objects.values_list("correlation_id", "status")) == [
        ("task-1", "waiting"),
        ("task-2", "ok"),
    ]


@pytest.mark.django_db
def test_a_retry_that_waits_again_before_any_call_keeps_the_row():
    with track_run(FETCH_TRADES, {}, correlation_id="task-1") as tally:
        tally.api_calls, tally.status = 1, CollectionRun.Status.WAITING
    with track_run(FETCH_TRADES, {}, correlation_id="task-1") as tally:
        tally.status, tally.discard = CollectionRun.Status.WAITING, True
    run = CollectionRun.objects.get()
    assert (run.status, run.api_calls) == ("waiting", 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_that_waited_on_a_429_cooldown_ends_as_one_ok_row(simulator, redis_client, capfd):
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    pool = make_pool(address=address)
    CollectorConfig.current()
    # Retry-After: 0, so the fleet cools down for the floor: longer than a task may sleep
    # for a token (5 s), so the task records a waiting run and retries with a countdown.
    simulator.add_fault("429_retry_after_0", count=1, path_contains="/trades")

    with celery_worker(simulator.base_url, GECKO_RATE_LIMIT_COOLDOWN_FLOOR="7", LOG_FORMAT="json"):
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
        seen = set()
        deadline = time.monotonic() + 60
        while not AsyncResult(result.id).ready():
            seen |= set(
                CollectionRun.objects.filter(correlation_id=result.id).values_list(
                    "status", flat=True
                )
            )
            assert time.monotonic() < deadline, f"task not done; statuses seen {seen}"
            time.sleep(0.1)
        AsyncResult(result.id).get(timeout=5)

    assert "waiting" in seen, "the first attempt really waited on the bucket's cooldown"
    run = CollectionRun.objects.get(task=FETCH_TRADES)
    assert run.correlation_id == result.id
    assert run.status == CollectionRun.Status.OK
    assert run.api_calls == 2, "the 429'd call and the retry's call, added up"
    assert run.items_written > 0
    assert simulator.stats()["by_kind"]["trades"] == 2

    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line[:1] == "{"]
    throttled = [line for line in lines if "throttled" in line["message"]]
    assert throttled and {line["correlation_id"] for line in throttled} == {result.id}
    assert {line["task"] for line in throttled} == {FETCH_TRADES}


@pytest.mark.django_db
def test_the_row_names_the_worker_that_ran_it_and_a_retry_elsewhere_takes_over():
    """With workers on several hosts the row says where to read the logs: the last worker."""
    with track_run(FETCH_TRADES, {}, correlation_id="task-1", worker="api@hosta") as tally:
        tally.api_calls, tally.status = 1, CollectionRun.Status.WAITING
    assert CollectionRun.objects.get().worker == "api@hosta"
    with track_run(FETCH_TRADES, {}, correlation_id="task-1", worker="api@hostb"):
        pass
    assert CollectionRun.objects.get().worker == "api@hostb"
