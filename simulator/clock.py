"""The simulator's notion of "now", which tests can freeze or shift (also over HTTP)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """Wall-clock time plus an offset, or a frozen instant."""

    def __init__(self, base: Callable[[], float] | None = None) -> None:
        self._base = base or time.time
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._base() + self._offset

    def freeze(self, ts: float) -> None:
        with self._lock:
            self._frozen = float(ts)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen = None

    def describe(self) -> dict:
        with self._lock:
            return {"frozen": self._frozen is not None, "offset": self._offset}
