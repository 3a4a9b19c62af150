"""The collection state the planner needs, read in a handful of aggregate queries.

Nothing here loops over pools in SQL: at 20,000 pools a tick is a few queries, each an index
or small-table scan (coverage ranges are merged, so that table holds a few rows per pool and
timeframe; trade rates live on TradeCursor, one row per pool; a quiet pool's candles since its
last trades poll are an index range, short unless it woke up). Times come back as epoch
seconds: converting 140,000 timestamps to aware datetimes would cost more than the queries.
The largest is coverage's ``MAX(end)`` per pool and timeframe, some 150 ms at 20,000 pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from collectors.models import CollectorConfig, TradeCursor
from collectors.planner.demand import DETAILS_MAX_AGE, TRADE_CAP, PoolState, Targets
from marketdata.models import Candle, CandleCoverage, HistoryStart, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS
from watchlist.models import WatchlistEntry


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


# A timestamp as epoch seconds: date_part's float8 is the value EXTRACT's exact numeric rounds
# to (microseconds since 1970 are exact in a float8 until 2255), without the numeric arithmetic
# that cost a third of the coverage query at 140,000 rows.
EPOCH = "date_part('epoch', %s)"
MAX_END = 'MAX("end")'
NOT_SEEN = (None, None, None)  # a pool with no row: when it joined, last polled, its rate


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


def fetched_until(config: CollectorConfig) -> dict[int, dict[str, float]]:
    """pool id → timeframe → how far it is known: the end its coverage proves, or, later, where
    its history starts (a live answer with no candles proves no coverage; it moves the start up
    to when it was asked). Not when a history start was last *seen*: a backfill's short page
    touches that on every walk, and reading it as a live fetch hid a stale unit. Every pool's,
    collected or not.

    One row a pool, a column a timeframe: grouped by (pool, timeframe) the query made 140,000
    rows at 20,000 pools, and grouping on the text timeframe cost more than reading the table
    (~240 ms against ~150 ms)."""
    timeframes = list(config.ohlcv_timeframes)
    if not timeframes:
        return {}
    ends = ", ".join(EPOCH % f"{MAX_END} FILTER (WHERE timeframe = %s)" for _ in timeframes)
    fetched: dict[int, dict[str, float]] = {}
    for pool_id, *untils in _rows(
        f"SELECT pool_id, {ends} FROM {CandleCoverage._meta.db_table} "  # noqa: S608
        "GROUP BY pool_id",
        tuple(timeframes),
    ):
        fetched[pool_id] = {
            timeframe: until
            for timeframe, until in zip(timeframes, untils, strict=True)
            if until is not None
        }
    for pool_id, timeframe, until in _rows(
        f"SELECT pool_id, timeframe, {EPOCH % 'starts_at'} "  # noqa: S608
        f"FROM {HistoryStart._meta.db_table} WHERE timeframe = ANY(%s)",
        (timeframes,),
    ):
        known = fetched.setdefault(pool_id, {})
        known[timeframe] = max(until, known.get(timeframe, until))
    return fetched


def load(config: CollectorConfig, now: datetime) -> Snapshot:
    tier_of = tiers(config)
    fetched = fetched_until(config)
    activity = activity_since_poll(config)
    # When each pool joined collection (its row is made when its details first arrive): how
    # long its never-fetched timeframes have waited; and its trades cursor. The ids go as one
    # array literal: a list parameter is spelled out value by value, twice as slow at 20,000.
    rows = _rows(
        f"SELECT p.id, {EPOCH % 'p.first_seen_at'}, {EPOCH % 't.last_collected_at'}, "  # noqa: S608
        f"t.trades_per_day FROM {Pool._meta.db_table} p "
        f"LEFT JOIN {TradeCursor._meta.db_table} t ON t.pool_id = p.id "
        "WHERE p.id = ANY(%s::bigint[])",
        ("{" + ",".join(map(str, tier_of)) + "}",),
    )
    per_pool = {pool_id: rest for pool_id, *rest in rows}
    pools = []
    counts = {"watchlist": 0, "top": 0}
    for pool_id, tier in tier_of.items():
        joined, polled, rate = per_pool.get(pool_id, NOT_SEEN)
        counts[tier] += 1
        since = activity.get(pool_id, 0.0)
        pools.append(
            PoolState(pool_id, tier, rate, polled, fetched.get(pool_id, {}), since, joined)
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
