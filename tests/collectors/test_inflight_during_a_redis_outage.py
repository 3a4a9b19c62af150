"""A fetch task starting while Redis is down must reach its own outage handling (a retry in
2, 4 … 30 s), not fail on its in-flight lease: the lease's EXPIRE ran before the task's body,
outside that handling, so the task "raised unexpected: ConnectionError", was acked as failed and
its queued work was dropped. Seen in CI: test_redis_restart's queued fetches never all ran."""

from __future__ import annotations

import pytest
import redis
from celery.exceptions import Retry
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry

from collectors.fleet import inflight
from tests.ports import free_port


@pytest.fixture
def redis_down(monkeypatch):
    """The in-flight claims' Redis refuses every connection."""
    dead = redis.Redis(
        port=free_port(), socket_connect_timeout=0.5, retry=RedisRetry(NoBackoff(), 0)
    )
    monkeypatch.setattr(inflight, "redis_client", lambda: dead)
    return dead


def test_the_lease_lets_the_task_body_run_and_meet_the_outage_itself(redis_down):
    ran = []
    with inflight.running("trades:1", retry_ttl=5):
        ran.append(True)
    assert ran == [True]


def test_a_retry_raised_during_the_outage_is_still_a_retry(redis_down):
    with pytest.raises(Retry), inflight.running("trades:1", retry_ttl=5):
        raise Retry("waiting out the outage")


def test_the_gap_lease_lets_the_task_body_run(redis_down):
    ran = []
    with inflight.leased("backfill_gap:1"):
        ran.append(True)
    assert ran == [True]
