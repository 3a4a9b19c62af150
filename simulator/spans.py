"""Per-pool ``[start, end)`` ranges (epoch seconds) that change what the world serves: the
holes in candle histories and the quiet spells, kept the same way."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping


class SpanBook:
    """Ranges added through the control plane (thread-safe), after any the world was seeded
    with; ``clear`` forgets only the added ones."""

    def __init__(
        self, name: str, seeded: Mapping[str, Iterable[tuple[int, int]]] | None = None
    ) -> None:
        self._name = name
        self._seeded = {k: tuple(v) for k, v in (seeded or {}).items()}
        self._added: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def add(self, pool: str, start: int, end: int) -> None:
        if end <= start:
            raise ValueError(f"{self._name} end must be after its start")
        with self._lock:
            self._added.setdefault(pool, []).append((int(start), int(end)))

    def for_pool(self, pool: str) -> tuple[tuple[int, int], ...]:
        with self._lock:
            return self._seeded.get(pool, ()) + tuple(self._added.get(pool, ()))

    def clear(self) -> bool:
        """Forget the ranges added since start (True if there were any)."""
        with self._lock:
            had = bool(self._added)
            self._added.clear()
        return had

    def as_dict(self) -> dict[str, list[list[int]]]:
        with self._lock:
            pools = set(self._seeded) | set(self._added)
        return {p: [list(s) for s in self.for_pool(p)] for p in sorted(pools)}
