"""When a pool exists and which of its candles are served wrong: seeded by the world's odd
pools (``odd_pools.py``), extended through the control plane (``/__sim__/gone``,
``/__sim__/implausible``).

A pool answers 404 before its creation and from its disappearance on, everywhere: its details,
candles, trades, and the lists it would be in.
"""

from __future__ import annotations

import threading

from .odd_pools import IMPLAUSIBLE
from .world import Pool, World

Row = list


class Fates:
    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the world's own fates (control-plane changes forgotten)."""
        with self._lock:
            self._gone = {p.address: p.gone_at for p in self._world.pools if p.gone_at is not None}
            self._bad = {p.address: list(p.implausible) for p in self._world.pools if p.implausible}

    def exists(self, pool: Pool, now: float) -> bool:
        gone = self._gone.get(pool.address)
        return pool.created_at <= now and (gone is None or now < gone)

    def disappear(self, address: str, at: int) -> None:
        with self._lock:
            self._gone[address] = int(at)

    def garble(self, address: str, start: int, end: int, kind: str) -> None:
        if kind not in IMPLAUSIBLE:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(IMPLAUSIBLE)}")
        if end <= start:
            raise ValueError("end must be after start")
        with self._lock:
            self._bad.setdefault(address, []).append((int(start), int(end), kind))

    def as_dict(self) -> dict:
        with self._lock:
            return {
                "gone": dict(self._gone),
                "implausible": {k: [list(r) for r in v] for k, v in self._bad.items()},
            }

    def spoil(self, address: str, table: list[Row], bucket: int) -> list[Row]:
        """Rows ``[ts, o, h, l, c, v]`` whose interval meets an implausible range, made wrong."""
        ranges = self._bad.get(address)
        if not ranges:
            return table
        for row in table:
            for start, end, kind in ranges:
                if row[0] < end and row[0] + bucket > start:
                    _spoil(row, kind)
        return table


def _spoil(row: Row, kind: str) -> None:
    if kind == "high_below_low":
        row[2], row[3] = min(row[2], row[3]) * 0.9, max(row[2], row[3])
    elif kind == "negative_volume":
        row[5] = -abs(row[5]) - 1.0
    else:
        row[1:5] = [v * 1e6 for v in row[1:5]]
