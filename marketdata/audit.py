"""The store checked against itself: is every stretch of a series either proved or flagged?

No ground truth is consulted; only what the store says it knows. Per (pool, candle timeframe):

- **extent**: from the earliest to the latest thing known of the series, the first coverage start
  or candle open time to the last coverage end or candle open time;
- **coverage**: the ranges an API answer proved whole (marketdata.coverage). Inside them a missing
  candle is a quiet interval, not a loss;
- **flagged**: the ranges of its open or unfillable Gap rows (a filled gap explains nothing);
- **hole**: a stretch of the extent neither covered nor flagged. Every one is an inconsistency:
  something may be missing and nothing says so. A hole between two live fetches is a gap row's
  business until the gap scan (every 15 min) has run, so audit a quiet store or after a scan;
- **candle outside coverage**: a stored candle whose open time lies in no covered range and no
  flagged gap: data no answer vouches for. The series' newest candle at or after the end of its
  coverage is exempt: it is the live edge, an interval the last answer could not yet prove;
- the **history start** the API's answers showed (marketdata.history), for reference: older
  candles are no inconsistency (on the free plan the API's six months roll on past them);
- **unfillable gaps** with their reasons, and per pool the **trade windows** flagged as possibly
  lost (Gap rows of timeframe "trades"): both are known losses, reported, not inconsistencies.

Everything is computed in PostgreSQL, set-based (ranges and multiranges, one pass over the
candles), so a store of a thousand pools is audited in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import connection, transaction

from .models import Gap
from .timeframes import ALL_TIMEFRAMES

MAX_LISTED = 10  # holes and reasons listed per series; the counts are always whole

SERIES_SQL = """
WITH cand AS (
    -- One pass over the candles; each matches at most one covered range (they are disjoint).
    SELECT k.pool_id, k.timeframe, count(*) AS n, count(c.start) AS inside,
           min(k.ts) AS first_ts, max(k.ts) AS last_ts
    FROM marketdata_candle k
    LEFT JOIN marketdata_candlecoverage c ON c.pool_id = k.pool_id
        AND c.timeframe = k.timeframe AND k.ts >= c.start AND k.ts < c."end"
    WHERE (%(pools)s::bigint[] IS NULL OR k.pool_id = ANY(%(pools)s::bigint[]))
      AND k.timeframe = ANY(%(timeframes)s::text[])
    GROUP BY k.pool_id, k.timeframe
), cov AS (
    SELECT pool_id, timeframe, count(*) AS ranges, min(start) AS first, max("end") AS last,
           sum(extract(epoch FROM "end" - start)) AS seconds,
           range_agg(tstzrange(start, "end")) AS covered
    FROM marketdata_candlecoverage
    WHERE (%(pools)s::bigint[] IS NULL OR pool_id = ANY(%(pools)s::bigint[]))
      AND timeframe = ANY(%(timeframes)s::text[])
    GROUP BY pool_id, timeframe
), gap AS (
    SELECT pool_id, timeframe,
           range_agg(tstzrange(start, "end"))
               FILTER (WHERE status IN ('open', 'unfillable')) AS flagged,
           count(*) FILTER (WHERE status = 'open') AS open_n,
           count(*) FILTER (WHERE status = 'unfillable') AS unfillable_n,
           (array_agg(DISTINCT reason) FILTER (WHERE status = 'unfillable'))
               [1:%(listed)s] AS reasons
    FROM marketdata_gap
    WHERE (%(pools)s::bigint[] IS NULL OR pool_id = ANY(%(pools)s::bigint[]))
      AND timeframe = ANY(%(timeframes)s::text[])
    GROUP BY pool_id, timeframe
), series AS (
    SELECT pool_id, timeframe FROM cand
    UNION SELECT pool_id, timeframe FROM cov
    UNION SELECT pool_id, timeframe FROM gap
), audited AS (
    SELECT s.pool_id, s.timeframe, cand.n AS candles, cand.last_ts, cov.ranges, cov.first,
           cov.last, cov.seconds, cand.inside, gap.open_n, gap.unfillable_n, gap.reasons,
           CASE WHEN cand.n IS NULL AND cov.ranges IS NULL THEN '{}'::tstzmultirange
                ELSE tstzmultirange(tstzrange(LEAST(cand.first_ts, cov.first),
                                              GREATEST(cand.last_ts, cov.last)))
                     - COALESCE(cov.covered, '{}') - COALESCE(gap.flagged, '{}')
           END AS holes
    FROM series s
    LEFT JOIN cand USING (pool_id, timeframe)
    LEFT JOIN cov USING (pool_id, timeframe)
    LEFT JOIN gap USING (pool_id, timeframe)
)
SELECT a.pool_id, p.address, a.timeframe, COALESCE(a.candles, 0), COALESCE(a.ranges, 0),
       a.first, a.last, COALESCE(a.seconds, 0),
       COALESCE(a.candles, 0) - COALESCE(a.inside, 0)
           - CASE WHEN a.last_ts IS NOT NULL AND (a.last IS NULL OR a.last_ts >= a.last)
                  THEN 1 ELSE 0 END AS outside,
       COALESCE(a.open_n, 0), COALESCE(a.unfillable_n, 0), COALESCE(a.reasons, '{}'),
       h.n, h.seconds, h.listed, hs.starts_at
FROM audited a
JOIN marketdata_pool p ON p.id = a.pool_id
LEFT JOIN marketdata_historystart hs ON hs.pool_id = a.pool_id AND hs.timeframe = a.timeframe
CROSS JOIN LATERAL (
    SELECT count(*) AS n, COALESCE(sum(extract(epoch FROM upper(r) - lower(r))), 0) AS seconds,
           (array_agg(ARRAY[lower(r), upper(r)] ORDER BY lower(r))
               FILTER (WHERE lower(r) IS NOT NULL))[1:%(listed)s] AS listed
    FROM unnest(a.holes) r
) h
ORDER BY p.address, array_position(%(timeframes)s::text[], a.timeframe::text)
"""

# Only for the series whose counts show candles outside coverage: which ones, not in a gap.
OUTSIDE_SQL = """
WITH wanted AS (
    SELECT * FROM unnest(%(pools)s::bigint[], %(timeframes)s::text[]) w(pool_id, timeframe)
), edge AS (
    SELECT w.pool_id, w.timeframe,
           (SELECT max("end") FROM marketdata_candlecoverage c
            WHERE c.pool_id = w.pool_id AND c.timeframe = w.timeframe) AS covered_to,
           (SELECT max(ts) FROM marketdata_candle k
            WHERE k.pool_id = w.pool_id AND k.timeframe = w.timeframe) AS newest
    FROM wanted w
)
SELECT k.pool_id, k.timeframe, count(*), min(k.ts), max(k.ts)
FROM edge e
JOIN marketdata_candle k ON k.pool_id = e.pool_id AND k.timeframe = e.timeframe
WHERE NOT EXISTS (SELECT 1 FROM marketdata_candlecoverage c
                  WHERE c.pool_id = k.pool_id AND c.timeframe = k.timeframe
                    AND c.start <= k.ts AND c."end" > k.ts)
  AND NOT EXISTS (SELECT 1 FROM marketdata_gap g
                  WHERE g.pool_id = k.pool_id AND g.timeframe = k.timeframe
                    AND g.status IN ('open', 'unfillable') AND g.start <= k.ts AND g."end" > k.ts)
  AND NOT (k.ts = e.newest AND (e.covered_to IS NULL OR k.ts >= e.covered_to))
GROUP BY k.pool_id, k.timeframe
"""

TRADES_SQL = """
SELECT g.pool_id, p.address, count(*),
       count(*) FILTER (WHERE g.status = 'open'),
       sum(extract(epoch FROM g."end" - g.start)), min(g.start), max(g."end"),
       (array_agg(DISTINCT g.reason))[1:%(listed)s]
FROM marketdata_gap g JOIN marketdata_pool p ON p.id = g.pool_id
WHERE g.timeframe = %(trades)s
  AND (%(pools)s::bigint[] IS NULL OR g.pool_id = ANY(%(pools)s::bigint[]))
GROUP BY g.pool_id, p.address
ORDER BY p.address
"""


@dataclass
class SeriesHealth:
    """One (pool, timeframe): what is known of it, and what is wrong with it."""

    pool_id: int
    pool: str
    timeframe: str
    candles: int
    coverage_ranges: int
    covered_from: datetime | None
    covered_to: datetime | None
    covered_seconds: float
    open_gaps: int
    unfillable_gaps: int
    unfillable_reasons: list[str]
    holes: int
    hole_seconds: float
    first_holes: list[tuple[datetime, datetime]]
    candles_outside: int = 0
    history_start: datetime | None = None
    first_outside: datetime | None = None
    last_outside: datetime | None = None

    @property
    def inconsistent(self) -> bool:
        return bool(self.holes or self.candles_outside)


@dataclass
class TradeWindows:
    """A pool's trade windows flagged as possibly lost (Gap rows of timeframe "trades")."""

    pool_id: int
    pool: str
    windows: int
    open_windows: int
    seconds: float
    first_start: datetime
    last_end: datetime
    reasons: list[str]


@dataclass
class AuditReport:
    series: list[SeriesHealth] = field(default_factory=list)
    trades: list[TradeWindows] = field(default_factory=list)

    @property
    def inconsistent(self) -> list[SeriesHealth]:
        return [s for s in self.series if s.inconsistent]

    @property
    def holes(self) -> int:
        return sum(s.holes for s in self.series)

    @property
    def candles_outside(self) -> int:
        return sum(s.candles_outside for s in self.series)

    @property
    def unfillable_gaps(self) -> int:
        return sum(s.unfillable_gaps for s in self.series)

    @property
    def trade_windows(self) -> int:
        return sum(t.windows for t in self.trades)

    @property
    def ok(self) -> bool:
        return not self.inconsistent

    def summary(self) -> str:
        verdict = "consistent" if self.ok else f"INCONSISTENT in {len(self.inconsistent)} series"
        return (
            f"{len(self.series)} series audited: {verdict}; {self.holes} holes without a gap, "
            f"{self.candles_outside} candles outside coverage; {self.unfillable_gaps} unfillable "
            f"gaps, {self.trade_windows} trade windows flagged as possibly lost"
        )

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "holes": self.holes,
            "candles_outside": self.candles_outside,
            "unfillable_gaps": self.unfillable_gaps,
            "trade_windows": self.trade_windows,
            "series": [asdict(s) | {"inconsistent": s.inconsistent} for s in self.series],
            "trades": [asdict(t) for t in self.trades],
        }


def run_audit(
    *, pool_ids: list[int] | None = None, timeframes: list[str] | None = None
) -> AuditReport:
    """Audit every series of ``pool_ids`` (None: all pools) × ``timeframes`` (None: all)."""
    include_trades = timeframes is None or Gap.TRADES in timeframes
    timeframes = list(timeframes or ALL_TIMEFRAMES)
    unknown = sorted(set(timeframes) - set(ALL_TIMEFRAMES) - {Gap.TRADES})
    if unknown:
        choices = [*ALL_TIMEFRAMES, Gap.TRADES]
        raise ValueError(f"unknown timeframe(s) {', '.join(unknown)}: choose from {choices}")
    candle_tfs = [tf for tf in ALL_TIMEFRAMES if tf in timeframes]
    params = {"pools": pool_ids, "timeframes": candle_tfs, "listed": MAX_LISTED}
    report = AuditReport()
    with _snapshot() as cursor:
        cursor.execute(SERIES_SQL, params)
        for row in cursor.fetchall():
            (pool_id, address, tf, candles, ranges, first, last, seconds, outside) = row[:9]
            (open_n, unfillable_n, reasons, holes, hole_seconds, listed, start) = row[9:]
            report.series.append(
                SeriesHealth(
                    pool_id=pool_id,
                    pool=address,
                    timeframe=tf,
                    candles=candles,
                    coverage_ranges=ranges,
                    covered_from=first,
                    covered_to=last,
                    covered_seconds=float(seconds),
                    open_gaps=open_n,
                    unfillable_gaps=unfillable_n,
                    unfillable_reasons=list(reasons),
                    holes=holes,
                    hole_seconds=float(hole_seconds),
                    first_holes=[(a, b) for a, b in listed or []],
                    candles_outside=outside,
                    history_start=start,
                )
            )
        _place_outside(cursor, report)
        if include_trades:
            cursor.execute(TRADES_SQL, {**params, "trades": Gap.TRADES})
            report.trades = [
                TradeWindows(p, a, n, o, float(s), f, last, list(r))
                for p, a, n, o, s, f, last, r in cursor.fetchall()
            ]
    return report


@contextmanager
def _snapshot() -> Iterator:
    """A cursor in one read-only REPEATABLE READ transaction, so the audit's few statements see
    one state of a store that collectors keep writing (inside a caller's transaction: its own)."""
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield cursor


def _place_outside(cursor, report: AuditReport) -> None:
    """Replace the quick count of candles outside coverage by the exact one (gaps excluded),
    with the first and last of them, for the few series whose count is not zero."""
    suspects = {(s.pool_id, s.timeframe): s for s in report.series if s.candles_outside}
    if not suspects:
        return
    pools, tfs = zip(*suspects, strict=True)
    cursor.execute(OUTSIDE_SQL, {"pools": list(pools), "timeframes": list(tfs)})
    found = {(p, tf): (n, a, b) for p, tf, n, a, b in cursor.fetchall()}
    for key, series in suspects.items():
        series.candles_outside, series.first_outside, series.last_outside = found.get(
            key, (0, None, None)
        )
