"""A long 1m backfill of one busy pool against a slowed simulator, run by real workers
(tests/test_kill_backfill.py, tests/test_long_backfill_continues.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from collectors.models import CollectorConfig
from marketdata.coverage import sync_gaps
from marketdata.models import Candle, Gap, Pool
from tests.marketdata.factories import pool as make_pool

BACKFILL = "collectors.tasks.backfill_ohlcv"


@dataclass
class Walk:
    """One pool's 1m range [since, until) to backfill."""

    address: str
    pool: Pool
    since: datetime
    until: datetime

    def command(self) -> tuple[str, ...]:
        """``backfill_ohlcv`` of the range, queued as one task (call_command's arguments)."""
        return (
            "backfill_ohlcv", "--pool", self.address, "--timeframe", "1m",
            "--since", self.since.isoformat(), "--until", self.until.isoformat(), "--async",
        )  # fmt: skip

    def stored(self) -> list[datetime]:
        """The times of the range's stored 1m candles, each as often as it is stored."""
        return stored_1m(self.pool, self.since, self.until)


def last_whole_minutes() -> datetime:
    """Five minutes ago, to the minute: an end every answer of the simulator has reached."""
    return timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)


def busiest_old_pool(sim, since: datetime) -> str:
    """A pool trading all through the range (so pages are full and the walk long)."""
    pools = [p for dex in sim.world()["pools"].values() for p in dex]
    old = [p for p in pools if p["pool_created_at"] < since.timestamp() - 86400]
    return max(old, key=lambda p: p["trades_per_day"])["address"]


def stored_pool(simulator, since: datetime) -> tuple[str, Pool]:
    """The busiest pool trading all through from ``since``, stored, and the collector's
    configuration in place; (address, pool)."""
    address = busiest_old_pool(simulator, since)
    pool = make_pool(address=address)
    CollectorConfig.current()
    return address, pool


def slow_walk(simulator, days: int, *, delay: float, count: int) -> Walk:
    """The last ``days`` of the busiest pool, with the next ``count`` OHLCV answers each
    held ``delay`` seconds."""
    until = last_whole_minutes()
    since = until - timedelta(days=days)
    address, pool = stored_pool(simulator, since)
    simulator.add_fault("slow", count=count, path_contains="/ohlcv/", delay=delay)
    return Walk(address, pool, since, until)


def gap_between(
    settings, simulator, windows: tuple[tuple[datetime, datetime], ...]
) -> tuple[str, Pool, Gap]:
    """The busiest pool from the first window's start, backfilled (in this process, against
    the simulator) over each window: the one gap left between them; (address, pool, gap)."""
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN, settings.GECKO_RATE_LIMIT_BURST = 6000, 50
    address, pool = stored_pool(simulator, windows[0][0])
    for start, end in windows:
        call_command(
            "backfill_ohlcv", "--pool", address, "--timeframe", "1m", "--since",
            start.isoformat(), "--until", end.isoformat(), "--no-progress", stdout=StringIO(),
        )  # fmt: skip
    (gap,) = sync_gaps(pool.pk, "1m")
    return address, pool, gap


def stored_1m(pool: Pool, since: datetime, until: datetime) -> list[datetime]:
    rows = Candle.objects.filter(pool=pool, timeframe="1m", ts__gte=since, ts__lt=until)
    return list(rows.values_list("ts", flat=True))
