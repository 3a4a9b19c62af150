"""Keeping the store in shape: monthly partitions made before their rows arrive, ended months
packed, old months moved to the Parquet archive. None of these calls the API, so they record
their runs without the collection's wrapper (collectors.tasks.running); packing or archiving
a month of a large store outlasts an ordinary task's time limit, so those two have their own."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from collectors.fleet.lease import lease_seconds
from collectors.fleet.locks import task_lock
from collectors.models import CollectionRun
from collectors.runs.tracking import track_run
from collectors.tasks.running import collector_task
from marketdata import archive, partitions


@collector_task(bind=True)
def maintain_partitions(self):
    """This month and the next ones get their partitions before rows arrive, a month found in a
    default partition gets its own (marketdata.partitions); each ended month is queued for its
    indexes to be packed and each month past GECKO_HOT_MONTHS for the archive
    (marketdata.archive), a task each: on a month of 1,000 pools either outlives an ordinary
    task's time limit."""
    with track_run(self.name, {}, worker=self.request.hostname) as tally:
        now = timezone.now()
        created = partitions.ensure(now)
        cold = archive.cold_partitions(now, settings.GECKO_HOT_MONTHS)
        archived = {partitions.partition_name(table, month) for table, month in cold}
        loose = [name for name in partitions.ended_loose(now) if name not in archived]
        for name in loose:
            compact_partition.delay(name=name)
        for table, month in cold:
            archive_month.delay(table=table, month=month.isoformat())
        queued = ", ".join(f"{table} {month:%Y-%m}" for table, month in cold)
        tally.detail = (
            f"partitions created: {', '.join(created) or 'none'}; "
            f"queued for packing: {', '.join(loose) or 'none'}; "
            f"queued for the archive: {queued or 'none'}"
        )
    return tally.detail


@collector_task(
    bind=True,
    time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT,
    soft_time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT - 60,
)
def compact_partition(self, name: str):
    """Pack an ended month's indexes (marketdata.partitions.compact); one copy at a time."""
    arguments = {"name": name}
    with track_run(self.name, arguments, worker=self.request.hostname) as tally:
        with task_lock(self.name, arguments, ttl=lease_seconds()) as mine:
            if not mine:
                tally.detail = "another worker is packing this partition"
                return tally.detail
            packed = partitions.compact(name)
            tally.detail = f"{name} {'packed' if packed else 'is gone'}"
    return tally.detail


@collector_task(
    bind=True,
    time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT,
    soft_time_limit=settings.GECKO_MAINTENANCE_TIME_LIMIT - 60,
)
def archive_month(self, table: str, month: str):
    """Write one month to Parquet, verify it, drop its partition; one copy at a time. A table
    held by a long export (its detach would wait, and queue every write behind it) leaves the
    run waiting and the task retried in 10 minutes."""
    arguments, busy = {"table": table, "month": month}, False
    with track_run(self.name, arguments, worker=self.request.hostname) as tally:
        with task_lock(self.name, arguments, ttl=lease_seconds()) as mine:
            if not mine:
                tally.detail = "another worker is archiving this month"
                return tally.detail
            try:
                done = archive.archive_month(table, datetime.fromisoformat(month))
            except OperationalError as exc:
                if "lock timeout" not in str(exc):
                    raise
                busy = True
                tally.status = CollectionRun.Status.WAITING
                tally.detail = "the table was busy (an export?): tried again in 10 minutes"
            else:
                tally.detail = f"archived {done} to {done.path}"
    if busy:
        raise self.retry(countdown=600, max_retries=12)
    return tally.detail
