"""Live OHLCV collection for one (pool, timeframe), and how any OHLCV answer is stored.

Live collection and backfill (collectors.services.backfill) read pages newest-first with
``before_timestamp`` (inclusive), upsert every candle, and record the range each answer proves
(marketdata.coverage) — so a gap is time never asked about, and a missing candle inside a
covered range is a quiet interval. A short page shows where the API's history starts
(marketdata.history), so no later run asks for older candles again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from marketdata import store
from marketdata.coverage import lock_writers, record_coverage
from marketdata.history import note_history_start
from marketdata.models import Candle, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS, Timeframe

from ..gecko.client import OHLCV_MAX_LIMIT, GeckoClient
from ..gecko.records import CandleRecord, CandleReject, OhlcvPage
from ..persist import candle_rows

logger = logging.getLogger(__name__)


# The API's CDN serves an answer up to a minute old (s-maxage=60).
CDN_MAX_AGE = timedelta(seconds=60)
# One OHLCV call spans at most six months, whatever the plan's history depth.
MAX_CALL_SPAN = timedelta(days=180)


@dataclass
class OhlcvReport:
    pages: int = 0
    candles: int = 0
    written: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one stored answer held: its oldest candle, and whether history starts there."""

    candles: int
    written: int
    oldest: datetime | None
    ends_history: bool
    rejected: int = 0


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
    settled = Timeframe(timeframe).floor(now - CDN_MAX_AGE)
    newest = candles[0].timestamp if candles else settled
    return min(asked_end, max(settled, newest))


def moving_from(candles: list[CandleRecord], now: datetime, timeframe: str) -> datetime:
    """The open time from which a served candle may still have been open when the answer was
    made: the CDN may serve it up to ``CDN_MAX_AGE`` old, so an interval that has ended by now
    is final only if it ended before then, or if a newer candle was served after it."""
    settled = Timeframe(timeframe).floor(now - CDN_MAX_AGE)
    return max(settled, candles[0].timestamp) if candles else settled


def ends_history(
    candles: list[CandleRecord], limit: int, asked_end: datetime, *, rejected: int = 0
) -> bool:
    """A page short of ``limit`` means nothing older exists, unless it spans the most one call
    may span (paid plans serve years, six months per call): then only the next page can tell.
    Rejected candles were served, so they count toward the page's length."""
    if len(candles) + rejected >= limit:
        return False
    return not candles or asked_end - candles[-1].timestamp < MAX_CALL_SPAN


def store_page(
    pool: Pool, timeframe: str, page: OhlcvPage, *, before: int | None, limit: int
) -> PageResult:
    """Upsert one answer, record the coverage it proves and any history start it shows, in one
    transaction: a run killed between pages leaves either the whole page or none of it."""
    step = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    now = timezone.now()
    asked_end = now if before is None else datetime.fromtimestamp(before, tz=UTC) + step
    candles = page.candles
    rows = candle_rows(
        pool.pk, timeframe, candles, now, moving_from=moving_from(candles, now, timeframe)
    )
    oldest = candles[-1].timestamp if candles else None
    end = proven_end(candles, asked_end, now, timeframe)
    history = ends_history(candles, limit, asked_end, rejected=len(page.rejected))
    for reject in page.rejected:
        logger.warning("%s %s: candle rejected: %s", pool.address, timeframe, reject)
    with transaction.atomic():
        # A page lost to a crash before it reached the disk is fetched again (its coverage is
        # lost with it), so it need not wait for the WAL flush: a backfill commits per page.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        lock_writers(pool.pk, timeframe)
        written = store.upsert_candles(rows, exclusive=True).written
        if oldest is not None and oldest < end:
            for start, stop in covered_spans(oldest, end, page.rejected, step):
                record_coverage(pool.pk, timeframe, start, stop, locked=True)
        if history:
            note_history_start(pool.pk, timeframe, oldest or asked_end, now)
    return PageResult(len(candles), written, oldest, history, len(page.rejected))


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
        if result.ends_history or result.oldest is None:
            break
        if stop_at is not None and result.oldest <= stop_at:
            break
        before = int(result.oldest.timestamp())
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
