"""The Redis-backed circuit breaker, against real Redis (no mocks)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings

from collectors.gecko.breaker import CircuitBreaker, CircuitOpenError
from collectors.gecko.target import target_id

COOLOFF = 0.3


def make_breaker(client: redis.Redis, **overrides) -> CircuitBreaker:
    options = {"failures": 3, "cooloff": COOLOFF, "key_prefix": "test:cb:"}
    options.update(overrides)
    return CircuitBreaker("api", client=client, **options)


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failures):
        breaker.record_failure()


def test_closed_allows_and_leaves_no_key(redis_client):
    breaker = make_breaker(redis_client)
    assert breaker.allow()
    breaker.before_call()
    state = breaker.state()
    assert (state.state, state.failures, state.opened_at, state.retry_in) == ("closed", 0, None, 0)
    assert redis_client.keys("test:cb:*") == []


def test_opens_after_n_consecutive_failures(redis_client):
    breaker = make_breaker(redis_client)
    assert [breaker.record_failure() for _ in range(3)] == ["closed", "closed", "open"]
    state = breaker.state()
    assert (state.state, state.failures) == ("open", 3)
    assert abs(state.opened_at - datetime.now(tz=UTC)) < timedelta(seconds=5)
    assert 0 < state.retry_in <= COOLOFF
    assert 0 < redis_client.pttl(breaker.key) <= 86_400_000


def test_a_success_resets_the_consecutive_count(redis_client):
    breaker = make_breaker(redis_client)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.record_failure() == "closed"
    assert breaker.state().failures == 1


def test_open_rejects_with_the_time_left(redis_client):
    breaker = make_breaker(redis_client, cooloff=30)
    trip(breaker)
    assert not breaker.allow()
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()
    assert caught.value.name == "api"
    assert 29 < caught.value.retry_in <= 30


def test_state_is_shared_by_every_client(redis_client):
    trip(make_breaker(redis_client))
    other = make_breaker(redis.Redis.from_url(settings.REDIS_URL))
    assert not other.allow()
    assert other.state().state == "open"


def test_half_open_after_cooloff_then_closed_on_success(redis_client):
    breaker = make_breaker(redis_client)
    trip(breaker)
    time.sleep(COOLOFF + 0.05)
    assert breaker.state().retry_in == 0
    assert breaker.allow()  # the trial
    assert breaker.state().state == "half_open"
    assert not breaker.allow()  # a second caller while the trial is in flight
    breaker.record_success()
    state = breaker.state()
    assert (state.state, state.failures) == ("closed", 0)
    assert breaker.allow() and breaker.allow()


def test_half_open_failure_reopens_for_a_fresh_cooloff(redis_client):
    breaker = make_breaker(redis_client)
    trip(breaker)
    time.sleep(COOLOFF + 0.05)
    assert breaker.allow()
    assert breaker.record_failure() == "open"
    state = breaker.state()
    assert state.state == "open" and COOLOFF - 0.05 < state.retry_in <= COOLOFF
    assert not breaker.allow()


def test_success_while_open_is_ignored(redis_client):
    breaker = make_breaker(redis_client, cooloff=30)
    trip(breaker)
    breaker.record_success()  # a call that started before the trip
    assert breaker.state().state == "open"


def test_only_one_concurrent_caller_gets_the_half_open_trial(redis_client):
    trip(make_breaker(redis_client))
    time.sleep(COOLOFF + 0.05)
    callers = 16
    barrier = threading.Barrier(callers)
    breakers = [make_breaker(redis.Redis.from_url(settings.REDIS_URL)) for _ in range(callers)]

    def attempt(breaker: CircuitBreaker) -> bool:
        barrier.wait()
        return breaker.allow()

    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(attempt, breakers))
    assert sum(results) == 1


def test_an_abandoned_trial_is_released_after_its_lease(redis_client):
    breaker = make_breaker(redis_client, trial_timeout=0.2)
    trip(breaker)
    time.sleep(COOLOFF + 0.05)
    assert breaker.allow()  # this trial's worker dies without reporting
    assert not breaker.allow()
    time.sleep(0.25)
    assert breaker.allow()


def test_a_released_trial_goes_to_the_next_caller_but_only_its_holder_can_release_it(
    redis_client,
):
    breaker = make_breaker(redis_client, trial_timeout=0.2)
    trip(breaker)
    time.sleep(COOLOFF + 0.05)
    first = breaker.acquire()
    assert first.allowed and first.trial
    assert not breaker.release_trial("not-the-holder")
    assert not breaker.allow()

    assert breaker.release_trial(first.trial)
    second = breaker.acquire()
    assert second.allowed and second.trial != first.trial
    assert not breaker.release_trial(first.trial), "a stale holder cannot free the new trial"
    assert not breaker.allow()
    time.sleep(0.25)
    third = breaker.acquire()
    assert third.allowed and not breaker.release_trial(second.trial)
    breaker.record_failure()
    assert breaker.state().state == "open"
    assert not breaker.release_trial(third.trial), "reopened: nothing to give back"
    assert not breaker.allow()


def test_defaults_come_from_settings(redis_client):
    breaker = CircuitBreaker(client=redis_client)
    assert breaker.failures == settings.GECKO_BREAKER_FAILURES
    assert breaker.cooloff == settings.GECKO_BREAKER_COOLOFF
    assert breaker.key == f"gecko:cb:gecko@{target_id(settings.GECKO_API_URL)}"


def test_reset_closes(redis_client):
    breaker = make_breaker(redis_client, cooloff=30)
    trip(breaker)
    breaker.reset()
    assert breaker.allow() and breaker.state().state == "closed"


def test_rejects_bad_config(redis_client):
    with pytest.raises(ValueError):
        make_breaker(redis_client, failures=0)
