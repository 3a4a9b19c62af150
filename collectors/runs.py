"""Record every collection run in CollectionRun: what ran, what it wrote, why it failed."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from geckoproject import logs

from .models import CollectionRun


@dataclass
class RunTally:
    """What the body of a run reports back; saved on the CollectionRun row at the end."""

    items_written: int = 0
    api_calls: int = 0
    detail: str = ""
    status: str = CollectionRun.Status.OK
    discard: bool = False  # nothing happened worth a row (e.g. it waited before any call)


@contextmanager
def track_run(
    task: str,
    arguments: dict,
    correlation_id: str | None = None,
    interrupted_by: str | None = None,
) -> Iterator[RunTally]:
    """Open a CollectionRun, yield a tally to fill in, close the row with the outcome.

    An exception marks the run failed with its text and propagates. ``correlation_id`` (the
    Celery task id; by default the one bound for logging, else a new one) is stored on the
    row and bound to every log line of the block. A retry of a run that ended *waiting* has
    the same id and continues that row, adding its counts, instead of leaving it "waiting"
    forever beside a new one. ``interrupted_by`` (the outage a retry follows) also continues
    the row the interrupted attempt left running or failed: the database went away under it.
    """
    correlation = correlation_id or logs.correlation_id.get() or uuid.uuid4().hex
    bound = logs.correlation_id.set(correlation)
    statuses = [CollectionRun.Status.WAITING]
    if interrupted_by:
        statuses += [CollectionRun.Status.RUNNING, CollectionRun.Status.FAILED]
    run = _resume(task, correlation, statuses)
    resumed = run is not None
    if run is None:
        run = CollectionRun.objects.create(
            task=task, arguments=arguments, correlation_id=correlation
        )
    earlier = (run.items_written, run.api_calls, run.detail)
    tally = RunTally()
    try:
        yield tally
    except BaseException as exc:
        run.status = CollectionRun.Status.FAILED
        run.detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        raise
    else:
        run.status = tally.status
        run.detail = tally.detail
    finally:
        logs.correlation_id.reset(bound)
        if tally.discard and not resumed:
            run.delete()
        else:
            if interrupted_by:
                run.detail = f"{run.detail}\n(retried after an outage: {interrupted_by})".strip()
            if resumed:
                what = "an interrupted run" if interrupted_by else "a run that waited"
                run.detail = f"{run.detail}\n(retry of {what}: {earlier[2]})".strip()
            run.detail = run.detail[:10_000]
            run.finished_at = timezone.now()
            run.items_written = earlier[0] + tally.items_written
            run.api_calls = earlier[1] + tally.api_calls
            run.save()


def _resume(task: str, correlation: str, statuses: list[str]) -> CollectionRun | None:
    """This task id's row in one of ``statuses``, claimed back to running (None if none)."""
    run = (
        CollectionRun.objects.filter(correlation_id=correlation, task=task, status__in=statuses)
        .order_by("-id")
        .first()
    )
    if run is None:
        return None
    claimed = CollectionRun.objects.filter(pk=run.pk, status=run.status).update(
        status=CollectionRun.Status.RUNNING, finished_at=None
    )
    if not claimed:
        return None
    run.status, run.finished_at = CollectionRun.Status.RUNNING, None
    return run


def close_abandoned_runs(older_than: timedelta) -> int:
    """Mark runs still 'running' long past any time limit as failed: their worker died
    (acks_late re-delivers the task itself, which records a run of its own)."""
    cutoff = timezone.now() - older_than
    return CollectionRun.objects.filter(
        status=CollectionRun.Status.RUNNING, started_at__lt=cutoff
    ).update(
        status=CollectionRun.Status.FAILED,
        finished_at=timezone.now(),
        detail="abandoned: the worker stopped before the run finished",
    )
