"""Issue 16 §1: the breaker and the bucket are kept per API target, so calls to another API
(a shell without the checkout's .env went to the real host) never open the fleet's breaker
nor spend its tokens."""

from __future__ import annotations

import pytest

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.client import GeckoClient
from collectors.gecko.credit import MonthlyCalls
from collectors.gecko.errors import GeckoError
from collectors.gecko.ratelimit import RateLimiter
from collectors.gecko.target import target_id
from tests.ports import free_port as closed_port

FLEET = "http://127.0.0.1:8765/api/v2"
OTHER = "https://api.geckoterminal.com/api/v2"


def test_one_target_one_identity():
    assert target_id("HTTP://127.0.0.1:8765/api/v2/") == target_id(FLEET)
    assert target_id(FLEET) == "127.0.0.1:8765/api/v2"
    assert target_id(OTHER) == "api.geckoterminal.com:443/api/v2"
    assert target_id(FLEET) != target_id("http://127.0.0.1:8766/api/v2")


def test_failures_on_one_target_leave_the_others_breaker_closed(redis_client):
    fleet = CircuitBreaker(target=FLEET, failures=2, cooloff=60, client=redis_client)
    other = CircuitBreaker(target=OTHER, failures=2, cooloff=60, client=redis_client)
    other.record_failure()
    other.record_failure()
    assert other.state().state == "open" and not other.allow()
    assert fleet.state().state == "closed" and fleet.allow()
    assert fleet.key != other.key


def test_the_default_breaker_and_bucket_are_the_configured_targets(settings, redis_client):
    settings.GECKO_API_URL = FLEET
    assert CircuitBreaker(client=redis_client).key == f"gecko:cb:gecko@{target_id(FLEET)}"
    assert RateLimiter(client=redis_client).keys[0] == f"gecko:rl:global@{target_id(FLEET)}"


def test_spending_one_targets_bucket_leaves_the_others_tokens(redis_client):
    def limiter(target: str) -> RateLimiter:
        return RateLimiter(target=target, rate_per_min=1, burst=1, client=redis_client)

    other = limiter(OTHER)
    assert other.acquire().granted
    assert not other.acquire().granted
    other.penalize(60)
    assert limiter(FLEET).status().cooldown_remaining == 0
    assert limiter(FLEET).acquire().granted


def test_a_client_for_another_target_never_opens_the_fleets_breaker(settings, redis_client):
    settings.GECKO_API_URL = FLEET
    settings.GECKO_BREAKER_FAILURES = 1
    other = f"http://127.0.0.1:{closed_port()}/api/v2"
    with GeckoClient(base_url=other, attempts=2, backoff=0.01, backoff_max=0.02) as client:
        with pytest.raises(GeckoError):
            client.dexes()
    assert CircuitBreaker(target=other).state().failures >= 1
    assert CircuitBreaker().state().state == "closed"
    assert CircuitBreaker().state().failures == 0
    assert RateLimiter().status().tokens == pytest.approx(settings.GECKO_RATE_LIMIT_BURST, abs=0.1)


def test_only_calls_to_the_configured_target_count_against_its_monthly_credit(
    settings, redis_client, simulator
):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    other = f"http://127.0.0.1:{closed_port()}/api/v2"
    with GeckoClient(base_url=other, attempts=1) as client:
        with pytest.raises(GeckoError):
            client.dexes()
    assert MonthlyCalls().spent() == 0
    with GeckoClient(attempts=1) as client:
        client.dexes()
    assert MonthlyCalls().spent() == client.stats.calls > 0
