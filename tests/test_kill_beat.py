"""Beat SIGKILLed and started again on the same schedule database (issue 11, kills): ticking
resumes, no tick runs twice, and the ticks missed while it was down do not all run on its return.

Beat (DatabaseScheduler) keeps each schedule's last run time in memory and writes it to the
database only when it syncs; a killed beat loses what it had not written. A tick sent just
before the kill could then be sent again at the restart; collectors.fleet.ticks dedups it only while
both copies fall into the same interval slot.
"""

from __future__ import annotations

import math
import os
import signal
import time
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from collectors.models import CollectionRun, CollectorConfig

from .audit import assert_audit_clean
from .celery_worker import celery_beat, celery_worker, schedule_planner, wait_for_runs
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PLAN = "collectors.tasks.plan_collection"


def run_times(since: datetime) -> list[float]:
    started = CollectionRun.objects.filter(task=PLAN, started_at__gte=since).order_by("started_at")
    return [t.timestamp() for t in started.values_list("started_at", flat=True)]


def beat_killed_after_two_ticks(simulator, tmp_path, since: datetime) -> None:
    """Beat runs until it has sent two ticks since ``since``, then is SIGKILLed."""
    with celery_beat(simulator.base_url, tmp_path) as beat:
        wait_for_runs(PLAN, 2, since, timeout=40)
        os.kill(beat.pid, signal.SIGKILL)
        beat.wait(timeout=10)


def beat_restarted(simulator, tmp_path, since: datetime, ticks: int, timeout: float) -> float:
    """Beat started again, until ``ticks`` ticks ran after its start; when it started."""
    restarted = time.time()
    with celery_beat(simulator.base_url, tmp_path):
        wait_until(
            lambda: len([t for t in run_times(since) if t > restarted]) >= ticks,
            timeout,
            f"{ticks} ticks after the restart",
        )
    return restarted


@pytest.mark.timeout(90)
def test_beat_killed_just_after_a_tick_and_restarted_at_once_does_not_send_it_again(
    simulator, redis_client, tmp_path
):
    """The restart lands in the next tick slot but within the interval: the tick sent before
    the kill must not run again there."""
    every = 10
    CollectorConfig.current()
    now = time.time()
    # Ticks 7 s into their slot (floor(sent_at / every)), so a restart 3 s later is in the next.
    first = math.ceil(now / every) * every + 7
    if first - now < 3:
        first += every
    schedule_planner(every, datetime.fromtimestamp(first, UTC))
    since = timezone.now()

    with celery_worker(simulator.base_url, concurrency=2):
        beat_killed_after_two_ticks(simulator, tmp_path, since)
        (last_before,) = run_times(since)[-1:]
        boundary = math.ceil(last_before / every) * every
        time.sleep(max(0.0, boundary + 0.2 - time.time()))
        beat_restarted(simulator, tmp_path, since, 2, 3 * every + 10)

    times = run_times(since)
    after = [t for t in times if t > last_before]
    assert after[0] - last_before >= every - 1.5, (
        f"a tick {after[0] - last_before:.1f} s after the one before the kill (every {every} s)"
    )
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= every - 1.5, gaps
    assert_audit_clean()


@pytest.mark.timeout(90)
def test_beat_down_for_several_intervals_resumes_with_one_catch_up_tick_not_a_storm(
    simulator, redis_client, tmp_path
):
    every = 3
    down = 4 * every
    CollectorConfig.current()
    schedule_planner(every)
    since = timezone.now()

    with celery_worker(simulator.base_url, concurrency=2):
        beat_killed_after_two_ticks(simulator, tmp_path, since)
        killed = time.time()
        time.sleep(down)
        restarted = beat_restarted(simulator, tmp_path, since, 3, 5 * every + 10)
        stopped = time.time()

    times = run_times(since)
    assert not [t for t in times if killed + 1 < t < restarted], "nothing ran while beat was down"
    after = [t for t in times if t > restarted]
    # One tick at the restart stands for all those missed, then one an interval.
    assert len(after) <= 1 + (stopped - restarted) / every + 1, (len(after), stopped - restarted)
    gaps = [b - a for a, b in zip(after, after[1:], strict=False)]
    assert min(gaps) >= every - 1.5, gaps
    assert_audit_clean()
