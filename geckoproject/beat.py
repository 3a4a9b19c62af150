"""Beat's scheduler: the DatabaseScheduler, stamping a heartbeat on every tick for ``/healthz``,
and outliving a database outage.

The DatabaseScheduler ticks at least every ``max_interval`` (5 s) whether or not a task is
due, so the age of the last stamp says whether beat is alive, independent of how long the
schedules' intervals are. The stamp is Redis server time (one clock for every host), written
by one Lua call; a Redis outage only logs, it never stops beat.

django-celery-beat reads the schedule from PostgreSQL at start and again when it changes; a
database error there escaped and beat exited (code 1), so a beat started or re-reading while
the database restarted planned nothing until someone restarted it. Here it waits and reads
again, backing off up to ``DB_RETRY_MAX`` seconds; what was due meanwhile is sent once, late.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import time

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections
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
DB_RETRY_MAX = 30.0
DB_ERRORS = (DatabaseError, InterfaceError)


def record_beat_tick(client: redis.Redis) -> None:
    client.eval(_STAMP, 1, BEAT_TICK_KEY, STAMP_TTL_SECONDS)


class HeartbeatScheduler(DatabaseScheduler):
    """DatabaseScheduler that records each tick's time in Redis and waits out the database."""

    def setup_schedule(self):
        for attempt in itertools.count():
            try:
                return super().setup_schedule()
            except DB_ERRORS as exc:
                wait = min(DB_RETRY_MAX, 2.0**attempt)
                self._database_lost(exc, f"reading the schedule again in {wait:.0f}s")
                time.sleep(wait)

    def tick(self, *args, **kwargs):
        try:
            interval = super().tick(*args, **kwargs)
        except DB_ERRORS as exc:
            interval = min(self.max_interval, 5)
            self._database_lost(exc, f"trying again in {interval:.0f}s")
        try:
            if getattr(self, "_heartbeat_client", None) is None:
                self._heartbeat_client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
                )
            record_beat_tick(self._heartbeat_client)
        except redis.RedisError as exc:
            logger.warning("beat heartbeat not recorded: %s", type(exc).__name__)
        return interval

    def _database_lost(self, exc: Exception, then: str) -> None:
        """Forget the half-read schedule so the next look reads it all again."""
        logger.warning(
            "beat: the database is unavailable (%s: %s); %s",
            type(exc).__name__,
            str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "",
            then,
        )
        close_old_connections()
        if self._schedule is None:
            self._initial_read = True
        self._last_full_sync = datetime.datetime.min  # noqa: DTZ901 (the library compares naive times)
