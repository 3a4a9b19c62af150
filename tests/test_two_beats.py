"""Two beats at once (a rolling deploy) with a real worker: planners run once per tick."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors.models import CollectionRun

from .celery_worker import celery_beat, celery_worker, wait_for_runs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PLAN = "collectors.tasks.plan_collection"
EVERY = 2
WATCH = 16.0


def test_two_beats_do_not_double_the_planners_runs(simulator, redis_client, tmp_path):
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
        celery_beat(simulator.base_url, tmp_path / "b"),
    ):
        wait_for_runs(PLAN, 2, started, timeout=60)
        since = timezone.now()
        time.sleep(WATCH)
        until = timezone.now()
    time.sleep(0.5)

    runs = CollectionRun.objects.filter(task=PLAN, started_at__gte=since)
    count = runs.filter(started_at__lt=until).count()
    one_beat = WATCH / EVERY
    assert one_beat - 2 <= count <= one_beat + 1, f"{count} runs in {WATCH}s, every {EVERY}s"
