"""One GeckoTerminal request budget shared by every process on every host, kept in Redis.

Design:
- A token bucket (rate per minute, capacity ``burst``) whose refill and spend run in one Lua
  script, so concurrent workers can never spend the same token. Time comes from
  ``redis.call('TIME')``: hosts with skewed clocks still see one clock.
- Two lanes. Every grant needs a token from the global bucket; a ``backfill`` grant also needs
  one from a backfill-only sub-bucket refilled at ``(1 - live_share)`` of the rate. Total use
  stays within ``rate * t + burst``; a saturating backfill can take at most its sub-bucket's
  rate, so live keeps at least ``live_share`` of the rate, and all of it when backfill is idle.
- ``acquire`` never sleeps: it returns the wait, so Celery tasks can ``retry(countdown=wait)``
  instead of blocking a worker slot. ``acquire_blocking`` is for commands and benchmarks.
- A 429 puts both buckets on cooldown for ``max(Retry-After, floor)`` (a 429 may say
  ``Retry-After: 0``) by draining them and moving their refill start into the future, so every
  process's next acquire reports the wait and the restart burst is at most ``burst``.
- The API counts calls in a sliding 60 s window, and a bucket alone admits ``rate + burst``
  into one such window (measured by bench/ratelimit.py: a 429 and a fleet-wide cooldown about
  once a minute at saturation). So grants are also logged in a sorted set and refused while
  the last 62 s (60 s plus a margin for delivery jitter) already hold ``rate_per_min`` of them:
  the burst smooths short spikes, the window keeps every minute within the limit.
- One bucket per API target (collectors.gecko.target): keys are ``<prefix><name>@<target>``, so
  calls to another API never spend the fleet's tokens.
- Keys carry TTLs of "time until full again": an expired bucket is the same as a full one, so
  nothing lingers and nothing is lost.
- A Redis that restarts without persistence forgets a cooldown in force, and a fresh bucket
  would spend its burst (and the rate) into the API's Retry-After. So each process remembers
  the cooldowns it saw (``penalize``, or a denial while one is in force) with the Redis
  server's ``run_id``; when the server has restarted since, the unexpired remainder is put
  back before the next grant. A flush or ``reset`` on the same server is obeyed, not undone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

import redis
from django.conf import settings

from collectors.gecko.target import target_id
from geckoproject.redis_clock import server_micros

Lane = Literal["live", "backfill"]
# The API's window is 60 s, counted at its end; a grant reaches it after a variable network and
# scheduling delay, so our window is a little longer: a rate of R per 62 s is 0.97 R per minute.
WINDOW_SECONDS = 62.0
LANES: tuple[str, ...] = ("live", "backfill")

# Times are integer microseconds, tokens are formatted explicitly: Lua's default number
# formatting keeps only 14 significant digits, too few for a microsecond timestamp.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local function load(key, rate, cap)
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if not tokens or not ts then return cap, now end
  if now > ts then
    tokens = tokens + (now - ts) * rate / 1e6
    ts = now
  end
  return math.min(cap, tokens), ts
end

local function wait_us(tokens, ts, rate)
  if tokens >= 1 and ts <= now then return 0 end
  return (ts - now) + math.max(0, 1 - tokens) * 1e6 / rate
end

local function save(key, tokens, ts, rate, cap)
  redis.call('HSET', key, 'tokens', string.format('%.9f', tokens), 'ts', string.format('%.0f', ts))
  redis.call('PEXPIRE', key, math.ceil((ts - now) / 1000 + (cap - tokens) * 1000 / rate) + 1000)
end

local rate, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local brate, bcap = tonumber(ARGV[3]), tonumber(ARGV[4])
"""

_ACQUIRE = (
    _PRELUDE
    + """
local backfill = ARGV[5] == '1'
local wlimit, wlen = tonumber(ARGV[6]), tonumber(ARGV[7])
local g, gts = load(KEYS[1], rate, cap)
local w = wait_us(g, gts, rate)
local b, bts
if backfill then
  b, bts = load(KEYS[2], brate, bcap)
  w = math.max(w, wait_us(b, bts, brate))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - wlen)
if redis.call('ZCARD', KEYS[3]) >= wlimit then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  w = math.max(w, tonumber(oldest[2]) + wlen - now + 1)
end
if w > 0 then
  return {0, math.ceil(w), string.format('%.0f', now), string.format('%.0f', gts - now)}
end
save(KEYS[1], g - 1, gts, rate, cap)
if backfill then save(KEYS[2], b - 1, bts, brate, bcap) end
local seq = redis.call('INCR', KEYS[4])
local tag = backfill and ':backfill' or ':live'
redis.call('ZADD', KEYS[3], now, string.format('%.0f', now) .. ':' .. seq .. tag)
redis.call('PEXPIRE', KEYS[3], math.ceil(wlen / 1000) + 1000)
redis.call('PEXPIRE', KEYS[4], math.ceil(wlen / 1000) + 1000)
return {1, 0, string.format('%.0f', now)}
"""
)

_PENALIZE = (
    _PRELUDE
    + """
local till = now + tonumber(ARGV[5])
local specs = {{KEYS[1], rate, cap}, {KEYS[2], brate, bcap}}
for _, s in ipairs(specs) do
  local ts = tonumber(redis.call('HGET', s[1], 'ts'))
  if not ts or ts < till then save(s[1], 0, till, s[2], s[3]) end
end
return math.ceil(tonumber(redis.call('HGET', KEYS[1], 'ts')) - now)
"""
)

_STATUS = (
    _PRELUDE
    + """
local g, gts = load(KEYS[1], rate, cap)
local b = load(KEYS[2], brate, bcap)
return {string.format('%.6f', g), string.format('%.6f', b), string.format('%.0f', gts - now)}
"""
)


# Cooldowns this process has seen, by (server, db, bucket key): (monotonic end, server run_id).
_cooldowns: dict[tuple, tuple[float, str]] = {}
_cooldowns_lock = threading.Lock()


@dataclass(frozen=True)
class Grant:
    """Outcome of one ``acquire``: a token, or how long until one could be available.

    ``at`` is the Redis server time of the decision (epoch seconds, microsecond precision):
    the clock the window is kept on, so grants can be checked against it without the delay
    between the decision and the caller reading its own clock.
    """

    granted: bool
    wait: float = 0.0
    lane: str = "live"
    at: float = 0.0


@dataclass(frozen=True)
class BucketStatus:
    """Operator view of the shared bucket, computed at Redis server time."""

    tokens: float
    backfill_tokens: float
    cooldown_remaining: float
    rate_per_min: float
    burst: float
    live_share: float


class RateLimiter:
    """Redis token bucket with a reserved live share; see the module docstring for the design.

    ``target`` is the API base URL whose budget it keeps (default: settings.GECKO_API_URL)."""

    def __init__(
        self,
        *,
        target: str | None = None,
        rate_per_min: float | None = None,
        burst: float | None = None,
        live_share: float | None = None,
        cooldown_floor: float | None = None,
        key_prefix: str = "gecko:rl:",
        client: redis.Redis | None = None,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.rate_per_min = float(
            settings.GECKO_RATE_LIMIT_PER_MIN if rate_per_min is None else rate_per_min
        )
        self.burst = float(settings.GECKO_RATE_LIMIT_BURST if burst is None else burst)
        self.live_share = float(
            settings.GECKO_RATE_LIMIT_LIVE_SHARE if live_share is None else live_share
        )
        self.cooldown_floor = float(
            settings.GECKO_RATE_LIMIT_COOLDOWN_FLOOR if cooldown_floor is None else cooldown_floor
        )
        if self.rate_per_min <= 0 or self.burst < 1:
            raise ValueError("rate_per_min must be > 0 and burst >= 1")
        if not 0 <= self.live_share < 1:
            raise ValueError("live_share must be in [0, 1): backfill needs some rate")
        if self.cooldown_floor < 0:
            raise ValueError("cooldown_floor must be >= 0")
        self.window_seconds = float(window_seconds)
        self.client = client or redis.Redis.from_url(settings.REDIS_URL)
        self.target = target_id(target)
        self.keys = [
            f"{key_prefix}{name}@{self.target}"
            for name in ("global", "backfill", "window", "window:seq")
        ]
        self._acquire = self.client.register_script(_ACQUIRE)
        self._penalize = self.client.register_script(_PENALIZE)
        self._status = self.client.register_script(_STATUS)

    def _args(self) -> list[float]:
        """Rates per second and capacities; the backfill burst scales with its share."""
        rate = self.rate_per_min / 60.0
        backfill_share = 1.0 - self.live_share
        return [rate, self.burst, rate * backfill_share, max(1.0, self.burst * backfill_share)]

    def acquire(self, lane: Lane = "live") -> Grant:
        """Take one token for ``lane`` now, or report the seconds to wait; never sleeps."""
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}; expected one of {LANES}")
        limit = max(1, int(self.rate_per_min * min(self.window_seconds, 60.0) / 60.0))
        window = [limit, int(self.window_seconds * 1e6)]
        self._restore_forgotten_cooldown()
        granted, wait_us, at_us, *cooldown_us = self._acquire(
            keys=self.keys, args=[*self._args(), int(lane == "backfill"), *window]
        )
        if cooldown_us and int(cooldown_us[0]) > 0:
            self._remember_cooldown(int(cooldown_us[0]) / 1e6)
        return Grant(granted=bool(granted), wait=int(wait_us) / 1e6, lane=lane, at=int(at_us) / 1e6)

    def _memory_key(self) -> tuple:
        kwargs = self.client.connection_pool.connection_kwargs
        return (kwargs.get("host"), kwargs.get("port"), kwargs.get("db"), self.keys[0])

    def _remember_cooldown(self, seconds: float) -> None:
        """Note a cooldown in force for ``seconds`` (asks the server's run_id once per one)."""
        end, key = time.monotonic() + seconds, self._memory_key()
        known = _cooldowns.get(key)
        if known is not None and known[0] >= end - 1.0:
            return
        run_id = self.client.info("server")["run_id"]
        with _cooldowns_lock:
            _cooldowns[key] = (end, run_id)

    def _restore_forgotten_cooldown(self) -> None:
        """If Redis restarted during a cooldown this process saw, put its remainder back."""
        key = self._memory_key()
        known = _cooldowns.get(key)
        if known is None:
            return
        left = known[0] - time.monotonic()
        if left <= 0:
            with _cooldowns_lock:
                _cooldowns.pop(key, None)
            return
        run_id = self.client.info("server")["run_id"]
        if run_id == known[1]:
            return
        self._penalize(keys=self.keys, args=[*self._args(), int(left * 1e6)])
        with _cooldowns_lock:
            _cooldowns[key] = (known[0], run_id)

    def acquire_blocking(self, lane: Lane = "live", timeout: float | None = None) -> Grant:
        """Sleep the reported waits until granted, or return the last denial after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            grant = self.acquire(lane)
            if grant.granted:
                return grant
            pause = grant.wait
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return grant
                pause = min(pause, left)
            time.sleep(pause)

    def penalize(self, retry_after: float | None = None) -> float:
        """After a 429: pause every process for ``max(retry_after, floor)`` seconds.

        Returns the cooldown now in force, which is never shortened by a later, smaller penalty.
        """
        cooldown = max(float(retry_after or 0.0), self.cooldown_floor)
        remaining_us = self._penalize(
            keys=self.keys, args=[*self._args(), int(round(cooldown * 1e6))]
        )
        self._remember_cooldown(int(remaining_us) / 1e6)
        return int(remaining_us) / 1e6

    def status(self) -> BucketStatus:
        """Tokens now and the cooldown left, for the admin and CLI."""
        tokens, backfill, cooldown_us = self._status(keys=self.keys, args=self._args())
        return BucketStatus(
            tokens=float(tokens),
            backfill_tokens=float(backfill),
            cooldown_remaining=max(0.0, float(cooldown_us) / 1e6),
            rate_per_min=self.rate_per_min,
            burst=self.burst,
            live_share=self.live_share,
        )

    def calls_last_minute(self) -> dict[str, int]:
        """Grants of the last 60 s by lane, read from the window log (for the admin overview).

        Read-only: entries older than the window are left for the next acquire to trim."""
        now = server_micros(self.client)
        members = self.client.zrangebyscore(self.keys[2], now - 60_000_000, "+inf")
        counts = dict.fromkeys(LANES, 0)
        for member in members:
            lane = member.decode().rsplit(":", 1)[-1]
            counts[lane if lane in counts else "live"] += 1
        return counts

    def reset(self) -> None:
        """Forget all state (buckets full, no cooldown): for operators and tests."""
        self.client.delete(*self.keys)
        with _cooldowns_lock:
            _cooldowns.pop(self._memory_key(), None)
