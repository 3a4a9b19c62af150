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
from .ground_truth import assert_complete_and_unique
from .outage import all_done_after, each_worker_pool, fetches_in_flight, prepare, workers_and_beat

pytestmark = [pytest.mark.slow]
SLOW = 3.0  # seconds a slow answer takes: the database dies while these are in flight
DOWN = 5.0  # seconds the database stays down, longer than a slow answer


@pytest.mark.timeout(120)
@each_worker_pool
def test_tasks_meeting_a_postgres_restart_are_retried_and_lose_nothing(
    private_stack, simulator, tmp_path: Path, pool: str
):
    run = prepare(private_stack, simulator, tmp_path, slow=SLOW)

    with workers_and_beat(simulator, tmp_path, run, pool=pool, concurrency=4, name="pg") as all_up:
        ids = fetches_in_flight(private_stack, simulator, run, slow=4)
        connection.close()
        private_stack.postgres.stop("fast")
        time.sleep(DOWN)
        private_stack.postgres.start()
        all_done_after(ids, timezone.now(), all_up)

    # The restart did hit work in progress, and the error is on record.
    output = run.log.read_text(errors="replace")
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
