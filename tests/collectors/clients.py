"""Build a GeckoClient wired to a simulator, with bucket and breaker keys of its own."""

from __future__ import annotations

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.client import GeckoClient
from collectors.gecko.ratelimit import RateLimiter


def make_client(base_url: str, *, prefix: str, **overrides) -> GeckoClient:
    limiter = overrides.pop("limiter", None) or RateLimiter(
        rate_per_min=6000, burst=20, cooldown_floor=0.5, key_prefix=f"{prefix}:rl:"
    )
    breaker = overrides.pop("breaker", None) or CircuitBreaker(
        failures=3, cooloff=0.5, key_prefix=f"{prefix}:cb:"
    )
    options = {"attempts": 3, "backoff": 0.01, "backoff_max": 0.05, "max_wait": None, "timeout": 5}
    options.update(overrides)
    return GeckoClient(base_url=base_url, limiter=limiter, breaker=breaker, **options)
