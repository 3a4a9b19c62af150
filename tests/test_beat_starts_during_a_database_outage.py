"""Beat started while PostgreSQL is down (a host booting, a compose stack starting, a database
restart under a slow beat) waits for the database instead of exiting: before, its first read of
the schedule raised and beat exited with code 1, and nothing was planned again until someone
restarted it. Seen in CI as "only 0 of 2 plan_collection runs finished" after a restart.

Private servers (tests.private_servers): the shared PostgreSQL is never stopped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from .celery_worker import celery_beat, celery_worker, wait_for_runs
from .outage import prepare

pytestmark = [pytest.mark.slow]
TICK = 10
PLAN = "collectors.tasks.plan_collection"
DOWN = 6.0  # seconds the database stays down after beat starts


@pytest.mark.timeout(120)
def test_beat_started_while_the_database_is_down_waits_and_then_plans(
    private_stack, simulator, tmp_path: Path
):
    run = prepare(private_stack, simulator, tmp_path, pools=2, tick=TICK, slow=0.0)
    connection.close()
    private_stack.postgres.stop("fast")
    with celery_beat(simulator.base_url, tmp_path, log=run.log, **run.env) as beat:
        # Down until beat has met the outage (a loaded machine starts beat in more than DOWN).
        deadline = time.monotonic() + 60
        time.sleep(DOWN)
        while "the database is unavailable" not in run.log.read_text(errors="replace"):
            assert beat.poll() is None, "beat exited while the database was down"
            assert time.monotonic() < deadline, "beat never met the outage"
            time.sleep(0.5)
        assert beat.poll() is None, "beat exited while the database was down"
        private_stack.postgres.start()
        back = timezone.now()
        with celery_worker(simulator.base_url, log=run.log, **run.env):
            wait_for_runs(PLAN, 1, back, timeout=60)
        assert beat.poll() is None
    output = run.log.read_text(errors="replace")
    assert "the database is unavailable" in output, output[-3000:]
