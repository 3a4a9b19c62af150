"""The pool page's chart and summary: candles, volume, trade markers, open gaps, coverage.

Everything is bounded by the candles shown: the last ``n`` bars of one timeframe, trades
aggregated per (bar, side) in the database, and open gaps clipped to the window and drawn in
at most ``MAX_GAP_STEPS`` bars. Times are epoch seconds (UTC), as the chart library wants them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from .archive import last_archived_bars
from .models import Candle, CandleCoverage, Gap
from .timeframes import ALL_TIMEFRAMES, TIMEFRAME_SECONDS

DEFAULT_CANDLES = 300
MAX_CANDLES = 2000
MAX_MARKERS = 400
MAX_GAP_STEPS = 2000

_TRADE_BUCKETS = """
SELECT floor(extract(epoch FROM block_timestamp) / %(step)s)::bigint * %(step)s AS bucket,
       side, count(*) AS trades, sum(volume_usd)::float8 AS volume
FROM marketdata_trade
WHERE pool_id = %(pool)s AND block_timestamp >= %(start)s AND block_timestamp < %(end)s
GROUP BY 1, 2
"""


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _trade_markers(pool_id: int, step: int, start: datetime, end: datetime) -> list[dict]:
    """One marker per (bar, side) with trades: buys below the bar, sells above; the largest
    by volume when there are more than MAX_MARKERS."""
    with connection.cursor() as cursor:
        cursor.execute(_TRADE_BUCKETS, {"step": step, "pool": pool_id, "start": start, "end": end})
        rows = cursor.fetchall()
    rows = sorted(rows, key=lambda r: r[3] or 0.0, reverse=True)[:MAX_MARKERS]
    markers = [
        {
            "time": bucket,
            "side": side,
            "trades": trades,
            "volume_usd": volume or 0.0,
        }
        for bucket, side, trades, volume in rows
    ]
    return sorted(markers, key=lambda m: (m["time"], m["side"]))


def _open_gaps(pool_id: int, timeframe: str, start: datetime, end: datetime) -> list[dict]:
    gaps = Gap.objects.filter(
        pool_id=pool_id, timeframe=timeframe, status=Gap.Status.OPEN, end__gt=start, start__lt=end
    ).order_by("start")
    return [
        {"start": _epoch(max(g.start, start)), "end": _epoch(min(g.end, end))}
        for g in gaps.only("start", "end")
    ]


def chart_data(pool_id: int, timeframe: str, n: int = DEFAULT_CANDLES) -> dict:
    """The last ``n`` candles of (pool, timeframe) with their volume, trades and open gaps."""
    if timeframe not in TIMEFRAME_SECONDS:
        raise ValueError(f"unknown timeframe {timeframe!r}; expected one of {ALL_TIMEFRAMES}")
    n = max(1, min(n, MAX_CANDLES))
    step = TIMEFRAME_SECONDS[timeframe]
    rows = list(
        Candle.objects.filter(pool_id=pool_id, timeframe=timeframe)
        .order_by("-ts")
        .values_list("ts", "open", "high", "low", "close", "volume_usd")[:n]
    )[::-1]
    # Bars of months archived to Parquet are read from their files (a late bar the database
    # holds too wins, as in an export); a month whose file is missing is not drawn, and the
    # page says which.
    archived = []
    if len(rows) < n:
        older = last_archived_bars(pool_id, timeframe, rows[-1][0] if rows else None, n)
        merged = {bar[0]: bar for bar in older.bars} | {row[0]: row for row in rows}
        rows, archived = [merged[ts] for ts in sorted(merged)][-n:], older.missing
    candles = [
        {"time": _epoch(ts), "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for ts, o, h, lo, c, v in rows
    ]
    if not rows:
        return {
            "timeframe": timeframe,
            "step": step,
            "candles": [],
            "trades": [],
            "gaps": [],
            "archived_months": archived,
        }
    start, end = rows[0][0], rows[-1][0] + timedelta(seconds=step)
    gaps = _open_gaps(pool_id, timeframe, start, end)
    return {
        "timeframe": timeframe,
        "step": step,
        "archived_months": archived,
        "candles": candles,
        "trades": _trade_markers(pool_id, step, start, end),
        "gaps": gaps,
        "gap_step": _gap_step(step, gaps),
    }


def _gap_step(step: int, gaps: list[dict]) -> int:
    """The spacing of the shading bars: one per candle interval unless that is too many."""
    intervals = sum((g["end"] - g["start"]) // step for g in gaps)
    factor = max(1, -(-intervals // MAX_GAP_STEPS))
    return step * factor


@dataclass(frozen=True)
class TimeframeSummary:
    timeframe: str
    covered_from: datetime | None
    covered_to: datetime | None
    covered_seconds: float
    open_gaps: int
    newest_candle: datetime | None

    @property
    def newest_age_seconds(self) -> float | None:
        if self.newest_candle is None:
            return None
        return (timezone.now() - self.newest_candle).total_seconds()


def pool_summary(pool_id: int) -> list[TimeframeSummary]:
    """Coverage, open gaps and the newest candle per timeframe, in a handful of queries."""
    coverage = {
        row["timeframe"]: row
        for row in CandleCoverage.objects.filter(pool_id=pool_id)
        .values("timeframe")
        .annotate(first=Min("start"), last=Max("end"))
    }
    spans: dict[str, float] = {}
    for tf, start, end in CandleCoverage.objects.filter(pool_id=pool_id).values_list(
        "timeframe", "start", "end"
    ):
        spans[tf] = spans.get(tf, 0.0) + (end - start).total_seconds()
    gaps = dict(
        Gap.objects.filter(pool_id=pool_id)
        .values("timeframe")
        .annotate(n=Count("pk", filter=Q(status=Gap.Status.OPEN)))
        .values_list("timeframe", "n")
    )
    summaries = []
    for tf in ALL_TIMEFRAMES:
        newest = (
            Candle.objects.filter(pool_id=pool_id, timeframe=tf)
            .order_by("-ts")
            .values_list("ts", flat=True)
            .first()
        )
        row = coverage.get(tf, {})
        summaries.append(
            TimeframeSummary(
                timeframe=tf,
                covered_from=row.get("first"),
                covered_to=row.get("last"),
                covered_seconds=spans.get(tf, 0.0),
                open_gaps=gaps.get(tf, 0),
                newest_candle=newest,
            )
        )
    return summaries


def open_trade_gaps(pool_id: int) -> int:
    return Gap.objects.filter(pool_id=pool_id, timeframe=Gap.TRADES, status=Gap.Status.OPEN).count()
