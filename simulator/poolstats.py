"""Rolling-window pool statistics (m5 … h24) derived from the same minute series as candles."""

from __future__ import annotations

from dataclasses import dataclass

from .cache import Lru
from .market import MINUTES, MarketModel
from .world import Pool

WINDOWS: tuple[tuple[str, int], ...] = (
    ("m5", 5),
    ("m15", 15),
    ("m30", 30),
    ("h1", 60),
    ("h6", 360),
    ("h24", 1440),
)


@dataclass(frozen=True)
class WindowStats:
    buys: int
    sells: int
    buyers: int
    sellers: int
    volume_usd: float
    price_change: float  # percent


@dataclass(frozen=True)
class PoolStats:
    price_usd: float
    windows: dict[str, WindowStats]

    @property
    def h24_tx(self) -> int:
        w = self.windows["h24"]
        return w.buys + w.sells


def _unique(count: int, share: float) -> int:
    """Distinct wallets behind ``count`` swaps: fewer than swaps, at least one if any."""
    return min(count, max(1 if count else 0, round(count * share)))


class StatsBook:
    """Computes and memoises pool stats per (pool, minute)."""

    def __init__(self, model: MarketModel) -> None:
        self.model = model
        self._cache: Lru[PoolStats] = Lru(4096)

    def get(self, pool: Pool, now: float) -> PoolStats:
        now_m = int(now // 60)
        return self._cache.get_or_make((pool.address, now_m), lambda: self._compute(pool, now_m))

    def _compute(self, pool: Pool, now_m: int) -> PoolStats:
        series = self.model.minutes(pool, now_m - MINUTES + 1, now_m)
        price = self.model.price_at(pool, now_m * 60 + 59)
        windows = {}
        for key, width in WINDOWS:
            trades = int(series.trades[-width:].sum())
            buys = int(series.buys[-width:].sum())
            ref = self.model.price_at(pool, (now_m - width) * 60 + 59)
            windows[key] = WindowStats(
                buys=buys,
                sells=trades - buys,
                buyers=_unique(buys, pool.unique_share),
                sellers=_unique(trades - buys, pool.unique_share),
                volume_usd=float(series.volume[-width:].sum()),
                price_change=(price / ref - 1.0) * 100.0,
            )
        return PoolStats(price_usd=price, windows=windows)

    def clear(self) -> None:
        self._cache.clear()
