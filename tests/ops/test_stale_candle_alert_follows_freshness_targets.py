"""The stale-candle alert judges each timeframe against its own freshness target.

The planner fetches a timeframe's candles only once they are older than its target (1m: 2 h by
default), so a pool within its target is healthy however old its candles are in absolute terms.
Real PostgreSQL and Redis.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import conditions
from collectors.models import CollectorConfig
from geckoproject.beat import record_beat_tick
from marketdata import store
from tests.marketdata import factories
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db

GRACE = 600  # GECKO_ALERT_CANDLE_STALE_SECONDS: lateness past the target before an alert


@pytest.fixture(autouse=True)
def alert_settings(settings, redis_client):
    settings.ALERT_EMAILS = []
    settings.ALERT_WEBHOOK_URL = ""
    settings.GECKO_ALERT_CANDLE_STALE_SECONDS = GRACE
    record_beat_tick(redis_client)
    return settings


def watched_pool(address: str, timeframe: str, age: timedelta):
    pool = factories.pool(address)
    WatchlistEntry.objects.create(network="solana", pool_address=address, pool=pool)
    row = factories.candle_rows(pool.pk, 1, timeframe)[0]
    store.upsert_candles([row | {"ts": (timezone.now() - age).replace(second=0, microsecond=0)}])
    return pool


def stale() -> conditions.Finding:
    (finding,) = conditions.stale_candles(timezone.now())
    return finding


def configure(timeframes: list[str], freshness: dict[str, int] | None = None) -> None:
    config = CollectorConfig.current()
    config.ohlcv_timeframes = timeframes
    if freshness is not None:
        config.freshness_minutes = freshness
    config.save()


def test_1m_candles_90_minutes_old_are_within_the_2_hour_target_and_do_not_alert():
    configure(["1m"])
    watched_pool("7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP", "1m", timedelta(minutes=90))

    finding = stale()

    assert not finding.active, finding.detail


def test_1m_candles_past_their_target_and_the_grace_alert_and_name_the_pool():
    configure(["1m"])
    healthy = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
    late = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
    watched_pool(healthy, "1m", timedelta(minutes=90))
    watched_pool(late, "1m", timedelta(hours=2, seconds=GRACE + 300))

    finding = stale()

    assert finding.active
    assert late in finding.detail and healthy not in finding.detail
    assert "1 watchlist pool(s)" in finding.title


def test_each_timeframe_has_its_own_target_from_the_collector_config():
    configure(["1m", "5m"], {"1m": 30})
    address = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
    pool = watched_pool(address, "5m", timedelta(hours=5))  # 5m target: 6 h by default
    row = factories.candle_rows(pool.pk, 1, "1m")[0]
    store.upsert_candles([row | {"ts": timezone.now().replace(second=0, microsecond=0)}])

    assert not stale().active

    configure(["1m", "5m"], {"1m": 30, "5m": 60})

    finding = stale()
    assert finding.active and f"{address} 5m" in finding.detail
    assert f"{address} 1m" not in finding.detail
