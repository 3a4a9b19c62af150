"""OHLCV candles for every supported timeframe, aggregated from one minute series.

A bucket's open is its first traded minute's open, high/low the extremes, close the last
traded minute's close and volume the sum, so a 1h candle always equals the aggregation of
its 1m candles (and a 4h candle that of its 1h candles). All bucket sizes divide a UTC day,
so a bucket never spans two day blocks.

The minute "now" falls in is still open, like the API's newest candle: it holds only the
trades made so far (the ``/trades`` endpoint's), its high and low reach their final wicks in
proportion to the time passed, and at the minute's end it becomes the settled minute. Every
bucket containing it is therefore open too, and settles when its own interval ends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .cache import Lru
from .fates import Fates
from .history import HistoryRules
from .holes import HoleBook
from .market import DAY, MINUTES, MarketModel, MinuteSeries, sol_price
from .trades import TradeBook
from .world import Pool

# timeframe -> (minutes per unit, allowed aggregates)
TIMEFRAMES: dict[str, tuple[int, tuple[int, ...]]] = {
    "day": (1440, (1,)),
    "hour": (60, (1, 4, 12)),
    "minute": (1, (1, 5, 15)),
}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CACHE_MIN_BUCKET = 15

Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CandleQuery:
    minutes: int
    before: int | None = None
    limit: int = DEFAULT_LIMIT
    currency: str = "usd"  # "usd" | "token" (priced in the other token of the pair)
    side: str = "base"  # "base" | "quote": whose price is charted (the API's ``token``)
    include_empty: bool = False


def _priced(block: MinuteSeries, currency: str, side: str) -> tuple[np.ndarray, ...]:
    """Minute o/h/l/c/v in the requested currency and perspective."""
    o, h, lo, c, v = block.open, block.high, block.low, block.close, block.volume
    if side == "base" and currency == "usd":
        return o, h, lo, c, v
    starts = block.first_minute * 60 + np.arange(len(o)) * 60.0
    sol = sol_price(starts)
    if side == "base":
        return o / sol, h / sol, lo / sol, c / sol, v / sol
    if currency == "usd":
        sol_end = sol_price(starts + 60.0)
        return sol, np.maximum(sol, sol_end), np.minimum(sol, sol_end), sol_end, v
    return sol / o, sol / lo, sol / h, sol / c, v / c


def aggregate(first_ts: int, series: tuple[np.ndarray, ...], mask: np.ndarray, k: int) -> Rows:
    """Aggregate one day of minutes into ``k``-minute buckets, dropping buckets without trades."""
    o, h, lo, c, v = series
    if k == 1:
        idx = np.flatnonzero(mask)
        return first_ts + idx * 60, o[idx], h[idx], lo[idx], c[idx], v[idx]
    m = len(mask) // k
    grid = mask.reshape(m, k)
    rows = np.flatnonzero(grid.any(axis=1))
    grid = grid[rows]
    first = grid.argmax(axis=1)
    last = k - 1 - grid[:, ::-1].argmax(axis=1)
    return (
        first_ts + rows * k * 60,
        o.reshape(m, k)[rows, first],
        np.where(grid, h.reshape(m, k)[rows], -np.inf).max(axis=1),
        np.where(grid, lo.reshape(m, k)[rows], np.inf).min(axis=1),
        c.reshape(m, k)[rows, last],
        np.where(grid, v.reshape(m, k)[rows], 0.0).sum(axis=1),
    )


class CandleEngine:
    """Answers OHLCV queries for a pool at a given "now", by the plan's ``rules``."""

    def __init__(
        self,
        model: MarketModel,
        holes: HoleBook,
        trades: TradeBook,
        fates: Fates,
        rules: HistoryRules | None = None,
    ) -> None:
        self.model = model
        self.holes = holes
        self.trades = trades
        self.fates = fates
        self.rules = rules or HistoryRules()
        self._cache: Lru[Rows] = Lru(8192)

    def _open_minute(self, pool: Pool, block: MinuteSeries, now: int) -> MinuteSeries | None:
        """``block`` with the minute of ``now`` as far as it has traded (None: no trade yet)."""
        minute = now // 60
        count, volume, last, top, bottom = self.trades.so_far(pool, minute, now)
        if not count:
            return None
        i = minute - block.first_minute
        o, c = block.open[i], block.close[i]
        passed = (now - minute * 60) / 60
        up = block.high[i] / max(o, c) - 1.0
        down = min(o, c) / block.low[i] - 1.0
        high, low, close, vol = (
            block.high.copy(),
            block.low.copy(),
            block.close.copy(),
            block.volume.copy(),
        )
        high[i] = max(o, top, last) * (1.0 + up * passed)
        low[i] = min(o, bottom, last) / (1.0 + down * passed)
        close[i] = last
        vol[i] = volume
        return replace(block, high=high, low=low, close=close, volume=vol)

    def _day_rows(
        self, pool: Pool, day: int, q: CandleQuery, lo_m: int, hi_m: int, now: int
    ) -> Rows:
        first_m = day * MINUTES
        now_m = now // 60
        holes = [
            (s, e)
            for s, e in self.holes.for_pool(pool.address)
            if s < (first_m + MINUTES) * 60 and e > first_m * 60
        ]
        settled = now_m >= first_m + MINUTES
        whole = lo_m <= first_m and hi_m >= first_m + MINUTES - 1 and settled and not holes

        def make() -> Rows:
            block = self.model.day_block(pool, day)
            mask = block.active.copy()
            if first_m <= now_m <= hi_m and not settled:
                opened = self._open_minute(pool, block, now)
                mask[now_m - first_m] = opened is not None
                block = opened or block
            mask[: max(0, lo_m - first_m)] = False
            mask[max(0, hi_m - first_m + 1) :] = False
            for s, e in holes:
                a, b = -(-s // 60) - first_m, -(-e // 60) - first_m
                mask[max(0, a) : max(0, b)] = False
            return aggregate(first_m * 60, _priced(block, q.currency, q.side), mask, q.minutes)

        if whole and q.minutes >= _CACHE_MIN_BUCKET:
            key = (pool.address, day, q.minutes, q.currency, q.side)
            return self._cache.get_or_make(key, make)
        return make()

    def ohlcv(self, pool: Pool, q: CandleQuery, now: float) -> list[list[float]]:
        """Candles ``[ts, o, h, l, c, v]``, newest first, with ``ts <= before`` (inclusive),
        none older than the plan's depth or the call's span (``self.rules``)."""
        bucket = q.minutes * 60
        now_i = int(now)
        upper = now_i if q.before is None else min(q.before, now_i)
        top = upper // bucket * bucket
        rules = self.rules
        # Whole buckets only: none opening before the depth or span, none before creation.
        first = -(-rules.floor(now_i, upper) // bucket) * bucket
        floor = max(first, pool.created_at // bucket * bucket)
        lo_m = floor // 60
        hi_m = now_i // 60
        if top < floor:
            return []
        bottom = max(floor, top - (q.limit - 1) * bucket)
        windowed = q.include_empty or rules.counts_intervals
        parts: list[Rows] = []
        count = 0
        day = top // DAY
        while day >= lo_m // MINUTES:
            rows = self._day_rows(pool, day, q, lo_m, hi_m, now_i)
            keep = rows[0] <= top
            if windowed:
                keep &= rows[0] >= bottom
            parts.append(tuple(a[keep] for a in rows))
            count += int(keep.sum())
            done = day * DAY <= bottom if windowed else count >= q.limit
            if done:
                break
            day -= 1
        if not parts:
            return []
        cols = [np.concatenate([p[i] for p in reversed(parts)]) for i in range(6)]
        table = [[int(r[0]), *r[1:]] for r in zip(*(c.tolist() for c in cols), strict=True)]
        if q.include_empty:
            table = self._fill(pool, q, table, bottom, top, lo_m, hi_m, now_i)
        table.reverse()
        return self.fates.spoil(pool.address, table[: q.limit], bucket)

    def _fill(
        self,
        pool: Pool,
        q: CandleQuery,
        table: list[list[float]],
        bottom: int,
        top: int,
        lo_m: int,
        hi_m: int,
        now: int,
    ) -> list[list[float]]:
        """Insert O=H=L=C=previous close, V=0 candles for quiet buckets after the first trade."""
        by_ts = {int(r[0]): r for r in table}
        prev = self._close_before(pool, q, bottom, lo_m, hi_m, now)
        out: list[list[float]] = []
        for ts in range(bottom, top + 1, q.minutes * 60):
            row = by_ts.get(ts)
            if row is not None:
                out.append(row)
                prev = row[4]
            elif prev is not None:
                out.append([ts, prev, prev, prev, prev, 0.0])
        return out

    def _close_before(
        self, pool: Pool, q: CandleQuery, ts: int, lo_m: int, hi_m: int, now: int
    ) -> float | None:
        """Close of the last visible traded minute strictly before ``ts``."""
        minute_q = replace(q, minutes=1)
        end_m = min(hi_m, ts // 60 - 1)
        for day in range(end_m // MINUTES, lo_m // MINUTES - 1, -1):
            rows = self._day_rows(pool, day, minute_q, lo_m, end_m, now)
            if rows[0].size:
                return float(rows[4][-1])
        return None

    def clear(self) -> None:
        self._cache.clear()
