"""Gap scan: re-derive candle gaps from coverage and pick the ones to backfill next."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from collectors.fleet import inflight
from marketdata.coverage import sync_gaps
from marketdata.gap_scan import out_of_sync
from marketdata.history import forget_history_start
from marketdata.models import Gap
from watchlist.models import WatchlistEntry

GAP_BACKFILL = "backfill_gap"


def scan_gaps(network: str, timeframes: list[str]) -> int:
    """Recompute the gaps of every active watchlist pool; returns how many are open.

    Only the pairs whose gaps differ from their holes are synced (marketdata.gap_scan): one
    query finds them, where a sync per pool x timeframe took most of a replay's time."""
    pool_ids = WatchlistEntry.objects.collected_pool_ids(network)
    for pool_id, timeframe in sorted(out_of_sync(pool_ids, timeframes)):
        sync_gaps(pool_id, timeframe)
    return (
        Gap.objects.filter(status=Gap.Status.OPEN, pool_id__in=pool_ids, timeframe__in=timeframes)
        .exclude(timeframe=Gap.TRADES)
        .count()
    )


def gaps_to_backfill(limit: int) -> list[int]:
    """Open candle gaps not already queued or running, nor waiting out a backoff: those no
    backfill has left open first, then oldest detected first.

    Each one returned is claimed (collectors.fleet.inflight) for the caller to queue. No gap is
    given up here: only the API's answers make it unfillable (services.backfill, ``note_answer``).
    """
    chosen: list[int] = []
    now = timezone.now()
    candidates = (
        Gap.objects.filter(status=Gap.Status.OPEN)
        .exclude(timeframe=Gap.TRADES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("misses", "detected_at", "pk")
        .values_list("pk", flat=True)
    )
    for gap_id in candidates.iterator(chunk_size=500):
        if len(chosen) >= limit:
            break
        if claim_gap(gap_id):
            chosen.append(gap_id)
    return chosen


def note_answer(gap_id: int, answer: str) -> str:
    """A backfill left gap ``gap_id`` open after the API said ``answer``: back off, or give up.

    The gap waits GECKO_GAP_RETRY_BASE_SECONDS, doubling with each such backfill (at most
    GECKO_GAP_RETRY_MAX_SECONDS), so a gap the API will not fill cannot take every scan's
    slots. The same answer GECKO_GAP_SAME_ANSWERS times in a row makes it unfillable, with
    that answer as the reason. Returns the gap's status."""
    answer = answer[:255]
    now = timezone.now()
    with transaction.atomic():
        gap = Gap.objects.select_for_update().get(pk=gap_id)
        if gap.status != Gap.Status.OPEN:
            return gap.status
        gap.same_answers = gap.same_answers + 1 if gap.last_answer == answer else 1
        gap.last_answer = answer
        gap.misses += 1
        if gap.same_answers >= settings.GECKO_GAP_SAME_ANSWERS:
            gap.status = Gap.Status.UNFILLABLE
            gap.reason = f"the API gave the same answer {gap.same_answers} times: {answer}"[:255]
            gap.resolved_at = now
        else:
            wait = settings.GECKO_GAP_RETRY_BASE_SECONDS * 2 ** min(gap.misses - 1, 32)
            wait = min(wait, settings.GECKO_GAP_RETRY_MAX_SECONDS)
            gap.next_attempt_at = now + timedelta(seconds=wait)
        gap.save(
            update_fields=[
                "same_answers",
                "last_answer",
                "misses",
                "status",
                "reason",
                "resolved_at",
                "next_attempt_at",
            ]
        )
    return gap.status


def gap_unit(gap_id: int) -> str:
    return f"{GAP_BACKFILL}:{gap_id}"


def claim_gap(gap_id: int) -> bool:
    """True if the caller may queue the backfill of ``gap_id`` (it is not queued or running)."""
    return inflight.claim_one(gap_unit(gap_id))


def keep_gap(gap_id: int) -> None:
    """The backfill of ``gap_id`` is queued again (a retry or a continuation): keep its claim."""
    inflight.keep(gap_unit(gap_id))


def release_gap(gap_id: int) -> None:
    """The backfill of ``gap_id`` is over (done or failed): a later scan may queue it again."""
    inflight.release([gap_unit(gap_id)])


def reopen_gaps(chosen: QuerySet[Gap]) -> list[int]:
    """An operator's second chance: candle gaps back to open with no attempts, answers or
    backoff, and the API asked again about time before the history start they were judged
    against."""
    with transaction.atomic():
        gaps = list(chosen.exclude(timeframe=Gap.TRADES).select_for_update())
        for gap in gaps:
            forget_history_start(gap.pool_id, gap.timeframe, after=gap.start)
        Gap.objects.filter(pk__in=[g.pk for g in gaps]).update(
            status=Gap.Status.OPEN,
            attempts=0,
            resolved_at=None,
            reason="re-opened by an operator",
            misses=0,
            next_attempt_at=None,
            last_answer="",
            same_answers=0,
        )
    return [g.pk for g in gaps]
