"""Beat's scheduler, stamping a heartbeat on every tick for ``/healthz``.

The DatabaseScheduler ticks at least every ``max_interval`` (5 s) whether or not a task is
due, so the age of the last stamp says whether beat is alive, independent of how long the
schedules' intervals are. The stamp is Redis server time (one clock for every host), written
by one Lua call; a Redis outage only logs, it never stops beat.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from .redis_clock import BEAT_TICK_KEY

logger = logging.getLogger(__name__)

# ARGV: ttl seconds. The key expires, so a beat gone for a day reads as "never ticked".
_STAMP = """
local t = redis.call('TIME')
redis.call('SET', KEYS[1], t[1], 'EX', ARGV[1])
return t[1]
"""
STAMP_TTL_SECONDS = 86400


def record_beat_tick(client: redis.Redis) -> None:
    client.eval(_STAMP, 1, BEAT_TICK_KEY, STAMP_TTL_SECONDS)


class HeartbeatScheduler(DatabaseScheduler):
    """DatabaseScheduler that records each tick's time in Redis."""

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        try:
            if getattr(self, "_heartbeat_client", None) is None:
                self._heartbeat_client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
                )
            record_beat_tick(self._heartbeat_client)
        except redis.RedisError as exc:
            logger.warning("beat heartbeat not recorded: %s", type(exc).__name__)
        return interval
