"""The naive baseline for bench/ratelimit.py: Celery's own per-task ``rate_limit``.

Celery enforces ``rate_limit`` inside each worker process (one token bucket per consumer), so N
workers together may send N times the limit. bench/ratelimit.py starts N real workers on this
app to measure that, with ``BENCH_RATE_LIMIT`` (e.g. ``120/m``) and ``BENCH_REDIS_URL`` set:

    celery -A bench._celery_baseline worker --pool solo -Q bench.ratelimit -n w1@%h

Run as a script (``make bench`` runs every bench/*.py) it does nothing.
"""

from __future__ import annotations

import os
import time

import httpx
from celery import Celery

QUEUE = "bench.ratelimit"

app = Celery(
    "bench_baseline", broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,  # one message per worker: the queue is shared fairly
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
_http = httpx.Client(timeout=10)


@app.task(name="bench.fetch", rate_limit=os.environ.get("BENCH_RATE_LIMIT") or None)
def fetch(url: str, until: float) -> int:
    """One plain GET with no shared budget, as a task written against Celery alone would do.

    Tasks that reach a worker after ``until`` send nothing, so the phase ends on time.
    """
    if time.time() >= until:
        return 0
    return _http.get(url).status_code


if __name__ == "__main__":
    print("worker module for bench/ratelimit.py: run that script instead")
