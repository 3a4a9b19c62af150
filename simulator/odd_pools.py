"""Pools with the API's rarer shapes and fates, so collectors meet them before production does.

One extra DEX whose id contains ``_`` (like ``uniswap_v3`` or the ``polygon_pos`` network) holds
one pool per oddity (more in a larger world), drawn from its own seeded stream after the rest of
the world, so adding them shifts no other pool:

* ``legacy``: stats with only the h1/h24 windows and no buyers/sellers (the API's 2023 shape);
* ``undated``: ``pool_created_at`` served as null;
* ``waking``: days without a trade, then about 1,000 trades an hour from ``busy_from``;
* ``newborn``: created 1-4 h after the epoch: 404 and no data before its creation;
* ``doomed``: answers 404 from ``gone_at`` (2-6 h after the epoch) on;
* ``garbled``: three past hours whose candles are implausible, one of each kind.
"""

from __future__ import annotations

import random
from dataclasses import replace

from .hashing import hash_int
from .world import Dex, Pool, _make_pool, _make_token

ODD_DEX = Dex(id="lifinity_v2", name="Lifinity V2")
ODDITIES = ("legacy", "undated", "waking", "newborn", "doomed", "garbled")
# How a candle can be wrong: high under low, a negative volume, a price a million times off.
IMPLAUSIBLE = ("high_below_low", "negative_volume", "price_1e6")
WAKING_TRADES_PER_HOUR = 1000.0
HOUR = 3600
DAY = 86400


def odd_pools(seed: int, epoch: int, copies: int = 1) -> tuple[Dex, tuple[Pool, ...]]:
    """``copies`` pools of each oddity (a larger world holds more); the first set is the same
    whatever ``copies`` is."""
    rnd = random.Random(hash_int(seed, "odd pools"))
    pools = []
    for copy in range(copies):
        for j, oddity in enumerate(ODDITIES):
            i = copy * len(ODDITIES) + j
            base = _make_token(seed, rnd, ODD_DEX.id, i)
            per_day = rnd.uniform(150, 900)
            pool = _make_pool(seed, epoch, rnd, ODD_DEX.id, i, base, per_day)
            pools.append(_oddity(pool, oddity, epoch, rnd))
    return ODD_DEX, tuple(pools)


def _oddity(pool: Pool, oddity: str, epoch: int, rnd: random.Random) -> Pool:
    old = epoch - int(rnd.uniform(20, 60) * DAY)
    if oddity == "legacy":
        return replace(pool, windows=("h1", "h24"), created_at=old)
    if oddity == "undated":
        return replace(pool, created_known=False, created_at=old)
    if oddity == "waking":
        return replace(
            pool,
            created_at=epoch - int(rnd.uniform(3, 10) * DAY),
            busy_from=epoch + int(rnd.uniform(1, 3) * HOUR),
            activity=WAKING_TRADES_PER_HOUR / 60,
        )
    if oddity == "newborn":
        return replace(pool, created_at=epoch + int(rnd.uniform(1, 4) * HOUR))
    if oddity == "doomed":
        return replace(pool, created_at=old, gone_at=epoch + int(rnd.uniform(2, 6) * HOUR))
    hours = sorted(rnd.sample(range(4, 72), len(IMPLAUSIBLE)))
    ranges = tuple(
        (epoch - h * HOUR, epoch - h * HOUR + HOUR, kind)
        for h, kind in zip(hours, IMPLAUSIBLE, strict=True)
    )
    return replace(pool, created_at=old, implausible=ranges)
