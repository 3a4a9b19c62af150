"""The per-pool market model: a 1-minute price/activity series computed lazily per UTC day.

Why this shape: every timeframe (1m … 1d) is aggregated from the same minute series, so
candles agree across timeframes, and each day is generated independently from
``(seed, pool, day)``, so any six-month window costs at most ~184 cheap vectorised blocks.

* The day-open log price follows a stationary AR(1) level written as a truncated moving
  average of hashed daily shocks, so it can be evaluated for any day in closed form.
* Within a day, trades per minute are Poisson around the pool's rate, scaled by a busy/quiet
  day factor of mean 1 and an intraday profile of mean 1, so a day's expected count is the
  pool's ``trades_per_day``; quiet minutes (no trades) carry no candle and do not move the
  price; log returns of active minutes are bridged so the day ends exactly on the next day's
  level. A minute's volume is its trades times the mean trade size times a factor of mean 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cache import Lru
from .hashing import rng
from .quiet import QuietBook
from .world import Pool, World

DAY = 86400
MINUTES = 1440
LEVEL_PHI = 0.9
LEVEL_TAPS = 64
CHUNK = 64
_TAU = 2 * math.pi
_PROFILE = 1.0 + 0.4 * np.sin(_TAU * (np.arange(MINUTES) - 600) / MINUTES)
_DAY_SPREAD = 1.7
# Mean of exp(_DAY_SPREAD * (u - 0.5)) for uniform u, so the day factor averages 1.
_DAY_MEAN = 2 * math.sinh(_DAY_SPREAD / 2) / _DAY_SPREAD


def sol_price(ts: float | np.ndarray) -> float | np.ndarray:
    """USD price of SOL: smooth, deterministic and within ~197–218 like Aug–Sep 2025."""
    sin = math.sin if isinstance(ts, int | float) else np.sin
    return (
        207.0
        + 6.0 * sin(_TAU * ts / (8.3 * DAY))
        + 3.0 * sin(_TAU * ts / (1.9 * DAY) + 1.3)
        + 0.8 * sin(_TAU * ts / (2.7 * 3600) + 0.4)
    )


@dataclass(frozen=True)
class MinuteSeries:
    """Minute arrays (USD) for a contiguous range; index 0 is ``first_minute``."""

    first_minute: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trades: np.ndarray
    buys: np.ndarray
    start_price: float  # price before the first minute of the range's first day

    @property
    def active(self) -> np.ndarray:
        return self.trades > 0


class MarketModel:
    """Computes and caches minute series per (pool, day)."""

    def __init__(
        self, world: World, block_cache: int = 768, quiet: QuietBook | None = None
    ) -> None:
        self.world = world
        self.quiet = quiet or QuietBook(world)
        self.seed = world.seed
        self._blocks: Lru[MinuteSeries] = Lru(block_cache)
        self._shocks: Lru[np.ndarray] = Lru(8192)
        self._levels: Lru[np.ndarray] = Lru(8192)

    def _shock_chunk(self, pool: Pool, chunk: int) -> np.ndarray:
        return self._shocks.get_or_make(
            (pool.address, chunk),
            lambda: rng(self.seed, pool.address, "level", chunk).standard_normal(CHUNK),
        )

    def levels(self, pool: Pool, d0: int, d1: int) -> np.ndarray:
        """Log USD price at the start of each day ``d0..d1`` (inclusive)."""
        lo = d0 - LEVEL_TAPS + 1
        first = lo // CHUNK
        chunks = [self._shock_chunk(pool, c) for c in range(first, d1 // CHUNK + 1)]
        eps = np.concatenate(chunks)[lo - first * CHUNK : d1 - first * CHUNK + 1]
        weights = pool.level_vol * LEVEL_PHI ** np.arange(LEVEL_TAPS)
        return pool.log_level + np.convolve(eps, weights, mode="valid")

    def _level_pair(self, pool: Pool, day: int) -> tuple[float, float]:
        """Levels of ``day`` and ``day + 1``, computed a chunk of days at a time."""
        chunk = day // CHUNK
        table = self._levels.get_or_make(
            (pool.address, chunk), lambda: self.levels(pool, chunk * CHUNK, chunk * CHUNK + CHUNK)
        )
        i = day - chunk * CHUNK
        return float(table[i]), float(table[i + 1])

    def day_block(self, pool: Pool, day: int) -> MinuteSeries:
        """The full minute series of one UTC day (including minutes after "now")."""
        return self._blocks.get_or_make((pool.address, day), lambda: self._build(pool, day))

    def _build(self, pool: Pool, day: int) -> MinuteSeries:
        x0, x1 = self._level_pair(pool, day)
        g = rng(self.seed, pool.address, "day", day)
        head = g.random(2)
        day_factor = math.exp(_DAY_SPREAD * (head[0] - 0.5)) / _DAY_MEAN
        intensity = pool.activity * day_factor * _PROFILE
        buy_p = min(0.8, max(0.2, pool.buy_share + 0.17 * (head[1] - 0.5)))
        # Uniform float32 draws otherwise: numpy normals cost ~3x more and a walk of uniforms
        # is normal anyway; this block is the simulator's hot path.
        c = g.random((5, MINUTES), dtype=np.float32) - np.float32(0.5)
        trades = g.poisson(intensity).astype(np.int64)
        spread = np.sqrt(trades * (buy_p * (1 - buy_p))) * (3.4 * c[0])
        buys = np.minimum(np.maximum(np.rint(trades * buy_p + spread), 0), trades).astype(np.int64)
        born = max(pool.created_at, pool.busy_from or 0) // 60 - day * MINUTES
        if born > 0:
            trades[: min(born, MINUTES)] = 0
            buys[: min(born, MINUTES)] = 0
        for start, end in self.quiet.for_pool(pool.address):
            # Every minute the spell touches: no trade second falls inside it.
            a, b = start // 60 - day * MINUTES, -(-end // 60) - day * MINUTES
            trades[max(0, a) : max(0, b)] = 0
            buys[max(0, a) : max(0, b)] = 0
        active = trades > 0
        steps = np.where(active, c[1] * (3.4 * pool.minute_vol), 0.0).astype(np.float64)
        n_active = int(np.count_nonzero(active))
        if n_active:
            steps[active] += (x1 - x0 - steps.sum()) / n_active
        close = np.exp(x0 + np.cumsum(steps))
        open_ = np.empty(MINUTES)
        open_[0] = math.exp(x0)
        open_[1:] = close[:-1]
        wick = 0.6 * pool.minute_vol
        size = c[4].astype(np.float64) + 0.5
        return MinuteSeries(
            first_minute=day * MINUTES,
            open=open_,
            high=np.maximum(open_, close) * (1.0 + wick * (c[2] + 0.5)),
            low=np.minimum(open_, close) / (1.0 + wick * (c[3] + 0.5)),
            close=close,
            volume=trades * (pool.trade_usd * (0.25 + 3.0 * size * size * size)),
            trades=trades,
            buys=buys,
            start_price=math.exp(x0),
        )

    def minutes(self, pool: Pool, first: int, last: int) -> MinuteSeries:
        """Minute series for absolute minutes ``first..last`` (inclusive), across days."""
        blocks = [self.day_block(pool, d) for d in range(first // MINUTES, last // MINUTES + 1)]
        lo = first - blocks[0].first_minute
        hi = lo + (last - first) + 1

        def cat(name: str) -> np.ndarray:
            if len(blocks) == 1:
                return getattr(blocks[0], name)[lo:hi]
            return np.concatenate([getattr(b, name) for b in blocks])[lo:hi]

        return MinuteSeries(
            first_minute=first,
            open=cat("open"),
            high=cat("high"),
            low=cat("low"),
            close=cat("close"),
            volume=cat("volume"),
            trades=cat("trades"),
            buys=cat("buys"),
            start_price=blocks[0].start_price,
        )

    def price_at(self, pool: Pool, ts: float) -> float:
        """USD price after the last trade at or before ``ts`` (the day-open level if none)."""
        minute = int(ts // 60)
        block = self.day_block(pool, minute // MINUTES)
        upto = block.trades[: minute - block.first_minute + 1]
        hits = np.flatnonzero(upto)
        return float(block.close[hits[-1]]) if hits.size else block.start_price

    def clear(self) -> None:
        self._blocks.clear()
