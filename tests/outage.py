"""The work a restart test queues on the private stack, and how it watches it finish
(tests/test_postgres_restart.py, tests/test_redis_restart.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from celery import current_app
from django.db import connection
from django.db.utils import DatabaseError

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Pool
from tests.marketdata.factories import pool as make_pool

from .celery_worker import celery_beat, celery_worker, schedule_planner, wait_for_runs
from .waiting import wait_until

# A restart test runs once on each kind of worker pool.
each_worker_pool = pytest.mark.parametrize("pool", ["threads", "prefork"])


@dataclass
class Outage:
    """What a restart test runs against: pools, config, the workers' log and environment."""

    pools: list[Pool]
    config: CollectorConfig
    log: Path
    env: dict[str, str]


def prepare(
    stack, simulator, tmp_path: Path, *, slow: float, pools: int = 10, tick: int = 10
) -> Outage:
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


@contextmanager
def workers_and_beat(
    simulator, tmp_path: Path, run: Outage, *, pool: str, concurrency: int, name: str
) -> Iterator[list[subprocess.Popen]]:
    """Two workers (hostnames ``{name}1`` and ``{name}2``) and beat on the private stack,
    all logging to the run's log, until the block ends."""
    with (
        celery_worker(
            simulator.base_url, pool=pool, concurrency=concurrency, hostname=f"{name}1@%h",
            log=run.log, **run.env,
        ) as w1,
        celery_worker(
            simulator.base_url, pool=pool, concurrency=concurrency, hostname=f"{name}2@%h",
            log=run.log, **run.env,
        ) as w2,
        celery_beat(simulator.base_url, tmp_path, log=run.log, **run.env) as beat,
    ):  # fmt: skip
        yield [w1, w2, beat]


def fetches_in_flight(stack, simulator, run: Outage, *, slow: int) -> set[str]:
    """Once the workers listen, queue the fetches of every pool and wait until ``slow`` of
    their answers are being held (work in flight for the outage to meet); the task ids."""
    broker = stack.client()
    wait_until(lambda: broker.exists("_kombu.binding.api"), 30, "the workers' api queue")
    ids = queue_fetches(stack, run.pools)
    wait_until(
        lambda: simulator.stats()["faults_by_kind"].get("slow", 0) >= slow,
        30,
        "slow answers in flight",
    )
    return ids


def all_done_after(ids: set[str], back: datetime, processes: list[subprocess.Popen]) -> None:
    """Every task in ``ids`` finished OK, beat planned twice since ``back`` (the server's
    return), and the workers and beat still run."""
    wait_until(lambda: ok_runs(ids) == ids, 90, "every task's run finished OK", pause=0.5)
    wait_for_runs("collectors.tasks.plan_collection", 2, back, timeout=60)
    assert all(p.poll() is None for p in processes), "workers and beat kept running"
