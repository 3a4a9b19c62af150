"""The operations overview on the admin index: collectors' last 24 h, the API door, the queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.ratelimit import RateLimiter
from collectors.models import CollectionRun, CollectorConfig
from collectors.overview import collector_rows
from collectors.planner import service as planner
from tests.marketdata.factories import pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db

TRADES = "collectors.tasks.fetch_trades"
OHLCV = "collectors.tasks.fetch_ohlcv"


def run(task: str, status: str, *, hours_ago: float = 0, items: int = 0, calls: int = 0):
    row = CollectionRun.objects.create(
        task=task, status=status, items_written=items, api_calls=calls
    )
    CollectionRun.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - timedelta(hours=hours_ago)
    )


def test_each_collector_shows_its_last_run_and_the_last_24_hours():
    run(TRADES, "ok", hours_ago=30, items=1000, calls=100)  # older than the window
    run(TRADES, "failed", hours_ago=2, calls=1)
    run(TRADES, "ok", hours_ago=1, items=40, calls=2)
    run(OHLCV, "warning", hours_ago=3, items=5, calls=1)

    rows = {r.name: r for r in collector_rows()}

    trades = rows["fetch_trades"]
    assert (trades.last_status, trades.runs, trades.items, trades.api_calls) == ("ok", 2, 40, 3)
    assert (trades.errors, trades.warnings) == (1, 0)
    assert (rows["fetch_ohlcv"].last_status, rows["fetch_ohlcv"].warnings) == ("warning", 1)


def test_collector_rows_take_one_query_whatever_the_number_of_collectors():
    for i in range(12):
        run(f"collectors.tasks.task_{i}", "ok")
    with CaptureQueriesContext(connection) as queries:
        assert len(collector_rows()) == 12
    assert len(queries) == 1


def test_the_index_shows_the_api_door_breaker_queues_and_flower(
    admin_client, redis_client, settings
):
    settings.FLOWER_URL = "http://flower.test:5555/"
    settings.GECKO_RATE_LIMIT_PER_MIN = 30
    run(TRADES, "failed", hours_ago=1)
    limiter = RateLimiter(rate_per_min=30, burst=3)
    for lane in ("live", "live", "backfill"):
        assert limiter.acquire(lane).granted
    limiter.penalize(45)
    breaker = CircuitBreaker(failures=1)
    breaker.record_failure()
    redis_client.rpush("api", "m1", "m2", "m3")
    redis_client.rpush("default", "m1")

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "Operations overview" in html
    assert "3 of 30/min: live 2, backfill 1" in html
    assert "after a 429" in html
    assert 'class="breaker-open">open' in html
    assert "default: 1, api: 3 waiting" in html
    assert 'href="http://flower.test:5555/"' in html
    assert "fetch_trades" in html and "status__exact=failed" in html


def test_the_index_shows_demand_against_the_planners_budget(admin_client, redis_client):
    entry_pool = pool()
    WatchlistEntry.objects.create(pool_address=entry_pool.address, pool=entry_pool)
    config = CollectorConfig.current()
    expected = planner.tick(config, send=None)

    html = admin_client.get(reverse("admin:index")).content.decode()

    need = f"{expected.report.need_per_min:.2f} calls/min needed"
    budget = f"{expected.budget.plannable_per_min:.2f}/min to plan with"
    assert expected.report.need_per_min > 0
    assert need in html and budget in html
    state = "OVER BUDGET" if expected.report.degraded else "within budget"
    assert state in html
    assert "watchlist</th><td>1 pools: needs" in html


def test_calls_last_minute_counts_grants_by_lane(redis_client):
    limiter = RateLimiter(rate_per_min=60, burst=5)
    for lane in ("live", "backfill", "backfill"):
        limiter.acquire(lane)
    assert limiter.calls_last_minute() == {"live": 1, "backfill": 2}
