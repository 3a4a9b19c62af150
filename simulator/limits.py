"""Per-client-IP sliding-window rate limit, like GeckoTerminal's public 30 calls/minute."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Admits at most ``per_min`` requests per client in any 60 s window; 0 disables it."""

    def __init__(self, per_min: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_min = per_min
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> int | None:
        """Record and admit the request (None) or return the Retry-After seconds."""
        if self.per_min <= 0:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_min:
                return max(1, math.ceil(hits[0] + WINDOW_SECONDS - now))
            hits.append(now)
        return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
