"""Redis restarted mid-run (issue 11). Redis is the broker, the bucket and the locks; it runs
with ``appendonly yes`` as in production (docker-compose.yml), so the queue survives: work
queued before the restart is delivered after it, workers and beat reconnect on their own, and
every task's work is done once and in full.

Private servers (tests.private_servers): the shared Redis is never stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from collectors.models import CollectionRun

from .audit import assert_audit_clean
from .ground_truth import assert_complete_and_unique
from .outage import all_done_after, each_worker_pool, fetches_in_flight, prepare, workers_and_beat

pytestmark = [pytest.mark.slow]
SLOW = 2.0  # each worker thread is busy this long per slow answer: the queue backs up
DOWN = 3.0


@pytest.mark.timeout(150)
@each_worker_pool
def test_workers_and_beat_survive_a_redis_restart_and_queued_work_is_delivered(
    private_stack, simulator, tmp_path: Path, pool: str
):
    run = prepare(private_stack, simulator, tmp_path, slow=SLOW)
    broker = private_stack.client()

    with workers_and_beat(simulator, tmp_path, run, pool=pool, concurrency=2, name="r") as all_up:
        ids = fetches_in_flight(private_stack, simulator, run, slow=2)
        queued = broker.llen("api")
        assert queued > 0, "work was waiting in the queue at the restart"
        private_stack.redis.restart(down_for=DOWN)
        all_done_after(ids, timezone.now(), all_up)

    # No task failed (Celery itself logs tracebacks of the lost connection: not ours), and
    # the tasks the outage interrupted say so on their run.
    output = run.log.read_text(errors="replace")
    assert "raised unexpected" not in output, output[-5000:]
    runs = CollectionRun.objects.filter(correlation_id__in=ids)
    assert runs.count() == len(ids), "one run per task"
    assert runs.filter(detail__contains="retried after an outage: ConnectionError").exists()

    assert_complete_and_unique(simulator, float(run.config.min_trade_usd))
    assert_audit_clean()
