"""The work a restart test queues on the private stack, and how it watches it finish
(tests/test_postgres_restart.py, tests/test_redis_restart.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from celery import current_app
from django.db import connection
from django.db.utils import DatabaseError

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Pool
from tests.marketdata.factories import pool as make_pool

from .celery_worker import schedule_planner


@dataclass
class Outage:
    """What a restart test runs against: pools, config, the workers' log and environment."""

    pools: list[Pool]
    config: CollectorConfig
    log: Path
    env: dict[str, str]


def prepare(stack, simulator, tmp_path: Path, *, pools: int, tick: int, slow: float) -> Outage:
    """``pools`` of the simulator's pools, the planner every ``tick`` seconds, and the first
    answers slowed by ``slow`` seconds, so the outage meets work in flight."""
    world = [p for dex in simulator.world()["pools"].values() for p in dex][:pools]
    rows = [make_pool(address=p["address"]) for p in world]
    config = CollectorConfig.current()
    config.plan_tick_seconds = tick
    config.save()
    schedule_planner(tick)
    simulator.add_fault("slow", count=2 * pools, delay=slow)
    env = {**stack.env, "LOG_LEVEL": "WARNING"}
    return Outage(rows, config, tmp_path / "celery.log", env)


def send(stack, task, **kwargs) -> str:
    """Queue ``task`` on the private broker (the workers declared its queue already)."""
    with current_app.connection_for_write(stack.redis.url()) as conn:
        return task.apply_async(kwargs=kwargs, connection=conn, ignore_result=True).id


def queue_fetches(stack, pools: list[Pool]) -> set[str]:
    """Trades and 1m candles of every pool, as fetch tasks; their task ids."""
    ids = set()
    for row in pools:
        ids.add(send(stack, tasks.fetch_trades, pool_id=row.pk))
        ids.add(send(stack, tasks.fetch_ohlcv, pool_id=row.pk, timeframe="1m"))
    return ids


def ok_runs(ids: set[str]) -> set[str]:
    """The task ids among ``ids`` whose run finished OK (none while the database is down)."""
    try:
        return set(
            CollectionRun.objects.filter(
                correlation_id__in=ids, status=CollectionRun.Status.OK
            ).values_list("correlation_id", flat=True)
        )
    except DatabaseError:
        connection.close()
        return set()
