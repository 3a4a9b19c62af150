"""Short Redis TTLs renewed while their holder lives: a lease.

A running task's lock and in-flight claim used to last the hard time limit (16 min), so a
worker killed outright (SIGKILL, OOM, host crash) blocked its work that long: the planner
would not queue the unit again and a new task found the lock taken. Now they last
``GECKO_LEASE_SECONDS`` and a thread of the holder renews them a few times a lease; when the
holder dies the renewals stop and the keys lapse within one lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    return max(1, int(settings.GECKO_LEASE_SECONDS))


@contextmanager
def renewing(renew: Callable[[], object], seconds: float) -> Iterator[None]:
    """Call ``renew`` every third of ``seconds`` until the block ends (in a daemon thread, so
    a task busy in one long call keeps its keys)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds / 3):
            try:
                renew()
            except redis.RedisError as exc:
                logger.warning("lease not renewed: %s", type(exc).__name__)

    thread = threading.Thread(target=loop, name="lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
