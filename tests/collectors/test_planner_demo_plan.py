"""The demo key's plan (10,000 calls a month, about 0.2 calls a tick): a tick never queues more
than one call, yet work that costs more than one call is still served, and the month's pace is
kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors import tasks
from collectors.fleet import inflight
from collectors.models import CollectorConfig, TradeCursor
from collectors.planner import service as planner
from collectors.planner.demand import unit_key
from marketdata.models import CandleCoverage
from tests.marketdata.factories import pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
START = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def demo(settings, redis_client):
    settings.GECKO_RATE_LIMIT_PER_MIN = 25
    settings.GECKO_MONTHLY_CREDIT = 10_000
    config = CollectorConfig.current()
    config.ohlcv_timeframes = ["1m", "5m"]
    config.save()
    return config


def finish(units, now: datetime) -> None:
    """What the workers do with a tick's units: fetch, record, release."""
    for unit in units:
        if unit.kind == "ohlcv":
            CandleCoverage.objects.filter(pool_id=unit.pool_id, timeframe=unit.timeframe).delete()
            CandleCoverage.objects.create(
                pool_id=unit.pool_id,
                timeframe=unit.timeframe,
                start=now - timedelta(hours=10),
                end=now - timedelta(seconds=60),
            )
    inflight.release([u.key for u in units])


def behind(p, timeframe: str, days: float) -> None:
    end = START - timedelta(days=days)
    CandleCoverage.objects.create(
        pool=p, timeframe=timeframe, start=end - timedelta(days=1), end=end
    )


def test_a_unit_of_two_pages_is_served_within_a_few_ticks(demo, redis_client):
    p = pool("D" * 32, last_seen_at=START)
    WatchlistEntry.objects.create(pool_address=p.address, pool=p)
    TradeCursor.objects.create(pool=p, last_collected_at=START, trades_per_day=0)
    behind(p, "1m", 1 / 1440)
    behind(p, "5m", 4)  # 1,152 candles behind: its fetch reads two pages
    first = unit_key("ohlcv", p.pk, "5m")
    served, calls = None, []
    for minute in range(30):
        now = START + timedelta(minutes=minute)
        result = planner.tick(demo, send=tasks._send, now=now)
        assert result.budget.capacity <= 1, "the demo plan: at most one call a tick"
        calls.append(result.selection.spent)
        if first in {u.key for u in result.selection.chosen}:
            served = minute
            break
        finish(result.selection.chosen, now)
        redis_client.delete("api")
    assert served is not None and served <= 10, f"the 5m unit was skipped for {len(calls)} ticks"
    [unit] = [u for u in result.selection.chosen if u.key == first]
    assert unit.kwargs["pages"] == 2, "served whole"


def test_a_unit_bigger_than_a_tick_is_paid_back_by_the_ticks_after_it(demo, redis_client):
    p = pool("E" * 32, last_seen_at=START)
    WatchlistEntry.objects.create(pool_address=p.address, pool=p)
    TradeCursor.objects.create(pool=p, last_collected_at=START, trades_per_day=0)
    behind(p, "5m", 4)  # a fetch of two pages, when one tick may queue one call
    spent = 0
    for minute in range(120):
        now = START + timedelta(minutes=minute)
        result = planner.tick(demo, send=tasks._send, now=now)
        spent += result.selection.spent
        finish(result.selection.chosen, now)
        redis_client.delete("api")
    per_minute = 10_000 / (31 * 1440)
    assert spent <= 120 * per_minute + 1, "two hours of the month's pace, one call of slack"
