"""The shared Redis token bucket, against real Redis and real OS processes (no mocks)."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest
import redis
from django.conf import settings

from collectors.gecko.ratelimit import Grant, RateLimiter

PREFIX = "test:rl:"
RATE = 600.0  # per minute: 10 tokens/s, fast enough for a meaningful count in seconds
BURST = 3


def make_limiter(client: redis.Redis | None = None, **overrides: float) -> RateLimiter:
    options = {"rate_per_min": RATE, "burst": BURST, "live_share": 0.5, "cooldown_floor": 1.0}
    options.update(overrides)
    return RateLimiter(key_prefix=PREFIX, client=client, **options)


def _worker(url, options, lane, ready, go, start_at, duration, results) -> None:
    """One OS process consuming greedily; sleeps the reported wait rather than spinning."""
    limiter = make_limiter(redis.Redis.from_url(url), **options)
    ready.put(None)
    go.wait()
    stop = start_at.value + duration
    time.sleep(max(0.0, start_at.value - time.time()))
    grants: list[float] = []
    denials: list[tuple[float, float]] = []
    while (now := time.time()) < stop:
        grant = limiter.acquire(lane)
        if grant.granted:
            grants.append(time.time())
        else:
            denials.append((now, grant.wait))
            time.sleep(min(grant.wait, max(0.0, stop - time.time())))
    results.put((lane, grants, denials))


def run_processes(lanes: list[str], duration: float, options: dict, during=None) -> tuple:
    """Start one spawned process per lane entry, release them together, collect their logs.

    ``during(start_at)`` runs in this process while the workers consume.
    """
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    args = (settings.REDIS_URL, options)
    procs = [
        ctx.Process(target=_worker, args=(*args, lane, ready, go, start_at, duration, results))
        for lane in lanes
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=30)
    start_at.value = time.time() + 0.2
    go.set()
    if during:
        during(start_at.value)
    logs = [results.get(timeout=duration + 30) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
        assert proc.exitcode == 0
    return start_at.value, logs


def test_fresh_bucket_grants_burst_then_reports_wait(redis_client):
    limiter = make_limiter(redis_client)
    assert [limiter.acquire().granted for _ in range(BURST)] == [True] * BURST
    denied = limiter.acquire()
    assert denied == Grant(granted=False, wait=denied.wait, lane="live", at=denied.at)
    assert abs(denied.at - float(redis_client.time()[0])) < 5, "Redis server time"
    assert 0 < denied.wait <= 60 / RATE


def test_acquire_never_sleeps(redis_client):
    limiter = make_limiter(redis_client, rate_per_min=1.0, burst=1)
    limiter.acquire()
    started = time.monotonic()
    grant = limiter.acquire()
    assert time.monotonic() - started < 0.5
    assert not grant.granted and 55 < grant.wait <= 62  # the 62 s window holds 1 grant


def test_backfill_is_held_to_its_sub_bucket_while_live_still_gets_tokens(redis_client):
    limiter = make_limiter(redis_client)
    assert limiter.acquire("backfill").granted  # backfill burst is max(1, 3 * 0.5) = 1.5
    denied = limiter.acquire("backfill")
    assert not denied.granted and denied.lane == "backfill"
    assert 0.05 < denied.wait <= 0.1  # the 0.5 token missing at the backfill rate of 5/s
    assert limiter.acquire("live").granted and limiter.acquire("live").granted


def test_backfill_uses_the_global_bucket_too(redis_client):
    limiter = make_limiter(redis_client)
    for _ in range(BURST):
        assert limiter.acquire("live").granted
    assert not limiter.acquire("backfill").granted
    assert limiter.status().backfill_tokens == pytest.approx(1.5)  # a denial spends nothing


def test_prefixes_are_separate_buckets(redis_client):
    first = make_limiter(redis_client)
    other = RateLimiter(key_prefix="test:other:", client=redis_client, rate_per_min=RATE, burst=1)
    for _ in range(BURST):
        first.acquire()
    assert other.acquire().granted


def test_keys_expire_so_nothing_lingers(redis_client):
    limiter = make_limiter(redis_client)
    limiter.acquire("backfill")
    limiter.penalize(2.0)
    buckets = [redis_client.pttl(key) for key in limiter.keys[:2]]
    window = [redis_client.pttl(key) for key in limiter.keys[2:]]
    assert len(redis_client.keys(f"{PREFIX}*")) == 4
    assert all(2000 < ttl <= 2000 + BURST * 60_000 / RATE * 2 + 1000 for ttl in buckets)
    assert all(0 < ttl <= 63_000 for ttl in window)


def test_no_window_ever_holds_more_than_the_rate_even_with_a_large_burst(redis_client):
    """A bucket alone admits rate + burst into one window; the API would answer 429.

    Grants are timed by Redis (the window's clock), in integer microseconds: the client's
    clock, read after the reply, puts a late reader's grant into the wrong window."""
    limiter = make_limiter(redis_client, rate_per_min=600, burst=20, window_seconds=1.0)
    grants = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        grant = limiter.acquire()
        if grant.granted:
            grants.append(round(grant.at * 1e6))
        else:
            time.sleep(min(grant.wait, 0.01))
    busiest = max(sum(1 for g in grants if start <= g < start + 1_000_000) for start in grants)
    assert busiest <= 10, f"{busiest} grants in one 1 s window (limit 10)"
    assert len(grants) >= 20, "the window does not starve the bucket"


def test_penalize_with_retry_after_zero_applies_the_floor(redis_client):
    limiter = make_limiter(redis_client, cooldown_floor=2.0)
    assert limiter.penalize(0) == pytest.approx(2.0, abs=0.01)
    grant = limiter.acquire()
    assert not grant.granted and grant.wait >= 1.95
    assert 1.9 < limiter.status().cooldown_remaining <= 2.0


def test_penalize_without_retry_after_applies_the_floor(redis_client):
    limiter = make_limiter(redis_client, cooldown_floor=2.0)
    assert limiter.penalize(None) == pytest.approx(2.0, abs=0.01)


def test_penalize_honours_a_longer_retry_after_and_never_shortens(redis_client):
    limiter = make_limiter(redis_client, cooldown_floor=1.0)
    assert limiter.penalize(5) == pytest.approx(5.0, abs=0.01)
    assert limiter.penalize(0) == pytest.approx(5.0, abs=0.05)
    assert limiter.acquire("backfill").wait >= 4.9


def test_cooldown_drains_tokens_and_restart_burst_is_capped(redis_client):
    limiter = make_limiter(redis_client, cooldown_floor=0.2)
    limiter.penalize(0)
    time.sleep(0.25)
    assert not limiter.acquire().granted  # the pre-429 burst of 3 is gone
    time.sleep(1.0)  # long enough to refill 10 tokens, but the cap is the burst
    started = time.monotonic()
    granted = sum(limiter.acquire().granted for _ in range(10))
    refilled = (time.monotonic() - started) * RATE / 60
    assert BURST <= granted <= BURST + refilled + 1


def test_status_reports_tokens_cooldown_and_config(redis_client):
    limiter = make_limiter(redis_client)
    status = limiter.status()
    assert (status.tokens, status.backfill_tokens, status.cooldown_remaining) == (3.0, 1.5, 0.0)
    assert (status.rate_per_min, status.burst, status.live_share) == (RATE, BURST, 0.5)
    started = time.monotonic()
    limiter.acquire()
    tokens = limiter.status().tokens
    refilled = (time.monotonic() - started) * RATE / 60  # 10 a second: a slow runner's 11 ms
    assert 2.0 - 1e-6 <= tokens <= 2.0 + refilled + 1e-6


def test_acquire_blocking_waits_for_a_token_or_times_out(redis_client):
    limiter = make_limiter(redis_client, rate_per_min=120.0, burst=1)
    assert limiter.acquire_blocking().granted
    started = time.monotonic()
    assert limiter.acquire_blocking(timeout=2).granted
    assert 0.4 < time.monotonic() - started < 1.0
    timed_out = limiter.acquire_blocking(timeout=0.1)
    assert not timed_out.granted and timed_out.wait > 0


def test_rejects_bad_lane_and_config(redis_client):
    with pytest.raises(ValueError):
        make_limiter(redis_client).acquire("bulk")
    for bad in ({"live_share": 1.0}, {"burst": 0.5}, {"rate_per_min": 0}):
        with pytest.raises(ValueError):
            make_limiter(redis_client, **bad)


def test_defaults_come_from_settings(redis_client):
    limiter = RateLimiter(key_prefix=PREFIX)
    assert limiter.rate_per_min == settings.GECKO_RATE_LIMIT_PER_MIN
    assert limiter.burst == settings.GECKO_RATE_LIMIT_BURST
    assert limiter.live_share == settings.GECKO_RATE_LIMIT_LIVE_SHARE
    assert limiter.cooldown_floor == settings.GECKO_RATE_LIMIT_COOLDOWN_FLOOR


@pytest.mark.slow
def test_eight_processes_share_one_bucket(redis_client):
    duration = 10.0
    _, logs = run_processes(["live"] * 8, duration, {})
    counts = [len(grants) for _, grants, _ in logs]
    cap = RATE / 60 * duration + BURST
    assert all(count > 0 for count in counts)
    assert 0.95 * cap <= sum(counts) <= cap, (sum(counts), cap, counts)


@pytest.mark.slow
def test_live_keeps_its_share_while_backfill_saturates(redis_client):
    duration, share = 6.0, 0.5
    _, logs = run_processes(["backfill"] * 4 + ["live"] * 4, duration, {"live_share": share})
    live = sum(len(grants) for lane, grants, _ in logs if lane == "live")
    backfill = sum(len(grants) for lane, grants, _ in logs if lane == "backfill")
    rate = RATE / 60
    assert live + backfill <= rate * duration + BURST
    assert live >= 0.95 * share * rate * duration, (live, backfill)
    assert 0 < backfill <= (1 - share) * rate * duration + max(1, BURST * (1 - share))


@pytest.mark.slow
def test_penalize_pauses_every_process(redis_client):
    duration, penalty = 4.0, 1.5
    marks: dict[str, float] = {}

    def trip(start_at: float) -> None:
        time.sleep(max(0.0, start_at + 1.0 - time.time()))
        marks["penalized"] = time.time()
        limiter = make_limiter(redis.Redis.from_url(settings.REDIS_URL), cooldown_floor=1.0)
        marks["cooldown"] = limiter.penalize(penalty)
        marks["applied"] = time.time()
        marks["other_wait"] = make_limiter(redis_client).acquire().wait

    _, logs = run_processes(["live"] * 4, duration, {}, during=trip)
    applied, end = marks["applied"], marks["penalized"] + marks["cooldown"]
    assert marks["cooldown"] == pytest.approx(penalty, abs=0.01)
    assert marks["other_wait"] >= penalty - 0.1
    told_to_wait = 0
    for _, grants, denials in logs:
        assert not [t for t in grants if marks["penalized"] + 0.05 < t < end - 0.01]
        # Every acquire sent after the penalty landed reports (at least) the cooldown left.
        during = [(t, wait) for t, wait in denials if applied < t < end - 0.01]
        assert all(wait >= end - t - 0.05 for t, wait in during), during
        told_to_wait += len(during)
    assert told_to_wait >= 2
    after = sorted(t for _, grants, _ in logs for t in grants if t >= end - 0.01)
    assert after, "grants resume after the cooldown"
    assert len([t for t in after if t < end + 0.5]) <= RATE / 60 * 0.5 + 1  # drained: no burst
