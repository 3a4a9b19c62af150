"""A running beat and worker pick up admin edits (schedule and config) without a restart."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors.models import CollectionRun

from .celery_worker import celery_beat, celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def runs_of(task: str) -> int:
    return CollectionRun.objects.filter(task=task).count()


def test_an_edited_interval_takes_effect_in_a_running_beat(simulator, redis_client, tmp_path):
    hourly = IntervalSchedule.objects.create(every=3600, period=IntervalSchedule.SECONDS)
    periodic = PeriodicTask.objects.create(
        name="gap scan", task="collectors.tasks.scan_gaps", interval=hourly
    )
    with celery_worker(simulator.base_url), celery_beat(simulator.base_url, tmp_path):
        time.sleep(4)
        assert runs_of("collectors.tasks.scan_gaps") == 0, "hourly: not due yet"

        periodic.interval = IntervalSchedule.objects.create(
            every=1, period=IntervalSchedule.SECONDS
        )
        periodic.save()
        edited = timezone.now()
        deadline = time.monotonic() + 30
        while runs_of("collectors.tasks.scan_gaps") < 3 and time.monotonic() < deadline:
            time.sleep(0.5)

    runs = CollectionRun.objects.filter(task="collectors.tasks.scan_gaps")
    assert runs.count() >= 3
    assert all(r.started_at >= edited for r in runs)
