"""Record every collection run in CollectionRun: what ran, what it wrote, why it failed."""

from __future__ import annotations

import socket
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.management import CommandError
from django.db import InterfaceError, OperationalError, close_old_connections
from django.db.models import Value
from django.db.models.functions import Concat, Now

from collectors.gecko.errors import Unreachable
from collectors.models import CollectionRun
from geckoproject import logs


@dataclass
class RunTally:
    """What the body of a run reports back; saved on the CollectionRun row at the end."""

    items_written: int = 0
    api_calls: int = 0
    errors: int = 0  # API calls that failed (collectors.gecko.client.CallStats)
    throttled: int = 0
    last_errors: list[str] = field(default_factory=list)
    detail: str = ""
    status: str = CollectionRun.Status.OK
    discard: bool = False  # nothing happened worth a row (e.g. it waited before any call)


@contextmanager
def track_run(
    task: str,
    arguments: dict,
    correlation_id: str | None = None,
    worker: str | None = None,
    interrupted_by: str | None = None,
) -> Iterator[RunTally]:
    """Open a CollectionRun, yield a tally to fill in, close the row with the outcome.

    An exception marks the run failed with its text and propagates. ``correlation_id`` (the
    Celery task id; by default the one bound for logging, else a new one) is stored on the
    row and bound to every log line of the block. A retry of a run that ended *waiting* has
    the same id and continues that row, adding its counts, instead of leaving it "waiting"
    forever beside a new one. ``interrupted_by`` (the outage a retry follows) also continues
    the row the interrupted attempt left running or failed: the database went away under it.
    Otherwise a row of this id still *running* is a copy whose worker died (the message was
    redelivered): it is closed as failed at once. ``worker`` (the Celery worker's name@host;
    by default this host's name) says where it ran: with workers on several hosts, the one
    to read logs on.
    """
    correlation = correlation_id or logs.correlation_id.get() or uuid.uuid4().hex
    worker = (worker or socket.gethostname())[:255]
    bound = logs.correlation_id.set(correlation)
    statuses = [CollectionRun.Status.WAITING]
    if interrupted_by:
        statuses += [CollectionRun.Status.RUNNING, CollectionRun.Status.FAILED]
    else:
        _close_dead_copy(task, correlation)
    run = _resume(task, correlation, statuses, worker)
    resumed = run is not None
    if run is None:
        run = CollectionRun.objects.create(
            task=task, arguments=arguments, correlation_id=correlation, worker=worker
        )
    earlier = (run.items_written, run.api_calls, run.detail, run.errors, run.throttled)
    tally = RunTally()
    try:
        yield tally
    except BaseException as exc:
        run.status = CollectionRun.Status.FAILED
        run.detail = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, Unreachable | CommandError):  # a message for the user, whole
            run.detail += f"\n{traceback.format_exc(limit=5)}"
        raise
    else:
        run.status = tally.status
        run.detail = tally.detail
    finally:
        logs.correlation_id.reset(bound)
        if tally.discard and not resumed:
            run.delete()
        else:
            if tally.errors:
                run.detail = f"{run.detail}\n{_faults(tally)}".strip()
            if interrupted_by:
                run.detail = f"{run.detail}\n(retried after an outage: {interrupted_by})".strip()
            if resumed:
                what = "an interrupted run" if interrupted_by else "a run that waited"
                run.detail = f"{run.detail}\n(retry of {what}: {earlier[2]})".strip()
            run.detail = run.detail[:10_000]
            # The database's clock, as for started_at: a worker host's may be skewed.
            run.finished_at = Now()
            run.items_written = earlier[0] + tally.items_written
            run.api_calls = earlier[1] + tally.api_calls
            run.errors = earlier[3] + tally.errors
            run.throttled = earlier[4] + tally.throttled
            _save(run)


def _faults(tally: RunTally) -> str:
    """One line an operator reads in the admin list: how many calls failed, and the last."""
    plural = "" if tally.errors == 1 else "s"
    last = " | ".join(tally.last_errors)
    return f"{tally.errors} failed API call{plural} ({tally.throttled} throttled); last: {last}"


def _save(run: CollectionRun) -> None:
    """Save the row, once more on a new connection if the database dropped this one (a run that
    failed for a lost connection must still say so)."""
    try:
        run.save()
    except (OperationalError, InterfaceError):
        close_old_connections()
        run.save()


def _close_dead_copy(task: str, correlation: str) -> int:
    """Fail the running row of an earlier delivery of this message: only one copy of a task id
    runs at a time (its lock), so that copy's worker died without closing it."""
    return CollectionRun.objects.filter(
        correlation_id=correlation, task=task, status=CollectionRun.Status.RUNNING
    ).update(
        status=CollectionRun.Status.FAILED,
        finished_at=Now(),
        detail="abandoned: the worker died before the run finished; the task was redelivered",
    )


def _resume(task: str, correlation: str, statuses: list[str], worker: str) -> CollectionRun | None:
    """This task id's row in one of ``statuses``, claimed back to running by ``worker`` (a
    retry may run on another host); None if there is none."""
    run = (
        CollectionRun.objects.filter(correlation_id=correlation, task=task, status__in=statuses)
        .order_by("-id")
        .first()
    )
    if run is None:
        return None
    claimed = CollectionRun.objects.filter(pk=run.pk, status=run.status).update(
        status=CollectionRun.Status.RUNNING, finished_at=None, worker=worker
    )
    if not claimed:
        return None
    run.status, run.finished_at, run.worker = CollectionRun.Status.RUNNING, None, worker
    return run


EXPIRED_ON_ARRIVAL = "expired: the next plan re-queues it (no worker took its retry in time)\n"


def close_discarded_run(sender=None, request=None, expired: bool = False, **_: object) -> None:
    """Celery's task_revoked: a message taken after its expiry (or revoked) is dropped without
    running, so the run waiting for that retry is closed here (expired, or failed: revoked)."""
    task_id = getattr(request, "id", None)
    if not task_id:
        return
    if expired:
        status, note = CollectionRun.Status.EXPIRED, EXPIRED_ON_ARRIVAL
    else:
        status, note = CollectionRun.Status.FAILED, "revoked before its retry ran\n"
    CollectionRun.objects.filter(
        correlation_id=task_id, status=CollectionRun.Status.WAITING
    ).update(status=status, finished_at=Now(), detail=Concat(Value(note), "detail"))


SUPERSEDED = "superseded: the same work ran in another task when this retry came\n"


def close_superseded_run(task_id: str | None) -> None:
    """A retry skipped because another task holds the same work's lock (the planner queued it
    again during the countdown) never runs: close the run waiting for it, or it would wait
    until the sweep of abandoned runs."""
    if task_id:
        CollectionRun.objects.filter(
            correlation_id=task_id, status=CollectionRun.Status.WAITING
        ).update(
            status=CollectionRun.Status.EXPIRED,
            finished_at=Now(),
            detail=Concat(Value(SUPERSEDED), "detail"),
        )


def close_abandoned_runs(older_than: timedelta) -> int:
    """Mark runs still 'running' long past any time limit as failed: their worker died
    (acks_late re-delivers the task itself, which records a run of its own). Runs 'waiting'
    that long are closed as expired: their retry never came (its message expired, or the
    worker holding its countdown died); the planner queues the work again. Ages are read on
    the database's clock, which stamped started_at, not on this host's."""
    cutoff = Now() - older_than
    runs = CollectionRun.objects
    dead = runs.filter(status=CollectionRun.Status.RUNNING, started_at__lt=cutoff).update(
        status=CollectionRun.Status.FAILED,
        finished_at=Now(),
        detail="abandoned: the worker stopped before the run finished",
    )
    note = Value(f"expired: its retry never ran (waited over {older_than})\n")
    stale = runs.filter(status=CollectionRun.Status.WAITING, finished_at__lt=cutoff).update(
        status=CollectionRun.Status.EXPIRED,
        finished_at=Now(),
        detail=Concat(note, "detail"),
    )
    return dead + stale
