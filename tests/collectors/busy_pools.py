"""The simulator's busiest pumpswap pool of a given age, stored: the pool a test wants full
pages of candles from."""

from __future__ import annotations

from marketdata.models import Pool
from tests.marketdata.factories import pool as make_pool
from watchlist.models import WatchlistEntry

DAY = 86_400


def busiest_pool(sim, days_old: float, *, watched: bool = False) -> Pool:
    """The busiest pumpswap pool created more than ``days_old`` days before the simulator's
    now, stored; ``watched``: on the watchlist too, and linked."""
    world = sim.world()
    chosen = max(
        (
            p
            for p in world["pools"]["pumpswap"]
            if p["pool_created_at"] < world["now"] - days_old * DAY
        ),
        key=lambda p: p["trades_per_day"],
    )
    pool = make_pool(address=chosen["address"])
    if watched:
        WatchlistEntry.objects.create(pool_address=pool.address, pool=pool)
    return pool
