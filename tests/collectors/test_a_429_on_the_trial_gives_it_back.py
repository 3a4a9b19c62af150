"""A 429 answering the breaker's half-open trial proves nothing about an outage: the bucket's
cooldown is the wait, so the trial is given back instead of blocking the fleet for its lease.

Real Redis (bucket and breaker), the simulator over real HTTP answering the trial with a 429.
"""

from __future__ import annotations

import time

import pytest

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.errors import RateLimited
from collectors.gecko.ratelimit import RateLimiter

from .clients import make_client

pytestmark = pytest.mark.usefixtures("redis_client")

COOLOFF = 0.2
LEASE = 60.0
RETRY_AFTER = 1


def breaker(prefix: str) -> CircuitBreaker:
    return CircuitBreaker(
        failures=1, cooloff=COOLOFF, trial_timeout=LEASE, key_prefix=f"{prefix}:cb:"
    )


def limiter(prefix: str) -> RateLimiter:
    return RateLimiter(rate_per_min=6000, burst=20, cooldown_floor=0.5, key_prefix=f"{prefix}:rl:")


def test_a_429_on_the_half_open_trial_blocks_the_fleet_for_the_cooldown_not_the_lease(
    simulator, key_prefix
):
    trial = make_client(
        simulator.base_url,
        prefix=key_prefix,
        breaker=breaker(key_prefix),
        limiter=limiter(key_prefix),
        attempts=1,
        max_wait=0.0,
    )
    fleet = make_client(
        simulator.base_url,
        prefix=key_prefix,
        breaker=breaker(key_prefix),
        limiter=limiter(key_prefix),
        max_wait=RETRY_AFTER + 2.0,
    )
    trial.breaker.record_failure()
    time.sleep(COOLOFF + 0.05)  # half-open: the next caller gets the trial
    simulator.add_fault("429", count=1, path_contains="/dexes", retry_after=RETRY_AFTER)

    with pytest.raises(RateLimited):
        trial.dexes()

    assert simulator.stats()["status_429"] == 1, "the trial call was made and refused"
    state = trial.breaker.state()
    assert state.retry_in < LEASE / 2, f"the fleet waits {state.retry_in:.0f} s for the lease"
    started = time.monotonic()
    assert fleet.dexes(), "another caller takes the trial once the bucket's cooldown is over"
    assert time.monotonic() - started < RETRY_AFTER + 2.0
    assert fleet.breaker.state().state == "closed"
