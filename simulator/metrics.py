"""Request counters served at ``/__sim__/stats`` so tests and benchmarks can check behaviour."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

from .limits import WINDOW_SECONDS

PER_SECOND_KEEP = 3600


class _Window:
    """Counts events in a sliding 60 s window and remembers the highest count seen."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.peak = 0

    def add(self, t: float) -> None:
        self.times.append(t)
        while self.times[0] <= t - WINDOW_SECONDS:
            self.times.popleft()
        self.peak = max(self.peak, len(self.times))


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.started = time.time()
            self.total = 0
            self.by_kind: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.by_client: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()
            self.rate_limited = 0
            self.cache_hits = 0
            self.per_second: Counter[int] = Counter()
            self._received = _Window()
            self._admitted = _Window()

    def received(self, kind: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.total += 1
            self.by_kind[kind] += 1
            self.by_client[client] += 1
            self._received.add(now)
            second = int(time.time())
            self.per_second[second] += 1
            if len(self.per_second) > PER_SECOND_KEEP:
                for old in sorted(self.per_second)[: len(self.per_second) - PER_SECOND_KEEP]:
                    del self.per_second[old]

    def admitted(self) -> None:
        with self._lock:
            self._admitted.add(time.monotonic())

    def limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def cache_hit(self) -> None:
        with self._lock:
            self.cache_hits += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.by_status[str(code)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": self.total,
                "by_kind": dict(self.by_kind),
                "by_status": dict(self.by_status),
                "by_client": dict(self.by_client),
                "rate_limited": self.rate_limited,
                "cache_hits": self.cache_hits,
                "status_429": self.by_status.get("429", 0),
                "faults_served": sum(self.faults.values()),
                "faults_by_kind": dict(self.faults),
                "peak_rate_60s": self._received.peak,
                "peak_admitted_60s": self._admitted.peak,
                "current_rate_60s": sum(
                    1 for t in self._received.times if t > time.monotonic() - WINDOW_SECONDS
                ),
                "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
                "started_at": self.started,
                "uptime_s": round(time.time() - self.started, 3),
            }
