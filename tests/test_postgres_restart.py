"""PostgreSQL restarted mid-run (issue 11): tasks that meet the dead database are retried,
not failed and forgotten; afterwards every task's work is done once and in full, the error
is on record, and the workers and beat carry on without a restart of their own.

Private servers (tests.private_servers): the shared PostgreSQL is never stopped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from collectors.models import CollectionRun

from .audit import assert_audit_clean
from .celery_worker import celery_beat, celery_worker, wait_for_runs
from .ground_truth import assert_complete_and_unique
from .outage import ok_runs, prepare, queue_fetches
from .waiting import wait_until

pytestmark = [pytest.mark.slow]
POOLS = 10
SLOW = 3.0  # seconds a slow answer takes: the database dies while these are in flight
DOWN = 5.0  # seconds the database stays down, longer than a slow answer
TICK = 10
PLAN = "collectors.tasks.plan_collection"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_tasks_meeting_a_postgres_restart_are_retried_and_lose_nothing(
    private_stack, simulator, tmp_path: Path, pool: str
):
    run = prepare(private_stack, simulator, tmp_path, pools=POOLS, tick=TICK, slow=SLOW)
    log, env = run.log, run.env

    with (
        celery_worker(
            simulator.base_url, pool=pool, concurrency=4, hostname="pg1@%h", log=log, **env
        ) as w1,
        celery_worker(
            simulator.base_url, pool=pool, concurrency=4, hostname="pg2@%h", log=log, **env
        ) as w2,
        celery_beat(simulator.base_url, tmp_path, log=log, **env) as beat,
    ):
        broker = private_stack.client()
        wait_until(lambda: broker.exists("_kombu.binding.api"), 30, "the workers' api queue")
        ids = queue_fetches(private_stack, run.pools)
        wait_until(
            lambda: simulator.stats()["faults_by_kind"].get("slow", 0) >= 4,
            30,
            "slow answers in flight",
        )
        connection.close()
        private_stack.postgres.stop("fast")
        time.sleep(DOWN)
        private_stack.postgres.start()
        back = timezone.now()

        wait_until(lambda: ok_runs(ids) == ids, 90, "every task's run finished OK", pause=0.5)
        wait_for_runs(PLAN, 2, back, timeout=60)
        assert all(p.poll() is None for p in (w1, w2, beat)), "workers and beat kept running"

    # The restart did hit work in progress, and the error is on record.
    output = log.read_text(errors="replace")
    assert "OperationalError" in output or "InterfaceError" in output, output[-3000:]
    # No task failed (beat's scheduler logs the database's errors with tracebacks: handled).
    assert "raised unexpected" not in output, output[-5000:]
    runs = CollectionRun.objects.filter(correlation_id__in=ids)
    assert not runs.exclude(status=CollectionRun.Status.OK).exists(), list(
        runs.exclude(status=CollectionRun.Status.OK).values_list("task", "status", "detail")
    )
    assert runs.count() == len(ids), "one run per task: a retry continues its run's row"
    assert runs.filter(detail__contains="retried after an outage: OperationalError").exists()

    # Complete against the simulator's ground truth, and nothing twice.
    assert_complete_and_unique(simulator, float(run.config.min_trade_usd))
    assert_audit_clean()
