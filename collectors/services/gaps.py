"""Gap scan: re-derive candle gaps from coverage and pick the ones to backfill next."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from marketdata.coverage import sync_gaps
from marketdata.history import forget_history_start
from marketdata.models import Gap
from watchlist.models import WatchlistEntry

from .. import inflight

GAP_BACKFILL = "backfill_gap"


def scan_gaps(network: str, timeframes: list[str]) -> int:
    """Recompute the gaps of every active watchlist pool; returns how many are open."""
    pool_ids = WatchlistEntry.objects.collected_pool_ids(network)
    return sum(len(sync_gaps(pk, tf)) for pk in pool_ids for tf in timeframes)


def gaps_to_backfill(limit: int) -> list[int]:
    """Open candle gaps, oldest detected first, that are not already queued or running.

    Each one returned is claimed (collectors.inflight) for the caller to queue. No gap is given
    up here: only an API answer showing its range empty makes it unfillable (services.backfill).
    """
    chosen: list[int] = []
    candidates = (
        Gap.objects.filter(status=Gap.Status.OPEN)
        .exclude(timeframe=Gap.TRADES)
        .order_by("detected_at", "pk")
        .values_list("pk", flat=True)
    )
    for gap_id in candidates.iterator(chunk_size=500):
        if len(chosen) >= limit:
            break
        if inflight.claim(GAP_BACKFILL, gap_id):
            chosen.append(gap_id)
    return chosen


def release_gap(gap_id: int) -> None:
    """The backfill of ``gap_id`` is over (done or failed): a later scan may queue it again."""
    inflight.release(GAP_BACKFILL, gap_id)


def reopen_gaps(chosen: QuerySet[Gap]) -> list[int]:
    """An operator's second chance: candle gaps back to open with no attempts, and the API
    asked again about time before the history start they were judged against."""
    with transaction.atomic():
        gaps = list(chosen.exclude(timeframe=Gap.TRADES).select_for_update())
        for gap in gaps:
            forget_history_start(gap.pool_id, gap.timeframe, after=gap.start)
        Gap.objects.filter(pk__in=[g.pk for g in gaps]).update(
            status=Gap.Status.OPEN, attempts=0, resolved_at=None, reason="re-opened by an operator"
        )
    return [g.pk for g in gaps]
