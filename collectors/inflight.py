"""Work already queued or running, so a planner does not queue it again.

A Redis key per unit of work, set (NX) when the task is queued and deleted when it finishes for
good; a retry after MustWait keeps it. The TTL is a safety net only: if a queued message is
lost, the key expires and the next scan queues the work again (a duplicate that slips through
is harmless — the task lock lets one copy run). While the work runs its claim is a lease
(``running``), so a worker killed outright frees it within a lease rather than the hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .lease import lease_seconds, renewing
from .locks import redis_client

TTL_SECONDS = 3600


def _key(kind: str, ident: object) -> str:
    return f"gecko:inflight:{kind}:{ident}"


def claim(kind: str, ident: object, ttl: int = TTL_SECONDS) -> bool:
    """True if the caller may queue this work (no one else has it queued or running)."""
    return bool(redis_client().set(_key(kind, ident), 1, nx=True, ex=ttl))


def refresh(kind: str, ident: object, ttl: int = TTL_SECONDS) -> None:
    """Keep the claim of work that was retried (it is still queued)."""
    redis_client().set(_key(kind, ident), 1, ex=ttl)


def release(kind: str, ident: object) -> None:
    redis_client().delete(_key(kind, ident))


@contextmanager
def running(kind: str, ident: object) -> Iterator[None]:
    """Hold a claim (if there is one) on a lease its process renews while the block runs."""
    client, key, seconds = redis_client(), _key(kind, ident), lease_seconds()
    client.expire(key, seconds)
    with renewing(lambda: client.expire(key, seconds), seconds):
        yield
