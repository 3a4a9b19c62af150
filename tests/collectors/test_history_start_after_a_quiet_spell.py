"""A quiet spell is not the start of history (issue 15, defect 3).

On a paid plan one OHLCV call reaches at most six months back from ``before_timestamp``, so a
short page proves only that window empty: the walk goes on back to the pool's creation (or the
plan's depth) before it records where history starts. The simulator runs on the wall clock (the
collector's "now"); the pool's creation and its quiet spell are placed like the issue's case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketdata.models import Candle, HistoryStart
from simulator import LIMIT_COUNTS
from simulator.world import build_world
from tests.marketdata.factories import pool as make_pool
from tests.simulator_fixture import SIMULATOR_SEED

pytestmark = pytest.mark.django_db
KEY = "CG-test-key"
CREATED = datetime(2025, 10, 31, 12, tzinfo=UTC)
QUIET = (datetime(2025, 11, 20, tzinfo=UTC), datetime(2026, 8, 28, tzinfo=UTC))
DAY = 86400


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def pro_pool(simulator_factory, settings, limit_counts: str, created: datetime, quiet):
    """The busiest pool of a pro-key simulator, created at ``created`` and without a trade in
    ``quiet``, in the database with its creation time."""
    probe = build_world(SIMULATOR_SEED, 0)
    busiest = max((p for p in probe.pools if not p.fresh), key=lambda p: p.activity)
    epoch = int(created.timestamp()) - busiest.created_at
    running = simulator_factory(
        api_key=KEY, plan="pro", epoch=epoch, limit_counts=limit_counts, rate_per_min=0
    )
    start, end = (int(m.timestamp()) for m in quiet)
    running.control("quiet", {"pool": busiest.address, "start": start, "end": end})
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY = "pro", KEY
    settings.GECKO_API_URL = running.onchain_url
    settings.GECKO_HISTORY_DAYS = 1500
    settings.GECKO_RATE_LIMIT_PER_MIN, settings.GECKO_RATE_LIMIT_BURST = 6000, 50
    created = utc(running.simulator.world.pool_by_address[busiest.address].created_at)
    return make_pool(address=busiest.address, pool_created_at=created)


@pytest.fixture(params=LIMIT_COUNTS)
def pro(request, simulator_factory, settings, redis_client):
    """The issue's case: created on 2025-10-31, no trade from 2025-11-20 to 2026-08-28, so a
    call from now (December 2026) reaching six months back sees 2026-08-28 as its oldest."""
    return pro_pool(simulator_factory, settings, request.param, CREATED, QUIET)


def backfill(pool, timeframe: str) -> str:
    out = StringIO()
    call_command(
        "backfill_ohlcv",
        "--pool",
        pool.address,
        "--timeframe",
        timeframe,
        "--full-history",
        "--no-progress",
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.parametrize("timeframe", ["1d", "12h", "1h"])
def test_a_quiet_spell_is_walked_past_to_the_first_candle(pro, timeframe):
    out = backfill(pro, timeframe)

    first = Candle.objects.filter(pool=pro, timeframe=timeframe).earliest("ts").ts
    assert first.date() == CREATED.date(), "the candles before the quiet spell were fetched"
    start = HistoryStart.objects.get(pool=pro, timeframe=timeframe).starts_at
    assert start == first, f"history start {start:%Y-%m-%d}, true first candle {first:%Y-%m-%d}"
    quiet = Candle.objects.filter(pool=pro, timeframe=timeframe, ts__gte=QUIET[0], ts__lt=QUIET[1])
    assert not quiet.exists()
    assert "unfillable: none" in out


@pytest.mark.parametrize("limit_counts", LIMIT_COUNTS)
@pytest.mark.parametrize("timeframe", ["1d", "12h"])
def test_one_quiet_stretch_at_the_edge_of_a_call_is_not_the_start(
    simulator_factory, settings, redis_client, limit_counts, timeframe
):
    """A 1d or 12h page is always span-capped: a quiet week at its far end is enough."""
    now = timezone.now()
    created = now - timedelta(days=300)
    quiet = (now - timedelta(days=185), now - timedelta(days=177))
    pool = pro_pool(simulator_factory, settings, limit_counts, created, quiet)

    backfill(pool, timeframe)

    first = Candle.objects.filter(pool=pool, timeframe=timeframe).earliest("ts").ts
    assert first <= created + timedelta(days=1), "the walk went on past the quiet days"
    assert HistoryStart.objects.get(pool=pool, timeframe=timeframe).starts_at == first
