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

from marketdata import store
from marketdata.models import Dex

from .models import CollectorConfig

DEFAULT_TARGET_DEXES = ("heaven", "pumpswap")


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    kwargs: dict


# Each OHLCV timeframe is polled about as often as a bar closes (at least every 5 minutes);
# a fetch reads everything since the last final bar, so a slower poll loses nothing.
DEFAULT_SCHEDULES = (
    Schedule("collect dexes", "collectors.tasks.collect_dexes", 86400, {}),
    Schedule("collect top pools", "collectors.tasks.plan_top_pools", 3600, {}),
    Schedule("sync watchlist", "collectors.tasks.sync_watchlist", 60, {}),
    Schedule("collect trades", "collectors.tasks.plan_trades", 300, {}),
    Schedule("scan gaps", "collectors.tasks.scan_gaps", 900, {}),
    Schedule("check alerts", "alerts.tasks.check_alerts", 60, {}),
    *(
        Schedule(f"collect ohlcv {tf}", "collectors.tasks.plan_ohlcv", every, {"timeframe": tf})
        for tf, every in (
            ("1m", 300),
            ("5m", 300),
            ("15m", 900),
            ("1h", 3600),
            ("4h", 14400),
            ("12h", 43200),
            ("1d", 86400),
        )
    ),
)


def seed(*, network: str | None = None) -> list[str]:
    """Create the default config row, target DEXes and PeriodicTasks that do not exist yet.

    New tasks start now (so beat runs them at once) and expire after one interval, so a
    backlog behind the rate limit never piles up copies. Returns the names created.
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
    return created
