"""Time ranges dropped from a pool's candle history, so collectors' gap handling can be tested."""

from __future__ import annotations

import threading


class HoleBook:
    """Per-pool ``[start, end)`` ranges (epoch seconds) whose minutes produce no candles."""

    def __init__(self) -> None:
        self._holes: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def add(self, pool: str, start: int, end: int) -> None:
        if end <= start:
            raise ValueError("hole end must be after start")
        with self._lock:
            self._holes.setdefault(pool, []).append((int(start), int(end)))

    def for_pool(self, pool: str) -> tuple[tuple[int, int], ...]:
        with self._lock:
            return tuple(self._holes.get(pool, ()))

    def clear(self) -> None:
        with self._lock:
            self._holes.clear()

    def as_dict(self) -> dict[str, list[list[int]]]:
        with self._lock:
            return {k: [list(h) for h in v] for k, v in self._holes.items()}
