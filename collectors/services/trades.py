"""Trades for watchlist pools: upsert by trade id, flag possible gaps, rotate fairly.

The API gives only the last ≤300 trades of the past 24 h, with no cursor. Trades may be lost,
and the range is recorded as a trade Gap (it cannot be backfilled; it tells operators to poll
that pool faster or raise the USD threshold), when:
- it returns its full 300 and even the oldest is newer than our newest stored trade; or
- our newest stored trade is older than the 24 h window and nobody polled the pool since
  before that window opened, whatever the page size: the time between was never observed.
  A pool polled within the window that simply stopped trading has lost nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Max
from django.utils import timezone

from marketdata import store
from marketdata.models import Gap, Pool, Trade
from watchlist.models import WatchlistEntry

from ..gecko.client import GeckoClient
from ..models import TradeCursor
from ..persist import trade_rows
from ..planner.demand import trades_per_day

logger = logging.getLogger(__name__)
API_TRADE_CAP = 300
API_TRADE_WINDOW = timedelta(hours=24)


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
    trades = client.trades(pool.address, min_volume_usd=min_usd)
    now = timezone.now()
    window_start = now - API_TRADE_WINDOW
    report = TradeReport(received=len(trades))
    report.written = store.upsert_trades(trade_rows(pool.pk, trades, now)).inserted
    full = len(trades) >= API_TRADE_CAP
    if full and newest_stored is not None:
        oldest = min(t.block_timestamp for t in trades)
        if oldest > newest_stored:
            report.possible_gap = True
            _record_trade_gap(
                pool, newest_stored, oldest, f"full page of {API_TRADE_CAP} trades; older ones"
            )
    if (
        not report.possible_gap
        and newest_stored is not None
        and newest_stored < window_start
        and (last_polled is None or last_polled < window_start)
    ):
        report.possible_gap = True
        _record_trade_gap(
            pool, newest_stored, window_start, "not polled within the API's 24 h window; trades"
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
