"""The shared bucket across a Redis restart (issue 11), measured at the simulator.

A fleet of clients (threads, each with its own Redis connection, the real GeckoClient,
RateLimiter and CircuitBreaker) keeps asking for tokens; a 429 with ``Retry-After`` puts the
bucket on cooldown; Redis is restarted during that cooldown.

- With ``appendonly yes`` (production, docker-compose.yml) the bucket's keys survive: the
  cooldown is still in force after the restart, and no request goes before it ends.
- Without persistence every key is gone. A fresh bucket starts with ``burst`` tokens (never
  more), so in every window after recovery the fleet sends at most burst + rate x elapsed; and
  the cooldown, which the fleet remembers with the server's run_id, is put back: no request
  goes before it ends either (it went at once, burst then rate, before the fix).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import redis

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.client import GeckoClient
from collectors.gecko.errors import GeckoError
from collectors.gecko.ratelimit import RateLimiter

from .private_servers import PrivateRedis, wait_until

pytestmark = [pytest.mark.slow]
RATE = 120  # per minute: 2 a second
BURST = 5
COOLDOWN = 8  # Retry-After of the 429 in force at the restart
FLEET = 6


@dataclass
class Outcome:
    per_second: dict[int, int]
    throttled_at: float  # when the 429 was seen (the cooldown started a little before)
    restarted_at: float


def fleet_through_restart(simulator, appendonly: bool) -> Outcome:
    """Saturate the bucket, get a 429, restart Redis 1 s into the cooldown, run 10 s more."""
    server = PrivateRedis(appendonly=appendonly)
    stop = threading.Event()
    try:
        server.start()
        address = simulator.world()["pools"]["pumpswap"][0]["address"]

        def member() -> None:
            conn = redis.Redis.from_url(server.url())
            limiter = RateLimiter(rate_per_min=RATE, burst=BURST, cooldown_floor=0, client=conn)
            breaker = CircuitBreaker(failures=1000, client=conn)
            with GeckoClient(
                base_url=simulator.base_url, limiter=limiter, breaker=breaker, attempts=1,
                max_wait=0.2,
            ) as client:  # fmt: skip
                while not stop.is_set():
                    try:
                        client.trades(address)
                    except (GeckoError, redis.RedisError):
                        time.sleep(0.1)  # a new task, as the fleet keeps sending them

        threads = [threading.Thread(target=member, daemon=True) for _ in range(FLEET)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        simulator.add_fault("429", retry_after=COOLDOWN)
        wait_until(lambda: simulator.stats()["status_429"] >= 1, 10, "the 429", pause=0.02)
        throttled_at = time.time()
        time.sleep(1)
        restarted_at = time.time()
        server.restart(down_for=1)
        time.sleep(10)
    finally:
        stop.set()
        server.cleanup()
    for thread in threads:
        thread.join(timeout=10)
    per_second = {int(s): n for s, n in simulator.stats()["per_second"].items()}
    return Outcome(per_second, throttled_at, restarted_at)


def worst_excess(per_second: dict[int, int], since: float) -> tuple[int, int, int]:
    """The window of whole seconds from ``since`` on where requests exceed burst + rate x
    length by most: (excess, first second, last second)."""
    seconds = sorted(s for s in per_second if s >= int(since))
    worst = (-(10**9), 0, 0)
    for i, a in enumerate(seconds):
        total = 0
        for b in seconds[i:]:
            total += per_second[b]
            allowed = BURST + RATE / 60 * (b - a + 1)
            worst = max(worst, (total - int(allowed), a, b))
    return worst


def sent_between(per_second: dict[int, int], start: float, end: float) -> int:
    """Requests in the whole seconds inside ``[start, end)``."""
    return sum(n for s, n in per_second.items() if s >= start and s + 1 <= end)


@pytest.mark.timeout(90)
def test_with_appendonly_the_cooldown_survives_a_redis_restart(simulator):
    outcome = fleet_through_restart(simulator, appendonly=True)
    # Not before the cooldown's end (1 s of margin for when the 429 was seen).
    early = sent_between(
        outcome.per_second, outcome.throttled_at, outcome.throttled_at - 1 + COOLDOWN
    )
    assert early == 0, outcome
    assert sum(n for s, n in outcome.per_second.items() if s > outcome.throttled_at + COOLDOWN)
    excess, a, b = worst_excess(outcome.per_second, outcome.restarted_at)
    assert excess <= 0, f"{excess} requests over burst + rate x elapsed in seconds {a}..{b}"


@pytest.mark.timeout(90)
def test_without_persistence_no_burst_and_the_cooldown_is_put_back(simulator):
    outcome = fleet_through_restart(simulator, appendonly=False)
    excess, a, b = worst_excess(outcome.per_second, outcome.restarted_at)
    assert excess <= 0, f"{excess} requests over burst + rate x elapsed in seconds {a}..{b}"
    early = sent_between(
        outcome.per_second, outcome.throttled_at, outcome.throttled_at - 1 + COOLDOWN
    )
    assert early == 0, f"{early} requests inside the cooldown Redis forgot"
