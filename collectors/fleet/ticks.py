"""One run per beat tick, however many beats send it.

Two beats running at once (a rolling deploy) both send every due PeriodicTask, doubling the
planners' fan-out. A task beat sent claims its tick in Redis (``SET NX``), keyed by the
PeriodicTask and the slot its send time falls in, ``floor(sent_at / interval)``; the other
beat's copy of the same tick finds it claimed and does nothing. A leader lock would need
renewing and would stall every schedule while a dead leader's lock ran out; this needs neither.

- The send time is stamped by the beat process (``stamp_beat_send``), so a copy that waited in
  the queue still counts for the tick it was sent for, and one beat's consecutive ticks (at
  least an interval apart) never share a slot. The stamp is Redis server time, one clock for
  every host: two beats on hosts whose clocks disagree by more than a claim's life would
  otherwise never meet in a slot, and every tick would run twice.
- The claim is owned by the task id: a retry or redelivery of the tick's own message runs.
- Crontab, solar and clocked schedules fire at most once a minute: their slot is a minute.
- Only messages beat sent are ticks; commands and the admin's "run now" always run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import redis

from collectors.fleet.locks import claim, redis_client
from geckoproject import redis_clock

logger = logging.getLogger(__name__)

BEAT_HEADER = "celery_beat_task"  # celery beat sets it on every message it sends
NAME_HEADER = "periodic_task_name"  # django-celery-beat: the PeriodicTask's name
SENT_AT_HEADER = "beat_sent_at"  # stamp_beat_send: Redis server time at publishing
OTHER_SCHEDULE_SLOT = 60.0


def server_time() -> float:
    """Redis server time in epoch seconds (this host's clock if Redis cannot be asked)."""
    try:
        return redis_clock.server_time(redis_client())
    except redis.RedisError as exc:
        logger.warning("beat tick stamped with this host's clock: %s", type(exc).__name__)
        return time.time()


def stamp_beat_send(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish`` handler: note when beat sent a tick (a retry keeps the stamp)."""
    if headers is not None and headers.get(BEAT_HEADER) and SENT_AT_HEADER not in headers:
        headers[SENT_AT_HEADER] = server_time()


def slot_seconds(periodic_task_name: str) -> float:
    """The PeriodicTask's interval in seconds; a minute for other (or deleted) schedules."""
    from django_celery_beat.models import PeriodicTask

    periodic = PeriodicTask.objects.select_related("interval").filter(name=periodic_task_name)
    entry = periodic.first()
    if entry is None or entry.interval is None:
        return OTHER_SCHEDULE_SLOT
    return max(1.0, entry.interval.schedule.run_every.total_seconds())


def tick_key(headers: dict[str, Any] | None) -> tuple[str, float] | None:
    """Redis key and TTL of the tick a message belongs to; None if beat did not send it."""
    headers = headers or {}
    name = headers.get(NAME_HEADER)
    if not headers.get(BEAT_HEADER) or not name:
        return None
    seconds = slot_seconds(name)
    slot = int(float(headers.get(SENT_AT_HEADER) or time.time()) // seconds)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"gecko:tick:{digest}:{seconds:g}:{slot}", 2 * seconds + 60


def claim_tick(headers: dict[str, Any] | None, task_id: str | None) -> bool:
    """False when another message already ran this tick; True otherwise (or not a tick)."""
    tick = tick_key(headers)
    if tick is None or task_id is None:
        return True
    key, ttl = tick
    return claim(key, task_id, ttl)
