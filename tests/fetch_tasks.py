"""A fetch task of one simulator pool, sent to the test broker for a real worker to run
(tests/test_graceful_shutdown.py, tests/test_worker_lost.py)."""

from __future__ import annotations

from celery.result import AsyncResult

from collectors import tasks
from collectors.models import CollectorConfig
from marketdata.models import Pool
from tests.marketdata.factories import pool as make_pool

from .waiting import wait_until

FETCH_TRADES = "collectors.tasks.fetch_trades"


def first_pool(simulator) -> Pool:
    """The simulator's first pumpswap pool, stored, with the collector's configuration in
    place."""
    pool = make_pool(address=simulator.world()["pools"]["pumpswap"][0]["address"])
    CollectorConfig.current()
    return pool


def slow_trades_fetch(simulator, delay: float) -> tuple[Pool, AsyncResult]:
    """A fetch_trades of the first pool, sent and running: the simulator holds its API call
    for ``delay`` seconds."""
    pool = first_pool(simulator)
    simulator.add_fault("slow", count=1, path_contains="/trades", delay=delay)
    result = tasks.fetch_trades.apply_async(kwargs={"pool_id": pool.pk})
    wait_until(lambda: simulator.stats()["by_kind"].get("trades"), 60, "the task's API call")
    return pool, result
