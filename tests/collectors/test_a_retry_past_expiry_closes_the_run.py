"""A run never stays "waiting" past the point where its retry can no longer run.

Fetch tasks expire with the planner's tick; a retry whose countdown outlives that is discarded
by Celery on arrival and nothing would close its row. The task closes it itself as *expired*
(the next plan re-queues the work), and the gap scan's sweep closes any waiting row left by a
retry that never came (e.g. its worker died holding the countdown)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from collectors.runs.tracking import close_abandoned_runs
from tests.celery_worker import celery_worker
from tests.marketdata.factories import pool as make_pool

FETCH_TRADES = "collectors.tasks.fetch_trades"
# Long enough for a first try to run before it, also on a busy machine (a loaded CI took over
# 12 s to start one); the faults below outlive it.
EXPIRES = 30  # seconds


def closed_run(task_id: str, timeout: float = 25) -> CollectionRun:
    deadline = time.monotonic() + timeout
    while True:
        run = CollectionRun.objects.filter(correlation_id=task_id).first()
        if run is not None and run.status not in ("running", "waiting"):
            return run
        assert time.monotonic() < deadline, f"run still {run and run.status}: {run and run.detail}"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fault", "env"),
    [
        # A 429 cools the fleet's bucket down 60 s: longer than the task may sleep for a token.
        (("429", {"retry_after": 60}), {"GECKO_RATE_LIMIT_COOLDOWN_FLOOR": "1"}),
        # Every attempt a 500: the task's own backoff countdown (45-90 s) outlives the expiry.
        (("500", {"count": 2}), {"GECKO_RETRY_ATTEMPTS": "2", "GECKO_TASK_FAULT_BACKOFF": "90"}),
    ],
    ids=["must-wait", "faults"],
)
def test_a_retry_that_would_outlive_the_expiry_closes_the_run(simulator, redis_client, fault, env):
    pool = make_pool(address=simulator.world()["pools"]["pumpswap"][0]["address"])
    CollectorConfig.current()
    kind, options = fault
    simulator.add_fault(kind, path_contains="/trades", **options)

    with celery_worker(simulator.base_url, GECKO_RETRY_BACKOFF="0.05", **env):
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk}, expires=EXPIRES)
        run = closed_run(result.id, timeout=EXPIRES + 10)

    assert run.status == CollectionRun.Status.EXPIRED, run.detail
    assert run.detail.startswith("expired: the next plan re-queues it"), run.detail
    assert run.api_calls >= 1 and run.errors >= 1
    assert CollectionRun.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_retry_discarded_on_arrival_after_its_expiry_closes_the_run(simulator, redis_client):
    """The retry was due in time, but no worker took it before the expiry (here: the worker
    stopped, and the next started late; in a busy fleet: prefetch full). Celery discards it
    on arrival and sends task_revoked, which closes the run."""
    pool = make_pool(address=simulator.world()["pools"]["pumpswap"][0]["address"])
    CollectorConfig.current()
    simulator.add_fault("429_retry_after_0", count=1, path_contains="/trades")
    env = {"GECKO_RATE_LIMIT_COOLDOWN_FLOOR": "7"}  # > the 5 s a task may sleep for a token

    with celery_worker(simulator.base_url, **env):
        sent = time.monotonic()
        result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk}, expires=EXPIRES)
        while not CollectionRun.objects.filter(correlation_id=result.id, status="waiting"):
            assert time.monotonic() < sent + EXPIRES, "the run never waited"
            time.sleep(0.1)
    # Past the expiry, no worker running: the retry message stays queued.
    time.sleep(max(0.0, sent + EXPIRES + 1 - time.monotonic()))
    with celery_worker(simulator.base_url, **env):
        run = closed_run(result.id)

    assert run.status == CollectionRun.Status.EXPIRED, run.detail
    assert run.detail.startswith("expired: the next plan re-queues it"), run.detail
    assert simulator.stats()["by_kind"]["trades"] == 1, "the retry never ran"


@pytest.mark.django_db
def test_the_sweep_closes_waiting_rows_whose_retry_never_came():
    stale = CollectionRun.objects.create(task="t", status="waiting", finished_at=timezone.now())
    CollectionRun.objects.filter(pk=stale.pk).update(
        finished_at=timezone.now() - timedelta(hours=2)
    )
    fresh = CollectionRun.objects.create(task="t", status="waiting", finished_at=timezone.now())

    assert close_abandoned_runs(timedelta(hours=1)) == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("expired", "waiting")
    assert stale.detail.startswith("expired: its retry never ran")


@pytest.mark.django_db(transaction=True)
def test_a_retry_skipped_for_the_same_work_running_closes_its_waiting_run(redis_client):
    """While a fetch waited out its countdown, the planner queued the same work again and that
    copy holds the lock when the retry arrives: the retry is skipped, and its run, left
    "waiting", is closed (seen in CI's chaos run: waiting 90 s after the drain)."""
    from collectors.fleet.locks import task_lock

    pool = make_pool()
    CollectorConfig.current()
    arguments = {"pool_id": pool.pk}
    waiting = CollectionRun.objects.create(
        task=FETCH_TRADES,
        arguments=arguments,
        correlation_id="retry-1",
        status=CollectionRun.Status.WAITING,
        finished_at=timezone.now(),
        detail="trades: rate limit; wait 8.0s",
    )

    with task_lock(FETCH_TRADES, arguments, 30, owner="the-other-copy") as held:
        assert held
        outcome = tasks.fetch_trades.apply(kwargs=arguments, task_id="retry-1").get()

    waiting.refresh_from_db()
    assert outcome == {"skipped": True}
    assert waiting.status == CollectionRun.Status.EXPIRED, waiting.detail
    assert waiting.detail.startswith("superseded: the same work ran in another task"), (
        waiting.detail
    )
