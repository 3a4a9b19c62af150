"""One row of every model registered in the admin, for tests that need something to show or
to select (tests/test_admin.py, tests/test_admin_actions_need_permissions.py); and rows as long
as production writes them, for the browser test's 1,400 px check (tests/test_admin_browser.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from alerts.models import Incident
from collectors.models import CollectionRun, CollectorConfig, TradeCursor
from marketdata.models import (
    ArchivedMonth,
    Candle,
    CandleCoverage,
    Gap,
    HistoryStart,
    PoolSnapshot,
)
from tests.marketdata.factories import T0, candle, dex, network, pool, token, trade
from watchlist.models import WatchlistEntry, WatchlistFile


@pytest.fixture
def one_of_everything(db):
    """One row per registered model, so every change page has an object to show."""
    base = token()
    p = pool(
        dex=dex(), base_token=base, quote_token=token("So11111111111111111111111111111111111111112")
    )
    now = timezone.now()
    candle(p, "1h", T0, (1, 2, 0.5, 1.5), volume_usd=10)
    trade(p)
    Gap.objects.create(pool=p, timeframe="1m", start=T0, end=T0.replace(hour=1))
    PoolSnapshot.objects.create(pool=p, taken_at=T0)
    CandleCoverage.objects.create(pool=p, timeframe="1h", start=T0, end=T0.replace(hour=5))
    HistoryStart.objects.create(pool=p, timeframe="1h", starts_at=T0, found_at=now)
    ArchivedMonth.objects.create(
        table="marketdata_candle",
        month=T0.date().replace(day=1),
        path="/srv/archive/candles/2025-08.parquet",
        rows=1,
        checksum="0" * 64,
    )
    WatchlistEntry.objects.create(pool_address=p.address, token_address=base.address, pool=p)
    WatchlistFile.objects.create(path="/tmp/watchlist.csv", sha256="0" * 64, synced_at=now)
    network("eth")
    Group.objects.create(name="operators")
    CollectorConfig.current()
    CollectionRun.objects.create(task="collectors.tasks.plan_ohlcv", detail="queued 1 pools")
    TradeCursor.objects.create(pool=p, last_collected_at=now)
    Token.objects.create(user=User.objects.create_user("viewer"))  # the API's tokens
    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0")
    ClockedSchedule.objects.create(clocked_time=now)
    SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    PeriodicTask.objects.create(name="demo", task="celery.backend_cleanup", interval=every_minute)
    Incident.objects.create(
        key="beat", title="beat is not ticking", first_seen_at=now, last_seen_at=now
    )


WORKER = "celery@gecko-worker-api-7f9c6d5b8-x2k4q.eu-central-1.compute.internal"
WAITING_DETAIL = "waiting: circuit open after 5 consecutive failures; retry in 59.0s\n" + "\n".join(
    f"failed API call {i}: HTTP 503 from https://api.geckoterminal.com/api/v2/networks/solana/"
    f"pools/7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP/ohlcv/minute?aggregate=1&limit=1000"
    for i in range(4)
)


@pytest.fixture
def wide_rows(one_of_everything):
    """Rows as long as production writes them: what made list pages wider than the screen."""
    p = Candle.objects.select_related("pool").first().pool
    p.name = "OFFICIAL TRUMP / Wrapped SOL 0.25%"
    p.save(update_fields=["name"])
    now = timezone.now()
    ohlc = (0.0000215349, 0.0000218812, 0.0000209911, 0.0000217003)
    candle(p, "1m", now.replace(second=0, microsecond=0), ohlc, volume_usd=1234567.891234)
    for task, status, arguments, detail in (
        ("fetch_ohlcv", "waiting", {"pool_id": p.pk, "timeframe": "1m"}, WAITING_DETAIL),
        ("fetch_trades", "ok", {"pool_id": p.pk}, "417 received; possible gap"),
        ("backfill_gap", "failed", {"gap_id": Gap.objects.first().pk}, WAITING_DETAIL),
        ("sync_watchlist", "warning", {"csv": "/srv/gecko/watchlist.csv"}, WAITING_DETAIL),
        ("fetch_pool_details", "expired", {"pool_ids": list(range(1, 40))}, "expired"),
    ):
        CollectionRun.objects.create(
            task=f"collectors.tasks.{task}",
            status=status,
            arguments=arguments,
            detail=detail,
            items_written=123456,
            api_calls=1234,
            errors=123,
            throttled=45,
            worker=WORKER,
            correlation_id="6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
            started_at=now - timedelta(seconds=73.4),
            finished_at=now,
        )
    WatchlistEntry.objects.create(pool_address="Eywh18GPyzjZgCLUuNpwYRhKWDR746VF3wQhkWZgHFuu")
    Incident.objects.create(
        key="failing:collectors.tasks.fetch_ohlcv",
        title="collectors.tasks.fetch_ohlcv failed 12 times in a row (circuit open; HTTP 503)",
        first_seen_at=now,
        last_seen_at=now,
    )
