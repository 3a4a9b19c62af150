"""The collectors pointed at a simulator through settings, and ``manage.py collect`` run in
process: what the command tests and the API-key test share."""

from __future__ import annotations

import io
from pathlib import Path

import redis
from django.core.management import CommandError, call_command

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.ratelimit import RateLimiter

WATCHLIST_HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"


def unthrottled(settings, api_url: str) -> None:
    """Clients built from settings call ``api_url`` with a bucket that never holds them back
    and quick retries; our default-keyed bucket and breaker state (left by any earlier run) is
    cleared, nothing else in Redis is touched."""
    settings.GECKO_API_URL = api_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    settings.GECKO_RATE_LIMIT_BURST = 20
    settings.GECKO_RETRY_BACKOFF = 0.01
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*RateLimiter(client=client).keys, CircuitBreaker(client=client).key)
    client.close()


def forgiving(settings) -> None:
    """Few, short retries, a breaker that will not trip on purpose-made failures, and a timeout
    that a slow test machine stays within."""
    settings.GECKO_RETRY_ATTEMPTS = 2
    settings.GECKO_RETRY_BACKOFF_MAX = 0.05
    settings.GECKO_BREAKER_FAILURES = 1000
    settings.GECKO_HTTP_TIMEOUT = 10


def watchlist_csv(path: Path, pools: list[dict]) -> str:
    """A watchlist CSV at ``path`` naming ``pools`` (the simulator's world rows); its path."""
    path.write_text(
        WATCHLIST_HEADER
        + "".join(
            f"T{i},Token {i},SOL,PumpSwap,{p['address']},{p['base_token']}\n"
            for i, p in enumerate(pools)
        )
    )
    return str(path)


def collect(*args: str) -> tuple[str, str]:
    """Run the command; returns (stdout, stderr), or raises CommandError carrying them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("collect", *args, stdout=out, stderr=err)
    except CommandError as exc:
        exc.output = (out.getvalue(), err.getvalue())
        raise
    return out.getvalue(), err.getvalue()
