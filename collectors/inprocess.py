"""Run collection steps in this process, start to finish (``manage.py collect --sync``).

The same service functions the Celery tasks call, with a client that blocks for tokens instead
of handing the wait back to Celery. Each step is one CollectionRun row; a step returns the rows
it wrote and its summary, so that row holds the same counts a Celery run of the work would,
its failed calls included. The clients fail fast: a target that cannot be reached raises
Unreachable at the first call instead of being retried for minutes (issue 16).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from collectors.gecko.client import GeckoClient
from collectors.models import CollectorConfig
from collectors.runs.tracking import track_run
from collectors.services import backfill as backfill_service
from collectors.services import dexes, gaps, ohlcv, pools, trades
from marketdata.models import Dex
from watchlist.models import WatchlistEntry
from watchlist.sync import sync_watchlist_file

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


def step_dexes(client: GeckoClient, config: CollectorConfig, **_) -> tuple[int, str]:
    report = dexes.collect_dexes(client)
    return report.written, (
        f"{report.listed} dexes; missing targets: {report.missing_targets or 'none'}"
    )


def step_top_pools(client: GeckoClient, config: CollectorConfig, **_) -> tuple[int, str]:
    targets = Dex.objects.filter(network__slug=config.network, is_target=True)
    written = sum(pools.collect_top_pools(client, d.slug, config.top_pool_pages) for d in targets)
    return written, f"{written} rows from {len(targets)} target dexes"


def step_watchlist(
    client: GeckoClient, config: CollectorConfig, *, csv: str | None = None, **_
) -> tuple[int, str]:
    report = sync_watchlist_file(csv or config.watchlist_csv)
    details = pools.fetch_watchlist_details(client)
    errors = "".join(f"\n  {e}" for e in report.errors)
    entries = len(report.added) + len(report.reactivated) + len(report.deactivated)
    return entries + details.written, (
        f"{report.summary()}; linked {len(details.linked)} pools"
        + (f"; unknown to the API: {details.not_found}" if details.not_found else "")
        + errors
    )


def step_ohlcv(
    client: GeckoClient, config: CollectorConfig, *, progress: Progress | None = None, **_
) -> tuple[int, str]:
    """Every watchlist pool's timeframes; ``progress`` hears of each timeframe as it is done
    (a minute or more of calls at the bucket's pace)."""
    written = 0
    pool_ids = WatchlistEntry.objects.collected_pool_ids(config.network)
    for tf in config.ohlcv_timeframes:
        before = written
        for pool_id in pool_ids:
            written += ohlcv.collect_ohlcv(
                client,
                pool_id,
                tf,
                max_pages=config.ohlcv_pages_per_fetch,
                include_empty=config.include_empty_intervals,
            ).written
        if progress is not None:
            progress(f"ohlcv {tf}: {len(pool_ids)} pools, {written - before} candles written")
    return written, f"{written} candles written"


def step_trades(client: GeckoClient, config: CollectorConfig, **_) -> tuple[int, str]:
    chosen = trades.choose_pools_for_trades(config.network, config.trade_budget_per_cycle)
    written = sum(
        trades.collect_trades(client, pk, min_usd=config.min_trade_usd).written for pk in chosen
    )
    return written, f"{written} trades written from {len(chosen)} pools"


def step_gaps(client: GeckoClient, config: CollectorConfig, **_) -> tuple[int, str]:
    open_count = gaps.scan_gaps(config.network, config.ohlcv_timeframes)
    backfill = GeckoClient(lane="backfill", max_wait=None, fail_fast=True)
    filled = 0
    try:
        for gap_id in gaps.gaps_to_backfill(config.backfill_tasks_per_run):
            walk = backfill_service.Walk(backfill, include_empty=config.include_empty_intervals)
            try:
                report = backfill_service.backfill_gap(walk, gap_id)
            finally:
                gaps.release_gap(gap_id)
            filled += report.written if report else 0
    finally:
        client.stats.calls += backfill.stats.calls
        client.stats.errors += backfill.stats.errors
        client.stats.throttled += backfill.stats.throttled
        client.stats.last_errors += backfill.stats.last_errors
        backfill.close()
    return filled, f"{open_count} open gaps; backfill wrote {filled} candles"


STEPS: dict[str, Callable[..., tuple[int, str]]] = {
    "dexes": step_dexes,
    "top_pools": step_top_pools,
    "watchlist": step_watchlist,
    "ohlcv": step_ohlcv,
    "trades": step_trades,
    "gaps": step_gaps,
}


def run_step(name: str, *, csv: str | None = None, progress: Progress | None = None) -> str:
    """Run one step, recorded as CollectionRun ``collect.<name>``; exceptions propagate.
    ``progress`` is told of a long step's parts as they end."""
    config = CollectorConfig.current()
    arguments = {"csv": csv} if name == "watchlist" and csv else {}
    with (
        track_run(f"collect.{name}", arguments) as tally,
        GeckoClient(max_wait=None, fail_fast=True) as client,
    ):
        try:
            tally.items_written, tally.detail = STEPS[name](
                client, config, csv=csv, progress=progress
            )
        finally:
            stats = client.stats
            tally.api_calls, tally.errors = stats.calls, stats.errors
            tally.throttled, tally.last_errors = stats.throttled, stats.last_errors
    return tally.detail
