"""Celery tasks: thin wrappers over collectors.services.

Planners run on the ``default`` queue, read the database and fan out one small fetch task per
unit of work; fetch tasks run on the ``api`` queue (acks_late, re-queued if a worker dies).
Every run holds a Redis lock keyed by task + arguments and owned by the task id (a copy
redelivered after its worker died takes it over), and is recorded as a CollectionRun.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from celery import Task, shared_task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from marketdata import archive, partitions
from marketdata.models import Dex
from watchlist.sync import sync_watchlist_file

from . import inflight
from .gecko.client import GeckoClient
from .gecko.errors import GeckoError, MustWait
from .lease import lease_seconds
from .locks import task_lock
from .models import CollectionRun, CollectorConfig
from .planner import limits
from .planner import service as planner
from .planner.demand import Unit, unit_key
from .runs import RunTally, close_abandoned_runs, track_run
from .services import backfill, dexes, gaps, ohlcv, pools, trades
from .ticks import claim_tick

logger = logging.getLogger(__name__)

FETCH = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": None}
FAULT_RETRIES_HEADER = "gecko_fault_retries"
EXPIRY_MARGIN = 1.0  # seconds a retry must be due before its message expires


def _expires_in(task: Task) -> float | None:
    """Seconds until the task's message expires (None: it never does)."""
    expires = task.request.expires
    if not expires:
        return None
    moment = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    return (moment - timezone.now()).total_seconds()


# PostgreSQL or Redis restarting or unreachable (or a session killed): the work is retried once
# it is back, never failed and forgotten. The reason rides on the retry (header) onto the run's row.
OUTAGES = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
OUTAGE_HEADER = "gecko_outage"
OUTAGE_RETRY_MAX = 30.0
# Redis is the broker too: publishing the retry waits for it to come back (about a minute)
# instead of failing the task, which would then be acked and its work lost.
OUTAGE_PUBLISH = {"max_retries": 60, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 1}


def _in_flight(task: Task, unit: str):
    """Keep ``unit`` in flight while the task runs, and until its retry message expires."""
    left = _expires_in(task)
    left = 60.0 if left is None else left
    return inflight.running(unit, retry_ttl=max(1.0, left + planner.INFLIGHT_MARGIN))


def retry_headers(task: Task, **marks: Any) -> dict[str, Any]:
    """A retry's headers: the request's own (beat's tick stamp, earlier marks) plus ``marks``.
    Passing headers replaces Celery's copy of them, so every retry that marks builds them here."""
    return {**(task.request.headers or {}), **marks}


def _run(
    task: Task,
    body: Callable[[RunTally], Any],
    *,
    lane: str | None = None,
    redis_lock: bool = True,
    **arguments,
):
    """Lock, record, run ``body``; a MustWait from the client becomes a retry with countdown,
    so does a transient fault that outlasted the client's attempts (up to a limit), and so
    does a database or Redis outage (backing off 2, 4, 8 ... 30 s; never swallowed).

    A beat tick another beat's copy already ran is skipped (collectors.ticks). ``redis_lock``
    False: the body serialises itself with a lock that dies with its holder (a backfill's
    PostgreSQL advisory lock), so a task queued again after its worker was killed runs at
    once instead of being skipped for the dead task's Redis lock until its TTL."""
    try:
        return _run_once(task, body, lane=lane, redis_lock=redis_lock, **arguments)
    except OUTAGES as exc:
        # Drop the dead connection too: the retry runs on a new one.
        close_old_connections()
        countdown = min(OUTAGE_RETRY_MAX, 2.0 ** (task.request.retries + 1))
        reason = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        logger.warning(
            "%s %s: database or Redis unavailable (%s); retry in %.0fs",
            task.name, arguments, reason, countdown,
        )  # fmt: skip
        raise task.retry(
            countdown=countdown,
            exc=exc,
            max_retries=None,
            headers=retry_headers(task, **{OUTAGE_HEADER: reason}),
            retry_policy=OUTAGE_PUBLISH,
        ) from exc


def _run_once(task: Task, body, *, lane: str | None, redis_lock: bool, **arguments):
    if not claim_tick(task.request.headers, task.request.id):
        logger.info("%s %s: this beat tick already ran, skipped", task.name, arguments)
        return {"skipped": True}
    locking = (
        task_lock(task.name, arguments, lease_seconds(), owner=task.request.id)
        if redis_lock
        else nullcontext(True)
    )
    with locking as acquired:
        if not acquired:
            logger.info("%s %s: same work already running, skipped", task.name, arguments)
            return {"skipped": True}
        later: Later | None = None
        outage = (task.request.headers or {}).get(OUTAGE_HEADER)
        with track_run(
            task.name,
            arguments,
            correlation_id=task.request.id,
            worker=task.request.hostname,
            interrupted_by=outage,
        ) as tally:
            client = GeckoClient(lane=lane) if lane else None
            try:
                result = body(tally) if client is None else body(tally, client)
            except MustWait as exc:
                later, result = Later(exc.seconds, exc), None
                tally.status, tally.detail = CollectionRun.Status.WAITING, str(exc)
            except GeckoError as exc:
                if not exc.retryable:
                    raise
                later = _after_faults(task, exc, tally)
                result = None if later else {"failed": tally.detail}
            finally:
                if client is not None:
                    stats = client.stats
                    tally.api_calls, tally.errors = stats.calls, stats.errors
                    tally.throttled, tally.last_errors = stats.throttled, stats.last_errors
                    client.close()
            # A task refused its first token did nothing: its retry records the run, so a
            # queue waiting on the rate limit does not fill the table with empty rows.
            tally.discard = tally.discard or (
                later is not None
                and isinstance(later.error, MustWait)
                and tally.api_calls == 0
                and not tally.items_written
            )
            if later is not None and _too_late(task, later.seconds):
                tally.status = CollectionRun.Status.EXPIRED
                tally.detail = (
                    f"expired: the next plan re-queues it (a retry in {later.seconds:.0f}s "
                    f"would outlive the task's expiry)\n{tally.detail}"
                )
                later, result = None, {"expired": tally.detail}
    if later is not None:
        raise task.retry(countdown=later.seconds, exc=later.error, headers=later.headers(task))
    return result


def _too_late(task: Task, countdown: float) -> bool:
    """Celery discards a message received after its expiry: a retry due then would never run
    and leave its run "waiting" forever."""
    left = _expires_in(task)
    return left is not None and countdown + EXPIRY_MARGIN >= left


@dataclass
class Later:
    """A retry to schedule: after ``seconds``, for ``error``; ``faults`` counts the retries
    spent on transient faults so far (carried in the retry's headers)."""

    seconds: float
    error: GeckoError
    faults: int | None = None

    def headers(self, task: Task) -> dict[str, Any] | None:
        if self.faults is None:
            return None  # Celery copies the request's own headers
        return retry_headers(task, **{FAULT_RETRIES_HEADER: self.faults})


def _after_faults(task: Task, error: GeckoError, tally: RunTally) -> Later | None:
    """Every attempt of a call met a transient fault: wait and retry the task with a doubling,
    jittered countdown, or, past GECKO_TASK_FAULT_RETRIES, fail the run (one ERROR line, no
    traceback: the planner plans the unit again and the collection is gap-aware)."""
    done = int((task.request.headers or {}).get(FAULT_RETRIES_HEADER) or 0)
    limit = settings.GECKO_TASK_FAULT_RETRIES
    if done >= limit:
        tally.status = CollectionRun.Status.FAILED
        tally.detail = f"gave up after {done + 1} tries, every API attempt a fault; last: {error}"
        logger.error("%s: %s", task.name, tally.detail)
        return None
    seconds = settings.GECKO_TASK_FAULT_BACKOFF * 2**done * random.uniform(0.5, 1.0)
    tally.status = CollectionRun.Status.WAITING
    tally.detail = (
        f"API faults on every attempt ({error}); retry {done + 1}/{limit} in {seconds:.0f}s"
    )
    return Later(seconds, error, faults=done + 1)


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
        if not report.changed:
            # Checked every minute: an unchanged file is no event, so it leaves no run row.
            tally.discard = True
        if report.errors:
            tally.status = CollectionRun.Status.WARNING
        tally.items_written = len(report.added) + len(report.reactivated) + len(report.deactivated)
        tally.detail = report.summary() + "".join(f"\n{e}" for e in report.errors)
        # New entries' details are a unit of the planner's next tick (perishable priority).
        return tally.detail

    return _run(self, body, csv=csv)


@shared_task(bind=True, **FETCH)
def fetch_watchlist_details(self):
    """Pool details for new watchlist pools (30 a call); token info is left to the planner's
    metadata work. A plan follows at once, so new pools need not wait for the next tick."""

    def body(tally, client):
        report = pools.fetch_watchlist_details(client, token_info=False)
        tally.items_written = report.written
        tally.detail = f"linked {len(report.linked)}; unknown to the API: {report.not_found}"
        if report.linked:
            plan_collection.delay()

    with _in_flight(self, unit_key("details")):
        return _run(self, body, lane="live")


@shared_task(bind=True, **FETCH)
def fetch_token_info(self, address: str):
    def body(tally, client):
        tally.items_written = pools.fetch_token_info(client, address)

    with _in_flight(self, unit_key("token_info", address)):
        return _run(self, body, lane="live", address=address)


@shared_task(bind=True, **FETCH)
def fetch_pool_details(self, pool_ids: list[int]):
    def body(tally, client):
        tally.items_written = pools.refresh_pools(client, pool_ids)

    with _in_flight(self, unit_key("pool_details", pool_ids[0])):
        return _run(self, body, lane="live", pool_ids=pool_ids)


# --- the budget planner ------------------------------------------------------------------

SENDERS: dict[str, Any] = {}


def _send(unit: Unit, expires: float) -> None:
    SENDERS[unit.kind].apply_async(kwargs=unit.kwargs, expires=expires)


@shared_task(bind=True, **FETCH)
def fetch_key_figures(self):
    """A paid plan's own rate and monthly credit, cached for the planner (collectors.planner
    .limits); asked for when the cache has lapsed, a few times a day."""

    def body(tally, client):
        limits.store_key_figures(client.key_figures())
        tally.detail = "plan figures cached"

    with _in_flight(self, unit_key("key")):
        return _run(self, body, lane="live")


@shared_task(bind=True)
def plan_collection(self):
    """Queue what the budget serves before the next tick, most perishable first."""

    def body(tally):
        config = CollectorConfig.current()
        if settings.GECKO_API_PLAN == "pro" and limits.cached_key_figures() is None:
            if inflight.claim([(unit_key("key"), 1)], ttl=2 * config.plan_tick_seconds):
                fetch_key_figures.apply_async(expires=2 * config.plan_tick_seconds)
        result = planner.tick(config, send=_send)
        budget = result.budget
        tally.detail = (
            f"queued {result.queued} units ({result.selection.spent} calls) of capacity "
            f"{budget.capacity}; {budget.in_flight} calls were in flight; "
            f"{result.selection.waiting_due} due units wait; demand "
            f"{result.report.need_per_min:.1f}/min vs budget {budget.plannable_per_min:.1f}/min"
        )
        if result.announcement:
            tally.detail = f"{result.announcement}\n{tally.detail}"
        if result.send_error:
            tally.status = CollectionRun.Status.FAILED
            tally.detail = f"{result.send_error}\n{tally.detail}"
        return result.queued

    return _run(self, body)


# --- OHLCV and gaps ----------------------------------------------------------------------


@shared_task
def plan_ohlcv(timeframe: str | None = None):
    """Replaced by plan_collection; kept so a schedule row or message left from before the
    planner runs the planner instead of queueing a full set."""
    plan_collection.delay()


@shared_task(bind=True, **FETCH)
def fetch_ohlcv(
    self, pool_id: int, timeframe: str, limit: int | None = None, pages: int | None = None
):
    """``limit`` and ``pages`` come from the planner: what is missing, and the calls it budgeted
    (a first fetch reads ohlcv_pages_per_fetch pages; older history is the backfill's)."""

    def body(tally, client):
        config = CollectorConfig.current()
        report = ohlcv.collect_ohlcv(
            client,
            pool_id,
            timeframe,
            max_pages=min(pages or config.ohlcv_pages_per_fetch, config.ohlcv_pages_per_fetch),
            include_empty=config.include_empty_intervals,
            limit=limit,
        )
        tally.items_written = report.written
        if report.rejected:
            tally.detail = f"{report.rejected} implausible candle(s) rejected (named in the log)"

    with _in_flight(self, unit_key("ohlcv", pool_id, timeframe)):
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


@shared_task(bind=True)
def maintain_partitions(self):
    """This month and the next ones get their partitions before rows arrive, a month found in a
    default partition gets its own (marketdata.partitions); each ended month is queued for its
    indexes to be packed and each month past GECKO_HOT_MONTHS for the archive
    (marketdata.archive), a task each: on a month of 1,000 pools either outlives an ordinary
    task's time limit."""
    with track_run(self.name, {}, worker=self.request.hostname) as tally:
        now = timezone.now()
        created = partitions.ensure(now)
        cold = archive.cold_partitions(now, settings.GECKO_HOT_MONTHS)
        archived = {partitions.partition_name(table, month) for table, month in cold}
        loose = [name for name in partitions.ended_loose(now) if name not in archived]
        for name in loose:
            compact_partition.delay(name=name)
        for table, month in cold:
            archive_month.delay(table=table, month=month.isoformat())
        queued = ", ".join(f"{table} {month:%Y-%m}" for table, month in cold)
        tally.detail = (
            f"partitions created: {', '.join(created) or 'none'}; "
            f"queued for packing: {', '.join(loose) or 'none'}; "
            f"queued for the archive: {queued or 'none'}"
        )
    return tally.detail


@shared_task(
    bind=True,
    time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT,
    soft_time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT - 60,
)
def compact_partition(self, name: str):
    """Pack an ended month's indexes (marketdata.partitions.compact); one copy at a time."""
    arguments = {"name": name}
    with track_run(self.name, arguments, worker=self.request.hostname) as tally:
        with task_lock(self.name, arguments, ttl=lease_seconds()) as mine:
            if not mine:
                tally.detail = "another worker is packing this partition"
                return tally.detail
            packed = partitions.compact(name)
            tally.detail = f"{name} {'packed' if packed else 'is gone'}"
    return tally.detail


@shared_task(
    bind=True,
    time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT,
    soft_time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT - 60,
)
def archive_month(self, table: str, month: str):
    """Write one month to Parquet, verify it, drop its partition; one copy at a time. A table
    held by a long export (its detach would wait, and queue every write behind it) leaves the
    run waiting and the task retried in 10 minutes."""
    arguments, busy = {"table": table, "month": month}, False
    with track_run(self.name, arguments, worker=self.request.hostname) as tally:
        with task_lock(self.name, arguments, ttl=lease_seconds()) as mine:
            if not mine:
                tally.detail = "another worker is archiving this month"
                return tally.detail
            try:
                done = archive.archive_month(table, datetime.fromisoformat(month))
            except OperationalError as exc:
                if "lock timeout" not in str(exc):
                    raise
                busy = True
                tally.status = CollectionRun.Status.WAITING
                tally.detail = "the table was busy (an export?): tried again in 10 minutes"
            else:
                tally.detail = f"archived {done} to {done.path}"
    if busy:
        raise self.retry(countdown=600, max_retries=12)
    return tally.detail


@shared_task(bind=True, **FETCH)
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


# A backfill task stops walking this long before its soft time limit: one page's worst case
# (the HTTP timeout and retries), so the limit never cuts a walk short.
PAGE_MARGIN = 60.0


def backfill_walk_seconds() -> float:
    """How long one backfill task walks before it hands the rest to a new task."""
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    if not soft:
        return math.inf
    return max(soft / 2, soft - PAGE_MARGIN)


@shared_task(bind=True, **FETCH)
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


# --- trades ------------------------------------------------------------------------------


@shared_task
def plan_trades():
    """Replaced by plan_collection (see plan_ohlcv)."""
    plan_collection.delay()


@shared_task(bind=True, **FETCH)
def fetch_trades(self, pool_id: int):
    def body(tally, client):
        config = CollectorConfig.current()
        report = trades.collect_trades(client, pool_id, min_usd=config.min_trade_usd)
        tally.items_written = report.written
        tally.detail = f"{report.received} received" + (
            "; possible gap" if report.possible_gap else ""
        )

    with _in_flight(self, unit_key("trades", pool_id)):
        return _run(self, body, lane="live", pool_id=pool_id)


SENDERS.update(
    trades=fetch_trades,
    ohlcv=fetch_ohlcv,
    details=fetch_watchlist_details,
    token_info=fetch_token_info,
    pool_details=fetch_pool_details,
)
