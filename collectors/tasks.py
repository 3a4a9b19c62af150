"""Celery tasks: thin wrappers over collectors.services.

Planners run on the ``default`` queue, read the database and fan out one small fetch task per
unit of work; fetch tasks run on the ``api`` queue (acks_late, re-queued if a worker dies).
Every run holds a Redis lock keyed by task + arguments and owned by the task id (a copy
redelivered after its worker died takes it over), and is recorded as a CollectionRun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings

from marketdata.models import Dex
from watchlist.models import WatchlistEntry
from watchlist.sync import sync_watchlist_file

from . import inflight
from .gecko.client import GeckoClient
from .gecko.errors import MustWait
from .locks import task_lock
from .models import CollectionRun, CollectorConfig
from .runs import RunTally, close_abandoned_runs, track_run
from .services import backfill, dexes, gaps, ohlcv, pools, trades
from .ticks import claim_tick

logger = logging.getLogger(__name__)

FETCH = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": None}


def _run(task: Task, body: Callable[[RunTally], Any], *, lane: str | None = None, **arguments):
    """Lock, record, run ``body``; a MustWait from the client becomes a retry with countdown.

    A beat tick another beat's copy already ran is skipped (collectors.ticks)."""
    if not claim_tick(task.request.headers, task.request.id):
        logger.info("%s %s: this beat tick already ran, skipped", task.name, arguments)
        return {"skipped": True}
    lock_ttl = settings.CELERY_TASK_TIME_LIMIT + 60
    with task_lock(task.name, arguments, lock_ttl, owner=task.request.id) as acquired:
        if not acquired:
            logger.info("%s %s: same work already running, skipped", task.name, arguments)
            return {"skipped": True}
        wait: MustWait | None = None
        with track_run(task.name, arguments, correlation_id=task.request.id) as tally:
            client = GeckoClient(lane=lane) if lane else None
            try:
                result = body(tally) if client is None else body(tally, client)
            except MustWait as exc:
                wait, result = exc, None
                tally.status, tally.detail = CollectionRun.Status.WAITING, str(exc)
            finally:
                if client is not None:
                    tally.api_calls = client.stats.calls
                    client.close()
            # A task refused its first token did nothing: its retry records the run, so a
            # queue waiting on the rate limit does not fill the table with empty rows.
            tally.discard = wait is not None and tally.api_calls == 0 and not tally.items_written
    if wait is not None:
        raise task.retry(countdown=wait.seconds, exc=wait)
    return result


# --- DEXes and top pools -----------------------------------------------------------------


@shared_task(bind=True, **FETCH)
def collect_dexes(self):
    def body(tally, client):
        report = dexes.collect_dexes(client)
        tally.items_written = report.written
        tally.detail = f"{report.listed} dexes listed; missing targets: {report.missing_targets}"
        return tally.detail

    return _run(self, body, lane="live")


@shared_task(bind=True)
def plan_top_pools(self):
    def body(tally):
        config = CollectorConfig.current()
        targets = list(
            Dex.objects.filter(network__slug=config.network, is_target=True).values_list(
                "slug", flat=True
            )
        )
        for slug in targets:
            fetch_top_pools.delay(dex=slug, pages=config.top_pool_pages)
        tally.detail = f"queued top pools of {targets}"
        return targets

    return _run(self, body)


@shared_task(bind=True, **FETCH)
def fetch_top_pools(self, dex: str, pages: int = 1):
    def body(tally, client):
        tally.items_written = pools.collect_top_pools(client, dex, pages)

    return _run(self, body, lane="live", dex=dex, pages=pages)


# --- watchlist ---------------------------------------------------------------------------


@shared_task(bind=True)
def sync_watchlist(self, csv: str | None = None):
    def body(tally):
        config = CollectorConfig.current()
        report = sync_watchlist_file(csv or config.watchlist_csv)
        tally.items_written = len(report.added) + len(report.reactivated) + len(report.deactivated)
        tally.detail = report.summary() + "".join(f"\n{e}" for e in report.errors)
        pending = WatchlistEntry.objects.needing_details(config.network).exists()
        if pending:
            fetch_watchlist_details.delay()
        return tally.detail

    return _run(self, body, csv=csv)


@shared_task(bind=True, **FETCH)
def fetch_watchlist_details(self):
    """Details for new watchlist pools; their first candles and trades are queued at once
    rather than waiting for the next scheduled tick."""

    def body(tally, client):
        report = pools.fetch_watchlist_details(client)
        tally.items_written = report.written
        tally.detail = f"linked {len(report.linked)}; unknown to the API: {report.not_found}"
        config = CollectorConfig.current()
        new_pool_ids = WatchlistEntry.objects.filter(
            network=config.network, pool_address__in=report.linked, pool__isnull=False
        ).values_list("pool_id", flat=True)
        for pool_id in new_pool_ids:
            for tf in config.ohlcv_timeframes:
                fetch_ohlcv.delay(pool_id=pool_id, timeframe=tf)
            fetch_trades.delay(pool_id=pool_id)

    return _run(self, body, lane="live")


# --- OHLCV and gaps ----------------------------------------------------------------------


@shared_task(bind=True)
def plan_ohlcv(self, timeframe: str | None = None):
    def body(tally):
        config = CollectorConfig.current()
        timeframes = [tf for tf in config.ohlcv_timeframes if timeframe in (None, tf)]
        pool_ids = WatchlistEntry.objects.collected_pool_ids(config.network)
        for tf in timeframes:
            for pool_id in pool_ids:
                fetch_ohlcv.delay(pool_id=pool_id, timeframe=tf)
        tally.detail = f"queued {len(pool_ids)} pools × {timeframes}"

    return _run(self, body, timeframe=timeframe)


@shared_task(bind=True, **FETCH)
def fetch_ohlcv(self, pool_id: int, timeframe: str):
    def body(tally, client):
        config = CollectorConfig.current()
        report = ohlcv.collect_ohlcv(
            client,
            pool_id,
            timeframe,
            max_pages=config.ohlcv_pages_per_fetch,
            include_empty=config.include_empty_intervals,
        )
        tally.items_written = report.written

    return _run(self, body, lane="live", pool_id=pool_id, timeframe=timeframe)


@shared_task(bind=True)
def scan_gaps(self):
    def body(tally):
        config = CollectorConfig.current()
        open_count = gaps.scan_gaps(config.network, config.ohlcv_timeframes)
        chosen = gaps.gaps_to_backfill(config.backfill_tasks_per_run)  # claimed: see inflight
        for gap_id in chosen:
            backfill_gap.delay(gap_id=gap_id)
        abandoned = close_abandoned_runs(timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT))
        tally.detail = (
            f"{open_count} open gaps; queued backfill of {len(chosen)}; "
            f"{abandoned} abandoned runs closed"
        )

    return _run(self, body)


@shared_task(bind=True, **FETCH)
def backfill_gap(self, gap_id: int):
    """Fill one gap. Its in-flight claim (set when queued) holds through MustWait retries and
    is released when the task ends for good, so the scan never queues it twice."""

    def body(tally, client):
        include_empty = CollectorConfig.current().include_empty_intervals
        walk = backfill.Walk(client, include_empty=include_empty)
        report = backfill.backfill_gap(walk, gap_id)
        tally.items_written = report.written if report else 0

    try:
        result = _run(self, body, lane="backfill", gap_id=gap_id)
    except Retry:
        inflight.refresh(gaps.GAP_BACKFILL, gap_id)
        raise
    except Exception:
        gaps.release_gap(gap_id)
        raise
    if not (isinstance(result, dict) and result.get("skipped")):
        gaps.release_gap(gap_id)
    return result


@shared_task(bind=True, **FETCH)
def backfill_ohlcv(self, pool_id: int, timeframe: str, since: str | None, until: str):
    """One (pool, timeframe) of ``manage.py backfill_ohlcv --async``; pages are committed one
    by one, so a retry after MustWait (or a re-delivery after a lost worker) resumes."""

    def body(tally, client):
        walk = backfill.Walk(
            client, include_empty=CollectorConfig.current().include_empty_intervals
        )
        report = backfill.backfill_unit(
            walk,
            pool_id,
            timeframe,
            since=datetime.fromisoformat(since) if since else None,
            until=datetime.fromisoformat(until),
        )
        tally.items_written = report.written
        tally.detail = (
            "another backfill holds this pool"
            if report.busy
            else (f"{report.pages} pages, {report.candles} candles")
        )
        return tally.detail

    return _run(
        self, body, lane="backfill", pool_id=pool_id, timeframe=timeframe, since=since, until=until
    )


# --- trades ------------------------------------------------------------------------------


@shared_task(bind=True)
def plan_trades(self):
    def body(tally):
        config = CollectorConfig.current()
        chosen = trades.choose_pools_for_trades(config.network, config.trade_budget_per_cycle)
        for pool_id in chosen:
            fetch_trades.delay(pool_id=pool_id)
        tally.detail = f"queued trades of {len(chosen)} pools"
        return chosen

    return _run(self, body)


@shared_task(bind=True, **FETCH)
def fetch_trades(self, pool_id: int):
    def body(tally, client):
        config = CollectorConfig.current()
        report = trades.collect_trades(client, pool_id, min_usd=config.min_trade_usd)
        tally.items_written = report.written
        tally.detail = f"{report.received} received" + (
            "; possible gap" if report.possible_gap else ""
        )

    return _run(self, body, lane="live", pool_id=pool_id)
