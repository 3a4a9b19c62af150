"""The cooldown a process saw outlives a Redis that forgot it, and only that (issue 11)."""

from __future__ import annotations

import pytest
import redis

from collectors.gecko.ratelimit import RateLimiter


def limiter(url: str | None = None) -> RateLimiter:
    client = redis.Redis.from_url(url) if url else None
    return RateLimiter(rate_per_min=60, burst=3, cooldown_floor=0, client=client)


@pytest.mark.parametrize("private_redis", [False], indirect=True)
def test_a_cooldown_redis_forgot_in_a_restart_is_put_back_for_every_process(private_redis):
    seen = limiter(private_redis.url())
    assert seen.penalize(30) == pytest.approx(30, abs=0.1)
    private_redis.restart()

    grant = seen.acquire()
    assert not grant.granted and grant.wait > 25
    other = limiter(private_redis.url())  # a process that never saw the 429
    assert other.status().cooldown_remaining > 25
    assert not other.acquire().granted


def test_a_flush_or_reset_on_the_same_server_is_obeyed(redis_client):
    first = limiter()
    first.penalize(30)
    redis_client.flushdb()
    assert first.acquire().granted
    first.penalize(30)
    first.reset()
    assert first.acquire().granted
