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
# Answers, not failures: asked for by a test, never drawn by the random fault rate. "404": the
# API no longer knows the resource (a pool that disappeared); "implausible": an OHLCV answer
# whose newest candle has its high below its low, the same candle every time it is asked.
ANSWER_KINDS = ("404", "implausible")
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
        if kind not in KINDS + ANSWER_KINDS:
            known = ", ".join(KINDS + ANSWER_KINDS)
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {known}")
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


def implausible(body: dict | list | None) -> dict | list | None:
    """``body`` with its newest candle's high set to half its low, if it is an OHLCV answer.

    Derived from the candle itself, so the same candle is served the same way every time."""
    try:
        rows = body["data"]["attributes"]["ohlcv_list"]
    except (KeyError, TypeError):
        return body
    if not rows:
        return body
    ts, o, h, low, c, v = rows[0]
    bad = [ts, o, low / 2 if low > 0 else -1.0, low, c, v]
    attributes = {**body["data"]["attributes"], "ohlcv_list": [bad, *rows[1:]]}
    return {**body, "data": {**body["data"], "attributes": attributes}}
