"""Celery tasks: thin wrappers over collectors.services.

Planners run on the ``default`` queue, read the database and fan out one small fetch task per
unit of work; fetch tasks run on the ``api`` queue (acks_late, re-queued if a worker dies).
Every run holds a Redis lock keyed by task + arguments and owned by the task id (a copy
redelivered after its worker died takes it over), and is recorded as a CollectionRun.

The modules: ``running`` (how every task runs: lock, run row, retries), ``discovery`` (DEXes,
top pools, the watchlist, pool and token details), ``planning`` (the budget planner's tick),
``ohlcv`` (live candles), ``trades``, ``history`` (gap scan and backfills) and ``store``
(partitions and the archive). Each task keeps the name ``collectors.tasks.<function>``
(running.collector_task); Celery's autodiscovery imports this package, which imports them all.
Tasks may import every layer below (services, planner, runs, fleet, door); only the interfaces
(admin, API, commands) import them (tests/test_layering.py).
"""

from __future__ import annotations

from collectors.tasks.discovery import (
    collect_dexes,
    fetch_pool_details,
    fetch_token_info,
    fetch_top_pools,
    fetch_watchlist_details,
    plan_top_pools,
    sync_watchlist,
)
from collectors.tasks.history import (
    PAGE_MARGIN,
    backfill_gap,
    backfill_ohlcv,
    backfill_walk_seconds,
    scan_gaps,
)
from collectors.tasks.ohlcv import fetch_ohlcv, plan_ohlcv
from collectors.tasks.planning import SENDERS, _send, fetch_key_figures, plan_collection
from collectors.tasks.store import archive_month, compact_partition, maintain_partitions
from collectors.tasks.trades import fetch_trades, plan_trades

# The task that serves each kind of the planner's units (collectors.planner.demand).
SENDERS.update(
    trades=fetch_trades,
    ohlcv=fetch_ohlcv,
    details=fetch_watchlist_details,
    token_info=fetch_token_info,
    pool_details=fetch_pool_details,
)

__all__ = [
    "PAGE_MARGIN",
    "SENDERS",
    "_send",
    "archive_month",
    "backfill_gap",
    "backfill_ohlcv",
    "backfill_walk_seconds",
    "collect_dexes",
    "compact_partition",
    "fetch_key_figures",
    "fetch_ohlcv",
    "fetch_pool_details",
    "fetch_token_info",
    "fetch_top_pools",
    "fetch_trades",
    "fetch_watchlist_details",
    "maintain_partitions",
    "plan_collection",
    "plan_ohlcv",
    "plan_top_pools",
    "plan_trades",
    "scan_gaps",
    "sync_watchlist",
]
