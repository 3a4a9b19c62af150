"""Trades for watchlist pools: upsert by trade id, flag possible gaps, rotate fairly.

The API gives only the last ≤300 trades of the past 24 h, with no cursor. What we have seen of a
pool runs up to our newest stored trade; with none stored, up to the last poll (it answered
nothing newer); never polled, up to when we started watching it (the watchlist entry's
``added_at``). Trades may be lost, and the range is recorded as a trade Gap (it cannot be
backfilled; it tells operators to poll that pool faster or raise the USD threshold), when:
- it returns its full 300 and even the oldest is newer than what we had seen (the flag runs
  through the oldest trade's second: the cut at 300 may split it); or
- what we had seen ends before the 24 h window and nobody polled the pool since before that
  window opened (a poll's answer counts as a CDN minute old), whatever the page size: the
  time between was never observed.
  A pool polled within the window that simply stopped trading has lost nothing.

First contact is judged from the start of the watch, not from the pool's creation: trades made
before we watched a pool were never ours to lose, so a first full page flags only
``[added_at, oldest)`` when the pool was added before its oldest trade shown. A pool collected
without a watchlist entry (a top pool of a target DEX) has no known start of watch, so its
history starts at first contact and that contact flags nothing. A re-activated entry keeps its
first ``added_at``, so a pool re-activated before its first poll may be over-flagged: a false
"may be missing" beats a silent loss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Max, Min
from django.utils import timezone

from collectors.gecko.client import GeckoClient
from collectors.models import TradeCursor
from collectors.planner.demand import trades_per_day
from collectors.services.ohlcv import CDN_MAX_AGE
from collectors.services.persist import trade_rows
from marketdata import store
from marketdata.models import Gap, Pool, Trade
from watchlist.models import WatchlistEntry

logger = logging.getLogger(__name__)
API_TRADE_CAP = 300
API_TRADE_WINDOW = timedelta(hours=24)
CUT_SECOND = timedelta(seconds=1)  # block timestamps are whole seconds


@dataclass
class TradeReport:
    received: int = 0
    written: int = 0
    possible_gap: bool = False


def collect_trades(client: GeckoClient, pool_id: int, *, min_usd) -> TradeReport:
    pool = Pool.objects.get(pk=pool_id)
    newest_stored = Trade.objects.filter(pool=pool).aggregate(last=Max("block_timestamp"))["last"]
    last_polled = (
        TradeCursor.objects.filter(pool=pool).values_list("last_collected_at", flat=True).first()
    )
    # A poll's answer may be a CDN minute old: it proves what it shows, up to then.
    answered = last_polled - CDN_MAX_AGE if last_polled is not None else None
    seen_until = newest_stored or answered or _watched_since(pool)
    trades = client.trades(pool.address, min_volume_usd=min_usd)
    now = timezone.now()
    window_start = now - API_TRADE_WINDOW
    report = TradeReport(received=len(trades))
    report.written = store.upsert_trades(trade_rows(pool.pk, trades)).inserted
    full = len(trades) >= API_TRADE_CAP
    if full and seen_until is not None:
        oldest = min(t.block_timestamp for t in trades)
        # The cut at 300 can fall inside a second (a busy pool trades several times a second),
        # so the page may show only part of its oldest second: the flag takes that second in.
        # A page starting in the very second we had seen up to, yet holding no trade we had, may
        # have skipped the rest of it.
        if oldest > seen_until or (oldest == seen_until and report.written == report.received):
            report.possible_gap = True
            _record_trade_gap(
                pool,
                seen_until,
                oldest + CUT_SECOND,
                f"full page of {API_TRADE_CAP} trades; older ones",
            )
    if (
        not report.possible_gap
        and seen_until is not None
        and seen_until < window_start
        and (answered is None or answered < window_start)
    ):
        report.possible_gap = True
        _record_trade_gap(
            pool, seen_until, window_start, "not polled within the API's 24 h window; trades"
        )
    rate = trades_per_day((t.block_timestamp.timestamp() for t in trades), now.timestamp())
    TradeCursor.objects.update_or_create(
        pool=pool,
        defaults={
            "last_collected_at": now,
            "trades_per_day": rate,
            **({"last_full_page_at": now} if full else {}),
        },
    )
    return report


def _watched_since(pool: Pool) -> datetime | None:
    """When we started watching a never-polled pool: its active watchlist entry's ``added_at``
    (None for a pool collected without one)."""
    entries = WatchlistEntry.objects.filter(pool=pool, active=True)
    return entries.aggregate(first=Min("added_at"))["first"]


def _record_trade_gap(pool: Pool, start: datetime, end: datetime, why: str) -> None:
    logger.warning("trades of %s: %s %s .. %s may be missing", pool.address, why, start, end)
    store.upsert_gaps(
        [
            {
                "pool_id": pool.pk,
                "timeframe": Gap.TRADES,
                "start": start,
                "end": end,
                "reason": f"{why} may be missing",
            }
        ]
    )


def choose_pools_for_trades(network: str, budget: int) -> list[int]:
    """Pick at most ``budget`` active watchlist pools, least recently chosen first.

    Ties (e.g. never-collected pools) go to the higher 24h volume. Choosing marks the pools,
    so with N pools and budget B every pool is chosen within ceil(N / B) cycles.
    """
    pool_ids = WatchlistEntry.objects.collected_pool_ids(network)
    TradeCursor.objects.bulk_create(
        [TradeCursor(pool_id=pk) for pk in pool_ids], ignore_conflicts=True
    )
    chosen = list(
        TradeCursor.objects.filter(pool_id__in=pool_ids)
        .order_by(
            F("last_planned_at").asc(nulls_first=True),
            F("pool__volume_usd_h24").desc(nulls_last=True),
            "pool_id",
        )
        .values_list("pool_id", flat=True)[:budget]
    )
    TradeCursor.objects.filter(pool_id__in=chosen).update(last_planned_at=timezone.now())
    return chosen
