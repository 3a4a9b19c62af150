"""Live OHLCV collection and gap backfill for one (pool, timeframe).

Both read pages newest-first with ``before_timestamp`` (inclusive), upsert every candle, and
record the range each answer covers (marketdata.coverage) — so a gap is time never asked about,
and a missing candle inside a covered range is a quiet interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from marketdata import store
from marketdata.coverage import record_coverage, sync_gaps
from marketdata.models import Candle, Gap, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS, Timeframe

from ..gecko.client import OHLCV_MAX_LIMIT, GeckoClient
from ..persist import candle_rows

logger = logging.getLogger(__name__)


@dataclass
class OhlcvReport:
    pages: int = 0
    candles: int = 0
    written: int = 0


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
    step = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    report = OhlcvReport()
    while report.pages < max_pages:
        now = timezone.now()
        end = now if before is None else datetime.fromtimestamp(before, tz=now.tzinfo) + step
        page = client.ohlcv(
            pool.address,
            timeframe,
            before_timestamp=before,
            limit=limit,
            include_empty_intervals=include_empty,
        )
        report.pages += 1
        report.candles += len(page.candles)
        moving_from = Timeframe(timeframe).floor(now)
        rows = candle_rows(pool.pk, timeframe, page.candles, now, moving_from=moving_from)
        report.written += store.upsert_candles(rows).written
        # A short page means the API has nothing older: the answer covers `limit` intervals
        # back at least. A full page covers back to its oldest candle.
        exhausted = len(page.candles) < limit
        start = page.candles[-1].timestamp if page.candles else end
        if exhausted:
            start = min(start, end - step * limit)
        if start < end:
            record_coverage(pool.pk, timeframe, start, end)
        if exhausted or (stop_at is not None and start <= stop_at):
            break
        before = int(start.timestamp())
    return report


def collect_ohlcv(
    client: GeckoClient, pool_id: int, timeframe: str, *, max_pages: int, include_empty: bool
) -> OhlcvReport:
    """Fetch what is newer than the last final candle; more than ``max_pages`` back is left
    as a hole for the gap scan and backfill (on the backfill lane)."""
    pool = Pool.objects.get(pk=pool_id)
    seconds = TIMEFRAME_SECONDS[timeframe]
    last_final = Candle.objects.filter(pool=pool, timeframe=timeframe, is_final=True).aggregate(
        last=Max("ts")
    )["last"]
    limit = OHLCV_MAX_LIMIT
    if last_final is not None:
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


def backfill_gap(
    client: GeckoClient, gap_id: int, *, max_pages: int = 50, include_empty: bool = False
) -> OhlcvReport:
    """Fill one open candle gap from the API, then re-derive the gaps of its (pool, timeframe).

    ``include_empty`` follows the live setting so backfilled ranges look like live ones."""
    gap = Gap.objects.select_related("pool").get(pk=gap_id)
    if gap.status != Gap.Status.OPEN or gap.timeframe == Gap.TRADES:
        return OhlcvReport()
    Gap.objects.filter(pk=gap.pk).update(attempts=gap.attempts + 1)
    seconds = TIMEFRAME_SECONDS[gap.timeframe]
    span = int((gap.end - gap.start).total_seconds() // seconds) + 2
    logger.info("backfill %s %s from %s to %s", gap.pool.address, gap.timeframe, gap.start, gap.end)
    report = _fetch_range(
        client,
        gap.pool,
        gap.timeframe,
        before=int(gap.end.timestamp()),
        stop_at=gap.start,
        max_pages=max_pages,
        limit=min(OHLCV_MAX_LIMIT, span),
        include_empty=include_empty,
    )
    sync_gaps(gap.pool_id, gap.timeframe)
    return report
