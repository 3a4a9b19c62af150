"""Live OHLCV collection for one (pool, timeframe), and how any OHLCV answer is stored.

Live collection and backfill (collectors.services.backfill) read pages newest-first with
``before_timestamp`` (inclusive), upsert every candle, and record the range each answer proves
(marketdata.coverage) — so a gap is time never asked about, and a missing candle inside a
covered range is a quiet interval. A short page proves quiet time only as far back as the call
looked; once that reaches the pool's creation (or the plan's depth) it shows where the API's
history starts (marketdata.history), so no later run asks for older candles again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from collectors.gecko.client import OHLCV_MAX_LIMIT, GeckoClient
from collectors.gecko.records import CandleRecord, CandleReject, OhlcvPage
from collectors.services.persist import candle_rows
from marketdata import store
from marketdata.coverage import flag_uncovered_tail, lock_writers, record_coverage
from marketdata.history import note_history_start
from marketdata.models import Candle, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS, Timeframe

logger = logging.getLogger(__name__)


# The API's CDN serves an answer up to a minute old (s-maxage=60).
CDN_MAX_AGE = timedelta(seconds=60)
# One OHLCV call spans at most six months (183 days), whatever the plan's history depth; what
# a page proves is counted with 180, so a rounding of "six months" never claims unseen time.
MAX_CALL_SPAN = timedelta(days=180)


@dataclass
class OhlcvReport:
    pages: int = 0
    candles: int = 0
    written: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one stored answer held: its oldest candle, how far back it proves the candles
    (``proven``: where the next page starts), and whether history starts there."""

    candles: int
    written: int
    oldest: datetime | None
    ends_history: bool
    rejected: int = 0
    proven: datetime | None = None


def settled_until(timeframe: str, now: datetime) -> datetime:
    """Where every answer is final: the open time of the interval that was open ``CDN_MAX_AGE``
    ago. Newer intervals may still change, or be served stale; they are live collection's."""
    return Timeframe(timeframe).floor(now - CDN_MAX_AGE)


def proven_end(
    candles: list[CandleRecord], asked_end: datetime, now: datetime, timeframe: str
) -> datetime:
    """How far an answer proves the candles: never past what it shows.

    The API's CDN may serve an answer up to ``CDN_MAX_AGE`` old, so an answer reaching "now"
    proves only the intervals complete by then, or up to its newest candle's open time (every
    older interval was final when it was served). A range wholly in the past is proved whole.
    """
    if asked_end <= now - CDN_MAX_AGE:
        return asked_end
    settled = settled_until(timeframe, now)
    newest = candles[0].timestamp if candles else settled
    return min(asked_end, max(settled, newest))


def moving_from(candles: list[CandleRecord], now: datetime, timeframe: str) -> datetime:
    """The open time from which a served candle may still have been open when the answer was
    made: the CDN may serve it up to ``CDN_MAX_AGE`` old, so an interval that has ended by now
    is final only if it ended before then, or if a newer candle was served after it."""
    settled = settled_until(timeframe, now)
    return max(settled, candles[0].timestamp) if candles else settled


def proven_start(
    candles: list[CandleRecord], limit: int, top: datetime, timeframe: str, *, rejected: int = 0
) -> datetime | None:
    """How far back an answer asked from interval ``top`` proves the candles.

    A full page proves down to its oldest candle. A short one also proves the quiet time below
    it, but only as far as the call looked, which is not documented: the ``limit`` intervals
    ending at ``top`` (if ``limit`` counts intervals), and never more than one call's span (six
    months on paid plans). The nearer of the two holds under either reading. Rejected candles
    were served, so they count toward the page's length."""
    oldest = candles[-1].timestamp if candles else None
    if len(candles) + rejected >= limit:
        return oldest
    step = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    looked = max(top - (limit - 1) * step, top - MAX_CALL_SPAN)
    return looked if oldest is None else min(oldest, looked)


# How far past the plan's depth an answer must look before its silence ends the history.
DEPTH_MARGIN = timedelta(days=7)


def plan_depth(now: datetime) -> datetime:
    """The oldest time the plan serves (GECKO_HISTORY_DAYS back): an empty answer older than
    this proves nothing about the candles, only that the API no longer keeps them."""
    return now - timedelta(days=settings.GECKO_HISTORY_DAYS)


def history_floor(pool: Pool, timeframe: str, now: datetime) -> datetime:
    """Nothing older can be served: the pool's creation, or a little past the plan's depth. A
    short page whose proof reaches this far shows the start of history; one that does not may
    be a quiet spell, and the walk goes on.

    The depth is "about six months" (the API keeps 183 days where GECKO_HISTORY_DAYS says
    180), so a walk that looked back only to the depth has not seen where the API stops: it
    must look ``DEPTH_MARGIN`` further before an empty answer says so."""
    depth = plan_depth(now) - DEPTH_MARGIN
    if pool.pool_created_at is None:
        return depth
    return max(depth, Timeframe(timeframe).floor(pool.pool_created_at))


def _history_start(pool: Pool, timeframe: str, oldest: datetime | None, asked_end: datetime):
    """The open time of the first candle: this page's oldest, or (an empty page) the oldest
    stored at or after what it asked about."""
    if oldest is not None:
        return oldest
    first = Candle.objects.filter(pool=pool, timeframe=timeframe, ts__gte=asked_end)
    return first.order_by("ts").values_list("ts", flat=True).first() or asked_end


def store_page(
    pool: Pool, timeframe: str, page: OhlcvPage, *, before: int | None, limit: int
) -> PageResult:
    """Upsert one answer, record the coverage it proves and any history start it shows, in one
    transaction: a run killed between pages leaves either the whole page or none of it."""
    step = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    now = timezone.now()
    top = Timeframe(timeframe).floor(now if before is None else datetime.fromtimestamp(before, UTC))
    asked_end = now if before is None else top + step
    candles = page.candles
    rows = candle_rows(
        pool.pk, timeframe, candles, moving_from=moving_from(candles, now, timeframe)
    )
    oldest = candles[-1].timestamp if candles else None
    end = proven_end(candles, asked_end, now, timeframe)
    proven = proven_start(candles, limit, top, timeframe, rejected=len(page.rejected))
    short = len(candles) + len(page.rejected) < limit
    history = short and proven is not None and proven <= history_floor(pool, timeframe, now)
    # Quiet time is recorded as covered only where the plan still serves candles; older, the
    # API may have dropped them (a gap there stays a gap, and becomes unfillable).
    covered = None if proven is None else max(proven, plan_depth(now))
    if oldest is not None:
        covered = oldest if covered is None else min(covered, oldest)
    for reject in page.rejected:
        logger.warning("%s %s: candle rejected: %s", pool.address, timeframe, reject)
    with transaction.atomic():
        # A page lost to a crash before it reached the disk is fetched again (its coverage is
        # lost with it), so it need not wait for the WAL flush: a backfill commits per page.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        lock_writers(pool.pk, timeframe)
        written = store.upsert_candles(rows, exclusive=True).written
        if covered is not None and covered < end:
            spans = covered_spans(covered, end, page.rejected, step)
            for start, stop in spans:
                record_coverage(pool.pk, timeframe, start, stop, locked=True)
            _flag_rejected_tail(pool.pk, timeframe, page.rejected, spans, covered, end)
        if history:
            first = _history_start(pool, timeframe, oldest, asked_end)
            note_history_start(pool.pk, timeframe, first, now)
    return PageResult(len(candles), written, oldest, history, len(page.rejected), proven)


def covered_spans(
    start: datetime, end: datetime, rejected: tuple[CandleReject, ...], step: timedelta
) -> list[tuple[datetime, datetime]]:
    """[start, end) without the intervals of rejected candles, so the gap scan asks for them
    again; nothing at all when a rejected candle's own time is unusable (where it belongs is
    unknown)."""
    if any(r.timestamp is None for r in rejected):
        return []
    spans, cursor = [], start
    for hole in sorted({r.timestamp for r in rejected if start <= r.timestamp < end}):
        if cursor < hole:
            spans.append((cursor, hole))
        cursor = max(cursor, hole + step)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _flag_rejected_tail(
    pool_id: int,
    timeframe: str,
    rejected: tuple[CandleReject, ...],
    spans: list[tuple[datetime, datetime]],
    covered: datetime,
    end: datetime,
) -> None:
    """Rejected intervals at the newest end of a page leave time no covered range follows yet,
    which the gap scan (holes between ranges) would flag only once a later interval is
    covered: flag it now. Not when a rejected candle's time is unusable (nothing was covered)."""
    if not rejected or any(r.timestamp is None for r in rejected):
        return
    tail = spans[-1][1] if spans else covered
    if tail < end:
        flag_uncovered_tail(pool_id, timeframe, tail, end, reason=f"candle rejected: {rejected[0]}")


def _fetch_range(
    client: GeckoClient,
    pool: Pool,
    timeframe: str,
    *,
    before: int | None,
    stop_at: datetime | None,
    max_pages: int,
    limit: int,
    include_empty: bool,
) -> OhlcvReport:
    """Read back from ``before`` (None: now) page by page until ``stop_at`` or history ends."""
    report = OhlcvReport()
    while report.pages < max_pages:
        page = client.ohlcv(
            pool.address,
            timeframe,
            before_timestamp=before,
            limit=limit,
            include_empty_intervals=include_empty,
        )
        result = store_page(pool, timeframe, page, before=before, limit=limit)
        report.pages += 1
        report.candles += result.candles
        report.written += result.written
        report.rejected += result.rejected
        if result.ends_history or result.proven is None:
            break
        if stop_at is not None and result.proven <= stop_at:
            break
        before = int(result.proven.timestamp())
    return report


def collect_ohlcv(
    client: GeckoClient,
    pool_id: int,
    timeframe: str,
    *,
    max_pages: int,
    include_empty: bool,
    limit: int | None = None,
) -> OhlcvReport:
    """Fetch what is newer than the last final candle; more than ``max_pages`` back is left
    as a hole for the gap scan and backfill (on the backfill lane).

    ``limit`` is the planner's count of what is missing since the last fetch (a quiet pool has
    no candles to date that from); without it, the count runs from the last final candle."""
    pool = Pool.objects.get(pk=pool_id)
    seconds = TIMEFRAME_SECONDS[timeframe]
    last_final = Candle.objects.filter(pool=pool, timeframe=timeframe, is_final=True).aggregate(
        last=Max("ts")
    )["last"]
    if limit is not None:
        limit = max(2, min(OHLCV_MAX_LIMIT, limit))
    elif last_final is None:
        limit = OHLCV_MAX_LIMIT
    else:
        missing = int((timezone.now() - last_final).total_seconds() // seconds) + 1
        limit = max(2, min(OHLCV_MAX_LIMIT, missing + 1))
    return _fetch_range(
        client,
        pool,
        timeframe,
        before=None,
        stop_at=last_final,
        max_pages=max_pages,
        limit=limit,
        include_empty=include_empty,
    )
