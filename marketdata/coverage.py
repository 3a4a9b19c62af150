"""Coverage bookkeeping and gap detection for candles.

A collector that fetched the API's answer for [start, end) of a (pool, timeframe) records it
here; ranges are merged so each (pool, timeframe) holds a few disjoint ranges. Gaps are the
holes *between* covered ranges: time we never asked about. Time before the first covered range
is history (the backfill command's business) and time after the last one is the next live
fetch's business, so neither is a gap, unless something flagged it: a backfill that failed
(before the first range) or an answer whose newest candles were rejected (after the last); such
a gap row stays open until covered.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from .models import CandleCoverage, Gap


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime


def _lock(pool_id: int, timeframe: str) -> None:
    """Serialise coverage writers of one (pool, timeframe) for this transaction."""
    key = zlib.crc32(f"coverage:{pool_id}:{timeframe}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock_writers(pool_id: int, timeframe: str) -> None:
    """Take the coverage lock before writing candles too (collectors.services.ohlcv), so no
    two writers of one (pool, timeframe) race; record_coverage(locked=True) then skips it."""
    _lock(pool_id, timeframe)


def record_coverage(
    pool_id: int, timeframe: str, start: datetime, end: datetime, *, locked: bool = False
) -> Span:
    """Add [start, end) to the coverage, merging with ranges it overlaps or touches.

    Two statements (lock, then delete-the-touching-and-insert-the-merged; ``locked``: the
    caller's transaction holds lock_writers already), no savepoint: a backfill records
    coverage once per page, inside the page's own transaction."""
    if end <= start:
        raise ValueError(f"coverage range must end after it starts: {start} .. {end}")
    table = CandleCoverage._meta.db_table
    sql = (
        f"WITH gone AS (DELETE FROM {table} WHERE pool_id = %s AND timeframe = %s"  # noqa: S608
        ' AND start <= %s AND "end" >= %s RETURNING start, "end")'
        f' INSERT INTO {table} (pool_id, timeframe, start, "end")'
        ' SELECT %s, %s, LEAST(%s, min(start)), GREATEST(%s, max("end")) FROM gone'
        ' RETURNING start, "end"'
    )
    with transaction.atomic(savepoint=False):
        if not locked:
            _lock(pool_id, timeframe)
        with connection.cursor() as cursor:
            cursor.execute(sql, [pool_id, timeframe, end, start, pool_id, timeframe, start, end])
            merged_start, merged_end = cursor.fetchone()
    return Span(merged_start, merged_end)


def covered_spans(pool_id: int, timeframe: str) -> list[Span]:
    rows = CandleCoverage.objects.filter(pool_id=pool_id, timeframe=timeframe).order_by("start")
    return [Span(s, e) for s, e in rows.values_list("start", "end")]


def holes(pool_id: int, timeframe: str) -> list[Span]:
    """The uncovered ranges between covered ones, oldest first."""
    spans = covered_spans(pool_id, timeframe)
    return [Span(a.end, b.start) for a, b in zip(spans, spans[1:], strict=False) if b.start > a.end]


def flag_uncovered_tail(
    pool_id: int, timeframe: str, start: datetime, end: datetime, *, reason: str
) -> Gap | None:
    """Open a gap for [start, end) when no covered range ends after ``start``: time an answer
    could not vouch for (a rejected candle) that sync_gaps sees as a hole only once something
    later is covered. Call it under lock_writers, in the writer's transaction."""
    last = CandleCoverage.objects.filter(pool_id=pool_id, timeframe=timeframe).aggregate(
        last=Max("end")
    )["last"]
    if last is not None and start < last:
        return None
    gap, created = Gap.objects.get_or_create(
        pool_id=pool_id,
        timeframe=timeframe,
        start=start,
        defaults={"end": end, "reason": reason[: Gap._meta.get_field("reason").max_length]},
    )
    if not created and gap.status == Gap.Status.FILLED:
        gap.end, gap.status, gap.resolved_at = end, Gap.Status.OPEN, None
        gap.save(update_fields=["end", "status", "resolved_at"])
    return gap


def sync_gaps(pool_id: int, timeframe: str, *, reason: str = "range never fetched") -> list[Gap]:
    """Make the open Gap rows of a (pool, timeframe) equal its current holes.

    Holes become open gaps (an existing row with the same start is refreshed); open gaps that
    are no longer holes are marked filled. Gaps an operator or backfill marked unfillable stay.
    Returns the open gaps. Holes are read under the coverage lock, in the same transaction:
    holes read before a concurrent writer commits would reopen the gaps it filled, close the
    ones it opened, or insert a gap it inserted too.
    """
    now = timezone.now()
    with transaction.atomic():
        _lock(pool_id, timeframe)
        spans = covered_spans(pool_id, timeframe)
        first = spans[0].start if spans else None
        last = spans[-1].end if spans else None
        current = [
            Span(a.end, b.start) for a, b in zip(spans, spans[1:], strict=False) if b.start > a.end
        ]
        existing = {
            g.start: g
            for g in Gap.objects.select_for_update().filter(pool_id=pool_id, timeframe=timeframe)
        }
        open_gaps = []
        for hole in current:
            gap = existing.get(hole.start)
            if gap is None:
                gap = Gap.objects.create(
                    pool_id=pool_id,
                    timeframe=timeframe,
                    start=hole.start,
                    end=hole.end,
                    reason=reason,
                )
            elif gap.status != Gap.Status.UNFILLABLE and (
                gap.end != hole.end or gap.status != Gap.Status.OPEN
            ):
                gap.end, gap.status, gap.resolved_at = hole.end, Gap.Status.OPEN, None
                gap.save(update_fields=["end", "status", "resolved_at"])
            if gap.status == Gap.Status.OPEN:
                open_gaps.append(gap)
        starts = {h.start for h in current}
        filled = []
        for start, gap in existing.items():
            if start in starts or gap.status != Gap.Status.OPEN:
                continue
            if first is None or start < first:
                # Before every covered range (a failed backfill's rest): no hole, still unfetched.
                if first is not None and gap.end > first:
                    gap.end = first
                    gap.save(update_fields=["end"])
                open_gaps.append(gap)
            elif start >= last:
                # After every covered range (flag_uncovered_tail): still unfetched.
                open_gaps.append(gap)
            else:
                filled.append(gap.pk)
        Gap.objects.filter(pk__in=filled).update(status=Gap.Status.FILLED, resolved_at=now)
    return open_gaps
