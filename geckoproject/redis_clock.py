"""Redis server time: the one clock every host of the fleet reads.

Hosts' clocks disagree; the bucket, the breaker, beat's tick stamps and their readers must not.
Lua scripts read ``TIME`` inside the script (atomic with what they write); Python code that
compares against what they wrote reads it here.
"""

from __future__ import annotations

import redis

BEAT_TICK_KEY = "gecko:beat:last_tick"


def server_micros(client: redis.Redis) -> int:
    """Redis server time in epoch microseconds."""
    seconds, micros = client.time()
    return seconds * 1_000_000 + micros


def server_time(client: redis.Redis) -> float:
    """Redis server time in epoch seconds."""
    return server_micros(client) / 1e6


def beat_tick_age(client: redis.Redis) -> int | None:
    """Seconds since beat's last tick stamp (geckoproject.beat), by Redis's clock; None when
    there is no stamp (no beat within the stamp's lifetime)."""
    stamp = client.get(BEAT_TICK_KEY)
    if stamp is None:
        return None
    return max(0, client.time()[0] - int(stamp))
