"""A Redis lock per (task, arguments): the same work never runs twice at once.

A second beat, a beat restart or a backlog behind the rate limit can enqueue the same task
again; the late copy finds the lock taken and returns at once. The lock is a lease: a short
TTL its holder renews while it runs (collectors.fleet.lease), so a holder that died frees it soon.

The lock is owned by the Celery task id, which a message keeps when it is redelivered: a
fetch task whose worker died is re-queued (acks_late + reject_on_worker_lost) and its copy
takes over the dead worker's lock at once, instead of being skipped until the TTL ran out
and losing the work. A different task with the same arguments has another id and is skipped.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from collectors.fleet.lease import renewing

_client: redis.Redis | None = None

# ARGV: owner, ttl ms. Free, or already this owner's (a redelivered copy): take it.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# ARGV: owner, ttl ms. Renew only a lock this owner still holds.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# ARGV: owner. Never delete a lock another owner took after ours expired.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def lock_key(task: str, arguments: dict) -> str:
    digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()
    return f"gecko:lock:{task}:{digest[:16]}"


def claim(key: str, owner: str, ttl: float) -> bool:
    """Take ``key`` for ``ttl`` seconds if it is free or already ``owner``'s; never blocks."""
    return bool(redis_client().eval(_ACQUIRE, 1, key, owner, int(ttl * 1000)))


@contextmanager
def task_lock(task: str, arguments: dict, ttl: float, owner: str | None = None) -> Iterator[bool]:
    """Yield True if this caller holds the lock for the block, False if another one does.

    ``owner`` (the Celery task id) may take a lock it already holds; None is a fresh owner.
    A held lock is renewed for ``ttl`` while the block runs (collectors.fleet.lease), so it outlives
    a long run yet lapses within ``ttl`` once its holder is killed.
    """
    client = redis_client()
    key, owner = lock_key(task, arguments), owner or uuid.uuid4().hex
    acquired = claim(key, owner, ttl)
    if not acquired:
        yield False
        return
    try:
        with renewing(lambda: client.eval(_RENEW, 1, key, owner, int(ttl * 1000)), ttl):
            yield True
    finally:
        client.eval(_RELEASE, 1, key, owner)
