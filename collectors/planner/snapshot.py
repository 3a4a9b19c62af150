"""The collection state the planner needs, read in a handful of aggregate queries.

Nothing here loops over pools in SQL: at 5,000 pools a tick is a few queries, each an index or
small-table scan (coverage ranges are merged, so that table holds a few rows per pool and
timeframe; trade rates live on TradeCursor, one row per pool; a quiet pool's candles since its
last trades poll are an index range, short unless it woke up). Times come back as epoch
seconds: converting 35,000 timestamps to aware datetimes would cost more than the queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from marketdata.models import Candle, CandleCoverage, HistoryStart, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS
from watchlist.models import WatchlistEntry

from ..models import CollectorConfig, TradeCursor
from .demand import DETAILS_MAX_AGE, TRADE_CAP, PoolState, Targets


@dataclass(frozen=True)
class Snapshot:
    now: float
    pools: list[PoolState]
    pools_per_tier: dict[str, int]
    details_pending: int
    tokens_without_info: list[tuple[str, str]]  # (token address, tier)
    stale_details: list[tuple[int, str]]  # (pool id, tier), stalest first


def targets(config: CollectorConfig) -> Targets:
    return Targets(
        freshness=config.freshness_seconds(),
        timeframes=tuple(config.ohlcv_timeframes),
        tick_seconds=float(config.plan_tick_seconds),
        max_pages=config.ohlcv_pages_per_fetch,
    )


def tiers(config: CollectorConfig) -> dict[int, str]:
    """pool id → tier: active watchlist pools, then (if on) the top pools of target DEXes."""
    tier = dict.fromkeys(WatchlistEntry.objects.collected_pool_ids(config.network), "watchlist")
    if config.top_pools_collected and config.top_pools_collected_size:
        watched = WatchlistEntry.objects.filter(pool=OuterRef("pk"), active=True)
        top = (
            Pool.objects.filter(network__slug=config.network, dex__is_target=True)
            .exclude(Exists(watched))
            .order_by(F("volume_usd_h24").desc(nulls_last=True), "pk")
            .values_list("pk", flat=True)[: config.top_pools_collected_size]
        )
        tier.update(dict.fromkeys(top, "top"))
    return tier


def _rows(sql: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def activity_since_poll(config: CollectorConfig) -> dict[int, float]:
    """pool id → trades above the min-USD filter that its candles since its last trades poll
    may hold: their volume over the filter (a ceiling), or with no filter the candles that
    traded at all (each holds one at least). The finest collected timeframe, quiet pools only
    (fewer than TRADE_CAP a day): a busy pool is polled often anyway, and a quiet one has few
    candles, so this reads little unless a pool woke up, which is what it looks for."""
    if not config.ohlcv_timeframes:
        return {}
    finest = min(config.ohlcv_timeframes, key=TIMEFRAME_SECONDS.__getitem__)
    # One index range per quiet pool (LATERAL), whatever the table's statistics say: a hash
    # join read every 1m candle of every pool (18 ms a tick at 26,000 candles, and growing).
    rows = _rows(
        "SELECT t.pool_id, x.traded, x.volume FROM "  # noqa: S608
        f"{TradeCursor._meta.db_table} t CROSS JOIN LATERAL ("
        "SELECT COUNT(*) FILTER (WHERE c.volume_usd > 0) AS traded, SUM(c.volume_usd) AS volume,"
        f" COUNT(*) AS candles FROM {Candle._meta.db_table} c WHERE c.pool_id = t.pool_id"
        " AND c.timeframe = %s AND c.ts >= t.last_collected_at) x "
        "WHERE COALESCE(t.trades_per_day, 0) < %s AND x.candles > 0",
        (finest, TRADE_CAP),
    )
    min_usd = float(config.min_trade_usd)
    return {
        pool_id: volume / min_usd if min_usd > 0 else float(traded)
        for pool_id, traded, volume in rows
    }


def load(config: CollectorConfig, now: datetime) -> Snapshot:
    tier_of = tiers(config)
    fetched: dict[int, dict[str, float]] = {}
    timeframes = set(config.ohlcv_timeframes)
    coverage = CandleCoverage._meta.db_table
    # How far each (pool, timeframe) is known: the end its coverage proves, or, later, where its
    # history starts (a live answer with no candles proves no coverage; it moves the start up to
    # when it was asked). Not when a history start was last *seen*: a backfill's short page
    # touches that on every walk, and reading it as a live fetch hid a stale unit.
    answered = _rows(
        f'SELECT pool_id, timeframe, EXTRACT(EPOCH FROM MAX("end"))::float8 '  # noqa: S608
        f"FROM {coverage} GROUP BY pool_id, timeframe "
        "UNION ALL SELECT pool_id, timeframe, EXTRACT(EPOCH FROM starts_at)::float8 "
        f"FROM {HistoryStart._meta.db_table}"
    )
    for pool_id, timeframe, until in answered:
        if pool_id in tier_of and timeframe in timeframes:
            known = fetched.setdefault(pool_id, {})
            known[timeframe] = max(until, known.get(timeframe, until))
    cursors = {
        pool_id: (polled, rate)
        for pool_id, polled, rate in _rows(
            "SELECT pool_id, EXTRACT(EPOCH FROM last_collected_at)::float8, trades_per_day "  # noqa: S608
            f"FROM {TradeCursor._meta.db_table}"
        )
        if pool_id in tier_of
    }
    activity = activity_since_poll(config)
    # When each pool joined collection (its row is made when its details first arrive): how
    # long its never-fetched timeframes have waited.
    joined = dict(
        _rows(
            "SELECT id, EXTRACT(EPOCH FROM first_seen_at)::float8 "  # noqa: S608
            f"FROM {Pool._meta.db_table} WHERE id = ANY(%s)",
            (list(tier_of),),
        )
    )
    pools = []
    counts = {"watchlist": 0, "top": 0}
    for pool_id, tier in tier_of.items():
        polled, rate = cursors.get(pool_id, (None, None))
        counts[tier] += 1
        since = activity.get(pool_id, 0.0)
        pools.append(
            PoolState(
                pool_id, tier, rate, polled, fetched.get(pool_id, {}), since, joined.get(pool_id)
            )
        )
    # Tokens never asked about are few once collection runs: filter those, then by tier here.
    tokens = (
        Pool.objects.filter(base_token__isnull=False, base_token__info__isnull=True)
        .values_list("pk", "base_token__address")
        .order_by("pk")
    )
    without_info: dict[str, str] = {}
    for pool_id, address in tokens:
        if pool_id not in tier_of:
            continue
        if tier_of[pool_id] == "watchlist" or address not in without_info:
            without_info[address] = tier_of[pool_id]
    cutoff = now - timedelta(seconds=DETAILS_MAX_AGE)
    stale_ids = (
        Pool.objects.filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=cutoff))
        .order_by(F("last_seen_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
    )
    stale = [(pool_id, tier_of[pool_id]) for pool_id in stale_ids if pool_id in tier_of]
    return Snapshot(
        now=now.timestamp(),
        pools=pools,
        pools_per_tier=counts,
        details_pending=WatchlistEntry.objects.needing_details(config.network).count(),
        tokens_without_info=list(without_info.items()),
        stale_details=stale,
    )
