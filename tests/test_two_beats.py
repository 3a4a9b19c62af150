"""Two beats at once (a rolling deploy, or one started by mistake on a second host) with a real
worker: planners run once per tick."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors.models import CollectionRun

from .celery_worker import celery_beat, celery_worker, wait_for_runs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PLAN = "collectors.tasks.plan_collection"
EVERY = 2
WATCH = 16.0


# A host whose clock is off: this module, first on the beat's PYTHONPATH, shifts time.time().
SKEWED_CLOCK = """
import os, time
_skew, _time = float(os.environ["TEST_CLOCK_SKEW"]), time.time
time.time = lambda: _time() + _skew
"""


def planner_runs_with_two_beats(simulator, tmp_path: Path, **second_beat_env: str) -> int:
    """Planner runs in WATCH seconds with two beats on one schedule and one worker."""
    PeriodicTask.objects.create(
        name="plan collection",
        task=PLAN,
        interval=IntervalSchedule.objects.create(every=EVERY, period=IntervalSchedule.SECONDS),
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    started = timezone.now()

    with (
        celery_worker(simulator.base_url),
        celery_beat(simulator.base_url, tmp_path / "a"),
        celery_beat(simulator.base_url, tmp_path / "b", **second_beat_env),
    ):
        wait_for_runs(PLAN, 2, started, timeout=60)
        since = timezone.now()
        time.sleep(WATCH)
        until = timezone.now()
    time.sleep(0.5)

    runs = CollectionRun.objects.filter(task=PLAN, started_at__gte=since)
    return runs.filter(started_at__lt=until).count()


def test_two_beats_do_not_double_the_planners_runs(simulator, redis_client, tmp_path):
    count = planner_runs_with_two_beats(simulator, tmp_path)
    one_beat = WATCH / EVERY
    assert one_beat - 2 <= count <= one_beat + 1, f"{count} runs in {WATCH}s, every {EVERY}s"


def test_two_beats_on_hosts_whose_clocks_disagree_by_minutes_do_not_double_them(
    simulator, redis_client, tmp_path
):
    """A tick's slot must not come from the beat host's own clock: five minutes apart, the two
    beats' slots never meet while a claim lives, and every tick would run twice."""
    (tmp_path / "clock").mkdir()
    (tmp_path / "clock" / "sitecustomize.py").write_text(SKEWED_CLOCK)
    count = planner_runs_with_two_beats(
        simulator, tmp_path, PYTHONPATH=str(tmp_path / "clock"), TEST_CLOCK_SKEW="300"
    )
    one_beat = WATCH / EVERY
    assert one_beat - 2 <= count <= one_beat + 1, f"{count} runs in {WATCH}s, every {EVERY}s"
