"""Circuit breaker whose state lives in Redis, so every worker trips and recovers together.

Design:
- closed -> open after ``failures`` consecutive failures -> half-open after ``cooloff`` seconds,
  where exactly one caller gets the trial call -> closed on its success, open again on failure.
- Each transition is one Lua script using Redis server time: two workers can never both take
  the half-open trial, and hosts with skewed clocks agree on when the cool-off ends.
- The trial is a lease (``trial_timeout``): if the worker holding it dies without reporting,
  another caller may try once the lease runs out, so the breaker cannot stay half-open forever.
  A caller that claimed the trial but will not make the call (it must wait for a token) gives
  it back with ``release_trial``, so the fleet is not refused for the whole lease.
- State is kept per API target (collectors.gecko.target): calls to another API never open the
  fleet's breaker. The key is ``<prefix><name>@<target>``.
- A success reported while open is ignored: it comes from a call started before the trip and
  proves nothing about recovery. Closed with no failures is stored as no key at all, and other
  states carry a TTL, so nothing lingers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings

from collectors.gecko.target import target_id

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function fmt(x) return string.format('%.0f', x) end
"""

# ARGV: cool-off us, trial lease us, ttl ms, trial id. Returns {allowed, retry_in us, trial}.
_ALLOW = (
    _NOW
    + """
local v = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'trial_until')
local state = v[1] or 'closed'
if state == 'closed' then return {1, 0, 0} end
if state == 'open' then
  local ready = (tonumber(v[2]) or 0) + tonumber(ARGV[1])
  if now < ready then return {0, math.ceil(ready - now), 0} end
else
  local trial_until = tonumber(v[3]) or 0
  if now < trial_until then return {0, math.ceil(trial_until - now), 0} end
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'trial_until', fmt(now + tonumber(ARGV[2])),
  'trial_id', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, 0, 1}
"""
)

# ARGV: trial id. Only the holder's own, still half-open trial is given back.
_RELEASE = """
local v = redis.call('HMGET', KEYS[1], 'state', 'trial_id')
if v[1] ~= 'half_open' or v[2] ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'trial_until', 'trial_id')
return 1
"""

_SUCCESS = """
if redis.call('HGET', KEYS[1], 'state') == 'open' then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

# ARGV: failure threshold, ttl ms. Returns the new state.
_FAILURE = (
    _NOW
    + """
local v = redis.call('HMGET', KEYS[1], 'state', 'failures')
local state = v[1] or 'closed'
local failures = (tonumber(v[2]) or 0) + 1
if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[1])) then
  state = 'open'
  redis.call('HSET', KEYS[1], 'opened_at', fmt(now))
  redis.call('HDEL', KEYS[1], 'trial_until', 'trial_id')
end
redis.call('HSET', KEYS[1], 'state', state, 'failures', failures)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return state
"""
)

# ARGV: cool-off us. Returns {state, failures, opened_at us, retry_in us}.
_STATE = (
    _NOW
    + """
local v = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'trial_until')
local state = v[1] or 'closed'
local retry = 0
if state == 'open' then
  retry = (tonumber(v[3]) or 0) + tonumber(ARGV[1]) - now
elseif state == 'half_open' then
  retry = (tonumber(v[4]) or 0) - now
end
return {state, tonumber(v[2]) or 0, v[3] or '', fmt(math.max(0, retry))}
"""
)


class CircuitOpenError(Exception):
    """The breaker refuses calls; ``retry_in`` is the seconds until one may be tried."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"circuit {name!r} is open; retry in {retry_in:.1f}s")
        self.name = name
        self.retry_in = retry_in


@dataclass(frozen=True)
class Permit:
    """Outcome of ``acquire``. ``trial`` names the half-open trial this caller now holds."""

    allowed: bool
    retry_in: float = 0.0
    trial: str | None = None


@dataclass(frozen=True)
class BreakerState:
    """Operator view. ``retry_in`` is 0 when a call (or the half-open trial) may go now."""

    state: str
    failures: int
    opened_at: datetime | None
    retry_in: float


class CircuitBreaker:
    """Redis-backed breaker shared by all workers; see the module docstring for the design.

    ``target`` is the API base URL whose calls it guards (default: settings.GECKO_API_URL)."""

    def __init__(
        self,
        name: str = "gecko",
        *,
        target: str | None = None,
        failures: int | None = None,
        cooloff: float | None = None,
        trial_timeout: float | None = None,
        key_prefix: str = "gecko:cb:",
        ttl: float = 86400.0,
        client: redis.Redis | None = None,
    ) -> None:
        self.name = name
        self.failures = int(settings.GECKO_BREAKER_FAILURES if failures is None else failures)
        self.cooloff = float(settings.GECKO_BREAKER_COOLOFF if cooloff is None else cooloff)
        self.trial_timeout = float(self.cooloff if trial_timeout is None else trial_timeout)
        if self.failures < 1 or self.cooloff < 0 or self.trial_timeout <= 0:
            raise ValueError("need failures >= 1, cooloff >= 0 and trial_timeout > 0")
        # The key must outlive the cool-off and the trial lease, or an open breaker would close.
        self._ttl_ms = int(max(ttl, self.cooloff + self.trial_timeout + 60) * 1000)
        self.client = client or redis.Redis.from_url(settings.REDIS_URL)
        self.target = target_id(target)
        self.key = f"{key_prefix}{name}@{self.target}"
        self._allow = self.client.register_script(_ALLOW)
        self._success = self.client.register_script(_SUCCESS)
        self._failure = self.client.register_script(_FAILURE)
        self._release = self.client.register_script(_RELEASE)
        self._state = self.client.register_script(_STATE)

    def acquire(self) -> Permit:
        """May a call go now? When half-open, allowed for exactly one caller (the trial)."""
        trial_id = uuid.uuid4().hex
        allowed, retry_us, trial = self._allow(
            keys=[self.key],
            args=[int(self.cooloff * 1e6), int(self.trial_timeout * 1e6), self._ttl_ms, trial_id],
        )
        return Permit(bool(allowed), int(retry_us) / 1e6, trial_id if trial else None)

    def allow(self) -> bool:
        """May a call go now? When half-open, True for exactly one caller (the trial)."""
        return self.acquire().allowed

    def before_call(self) -> None:
        """Like ``allow`` but raises ``CircuitOpenError`` carrying the seconds to wait."""
        permit = self.acquire()
        if not permit.allowed:
            raise CircuitOpenError(self.name, permit.retry_in)

    def release_trial(self, trial: str) -> bool:
        """Give back a trial whose call will not be made, so another caller may try at once.

        A no-op (False) if the trial's lease ran out and it was claimed again, or the breaker
        moved on: a released trial can never hand the breaker two trials at once.
        """
        return bool(self._release(keys=[self.key], args=[trial]))

    def record_success(self) -> None:
        """A call succeeded: close the breaker and clear the failure count (unless open)."""
        self._success(keys=[self.key])

    def record_failure(self) -> str:
        """A call failed: count it, opening the breaker at the threshold. Returns the new state."""
        state = self._failure(keys=[self.key], args=[self.failures, self._ttl_ms])
        return state.decode() if isinstance(state, bytes) else str(state)

    def state(self) -> BreakerState:
        """Current state for the admin and CLI, at Redis server time."""
        state, failures, opened_us, retry_us = self._state(
            keys=[self.key], args=[int(self.cooloff * 1e6)]
        )
        opened = opened_us.decode() if isinstance(opened_us, bytes) else opened_us
        return BreakerState(
            state=state.decode() if isinstance(state, bytes) else str(state),
            failures=int(failures),
            opened_at=datetime.fromtimestamp(int(opened) / 1e6, tz=UTC) if opened else None,
            retry_in=int(retry_us) / 1e6,
        )

    def reset(self) -> None:
        """Force the breaker closed: for operators and tests."""
        self.client.delete(self.key)
