"""The one door: every endpoint through the client against the simulator over real HTTP,
retries on transient failures, no retries on 4xx, shared cooldown on 429, the breaker."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.errors import (
    ApiErrorBody,
    InvalidJSON,
    MustWait,
    NotFound,
    ServerError,
    TransportError,
)
from collectors.gecko.ratelimit import RateLimiter
from collectors.gecko.records import CandleRecord, PoolRecord, TradeRecord

from .clients import make_client

pytestmark = pytest.mark.usefixtures("redis_client")


def first_pool(simulator, dex="pumpswap"):
    return simulator.world()["pools"][dex][0]


def test_every_endpoint_parses_from_the_simulator(simulator, gecko):
    dexes = gecko.dexes()
    assert {"heaven", "pumpswap"} <= {d.slug for d in dexes}
    assert len(dexes) > 20, "follows links.next past page 1"

    top = gecko.top_pools("pumpswap", 2)
    assert len(top.pools) == 20 and all(isinstance(p, PoolRecord) for p in top.pools)
    assert {p.base_token_address for p in top.pools} <= set(top.tokens)

    world = first_pool(simulator)
    multi = gecko.pools_multi([world["address"], "1111111111111111111111111111111111111111111"])
    assert [p.address for p in multi.pools] == [world["address"]]

    single = gecko.pool(world["address"]).pools[0]
    assert single.address == world["address"]
    assert single.base_token_address == world["base_token"]

    token = gecko.token(world["base_token"])
    assert token.address == world["base_token"]
    info = gecko.token_info(world["base_token"])
    assert info.address == world["base_token"]

    page = gecko.ohlcv(world["address"], "1h", limit=50)
    assert 0 < len(page.candles) <= 50 and isinstance(page.candles[0], CandleRecord)
    stamps = [c.timestamp for c in page.candles]
    assert stamps == sorted(stamps, reverse=True)

    trades = gecko.trades(world["address"], min_volume_usd=100)
    assert all(isinstance(t, TradeRecord) and t.volume_usd > Decimal(100) for t in trades)
    assert gecko.stats.calls >= 9


def test_ohlcv_before_timestamp_is_inclusive(simulator, gecko):
    address = first_pool(simulator)["address"]
    newest = gecko.ohlcv(address, "5m", limit=10).candles
    older = gecko.ohlcv(
        address, "5m", limit=10, before_timestamp=int(newest[-1].timestamp.timestamp())
    )
    assert older.candles[0].timestamp == newest[-1].timestamp


def test_transient_500s_are_retried_to_success(simulator, gecko):
    simulator.add_fault("500", count=2, path_contains="/dexes")
    assert gecko.dexes()
    assert gecko.stats.retries == 2
    assert simulator.stats()["by_status"].get("500") == 2


def test_a_404_is_not_retried(simulator, gecko):
    with pytest.raises(NotFound, match="pool: HTTP 404"):
        gecko.pool("1111111111111111111111111111111111111111111")
    assert simulator.stats()["by_kind"]["pool"] == 1
    assert gecko.stats.retries == 0


def test_a_429_cools_the_whole_bucket_so_every_client_waits(simulator, key_prefix):
    limiter = RateLimiter(
        rate_per_min=6000, burst=20, cooldown_floor=1.0, key_prefix=f"{key_prefix}:rl:"
    )
    first = make_client(simulator.base_url, prefix=key_prefix, limiter=limiter)
    other = make_client(
        simulator.base_url,
        prefix=key_prefix,
        max_wait=0.0,
        limiter=RateLimiter(
            rate_per_min=6000, burst=20, cooldown_floor=1.0, key_prefix=f"{key_prefix}:rl:"
        ),
    )
    simulator.add_fault("429_retry_after_0", count=1, path_contains="/dexes")
    started = time.monotonic()

    assert first.dexes()

    assert time.monotonic() - started >= 0.9, "the floor applies although Retry-After was 0"
    assert first.stats.throttled == 1
    limiter.penalize(2.0)
    with pytest.raises(MustWait, match="rate limit"):
        other.dexes()
    assert simulator.stats()["status_429"] == 1


def test_a_throttle_body_under_http_200_is_an_error_and_cools_the_bucket(simulator, gecko):
    simulator.add_fault("throttle_200", count=5, path_contains="/dexes")
    with pytest.raises(ApiErrorBody) as caught:
        gecko.dexes()
    assert caught.value.is_rate_limited
    assert gecko.stats.throttled == gecko.attempts


@pytest.mark.parametrize(
    ("fault", "counted_as"),
    [("coingecko_429", "throttled"), ("truncated", "retries")],
    ids=["a coingecko-style throttle is recognised", "a cut connection is a transport error"],
)
def test_one_fault_is_counted_and_the_call_retried(simulator, gecko, fault, counted_as):
    simulator.add_fault(fault, count=1, path_contains="/dexes")
    assert gecko.dexes()
    assert getattr(gecko.stats, counted_as) == 1


def test_truncated_json_is_retried_then_named_clearly(simulator, gecko):
    simulator.add_fault("bad_json", count=5, path_contains="/ohlcv/")
    address = first_pool(simulator)["address"]
    with pytest.raises(InvalidJSON, match="ohlcv: <body>"):
        gecko.ohlcv(address, "1h", limit=5)
    assert gecko.stats.calls == gecko.attempts


def test_a_timeout_is_retried(simulator, key_prefix):
    client = make_client(simulator.base_url, prefix=key_prefix, timeout=0.5)
    simulator.add_fault("timeout", count=1, path_contains="/dexes", delay=2)
    assert client.dexes()
    assert client.stats.retries == 1


def test_the_breaker_opens_after_n_failures_and_closes_after_recovery(simulator, key_prefix):
    client = make_client(simulator.base_url, prefix=key_prefix, attempts=1, max_wait=0.0)
    simulator.add_fault("500", count=3, path_contains="/dexes")
    for _ in range(3):
        with pytest.raises(ServerError):
            client.dexes()
    served = simulator.stats()["total"]

    with pytest.raises(MustWait, match="circuit open"):
        client.dexes()
    assert simulator.stats()["total"] == served, "an open breaker sends nothing"

    time.sleep(0.6)
    assert client.dexes()
    assert client.breaker.state().state == "closed"


def test_a_refused_connection_is_a_transport_error(key_prefix):
    client = make_client("http://127.0.0.1:9/api/v2", prefix=key_prefix, attempts=2)
    with pytest.raises(TransportError, match="dexes: connection failed"):
        client.dexes()


def test_bad_arguments_are_refused_before_any_call(gecko):
    with pytest.raises(ValueError, match="timeframe '2h'"):
        gecko.ohlcv("x", "2h")
    with pytest.raises(ValueError, match="31 addresses"):
        gecko.pools_multi(["a"] * 31)
    with pytest.raises(ValueError, match="page 11"):
        gecko.top_pools("pumpswap", 11)
    assert gecko.stats.calls == 0


def test_a_must_wait_for_a_token_does_not_keep_the_half_open_trial(simulator, key_prefix):
    breaker = CircuitBreaker(
        failures=1, cooloff=0.2, trial_timeout=60, key_prefix=f"{key_prefix}:cb:"
    )
    limiter = RateLimiter(rate_per_min=6000, burst=20, key_prefix=f"{key_prefix}:rl:")
    client = make_client(
        simulator.base_url, prefix=key_prefix, breaker=breaker, limiter=limiter, max_wait=0.5
    )
    other = make_client(
        simulator.base_url,
        prefix=key_prefix,
        breaker=CircuitBreaker(failures=1, cooloff=0.2, key_prefix=f"{key_prefix}:cb:"),
        limiter=RateLimiter(rate_per_min=6000, burst=20, key_prefix=f"{key_prefix}:rl:"),
        max_wait=0.0,
    )
    breaker.record_failure()
    time.sleep(0.25)  # half-open: the next caller gets the trial
    limiter.penalize(5.0)

    with pytest.raises(MustWait, match="rate limit"):
        client.dexes()

    assert breaker.state().state == "half_open"
    limiter.reset()
    assert other.dexes(), "another caller takes the trial at once, not after its 60 s lease"
    assert breaker.state().state == "closed"
    assert simulator.stats()["by_kind"]["dexes"] >= 1
