"""Quiet spells: weeks in which a pool makes no trade, so it has neither candles nor trades.

A pool quiet for longer than one OHLCV call spans (six months back from ``before_timestamp``)
answers ``[]`` in the middle of its history: what a client must not take for the history's
start. Spells come from the world's seed (``world.quiet_spells``) and from the control plane
(``POST /__sim__/quiet``).
"""

from __future__ import annotations

import threading

from .world import World


class QuietBook:
    """Per-pool ``[start, end)`` ranges (epoch seconds) without a trade."""

    def __init__(self, world: World) -> None:
        self._seeded = {k: tuple(v) for k, v in world.quiet_spells.items()}
        self._added: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def add(self, pool: str, start: int, end: int) -> None:
        if end <= start:
            raise ValueError("quiet spell end must be after its start")
        with self._lock:
            self._added.setdefault(pool, []).append((int(start), int(end)))

    def for_pool(self, pool: str) -> tuple[tuple[int, int], ...]:
        with self._lock:
            return self._seeded.get(pool, ()) + tuple(self._added.get(pool, ()))

    def clear(self) -> bool:
        """Forget the spells added since start (True if there were any); the seeded ones are
        part of the world."""
        with self._lock:
            had = bool(self._added)
            self._added.clear()
        return had

    def as_dict(self) -> dict[str, list[list[int]]]:
        with self._lock:
            pools = set(self._seeded) | set(self._added)
        return {p: [list(s) for s in self.for_pool(p)] for p in sorted(pools)}
