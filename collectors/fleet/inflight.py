"""Work queued or running, kept in Redis so the same unit is never queued twice.

Each unit has a key ``gecko:plan:inflight:<unit>`` set with ``SET NX EX`` when it is queued (so two
planners, two beats, or a planner and an operator cannot both queue it) and deleted when its task
finishes for good; a retry keeps it. The TTL is what makes a dead worker harmless: its unit
expires and is planned again (a duplicate that slips through is harmless too: the task's lock
lets one copy run). While the work runs its claim is a lease its process renews
(collectors.fleet.lease), so a worker killed outright frees it within a lease rather than the TTL.

Two kinds of claim share the keys:
- the planner's units (``claim``/``read``/``running``) carry their cost in API calls and are
  indexed by expiry in a sorted set, so a tick reads the whole in-flight budget in one trip;
- work queued outside the planner's budget (gap backfills: ``claim_one``/``keep``/``leased``)
  is not indexed, so it never shrinks the planner's capacity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from celery.exceptions import Retry

from collectors.fleet.lease import lease_seconds, renewing
from collectors.fleet.locks import redis_client

logger = logging.getLogger(__name__)

PREFIX = "gecko:plan:inflight:"
INDEX = "gecko:plan:inflight"
UNINDEXED_TTL = 3600  # a lost message's work is queued again after this


def key(unit: str) -> str:
    return f"{PREFIX}{unit}"


@dataclass(frozen=True)
class InFlight:
    units: frozenset[str]
    calls: int


def read(client: redis.Redis | None = None) -> InFlight:
    """Units in flight now and the calls they will spend; drops index entries that lapsed."""
    client = client or redis_client()
    now = time.time()
    client.zremrangebyscore(INDEX, "-inf", now)
    names = [n.decode() for n in client.zrangebyscore(INDEX, now, "+inf")]
    if not names:
        return InFlight(frozenset(), 0)
    costs = client.mget([key(n) for n in names])
    gone = [n for n, cost in zip(names, costs, strict=True) if cost is None]
    if gone:
        client.zrem(INDEX, *gone)
    live = {n: int(c) for n, c in zip(names, costs, strict=True) if c is not None}
    return InFlight(frozenset(live), sum(live.values()))


def claim(
    units: Iterable[tuple[str, int]], ttl: float, client: redis.Redis | None = None
) -> list[str]:
    """Mark (unit, cost) pairs in flight for ``ttl`` seconds; returns the units this caller
    claimed (a unit someone else holds is left out)."""
    client = client or redis_client()
    pending = list(units)
    if not pending:
        return []
    seconds = max(1, int(ttl))
    pipe = client.pipeline(transaction=False)
    for unit, cost in pending:
        pipe.set(key(unit), cost, nx=True, ex=seconds)
    results = pipe.execute()
    claimed = [unit for (unit, _), ok in zip(pending, results, strict=True) if ok]
    if claimed:
        expiry = time.time() + seconds
        client.zadd(INDEX, dict.fromkeys(claimed, expiry))
    return claimed


def release(units: Iterable[str], client: redis.Redis | None = None) -> None:
    """Forget units (a task finished, or it was never sent)."""
    names = list(units)
    if not names:
        return
    client = client or redis_client()
    pipe = client.pipeline(transaction=False)
    pipe.delete(*[key(n) for n in names])
    pipe.zrem(INDEX, *names)
    pipe.execute()


def _extend(unit: str, seconds: int, client: redis.Redis) -> None:
    """A new TTL for a unit still in flight; a unit already released stays released."""
    if client.expire(key(unit), seconds):
        client.zadd(INDEX, {unit: time.time() + seconds})


def _bookkeep(step: Callable[[], object], unit: str) -> None:
    """A claim's upkeep around a task. Redis down, it is skipped: the claim then lapses by its
    TTL (a duplicate queued meanwhile is harmless, the task lock lets one copy run), and the
    task meets the outage in its own body, which retries it (collectors.tasks.running).
    Raised here, outside that handling, the error failed the task and dropped its work."""
    try:
        step()
    except redis.RedisError as exc:
        logger.warning("in-flight claim of %s not kept: %s", unit, type(exc).__name__)


@contextmanager
def running(unit: str, *, retry_ttl: float) -> Iterator[None]:
    """Around a fetch task: while it runs the unit stays in flight, on a lease its process
    renews (collectors.fleet.lease: a killed worker's unit lapses within a lease and is planned
    again); when it ends it is released, unless it ends by retrying (then it stays in flight
    for ``retry_ttl``, the time its retry message may still be delivered)."""
    client = redis_client()
    seconds = lease_seconds()
    _bookkeep(lambda: _extend(unit, seconds, client), unit)
    try:
        with renewing(lambda: _extend(unit, seconds, client), seconds):
            yield
    except Retry:
        _bookkeep(lambda: _extend(unit, max(1, int(retry_ttl)), client), unit)
        raise
    except BaseException:
        _bookkeep(lambda: release([unit], client), unit)
        raise
    else:
        _bookkeep(lambda: release([unit], client), unit)


def claim_one(unit: str, ttl: int = UNINDEXED_TTL) -> bool:
    """True if the caller may queue ``unit`` (no one has it queued or running); unindexed."""
    return bool(redis_client().set(key(unit), 0, nx=True, ex=ttl))


def keep(unit: str, ttl: int = UNINDEXED_TTL) -> None:
    """Keep the claim of unindexed work that is queued again (a retry, a continuation)."""
    redis_client().set(key(unit), 0, ex=ttl)


@contextmanager
def leased(unit: str) -> Iterator[None]:
    """Hold an unindexed claim (if there is one) on a renewed lease while the block runs; the
    caller releases or keeps it after, by how the work ended."""
    client, seconds = redis_client(), lease_seconds()
    _bookkeep(lambda: client.expire(key(unit), seconds), unit)
    with renewing(lambda: client.expire(key(unit), seconds), seconds):
        yield
