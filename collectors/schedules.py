"""The default schedules and targets, created once and then owned by the admin.

Never CELERY_BEAT_SCHEDULE: beat would overwrite an operator's edits at every start. Seeding
is idempotent: an existing PeriodicTask (by name) is left exactly as the operator left it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors.models import CollectorConfig
from marketdata import store
from marketdata.models import Dex

DEFAULT_TARGET_DEXES = ("heaven", "pumpswap")


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    kwargs: dict


# OHLCV and trades have one schedule: the budget planner decides per pool and timeframe what
# is due (collectors.planner). Its interval should match CollectorConfig.plan_tick_seconds.
DEFAULT_SCHEDULES = (
    Schedule("collect dexes", "collectors.tasks.collect_dexes", 86400, {}),
    Schedule("collect top pools", "collectors.tasks.plan_top_pools", 3600, {}),
    Schedule("sync watchlist", "collectors.tasks.sync_watchlist", 60, {}),
    Schedule("plan collection", "collectors.tasks.plan_collection", 60, {}),
    Schedule("scan gaps", "collectors.tasks.scan_gaps", 900, {}),
    Schedule("check alerts", "alerts.tasks.check_alerts", 60, {}),
    Schedule("maintain partitions", "collectors.tasks.maintain_partitions", 86400, {}),
)
# The per-timeframe planners the budget planner replaced: rows of theirs still enabled would
# queue a full set per tick behind the planner's back, so seeding disables them (the rows stay,
# with the operator's edits, in case someone wants to look at or re-enable them).
REPLACED_TASKS = ("collectors.tasks.plan_ohlcv", "collectors.tasks.plan_trades")
REPLACED_NOTE = "Disabled: replaced by 'plan collection' (the budget planner)."


def seed(*, network: str | None = None) -> list[str]:
    """Create the default config row, target DEXes and PeriodicTasks that do not exist yet,
    and disable enabled schedules of the tasks the planner replaced.

    New tasks start now (so beat runs them at once) and expire after one interval, so a
    backlog behind the rate limit never piles up copies. Returns what was done.
    """
    network = network or settings.GECKO_NETWORK
    created = []
    with transaction.atomic():
        CollectorConfig.current(network)
        net = store.get_network(network)
        for slug in DEFAULT_TARGET_DEXES:
            _, made = Dex.objects.get_or_create(
                network=net, slug=slug, defaults={"is_target": True}
            )
            if made:
                created.append(f"target dex {slug}")
        for schedule in DEFAULT_SCHEDULES:
            if PeriodicTask.objects.filter(name=schedule.name).exists():
                continue
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=schedule.every_seconds, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.create(
                name=schedule.name,
                task=schedule.task,
                interval=interval,
                kwargs=json.dumps(schedule.kwargs),
                expire_seconds=schedule.every_seconds,
                start_time=timezone.now() - timedelta(seconds=1),
            )
            created.append(schedule.name)
        for old in PeriodicTask.objects.filter(task__in=REPLACED_TASKS, enabled=True):
            old.enabled = False
            old.description = f"{REPLACED_NOTE}\n{old.description}".strip()
            old.save(update_fields=["enabled", "description"])
            created.append(f"disabled {old.name}")
    return created
