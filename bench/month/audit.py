"""What the store lost against the simulator's ground truth, and whether it owned up to it.

Trades: every trade made between a pool's first poll and its last one (less the CDN's minute)
is stored, or lies in a trades Gap (flagged), or is an unflagged loss. Candles: every candle
the API serves inside a (pool, timeframe)'s span, from its oldest coverage (or the backfill's
start) to its newest, is stored, or lies in an open or unfillable Gap, or is an unflagged loss.
A history start is wrong when the API serves a candle older than it. A unit is stuck when it
went unserved since it last ran for three of its intervals and two days at least (on a budget
short of demand, a timeframe's interval is its page span), or was never served two days after
the budget could first have reached every unit; a watchlist pool when it was never linked; a
gap when it stayed open a day and was never tried while backfills had credit (a short month's
credit is live collection's: such gaps are counted as awaiting credit); a backfill when it never
finished.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from collectors.gecko import parse
from collectors.gecko.client import OHLCV_PERIODS
from collectors.models import CollectorConfig, TradeCursor
from collectors.planner import limits
from collectors.planner.budget import sustained_rate
from collectors.planner.demand import (
    MIN_REFRESH,
    OHLCV_PAGE,
    TRADE_CAP,
    TRADE_WINDOW,
    ohlcv_interval,
    page_span,
)
from marketdata.models import Candle, CandleCoverage, Gap, HistoryStart, Pool, Trade
from marketdata.timeframes import TIMEFRAME_SECONDS
from simulator import Simulator
from watchlist.models import WatchlistEntry

from .driver import Run
from .setups import SIM_HOST

# The API's CDN may serve an answer a minute old: trades that recent were not yet shown.
CDN_MAX_AGE = 60
# The simulator serves candles this far back (its history depth).
HISTORY_SECONDS = 183 * 86_400
EXAMPLES = 10


@dataclass
class Losses:
    trades_made: int = 0
    trades_stored: int = 0
    trades_lost_flagged: int = 0
    trades_lost_unflagged: int = 0
    trades_minimum: int = 0  # flagged loss no planner avoids at this budget
    candles_served: int = 0
    candles_missing_gap: int = 0
    candles_missing_no_gap: int = 0
    candles_never_served: int = 0  # stored, yet the API never served them
    history_starts: int = 0
    wrong_history_starts: int = 0
    stuck: list[str] = field(default_factory=list)
    gaps_awaiting_credit: int = 0  # open a day, untried: backfills had no credit left
    examples: list[str] = field(default_factory=list)  # unflagged losses, the first few

    def example(self, text: str) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append(text)


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def _stored_trades(pool_id: int, start: int, end: int) -> int:
    return Trade.objects.filter(
        pool_id=pool_id,
        block_timestamp__gte=datetime.fromtimestamp(start, UTC),
        block_timestamp__lt=datetime.fromtimestamp(end, UTC),
    ).count()


def audit_trades(run: Run, losses: Losses, addresses: dict[int, str]) -> dict[int, float]:
    """Count trades made, stored, lost with and without a trades Gap; returns each pool's
    audited window (start, end) for the minimum."""
    sim = run.sim
    polled = dict(
        TradeCursor.objects.filter(last_collected_at__isnull=False).values_list(
            "pool_id", "last_collected_at"
        )
    )
    windows = {}
    for pool_id, first in run.first_poll.items():
        start = math.ceil(first)
        end = int(polled[pool_id].timestamp()) - CDN_MAX_AGE
        if end <= start:
            continue
        windows[pool_id] = (start, end)
        address = addresses[pool_id]
        made = sim.trade_count(address, start, end)
        stored = _stored_trades(pool_id, start, end)
        flagged_spans = _merged(
            [
                (max(start, g.start.timestamp()), min(end, g.end.timestamp()))
                for g in Gap.objects.filter(pool_id=pool_id, timeframe=Gap.TRADES)
            ]
        )
        made_f = stored_f = 0
        for a, b in flagged_spans:
            a, b = math.floor(a), math.ceil(b)
            made_f += sim.trade_count(address, a, b)
            stored_f += _stored_trades(pool_id, a, b)
        losses.trades_made += made
        losses.trades_stored += stored
        losses.trades_lost_flagged += max(0, made_f - stored_f)
        unflagged = max(0, (made - made_f) - (stored - stored_f))
        losses.trades_lost_unflagged += unflagged
        if unflagged:
            losses.example(f"pool {address}: {unflagged} trades lost with no trades gap")
    return windows


def candle_pages_per_day(timeframes) -> float:
    """The fewest OHLCV calls a day that keep one pool's timeframes whole: a page per 1,000
    intervals. Not rounded up per day: a 1d series needs one call in 1,000 days, not one a day
    (rounding had the free budget of trades polls negative on the demo key, and the minimum
    loss ten times what the planner lost)."""
    return sum(86_400 / TIMEFRAME_SECONDS[tf] / OHLCV_PAGE for tf in timeframes)


def trade_polls_per_day(run: Run, pools: int) -> float:
    """Trade polls a day the budget allows once every pool's candles have their minimum."""
    config = CollectorConfig.current()
    start = datetime.fromtimestamp(run.start, UTC)
    sustained, _ = sustained_rate(limits.current(), start)
    plannable = sustained * (1.0 - config.reserve_share) * 1440
    return plannable - pools * candle_pages_per_day(config.ohlcv_timeframes)


def allowed_polls(rates: dict[int, float], budget: float) -> dict[int, float]:
    """Polls a day per pool that keep the most trades with ``budget`` polls a day. A poll keeps
    at most 300 trades and none older than 24 h: each of a busy pool's polls up to its rate/300
    keeps 300 (these come first); a quiet pool's one poll a day keeps its day's trades (next,
    busiest first); any surplus goes in proportion to the trade rate. Never more often than
    the API's cache refreshes. (Spreading a short budget evenly had the minimum ten times the
    planner's own loss on the demo key.)"""
    ceiling = TRADE_WINDOW / MIN_REFRESH
    left = max(0.0, budget)
    busy = {p: min(ceiling, r / TRADE_CAP) for p, r in rates.items() if r > TRADE_CAP}
    wanted = sum(busy.values())
    share = min(1.0, left / wanted) if wanted else 0.0
    polls = {p: n * share for p, n in busy.items()}
    left -= wanted * share
    for pool_id, _ in sorted(
        ((p, r) for p, r in rates.items() if r <= TRADE_CAP), key=lambda item: -item[1]
    ):
        polls[pool_id] = min(1.0, left)
        left -= polls[pool_id]
    weight = sum(rates.values()) or 1.0
    return {
        p: min(ceiling, polls[p] + left * rates[p] / weight) if left > 0 else polls[p]
        for p in rates
    }


def minimum_loss(run: Run, windows: dict[int, tuple[int, int]], addresses: dict[int, str]) -> int:
    """Trades beyond 300 a poll interval (or older than the API's 24 h) at the intervals the
    budget allows each pool: no planner could have kept them."""
    sim = run.sim
    rates = {
        pool_id: sim.trade_count(addresses[pool_id], a, b) * 86_400 / max(1, b - a)
        for pool_id, (a, b) in windows.items()
    }
    polls = allowed_polls(rates, trade_polls_per_day(run, len(rates)))
    lost = 0
    for pool_id, (a, b) in windows.items():
        interval = max(MIN_REFRESH, 86_400 / polls[pool_id]) if polls[pool_id] else math.inf
        t = float(a)
        while t < b:
            stop = min(float(b), t + interval)
            made = sim.trade_count(addresses[pool_id], int(t), int(stop))
            visible = sim.trade_count(
                addresses[pool_id], int(max(t, stop - TRADE_WINDOW)), int(stop)
            )
            lost += made - min(TRADE_CAP, visible)
            t = stop
    return lost


def _truth_client(run: Run, at: float | None = None) -> httpx.Client:
    """The same world, keyless and unthrottled: what the API serves (at ``at``, default the
    run's clock), for the audit only."""
    truth = Simulator(
        seed=run.sim.seed,
        rate_per_min=0,
        clock=run.sim.clock if at is None else lambda: at,
        epoch=run.sim.epoch,
        pools=run.setup.world_pools,
    )
    return httpx.Client(transport=httpx.WSGITransport(app=truth), base_url=f"{SIM_HOST}/api/v2")


class Truth:
    """What the API serves for a pool: now, or for a pool gone by the run's end (it answers 404
    from then on), what it served the second before it went. Candles it never served after
    that are nobody's loss."""

    def __init__(self, run: Run, client: httpx.Client, stack: ExitStack) -> None:
        self.run, self.client, self.stack = run, client, stack
        gone = run.sim.fates.as_dict()["gone"].items()
        self.gone = {address: at for address, at in gone if at <= run.end}
        self._before_gone: dict[str, httpx.Client] = {}

    def client_for(self, address: str) -> httpx.Client:
        at = self.gone.get(address)
        if at is None:
            return self.client
        if address not in self._before_gone:
            client = _truth_client(self.run, at=at - 1)
            self._before_gone[address] = self.stack.enter_context(client)
        return self._before_gone[address]

    def until(self, address: str, end: int) -> int:
        return min(end, self.gone.get(address, end))


def served(client: httpx.Client, address: str, tf: str, start: int, end: int) -> set[int]:
    """Open times of the candles served in [start, end)."""
    period, aggregate = OHLCV_PERIODS[tf]
    step = TIMEFRAME_SECONDS[tf]
    before, out = (end - 1) // step * step, set()
    while before >= start:
        resp = client.get(
            f"/networks/solana/pools/{address}/ohlcv/{period}",
            params={"aggregate": aggregate, "limit": 1000, "before_timestamp": before},
        )
        if resp.status_code == 404:
            break  # the pool did not exist then: it served nothing
        page = parse.parse_ohlcv(parse.loads(resp.content, "ohlcv"))
        stamps = [int(c.timestamp.timestamp()) for c in page.candles]
        out.update(ts for ts in stamps if start <= ts < end)
        # A full page: go on from its oldest candle. A short one proves nothing older is gone
        # when ``limit`` counts intervals (the quiet ones are simply not listed): step back the
        # 1,000 intervals it spanned and go on, until the span's start.
        before = min(stamps) - step if len(stamps) == 1000 else before - 1000 * step
    return out


def audit_candles(run: Run, losses: Losses, client: httpx.Client) -> None:
    with ExitStack() as stack:
        _audit_candles(run, losses, Truth(run, client, stack))


def _audit_candles(run: Run, losses: Losses, truth_of: Truth) -> None:
    floor = int(run.end) - HISTORY_SECONDS + 86_400
    backfill_since = {(b.pool_id, b.timeframe): b.since.timestamp() for b in run.backfills}
    spans: dict[tuple[int, str], tuple[float, float]] = {}
    for pool_id, tf, start, end in CandleCoverage.objects.values_list(
        "pool_id", "timeframe", "start", "end"
    ):
        lo, hi = spans.get((pool_id, tf), (math.inf, -math.inf))
        spans[pool_id, tf] = (min(lo, start.timestamp()), max(hi, end.timestamp()))
    addresses = dict(Pool.objects.values_list("pk", "address"))
    for (pool_id, tf), (lo, hi) in sorted(spans.items()):
        lo = max(floor, min(lo, backfill_since.get((pool_id, tf), lo)))
        address = addresses[pool_id]
        lo, hi = math.ceil(lo), truth_of.until(address, int(hi))
        if hi <= lo:
            continue
        truth = served(truth_of.client_for(address), address, tf, lo, hi)
        stored = {
            int(ts.timestamp())
            for ts in Candle.objects.filter(
                pool_id=pool_id,
                timeframe=tf,
                ts__gte=datetime.fromtimestamp(lo, UTC),
                ts__lt=datetime.fromtimestamp(hi, UTC),
            ).values_list("ts", flat=True)
        }
        flagged = [
            (g.start.timestamp(), g.end.timestamp())
            for g in Gap.objects.filter(
                pool_id=pool_id,
                timeframe=tf,
                status__in=[Gap.Status.OPEN, Gap.Status.UNFILLABLE],
            )
        ]
        losses.candles_served += len(truth)
        losses.candles_never_served += len(stored - truth)
        for ts in sorted(truth - stored):
            if any(a <= ts < b for a, b in flagged):
                losses.candles_missing_gap += 1
            else:
                losses.candles_missing_no_gap += 1
                losses.example(
                    f"pool {addresses[pool_id]} {tf}: candle "
                    f"{datetime.fromtimestamp(ts, UTC):%Y-%m-%d %H:%M} missing, no gap"
                )


def audit_history_starts(run: Run, losses: Losses, client: httpx.Client) -> None:
    with ExitStack() as stack:
        _audit_history_starts(losses, Truth(run, client, stack))


def _audit_history_starts(losses: Losses, truth_of: Truth) -> None:
    for pool_id, address, tf, starts_at in HistoryStart.objects.values_list(
        "pool_id", "pool__address", "timeframe", "starts_at"
    ):
        losses.history_starts += 1
        period, aggregate = OHLCV_PERIODS[tf]
        before = int(starts_at.timestamp()) - TIMEFRAME_SECONDS[tf]
        resp = truth_of.client_for(address).get(
            f"/networks/solana/pools/{address}/ohlcv/{period}",
            params={"aggregate": aggregate, "limit": 1, "before_timestamp": before},
        )
        if resp.status_code == 404:
            continue  # not created yet: nothing older is served
        older = parse.parse_ohlcv(parse.loads(resp.content, "ohlcv")).candles
        if older:
            losses.wrong_history_starts += 1
            losses.example(
                f"pool {address} {tf}: history start {starts_at:%Y-%m-%d %H:%M} recorded, "
                f"yet {older[0].timestamp:%Y-%m-%d %H:%M} is served"
            )
        del pool_id


def overdue_after(
    kind: str, timeframe: str | None, freshness: dict[str, float], short: bool
) -> float:
    """How long a unit may go unserved before it counts as stuck: three of its intervals and
    at least two days (a budget short of demand delays units; it must not forget them). On a
    ``short`` budget, one that cannot meet the freshness targets, a timeframe's interval is
    its page span: the planner then fetches each when one page is due (CONTINUITY), the
    fewest calls that keep it whole."""
    if kind == "trades":
        interval = TRADE_WINDOW
    elif short:
        interval = page_span(timeframe)
    else:
        interval = ohlcv_interval(timeframe, freshness[timeframe])
    return max(3 * interval, 2 * 86_400)


def first_fetch_days(run: Run, units: int) -> float:
    """Days the run's budget needs to serve every unit once: sooner than that no planner can
    have reached the last of them."""
    days = (run.end - run.start) / 86_400
    per_day = run.plannable_calls / days if days > 0 else 0.0
    return units / per_day if per_day > 0 else math.inf


def audit_stuck(run: Run, losses: Losses, addresses: dict[int, str]) -> None:
    config = CollectorConfig.current()
    freshness = config.freshness_seconds()
    short = run.degraded_ticks > 0
    for address in WatchlistEntry.objects.filter(active=True, pool__isnull=True).values_list(
        "pool_address", flat=True
    ):
        losses.stuck.append(f"details of watchlist pool {address}: never linked, nothing collected")
    kinds = [("trades", None)] + [("ohlcv", tf) for tf in config.ohlcv_timeframes]
    # A unit never served is stuck two days after the budget could have reached it.
    never_after = 2 * 86_400 + (
        first_fetch_days(run, len(addresses) * len(kinds)) * 86_400 if short else 0
    )
    for pool_id, address in sorted(addresses.items()):
        for kind, tf in kinds:
            last = run.served.get((kind, pool_id, tf))
            idle = run.end - (run.start if last is None else last)
            if last is None:
                overdue = max(never_after, overdue_after(kind, tf, freshness, False))
            else:
                overdue = overdue_after(kind, tf, freshness, short)
            if idle > overdue:
                when = "never served" if last is None else "last served"
                hours = f"{idle / 3600:.0f} h"
                losses.stuck.append(f"{kind} {tf or ''} of pool {address}: {when}, idle {hours}")
    day = 86_400
    for gap_id, first in run.gaps_seen.items():
        if first > run.end - day:
            continue
        gap = Gap.objects.filter(pk=gap_id, status=Gap.Status.OPEN, attempts=0).first()
        if gap is None:
            continue
        if run.credit_stopped_at > first:
            # The credit guard held backfills back (live collection needs the month's credit):
            # flagged and waiting, as designed, not stalled.
            losses.gaps_awaiting_credit += 1
        else:
            losses.stuck.append(f"gap {gap}: open a day or more, never tried")
    for unit in run.backfills:
        if not unit.done:
            losses.stuck.append(f"backfill of pool {unit.pool_id} {unit.timeframe}: unfinished")


def audit(run: Run) -> Losses:
    losses = Losses()
    addresses = dict(
        WatchlistEntry.objects.filter(pool__isnull=False).values_list("pool_id", "pool__address")
    )
    windows = audit_trades(run, losses, addresses)
    losses.trades_minimum = minimum_loss(run, windows, addresses)
    with _truth_client(run) as client:
        audit_candles(run, losses, client)
        audit_history_starts(run, losses, client)
    audit_stuck(run, losses, addresses)
    return losses
