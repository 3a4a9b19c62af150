"""The simulator's notion of "now", which tests can freeze or shift and benchmarks can speed up.

A running clock is ``anchor_sim + (base() - anchor_base) * speed``: changing the speed re-anchors
at the current simulated instant, so time never jumps when a benchmark turns the dial.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """Wall-clock time, optionally shifted and/or running ``speed`` times faster, or frozen."""

    def __init__(self, base: Callable[[], float] | None = None, speed: float = 1.0) -> None:
        self._base = base or time.time
        self._initial_speed = _positive(speed)
        self._lock = threading.Lock()
        self._frozen: float | None = None
        self._restart(self._initial_speed)

    def _restart(self, speed: float) -> None:
        self._speed = speed
        self._anchor_base = self._base()
        self._anchor_sim = self._anchor_base

    def _now(self) -> float:
        if self._frozen is not None:
            return self._frozen
        return self._anchor_sim + (self._base() - self._anchor_base) * self._speed

    def __call__(self) -> float:
        with self._lock:
            return self._now()

    def freeze(self, ts: float) -> None:
        with self._lock:
            self._frozen = float(ts)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._anchor_sim += seconds

    def run(self, speed: float) -> None:
        """Run (unfrozen) from the current simulated instant at ``speed`` × real time."""
        speed = _positive(speed)
        with self._lock:
            now = self._now()
            self._frozen = None
            self._speed = speed
            self._anchor_base = self._base()
            self._anchor_sim = now

    def reset(self) -> None:
        """Back to wall time at the speed the clock was built with."""
        with self._lock:
            self._frozen = None
            self._restart(self._initial_speed)

    def describe(self) -> dict:
        with self._lock:
            return {
                "frozen": self._frozen is not None,
                "offset": self._now() - self._base(),
                "speed": self._speed,
            }


def _positive(speed: float) -> float:
    speed = float(speed)
    if not speed > 0:
        raise ValueError("clock speed must be > 0 (freeze the clock with 'now' instead)")
    return speed
