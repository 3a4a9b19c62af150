"""Record every collection run in CollectionRun: what ran, what it wrote, why it failed."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

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
def track_run(task: str, arguments: dict) -> Iterator[RunTally]:
    """Open a CollectionRun, yield a tally to fill in, close the row with the outcome.

    An exception marks the run failed with its text and propagates.
    """
    run = CollectionRun.objects.create(task=task, arguments=arguments)
    tally = RunTally()
    try:
        yield tally
    except BaseException as exc:
        run.status = CollectionRun.Status.FAILED
        run.detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:10_000]
        raise
    else:
        run.status = tally.status
        run.detail = tally.detail[:10_000]
    finally:
        if tally.discard:
            run.delete()
        else:
            run.finished_at = timezone.now()
            run.items_written = tally.items_written
            run.api_calls = tally.api_calls
            run.save()


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
