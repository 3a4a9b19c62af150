"""Candle history behind live collection: the gap scan and the backfills it queues, and the
backfills ``manage.py backfill_ohlcv --async`` queues. They walk the backfill lane of the API
budget, and a walk may outlast a task's time limit, so each hands the rest to a new task."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings

from collectors.fleet import inflight
from collectors.models import CollectionRun, CollectorConfig
from collectors.runs.tracking import close_abandoned_runs
from collectors.services import backfill, gaps
from collectors.tasks.running import FETCH, _run, collector_task

# A backfill task stops walking this long before its soft time limit: one page's worst case
# (the HTTP timeout and retries), so the limit never cuts a walk short.
PAGE_MARGIN = 60.0


def backfill_walk_seconds() -> float:
    """How long one backfill task walks before it hands the rest to a new task."""
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    if not soft:
        return math.inf
    return max(soft / 2, soft - PAGE_MARGIN)


@collector_task(bind=True)
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


@collector_task(bind=True, **FETCH)
def backfill_gap(self, gap_id: int):
    """Fill one gap. Its in-flight claim (set when queued) holds through MustWait retries and
    is released when the task ends for good, so the scan never queues it twice. A walk longer
    than the task may run goes on in a new task, as backfill_ohlcv's does."""

    def body(tally, client):
        include_empty = CollectorConfig.current().include_empty_intervals
        deadline = time.monotonic() + backfill_walk_seconds()
        walk = backfill.Walk(
            client, include_empty=include_empty, stop=lambda: time.monotonic() >= deadline
        )
        try:
            report = backfill.backfill_gap(walk, gap_id)
        except SoftTimeLimitExceeded:
            report = backfill.UnitReport(0, "", stopped=True)
        tally.items_written = report.written if report else 0
        if report is not None and report.credit_stop:
            tally.status = CollectionRun.Status.WARNING
            tally.detail = report.credit_stop
        if report is not None and report.stopped:
            gaps.keep_gap(gap_id)  # still queued: the scan adds no copy
            backfill_gap.apply_async(kwargs={"gap_id": gap_id})
            tally.detail = f"{report.pages} pages; continues in a new task"
            return {"continued": True}
        return None

    try:
        with inflight.leased(gaps.gap_unit(gap_id)):
            result = _run(self, body, lane="backfill", gap_id=gap_id)
    except Retry:
        gaps.keep_gap(gap_id)
        raise
    except Exception:
        gaps.release_gap(gap_id)
        raise
    if not (isinstance(result, dict) and (result.get("skipped") or result.get("continued"))):
        gaps.release_gap(gap_id)
    return result


@collector_task(bind=True, **FETCH)
def backfill_ohlcv(self, pool_id: int, timeframe: str, since: str | None, until: str):
    """One (pool, timeframe) of ``manage.py backfill_ohlcv --async``; pages are committed one
    by one, so a retry after MustWait (or a re-delivery after a lost worker) resumes.

    A walk longer than the task may run (about 260 pages for 1m × 180 days, against a 600 s
    soft time limit) stops after a page before the limit and goes on in a new task, which
    re-reads what coverage lacks; a soft limit met anyway hands on the same way."""
    arguments = {"pool_id": pool_id, "timeframe": timeframe, "since": since, "until": until}

    def body(tally, client):
        deadline = time.monotonic() + backfill_walk_seconds()
        walk = backfill.Walk(
            client,
            include_empty=CollectorConfig.current().include_empty_intervals,
            stop=lambda: time.monotonic() >= deadline,
        )
        try:
            report = backfill.backfill_unit(
                walk,
                pool_id,
                timeframe,
                since=datetime.fromisoformat(since) if since else None,
                until=datetime.fromisoformat(until),
            )
        except SoftTimeLimitExceeded:
            report = None  # the page in hand was rolled back; the next task asks it again
        if report is None or report.stopped:
            backfill_ohlcv.apply_async(kwargs=arguments)
        if report is None:
            tally.detail = "soft time limit met: continues in a new task"
            return tally.detail
        tally.items_written = report.written
        tally.detail = (
            "another backfill holds this pool"
            if report.busy
            else (f"{report.pages} pages, {report.candles} candles")
        )
        if report.credit_stop:
            tally.status = CollectionRun.Status.WARNING
            tally.detail = f"{tally.detail}; {report.credit_stop}"
        if report.stopped:
            tally.detail += f"; continues in a new task (about {report.pages_left} pages left)"
        return tally.detail

    return _run(self, body, lane="backfill", redis_lock=False, **arguments)
