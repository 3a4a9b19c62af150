"""End to end: a real Celery worker, the Redis broker, PostgreSQL and the simulator over HTTP.

Seed schedules, import a watchlist, let the budget planner queue every collector through Celery;
run every fetch again (no duplicates); pretend collection stopped for days, and see a Gap appear
and get backfilled.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Max
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from collectors import tasks
from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Candle, CandleCoverage, Gap, Pool, PoolSnapshot, Token, Trade
from marketdata.timeframes import ALL_TIMEFRAMES
from marketdata.trade_layout import trade_ids
from watchlist.models import WatchlistEntry

from .celery_worker import celery_worker, wait_for_runs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TIMEOUT = 180


def run(task, **kwargs):
    return task.apply_async(kwargs=kwargs).get(timeout=TIMEOUT)


def collect_everything(csv_path, since):
    """Every collector through Celery: the planner links the new watchlist pools, then (the
    details task plans again at once) queues their trades and candles; wait for all of it."""
    run(tasks.collect_dexes)
    targets = run(tasks.plan_top_pools)
    wait_for_runs("collectors.tasks.fetch_top_pools", len(targets), since, TIMEOUT)
    run(tasks.sync_watchlist, csv=str(csv_path))
    assert run(tasks.plan_collection) == 1, "one unit: the details of the new pools"
    wait_for_runs("collectors.tasks.fetch_watchlist_details", 1, since, TIMEOUT)
    pools = WatchlistEntry.objects.filter(active=True, pool__isnull=False).count()
    wait_for_runs("collectors.tasks.fetch_ohlcv", pools * len(ALL_TIMEFRAMES), since, TIMEOUT)
    wait_for_runs("collectors.tasks.fetch_trades", pools, since, TIMEOUT)


def fetch_everything_again(since):
    """Every fetch of the watchlist once more, as a late duplicate copy of the work would run."""
    run(tasks.collect_dexes)
    pool_ids = list(WatchlistEntry.objects.values_list("pool_id", flat=True))
    for pool_id in pool_ids:
        tasks.fetch_trades.delay(pool_id=pool_id)
        for tf in ALL_TIMEFRAMES:
            tasks.fetch_ohlcv.delay(pool_id=pool_id, timeframe=tf)
    wait_for_runs("collectors.tasks.fetch_trades", len(pool_ids), since, TIMEOUT)
    wait_for_runs("collectors.tasks.fetch_ohlcv", len(pool_ids) * len(ALL_TIMEFRAMES), since)


def distinct_keys():
    """Rows vs distinct natural keys: equal when nothing is duplicated."""
    return {
        "pools": (Pool.objects.count(), Pool.objects.values("address").distinct().count()),
        "tokens": (Token.objects.count(), Token.objects.values("address").distinct().count()),
        "trades": (Trade.objects.count(), len(set(trade_ids(Trade.objects.all())))),
    }


def test_collect_everything_through_celery_then_again_then_fill_a_gap(
    simulator, redis_client, tmp_path
):
    assert call_command("seed_schedules") is None
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert "collectors.tasks.plan_collection" in scheduled
    assert not scheduled & {"collectors.tasks.plan_ohlcv", "collectors.tasks.plan_trades"}
    config = CollectorConfig.current()
    config.ohlcv_pages_per_fetch = 2
    config.save()
    # The busiest pumpswap pools with days of history: the gap below needs a pool that trades
    # nearly every minute and has more than 1000 minutes behind it.
    summary = simulator.world()
    world = sorted(
        (
            p
            for p in summary["pools"]["pumpswap"]
            if p["pool_created_at"] < summary["now"] - 2 * 86400
        ),
        key=lambda p: -p["trades_per_day"],
    )[:3]
    csv_path = tmp_path / "watchlist.csv"
    csv_path.write_text(
        "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
        + "".join(
            f"T{i},Token {i},SOL,PumpSwap,{p['address']},{p['base_token']}\n"
            for i, p in enumerate(world)
        )
    )

    with celery_worker(simulator.base_url):
        first = timezone.now()
        collect_everything(csv_path, first)

        entries = WatchlistEntry.objects.select_related("pool__base_token")
        assert {(e.pool.address, e.pool.base_token.address) for e in entries} == {
            (p["address"], p["base_token"]) for p in world
        }
        assert Pool.objects.count() >= 40 and PoolSnapshot.objects.exists()
        per_tf = dict(Candle.objects.values_list("timeframe").annotate(n=Count("ts")))
        assert set(per_tf) == set(ALL_TIMEFRAMES), per_tf
        assert Trade.objects.filter(pool__watchlist_entries__isnull=False).exists()
        assert not CollectionRun.objects.filter(status="failed").exists()
        newest = dict(
            Candle.objects.values_list("pool_id", "timeframe")
            .annotate(m=Max("ts"))
            .values_list("pool_id", "m")
        )
        entries_before = WatchlistEntry.objects.count()
        settled = Candle.objects.filter(ts__lt=min(newest.values())).count()

        again = timezone.now()
        run(tasks.sync_watchlist, csv=str(csv_path))
        fetch_everything_again(again)

        assert all(rows == keys for rows, keys in distinct_keys().values()), distinct_keys()
        assert WatchlistEntry.objects.count() == entries_before
        assert Candle.objects.filter(ts__lt=min(newest.values())).count() == settled
        assert not CollectionRun.objects.filter(status="failed").exists()
        refetched = CollectionRun.objects.filter(
            task="collectors.tasks.fetch_ohlcv", started_at__gte=again
        )
        assert sum(r.items_written for r in refetched) <= 3 * refetched.count(), (
            "a second run rewrites only the still-moving bars"
        )

        # Collection "stopped" an hour after it began: forget what we hold of one pool's 1m
        # candles since then, then collect live again (one page now: the last 1000 minutes).
        # A new pool's first 1m fetch reads one page, so two days are backfilled first.
        pool = entries[0].pool
        now = timezone.now()
        run(
            tasks.backfill_ohlcv,
            pool_id=pool.pk,
            timeframe="1m",
            since=(now - timedelta(days=2)).isoformat(),
            until=now.isoformat(),
        )
        coverage = CandleCoverage.objects.get(pool=pool, timeframe="1m")
        stopped = coverage.start + timedelta(hours=1)
        assert timezone.now() - stopped > timedelta(minutes=1000)
        Candle.objects.filter(pool=pool, timeframe="1m", ts__gte=stopped).delete()
        CandleCoverage.objects.filter(pk=coverage.pk).update(end=stopped)
        CollectorConfig.objects.filter(pk=config.pk).update(ohlcv_pages_per_fetch=1)
        since = timezone.now()
        run(tasks.fetch_ohlcv, pool_id=pool.pk, timeframe="1m")

        run(tasks.scan_gaps)
        gap = Gap.objects.get(pool=pool, timeframe="1m")
        assert gap.start == stopped
        wait_for_runs("collectors.tasks.backfill_gap", 1, since, TIMEOUT)

        gap.refresh_from_db()
        assert gap.status == "filled", (gap.status, gap.reason)
        assert CandleCoverage.objects.filter(pool=pool, timeframe="1m").count() == 1
        minutes = (gap.end - gap.start).total_seconds() / 60
        refilled = Candle.objects.filter(pool=pool, timeframe="1m", ts__gte=stopped, ts__lt=gap.end)
        assert refilled.count() > minutes / 2, "the hole holds candles again (quiet minutes aside)"
