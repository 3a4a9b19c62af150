"""Fault injection: queued per-test faults and a seeded random fault rate.

Faults reproduce the failure modes listed in the API reference (429 shapes, throttles under
HTTP 200, 5xx, stalls, cut-off bodies) so the collector's error handling can be exercised.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass

from .hashing import hash_int

KINDS = (
    "500",
    "429",
    "429_retry_after_0",
    "throttle_200",
    "coingecko_429",
    "slow",
    "timeout",
    "truncated",
    "bad_json",
)
DEFAULT_DELAY = {"slow": 2.0, "timeout": 10.0}
DEFAULT_RETRY_AFTER = 30


@dataclass(frozen=True)
class Fault:
    kind: str
    delay: float = 0.0
    retry_after: int = DEFAULT_RETRY_AFTER


@dataclass
class FaultRule:
    """The next ``count`` requests whose path+query contains ``path_contains`` get ``kind``."""

    kind: str
    count: int = 1
    path_contains: str | None = None
    delay: float | None = None
    retry_after: int | None = None

    def fault(self) -> Fault:
        return Fault(
            kind=self.kind,
            delay=self.delay if self.delay is not None else DEFAULT_DELAY.get(self.kind, 0.0),
            retry_after=self.retry_after if self.retry_after is not None else DEFAULT_RETRY_AFTER,
        )


class FaultBook:
    def __init__(self, seed: int, rate: float = 0.0) -> None:
        self.seed = seed
        self.rate = rate
        self._rules: list[FaultRule] = []
        self._rnd = random.Random(hash_int(seed, "faults"))
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        count: int = 1,
        path_contains: str | None = None,
        delay: float | None = None,
        retry_after: int | None = None,
    ) -> FaultRule:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        rule = FaultRule(
            kind,
            int(count),
            path_contains or None,
            None if delay is None else float(delay),
            None if retry_after is None else int(retry_after),
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, target: str) -> Fault | None:
        """Consume the first rule matching ``target`` (path + query), else roll the fault rate."""
        with self._lock:
            for rule in self._rules:
                if rule.path_contains is None or rule.path_contains in target:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return rule.fault()
            if self.rate > 0 and self._rnd.random() < self.rate:
                return FaultRule(self._rnd.choice(KINDS)).fault()
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rnd = random.Random(hash_int(self.seed, "faults"))
