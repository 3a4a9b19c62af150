"""Which (pool, timeframe) pairs need coverage.sync_gaps, found in one query.

sync_gaps takes a lock and runs several queries per pair; the periodic scan over every active
pool x timeframe spent most of its time confirming nothing had changed. This query compares
the holes between covered ranges (LAG over CandleCoverage) with the candle Gap rows and
names the pairs where sync_gaps would change a row, by sync_gaps' own rules:

- a hole with no gap row of the same start (sync_gaps creates one);
- a hole whose gap row is not unfillable and is not open or ends elsewhere (reopened/moved);
- an open gap that is not a hole, ends after the first covered range's start and starts
  before the last one's end: from that start on it is marked filled, before it it is trimmed
  to end there. An open gap of a pair with no coverage at all, or after all of it, is left
  alone.

Read without the coverage lock: a writer committing afterwards is seen by the next scan, as
it would be had sync_gaps run just before it.
"""

from __future__ import annotations

from django.db import connection
from psycopg import sql

from .models import CandleCoverage, Gap

_QUERY = """
WITH cov AS (
    SELECT pool_id, timeframe, start, "end",
           LAG("end") OVER (PARTITION BY pool_id, timeframe ORDER BY start) AS prev_end
    FROM {coverage}
    WHERE pool_id = ANY(%(pools)s) AND timeframe = ANY(%(timeframes)s)
),
holes AS (
    SELECT pool_id, timeframe, prev_end AS start, start AS "end"
    FROM cov WHERE start > prev_end
),
firsts AS (
    SELECT pool_id, timeframe, min(start) AS first_start, max("end") AS last_end
    FROM cov GROUP BY pool_id, timeframe
),
gaps AS (
    SELECT pool_id, timeframe, start, "end", status FROM {gap}
    WHERE pool_id = ANY(%(pools)s) AND timeframe = ANY(%(timeframes)s)
      AND timeframe <> %(trades)s
)
SELECT h.pool_id, h.timeframe
FROM holes h
LEFT JOIN gaps g ON g.pool_id = h.pool_id AND g.timeframe = h.timeframe AND g.start = h.start
WHERE g.pool_id IS NULL
   OR (g.status <> %(unfillable)s AND (g."end" <> h."end" OR g.status <> %(open)s))
UNION
SELECT g.pool_id, g.timeframe
FROM gaps g
JOIN firsts f ON f.pool_id = g.pool_id AND f.timeframe = g.timeframe
WHERE g.status = %(open)s
  AND g."end" > f.first_start
  AND g.start < f.last_end
  AND NOT EXISTS (
      SELECT 1 FROM holes h
      WHERE h.pool_id = g.pool_id AND h.timeframe = g.timeframe AND h.start = g.start
  )
"""


def out_of_sync(pool_ids: list[int], timeframes: list[str]) -> set[tuple[int, str]]:
    """The (pool, timeframe) pairs among ``pool_ids`` x ``timeframes`` whose candle Gap rows
    sync_gaps would change."""
    if not pool_ids or not timeframes:
        return set()
    query = sql.SQL(_QUERY).format(
        coverage=sql.Identifier(CandleCoverage._meta.db_table),
        gap=sql.Identifier(Gap._meta.db_table),
    )
    params = {
        "pools": list(pool_ids),
        "timeframes": list(timeframes),
        "trades": Gap.TRADES,
        "open": Gap.Status.OPEN.value,
        "unfillable": Gap.Status.UNFILLABLE.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {(pool_id, timeframe) for pool_id, timeframe in cursor.fetchall()}
