"""How every collector task runs, kept in one place so no task can run differently.

A lock, a CollectionRun row, beat's tick claimed once, the API client's counts on the row, and
one answer to each way a run can be cut short: the rate limit (MustWait), API faults that
outlasted the client's attempts, a database or Redis outage, a retry that would outlive its
message. The task modules beside this one only say what a run does.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from collectors.fleet import inflight
from collectors.fleet.lease import lease_seconds
from collectors.fleet.locks import task_lock
from collectors.fleet.ticks import claim_tick
from collectors.gecko.client import GeckoClient
from collectors.gecko.errors import GeckoError, MustWait
from collectors.models import CollectionRun
from collectors.planner import service as planner
from collectors.runs.tracking import RunTally, close_superseded_run, track_run

# "collectors.tasks", the name log lines carried before the tasks were split into modules.
logger = logging.getLogger(__package__)

FETCH = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": None}
FAULT_RETRIES_HEADER = "gecko_fault_retries"
EXPIRY_MARGIN = 1.0  # seconds a retry must be due before its message expires


def collector_task(**options: Any) -> Callable[[Callable[..., Any]], Task]:
    """``shared_task`` under the name ``collectors.tasks.<function>``, whichever module of the
    package defines it: schedule rows, CELERY_TASK_ROUTES, queued messages and CollectionRun
    rows all name the tasks so."""

    def register(function: Callable[..., Any]) -> Task:
        return shared_task(name=f"collectors.tasks.{function.__name__}", **options)(function)

    return register


def _expires_in(task: Task) -> float | None:
    """Seconds until the task's message expires (None: it never does)."""
    expires = task.request.expires
    if not expires:
        return None
    moment = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    return (moment - timezone.now()).total_seconds()


# PostgreSQL or Redis restarting or unreachable (or a session killed): the work is retried once
# it is back, never failed and forgotten. The reason rides on the retry (header) onto the run's row.
OUTAGES = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
OUTAGE_HEADER = "gecko_outage"
OUTAGE_RETRY_MAX = 30.0
# Redis is the broker too: publishing the retry waits for it to come back (about a minute)
# instead of failing the task, which would then be acked and its work lost.
OUTAGE_PUBLISH = {"max_retries": 60, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 1}


def _in_flight(task: Task, unit: str):
    """Keep ``unit`` in flight while the task runs, and until its retry message expires."""
    left = _expires_in(task)
    left = 60.0 if left is None else left
    return inflight.running(unit, retry_ttl=max(1.0, left + planner.INFLIGHT_MARGIN))


def retry_headers(task: Task, **marks: Any) -> dict[str, Any]:
    """A retry's headers: the request's own (beat's tick stamp, earlier marks) plus ``marks``.
    Passing headers replaces Celery's copy of them, so every retry that marks builds them here."""
    return {**(task.request.headers or {}), **marks}


def _run(
    task: Task,
    body: Callable[[RunTally], Any],
    *,
    lane: str | None = None,
    redis_lock: bool = True,
    **arguments,
):
    """Lock, record, run ``body``; a MustWait from the client becomes a retry with countdown,
    so does a transient fault that outlasted the client's attempts (up to a limit), and so
    does a database or Redis outage (backing off 2, 4, 8 ... 30 s; never swallowed).

    A beat tick another beat's copy already ran is skipped (collectors.fleet.ticks). ``redis_lock``
    False: the body serialises itself with a lock that dies with its holder (a backfill's
    PostgreSQL advisory lock), so a task queued again after its worker was killed runs at
    once instead of being skipped for the dead task's Redis lock until its TTL."""
    try:
        return _run_once(task, body, lane=lane, redis_lock=redis_lock, **arguments)
    except OUTAGES as exc:
        # Drop the dead connection too: the retry runs on a new one.
        close_old_connections()
        countdown = min(OUTAGE_RETRY_MAX, 2.0 ** (task.request.retries + 1))
        reason = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        logger.warning(
            "%s %s: database or Redis unavailable (%s); retry in %.0fs",
            task.name, arguments, reason, countdown,
        )  # fmt: skip
        raise task.retry(
            countdown=countdown,
            exc=exc,
            max_retries=None,
            headers=retry_headers(task, **{OUTAGE_HEADER: reason}),
            retry_policy=OUTAGE_PUBLISH,
        ) from exc


def _run_once(task: Task, body, *, lane: str | None, redis_lock: bool, **arguments):
    if not claim_tick(task.request.headers, task.request.id):
        logger.info("%s %s: this beat tick already ran, skipped", task.name, arguments)
        return {"skipped": True}
    locking = (
        task_lock(task.name, arguments, lease_seconds(), owner=task.request.id)
        if redis_lock
        else nullcontext(True)
    )
    with locking as acquired:
        if not acquired:
            logger.info("%s %s: same work already running, skipped", task.name, arguments)
            close_superseded_run(task.request.id)
            return {"skipped": True}
        later: Later | None = None
        outage = (task.request.headers or {}).get(OUTAGE_HEADER)
        with track_run(
            task.name,
            arguments,
            correlation_id=task.request.id,
            worker=task.request.hostname,
            interrupted_by=outage,
        ) as tally:
            client = GeckoClient(lane=lane) if lane else None
            try:
                result = body(tally) if client is None else body(tally, client)
            except MustWait as exc:
                later, result = Later(exc.seconds, exc), None
                tally.status, tally.detail = CollectionRun.Status.WAITING, str(exc)
            except GeckoError as exc:
                if not exc.retryable:
                    raise
                later = _after_faults(task, exc, tally)
                result = None if later else {"failed": tally.detail}
            finally:
                if client is not None:
                    stats = client.stats
                    tally.api_calls, tally.errors = stats.calls, stats.errors
                    tally.throttled, tally.last_errors = stats.throttled, stats.last_errors
                    client.close()
            # A task refused its first token did nothing: its retry records the run, so a
            # queue waiting on the rate limit does not fill the table with empty rows.
            tally.discard = tally.discard or (
                later is not None
                and isinstance(later.error, MustWait)
                and tally.api_calls == 0
                and not tally.items_written
            )
            if later is not None and _too_late(task, later.seconds):
                tally.status = CollectionRun.Status.EXPIRED
                tally.detail = (
                    f"expired: the next plan re-queues it (a retry in {later.seconds:.0f}s "
                    f"would outlive the task's expiry)\n{tally.detail}"
                )
                later, result = None, {"expired": tally.detail}
    if later is not None:
        raise task.retry(countdown=later.seconds, exc=later.error, headers=later.headers(task))
    return result


def _too_late(task: Task, countdown: float) -> bool:
    """Celery discards a message received after its expiry: a retry due then would never run
    and leave its run "waiting" forever."""
    left = _expires_in(task)
    return left is not None and countdown + EXPIRY_MARGIN >= left


@dataclass
class Later:
    """A retry to schedule: after ``seconds``, for ``error``; ``faults`` counts the retries
    spent on transient faults so far (carried in the retry's headers)."""

    seconds: float
    error: GeckoError
    faults: int | None = None

    def headers(self, task: Task) -> dict[str, Any] | None:
        if self.faults is None:
            return None  # Celery copies the request's own headers
        return retry_headers(task, **{FAULT_RETRIES_HEADER: self.faults})


def _after_faults(task: Task, error: GeckoError, tally: RunTally) -> Later | None:
    """Every attempt of a call met a transient fault: wait and retry the task with a doubling,
    jittered countdown, or, past GECKO_TASK_FAULT_RETRIES, fail the run (one ERROR line, no
    traceback: the planner plans the unit again and the collection is gap-aware)."""
    done = int((task.request.headers or {}).get(FAULT_RETRIES_HEADER) or 0)
    limit = settings.GECKO_TASK_FAULT_RETRIES
    if done >= limit:
        tally.status = CollectionRun.Status.FAILED
        tally.detail = f"gave up after {done + 1} tries, every API attempt a fault; last: {error}"
        logger.error("%s: %s", task.name, tally.detail)
        return None
    seconds = settings.GECKO_TASK_FAULT_BACKOFF * 2**done * random.uniform(0.5, 1.0)
    tally.status = CollectionRun.Status.WAITING
    tally.detail = (
        f"API faults on every attempt ({error}); retry {done + 1}/{limit} in {seconds:.0f}s"
    )
    return Later(seconds, error, faults=done + 1)
