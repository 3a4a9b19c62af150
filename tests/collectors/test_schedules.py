"""seed_schedules: the planner's one schedule replaces the per-timeframe planners."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


def test_seeding_adds_the_planner_and_disables_the_schedules_it_replaced():
    every_5 = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    old = [
        PeriodicTask.objects.create(
            name="collect ohlcv 1m",
            task="collectors.tasks.plan_ohlcv",
            interval=every_5,
            kwargs=json.dumps({"timeframe": "1m"}),
            description="edited by an operator",
        ),
        PeriodicTask.objects.create(
            name="collect trades", task="collectors.tasks.plan_trades", interval=every_5
        ),
    ]

    call_command("seed_schedules")
    call_command("seed_schedules")

    planner = PeriodicTask.objects.get(task="collectors.tasks.plan_collection")
    assert planner.enabled and planner.interval.every == 60
    for row in old:
        row.refresh_from_db()
        assert not row.enabled
        assert row.description.startswith("Disabled: replaced by 'plan collection'")
    assert old[0].description.endswith("edited by an operator")
    assert old[0].description.count("Disabled") == 1, "seeding twice changes nothing more"
    assert PeriodicTask.objects.filter(enabled=True, task__endswith="plan_ohlcv").count() == 0
