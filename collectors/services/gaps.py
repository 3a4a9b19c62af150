"""Gap scan: re-derive candle gaps from coverage and pick the ones to backfill next."""

from __future__ import annotations

from marketdata.coverage import sync_gaps
from marketdata.models import Gap
from watchlist.models import WatchlistEntry


def scan_gaps(network: str, timeframes: list[str]) -> int:
    """Recompute the gaps of every active watchlist pool; returns how many are open."""
    pool_ids = WatchlistEntry.objects.collected_pool_ids(network)
    return sum(len(sync_gaps(pk, tf)) for pk in pool_ids for tf in timeframes)


def gaps_to_backfill(limit: int, *, max_attempts: int = 5) -> list[int]:
    """Open candle gaps, oldest detected first; gaps that failed too often become unfillable."""
    Gap.objects.filter(status=Gap.Status.OPEN, attempts__gte=max_attempts).exclude(
        timeframe=Gap.TRADES
    ).update(status=Gap.Status.UNFILLABLE, reason=f"still open after {max_attempts} backfills")
    return list(
        Gap.objects.filter(status=Gap.Status.OPEN)
        .exclude(timeframe=Gap.TRADES)
        .order_by("detected_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
