"""Helpers for the kill tests: SIGKILL a whole worker, wait on conditions, read the broker."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import redis

from .celery_worker import child_pids
from .waiting import wait_until

# A short visibility timeout for test workers (CELERY_BROKER_VISIBILITY_TIMEOUT): the broker
# hands a dead worker's unacknowledged message out again once it is this old.
VISIBILITY_TIMEOUT = 6


def kill_whole_worker(worker: subprocess.Popen) -> None:
    """SIGKILL the worker's main process and its pool children at once, as an OOM-kill or a
    host crash would: no warm shutdown, no requeue, no ack."""
    children = child_pids(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    for child in children:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=10)
    wait_until(lambda: not any(_alive(c) for c in children), 10, "the pool children to die")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def unacked_ages(client: redis.Redis) -> list[float]:
    """Seconds since the broker delivered each message no worker acknowledged (kombu's
    ``unacked_index``: a message is restored to its queue once older than the timeout)."""
    now = time.time()
    return [now - score for _, score in client.zrange("unacked_index", 0, -1, withscores=True)]
