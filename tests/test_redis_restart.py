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
from .celery_worker import celery_beat, celery_worker, wait_for_runs
from .ground_truth import assert_complete_and_unique
from .outage import ok_runs, prepare, queue_fetches
from .waiting import wait_until

pytestmark = [pytest.mark.slow]
POOLS = 10
TICK = 10
SLOW = 2.0  # each worker thread is busy this long per slow answer: the queue backs up
DOWN = 3.0


@pytest.mark.timeout(150)
@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_workers_and_beat_survive_a_redis_restart_and_queued_work_is_delivered(
    private_stack, simulator, tmp_path: Path, pool: str
):
    run = prepare(private_stack, simulator, tmp_path, pools=POOLS, tick=TICK, slow=SLOW)
    log, env = run.log, run.env
    broker = private_stack.client()

    with (
        celery_worker(
            simulator.base_url, pool=pool, concurrency=2, hostname="r1@%h", log=log, **env
        ) as w1,
        celery_worker(
            simulator.base_url, pool=pool, concurrency=2, hostname="r2@%h", log=log, **env
        ) as w2,
        celery_beat(simulator.base_url, tmp_path, log=log, **env) as beat,
    ):
        wait_until(lambda: broker.exists("_kombu.binding.api"), 30, "the workers' api queue")
        ids = queue_fetches(private_stack, run.pools)
        wait_until(
            lambda: simulator.stats()["faults_by_kind"].get("slow", 0) >= 2,
            30,
            "slow answers in flight",
        )
        queued = broker.llen("api")
        assert queued > 0, "work was waiting in the queue at the restart"
        private_stack.redis.restart(down_for=DOWN)
        back = timezone.now()

        wait_until(lambda: ok_runs(ids) == ids, 90, "every task's run finished OK", pause=0.5)
        wait_for_runs("collectors.tasks.plan_collection", 2, back, timeout=60)
        assert all(p.poll() is None for p in (w1, w2, beat)), "workers and beat kept running"

    # No task failed (Celery itself logs tracebacks of the lost connection: not ours), and
    # the tasks the outage interrupted say so on their run.
    output = log.read_text(errors="replace")
    assert "raised unexpected" not in output, output[-5000:]
    runs = CollectionRun.objects.filter(correlation_id__in=ids)
    assert runs.count() == len(ids), "one run per task"
    assert runs.filter(detail__contains="retried after an outage: ConnectionError").exists()

    assert_complete_and_unique(simulator, float(run.config.min_trade_usd))
    assert_audit_clean()
