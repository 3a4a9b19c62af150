"""A Redis lock per (task, arguments): the same work never runs twice at once.

A second beat, a beat restart or a backlog behind the rate limit can enqueue the same task
again; the late copy finds the lock taken and returns at once. The TTL frees a lock whose
holder died, so it must exceed the task's hard time limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def lock_key(task: str, arguments: dict) -> str:
    digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()
    return f"gecko:lock:{task}:{digest[:16]}"


@contextmanager
def task_lock(task: str, arguments: dict, ttl: float) -> Iterator[bool]:
    """Yield True if this caller holds the lock for the block, False if another one does."""
    lock = redis_client().lock(lock_key(task, arguments), timeout=ttl, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass
