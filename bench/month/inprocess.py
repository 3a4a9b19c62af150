"""The real GeckoClient talking to an in-process simulator: only the transport and the bucket
differ from production.

A month at 25 calls a minute is ~1.1 M calls; over sockets that alone would take hours, so the
simulator's WSGI app is called directly (``httpx.WSGITransport``). The shared Redis bucket is
replaced because the planner's budget is what the bench measures: the live lane never waits,
and the backfill lane gets the share of each tick the planner leaves to it.
"""

from __future__ import annotations

import httpx

from collectors.fleet.locks import redis_client
from collectors.gecko.client import GeckoClient
from collectors.gecko.ratelimit import Grant

# What a refused backfill call is told to wait: the next tick tops the allowance up again.
NEXT_TICK = 60.0


class RealRedis:
    """The bench's buckets keep the real Redis: the client counts the month's calls there, and
    the credit guard reads them."""

    @property
    def client(self):
        return redis_client()


class Unlimited(RealRedis):
    """A bucket that always grants: live calls are paced by the planner alone."""

    def acquire(self, lane: str = "live") -> Grant:
        return Grant(True, lane=lane)

    def penalize(self, retry_after: float | None = None) -> float:
        return 0.0


class Allowance(RealRedis):
    """The backfill lane's calls for the current tick; past them a call raises MustWait, the
    same answer a Celery backfill task gets from an empty bucket (it retries later)."""

    def __init__(self) -> None:
        self.left = 0.0
        self.spent = 0

    def top_up(self, calls: float, *, ceiling: float) -> None:
        self.left = min(ceiling, self.left + calls)

    def acquire(self, lane: str = "backfill") -> Grant:
        if self.left >= 1.0:
            self.left -= 1.0
            self.spent += 1
            return Grant(True, lane=lane)
        return Grant(False, wait=NEXT_TICK, lane=lane)

    def penalize(self, retry_after: float | None = None) -> float:
        return 0.0


def client(app, *, lane: str, limiter) -> GeckoClient:
    """A GeckoClient whose requests reach ``app`` (a WSGI callable) in this process; it never
    sleeps for a token (max_wait 0: a refusal is MustWait at once)."""
    return GeckoClient(
        lane=lane,
        limiter=limiter,
        max_wait=0.0,
        transport=httpx.WSGITransport(app=app),
    )
