"""Units of work and when each is due: pure functions over a snapshot of collection state.

Times are epoch seconds (floats): 20,000 pools make ~160,000 units a tick, and plain numbers
keep that to a few hundred milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from marketdata.timeframes import TIMEFRAME_SECONDS

# The API shows the last 300 trades within the past 24 h: a pool loses trades once either fills.
TRADE_CAP = 300
TRADE_WINDOW = 86_400.0
OHLCV_PAGE = 1000
# Work is due at this share of its loss or staleness horizon: the slack absorbs a tick, a
# backlog behind the rate limit and an estimate of the trade rate that is a little low.
SAFETY = 0.9
# The API serves public data from a 60 s cache: asking one URL sooner returns the same answer.
MIN_REFRESH = 60.0
# A short answer's newest trades are read as a pace from this many on (fewer are mostly noise).
RECENT_TRADES = 20
# A sign of activity: the candles since a quiet pool's last trades poll may hold this many trades
# above the min-USD filter, and this many times what its rate estimate expects by now. A tenth
# of a page, so a pool that woke up is read again well before 300 pile up; ten times, since the
# candles give only a ceiling (volume over the filter), which big trades inflate.
SIGN_TRADES = 30.0
SIGN_FACTOR = 10.0
# A live OHLCV answer proves candles only up to the interval settled a CDN minute ago
# (collectors.services.ohlcv.proven_end): asking again before the next one settles adds nothing.
CDN_MAX_AGE = 60.0
# Pool details (price, reserve, volume, names) older than this are refreshed from leftover budget.
DETAILS_MAX_AGE = 86_400.0
MULTI_MAX = 30
# Outscores any candle unit that is merely behind (its score is its age in intervals).
FIRST_DATA_SCORE = 1e6
# A new pool's first trades poll: before quiet pools' polls (scored by elapsed ÷ interval), after
# a busy pool's that is due (scored this much higher).
FIRST_POLL_SCORE = 10.0
# How long a never-fetched timeframe yields to candles about to leave a gap, and how fast its
# claim grows then (a page span's worth each FIRST_FETCH_WAIT): slowly enough that a burst of new
# pools on a short budget spreads its first fetches rather than stalling the finer series.
FIRST_FETCH_PATIENCE = 2 * 86_400.0
FIRST_FETCH_WAIT = 2 * 86_400.0
TIER_WEIGHT = {"watchlist": 4.0, "top": 1.0}
TIERS = tuple(TIER_WEIGHT)


def unit_key(kind: str, *parts: object) -> str:
    """The in-flight name of one unit of work; the task that does it derives the same name."""
    return ":".join([kind, *(str(p) for p in parts)])


class Priority:
    """Order of service: what is lost for good first, what merely ages next, niceties last."""

    PERISHABLE = 0  # trades near their loss point; details that unlock a new watchlist pool
    # Candles about to outrun one page (a later fetch costs more, then leaves a gap), and a new
    # pool's first candles. On a budget short of the freshness targets this is the schedule
    # that still keeps every timeframe whole, at the fewest calls.
    CONTINUITY = 1
    FRESHNESS = 2  # candles past their freshness target
    METADATA = 3  # token info, pool details
    EARLY = 4  # not due yet; served from leftover budget, stalest first


@dataclass(slots=True)
class Unit:
    """One task the planner may enqueue: ``cost`` API calls, due in ``due_in`` seconds.

    Not frozen, built positionally: a tick at 5,000 pools makes ~40,000 of them.
    """

    kind: str  # trades | ohlcv | details | token_info
    key: str  # the in-flight key: one unit of work is never queued twice
    tier: str
    pool_id: int | None
    timeframe: str | None
    priority: int  # a Priority, or -1: not due and nothing to gain by asking early
    score: float  # higher is served first within a priority
    cost: int
    due_in: float
    lag: float  # seconds past the loss point (trades) or freshness target (candles)
    need_per_min: float  # steady-state calls per minute this unit costs
    arg: object = None  # OHLCV: candles to ask for; token info: the address; pool ids

    @property
    def kwargs(self) -> dict:
        """The fetch task's keyword arguments."""
        if self.kind == "trades":
            return {"pool_id": self.pool_id}
        if self.kind == "ohlcv":
            return {
                "pool_id": self.pool_id,
                "timeframe": self.timeframe,
                "limit": self.arg,
                "pages": self.cost,
            }
        if self.kind == "token_info":
            return {"address": self.arg}
        if self.kind == "pool_details":
            return {"pool_ids": list(self.arg)}
        return {}


@dataclass(frozen=True, slots=True)
class PoolState:
    """What the snapshot knows of one collected pool."""

    pool_id: int
    tier: str
    trades_per_day: float | None = None  # above the min-USD filter; None: never observed
    trades_polled_at: float | None = None
    fetched_until: dict[str, float] = field(default_factory=dict)  # timeframe → coverage end
    # Trades above the filter that the candles since the last trades poll may hold (0: none
    # seen, or not looked at: only quiet pools', below TRADE_CAP a day, are).
    activity_since_poll: float = 0.0
    since: float | None = None  # when the pool joined collection; None: unknown


@dataclass(frozen=True)
class Targets:
    """The operator's knobs the demand depends on (from CollectorConfig)."""

    freshness: dict[str, float]  # timeframe → seconds
    timeframes: Sequence[str]
    tick_seconds: float
    max_pages: int = 2


def trades_per_day(timestamps: Iterable[float], now: float) -> float:
    """Estimate a pool's trade rate from one answer of the trades endpoint.

    Fewer than 300 trades: the answer holds every trade of the past 24 h, so the rate is their
    count; unless its newest trades arrive at a pace that would fill a page within the day (a
    quiet pool that woke up: 100 trades in the last 6 minutes), which is then the rate, so the
    next poll comes before 300 pile up. A full answer covers only the span back to its oldest
    trade, so the rate is 300 over that span.
    """
    stamps = sorted((t for t in timestamps if now - t <= TRADE_WINDOW), reverse=True)
    if len(stamps) < TRADE_CAP:
        paces = [
            k * TRADE_WINDOW / max(now - stamps[k - 1], MIN_REFRESH)
            for k in range(RECENT_TRADES, len(stamps) + 1)
        ]
        pace = max(paces, default=0.0)
        return pace if pace > TRADE_CAP else float(len(stamps))
    span = max(now - stamps[-1], MIN_REFRESH)
    return len(stamps) * TRADE_WINDOW / span


def trade_interval(per_day: float | None) -> float:
    """Seconds between polls that keep a pool's trades complete, with the safety margin."""
    horizon = TRADE_WINDOW
    if per_day:
        horizon = min(horizon, TRADE_CAP * TRADE_WINDOW / per_day)
    return max(MIN_REFRESH, SAFETY * horizon)


def page_span(timeframe: str) -> float:
    """Seconds one page of 1,000 candles reaches back, with the safety margin."""
    return SAFETY * OHLCV_PAGE * TIMEFRAME_SECONDS[timeframe]


def ohlcv_interval(timeframe: str, target: float) -> float:
    """Seconds between fetches: the freshness target, but never so long that one page of
    1,000 candles no longer reaches back to the last fetch (that would leave a gap)."""
    return max(MIN_REFRESH, min(target, page_span(timeframe)))


def trades_unit(state: PoolState, now: float, tick: float) -> Unit:
    """A pool's trades poll: due before its estimated rate could fill a page (or the 24 h
    window lapse); due at once when the candles since the last poll show a quiet pool trading
    far beyond its estimate (``SIGN_TRADES``, ``SIGN_FACTOR``); otherwise early, from leftover
    budget, once the API's cache has turned over a few times, so a quiet pool that wakes up is
    not left unread for most of a day."""
    weight = TIER_WEIGHT[state.tier]
    interval = trade_interval(state.trades_per_day)
    key = f"trades:{state.pool_id}"
    need = 60.0 / interval
    if state.trades_polled_at is None:
        priority, score, due_in, lag = Priority.PERISHABLE, weight * FIRST_POLL_SCORE, 0.0, 0.0
    else:
        elapsed = now - state.trades_polled_at
        due_in = interval - elapsed
        lag = max(0.0, elapsed - interval / SAFETY)
        score = weight * elapsed / interval
        expected = (state.trades_per_day or 0.0) * elapsed / TRADE_WINDOW
        sign = max(SIGN_TRADES, SIGN_FACTOR * expected)
        if due_in <= tick:
            priority = Priority.PERISHABLE
            if (state.trades_per_day or 0.0) > TRADE_CAP:
                # A busy pool at its loss point loses trades every minute it waits: before any
                # new pool's first poll (whose rate is unknown, most often quiet).
                score += weight * FIRST_POLL_SCORE
        elif state.activity_since_poll >= sign and elapsed >= MIN_REFRESH:
            priority = Priority.PERISHABLE  # woke up: read it now, its estimate is stale
            score = weight * state.activity_since_poll / TRADE_CAP
        elif elapsed >= 5 * MIN_REFRESH:
            priority = Priority.EARLY
        else:
            priority = -1
    return Unit(
        "trades", key, state.tier, state.pool_id, None, priority, score, 1, due_in, lag, need
    )


def frames(targets: Targets, now: float) -> list[tuple]:
    """Each collected timeframe's constants of one tick, worked out once rather than for every
    pool (a tick at 20,000 pools makes 140,000 candle units): (rank, timeframe, seconds, target,
    interval, page edge, newest settled interval start, finest)."""
    finest = min(targets.timeframes, key=TIMEFRAME_SECONDS.__getitem__, default=None)
    result = []
    for rank, tf in enumerate(targets.timeframes):
        seconds = TIMEFRAME_SECONDS[tf]
        target = targets.freshness[tf]
        settled = (now + targets.tick_seconds - CDN_MAX_AGE) // seconds * seconds
        interval = ohlcv_interval(tf, target)
        result.append((rank, tf, seconds, target, interval, page_span(tf), settled, tf == finest))
    return result


def ohlcv_units(
    state: PoolState, targets: Targets, now: float, tick_frames: list[tuple] | None = None
) -> list[Unit]:
    """One pool's candle units; ``tick_frames`` is ``frames(targets, now)``, passed when many
    pools share it."""
    weight = TIER_WEIGHT[state.tier]
    tick = targets.tick_seconds
    pool_id, tier, fetched = state.pool_id, state.tier, state.fetched_until
    max_pages, ceil = targets.max_pages, math.ceil
    units = []
    for rank, tf, seconds, target, interval, edge, settled, is_finest in (
        frames(targets, now) if tick_frames is None else tick_frames
    ):
        until = fetched.get(tf)
        if until is None and is_finest:
            # A new pool's first candles: one page of its finest timeframe, before any slower
            # timeframe of any pool (however far behind), so every new pool has data soonest.
            priority, score = Priority.CONTINUITY, weight * FIRST_DATA_SCORE
            cost, due_in, lag, limit = 1, 0.0, 0.0, OHLCV_PAGE
        elif until is None:
            # Never fetched: one page (older is the backfill's), shorter timeframes first since
            # their history runs out soonest. Ranked among candles at their page's edge as one
            # page behind, plus one for each FIRST_FETCH_WAIT it has waited; during the
            # FIRST_FETCH_PATIENCE never before a unit about to outrun what one fetch reads (a
            # gap), since waiting here loses nothing; after it, a budget short of demand cannot
            # leave it waiting for ever.
            waited = 0.0 if state.since is None else max(0.0, now - state.since)
            claim = 1 + waited / FIRST_FETCH_WAIT
            if waited < FIRST_FETCH_PATIENCE:
                claim = min(claim, targets.max_pages)
            claim -= rank * 1e-3
            priority, score = Priority.CONTINUITY, weight * claim
            cost, due_in, lag, limit = 1, 0.0, 0.0, OHLCV_PAGE
        else:
            # The min() and max() of one pool's units, as comparisons: 140,000 units a tick.
            age = now - until
            missing = ceil(age / seconds) + 1  # the bars since, and the one still moving
            limit = missing + 1 if missing + 1 < OHLCV_PAGE else OHLCV_PAGE
            if limit < 2:
                limit = 2
            cost = ceil(missing / OHLCV_PAGE)
            if cost >= max_pages:
                cost = max_pages
            if cost < 1:
                cost = 1
            lag = age - target
            if not lag > 0.0:
                lag = 0.0
            due_in, score = interval - age, weight * age / interval
            if settled <= until:
                priority = -1  # no interval will have settled since the last answer's proof
            elif age + tick >= edge:
                priority, score = Priority.CONTINUITY, weight * age / edge
            elif due_in <= tick:
                priority = Priority.FRESHNESS
            elif age >= seconds and age >= MIN_REFRESH:
                priority = Priority.EARLY  # a bar closed since: worth it if budget is left
            else:
                priority = -1
        units.append(
            Unit(
                "ohlcv",
                f"ohlcv:{pool_id}:{tf}",
                tier,
                pool_id,
                tf,
                priority,
                score,
                cost,
                due_in,
                lag,
                60.0 / interval,
                limit,
            )  # fmt: skip
        )
    return units


def pool_units(states: Iterable[PoolState], targets: Targets, now: float) -> list[Unit]:
    """Every unit of every pool, including ones not due (priority -1): they still cost demand."""
    units: list[Unit] = []
    tick = targets.tick_seconds
    tick_frames = frames(targets, now)
    for state in states:
        units.append(trades_unit(state, now, tick))
        units.extend(ohlcv_units(state, targets, now, tick_frames))
    return units


def details_unit(pending: int) -> Unit | None:
    """New watchlist pools without details: cheap (30 a call) and nothing is collected before."""
    if not pending:
        return None
    cost = math.ceil(pending / 30)
    return Unit(
        "details", "details", "watchlist", None, None, Priority.PERISHABLE, 1e9, cost, 0, 0, 0
    )


def token_info_units(tokens: Iterable[tuple[str, str]]) -> list[Unit]:
    """Token metadata never fetched, as (address, tier): lazily, after everything that ages."""
    return [
        Unit(
            "token_info",
            f"token_info:{address}",
            tier,
            None,
            None,
            Priority.METADATA,
            TIER_WEIGHT[tier],
            1,
            0.0,
            0.0,
            0.0,
            address,
        )  # fmt: skip
        for address, tier in tokens
    ]


def pool_details_units(stale: Iterable[tuple[int, str]]) -> list[Unit]:
    """Pools whose details are older than DETAILS_MAX_AGE, as (pool id, tier) stalest first:
    30 a call, lazily. The first pool names the batch, so a batch in flight is not re-sent."""
    ordered = sorted(stale, key=lambda item: TIER_RANK_METADATA[item[1]])
    units = []
    for start in range(0, len(ordered), MULTI_MAX):
        batch = ordered[start : start + MULTI_MAX]
        ids = tuple(pool_id for pool_id, _ in batch)
        tier = batch[0][1]
        units.append(
            Unit(
                "pool_details",
                f"pool_details:{ids[0]}",
                tier,
                None,
                None,
                Priority.METADATA,
                TIER_WEIGHT[tier] / 2,
                1,
                0.0,
                0.0,
                0.0,
                ids,
            )  # fmt: skip
        )
    return units


TIER_RANK_METADATA = {tier: rank for rank, tier in enumerate(TIER_WEIGHT)}


def completeness_per_day(per_day: float | None, timeframes: Sequence[str]) -> float:
    """Calls a day one pool needs when only completeness counts (freshness targets at the
    longest safe interval, capped at a day): the plan's own cost model, for the bench."""
    trades = 86_400.0 / trade_interval(per_day)
    candles = sum(86_400.0 / ohlcv_interval(tf, 86_400.0) for tf in timeframes)
    return trades + candles


def minimum_per_day(per_day: float | None, timeframes: Sequence[str]) -> int:
    """The physical floor: ⌈trades/300⌉ (at least one) plus ⌈candles a day / 1000⌉ per timeframe."""
    trades = max(1, math.ceil((per_day or 0) / TRADE_CAP))
    candles = sum(math.ceil(86_400 / TIMEFRAME_SECONDS[tf] / OHLCV_PAGE) for tf in timeframes)
    return trades + candles
