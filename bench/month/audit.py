"""What the store lost against the simulator's ground truth, and whether it owned up to it.

Trades: every trade made between a pool's first poll and its last one (less the CDN's minute)
is stored, or lies in a trades Gap (flagged), or is an unflagged loss. Candles: every candle
the API serves inside a (pool, timeframe)'s span, from its oldest coverage (or the backfill's
start) to its newest, is stored, or lies in an open or unfillable Gap, or is an unflagged loss.
A history start is wrong when the API serves a candle older than it. A unit is stuck when it
went unserved (from the start, or since it last ran) for three of its intervals and two days at
least; a watchlist pool when it was never linked; a gap when it stayed open a day and was never
tried; a backfill when it never finished.
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
    TRADE_CAP,
    TRADE_WINDOW,
    minimum_per_day,
    ohlcv_interval,
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


def trade_polls_per_day(run: Run, pools: int) -> float:
    """Trade polls a day the budget allows once every pool's candles have their minimum."""
    config = CollectorConfig.current()
    start = datetime.fromtimestamp(run.start, UTC)
    sustained, _ = sustained_rate(limits.current(), start)
    plannable = sustained * (1.0 - config.reserve_share) * 1440
    candles = minimum_per_day(0, config.ohlcv_timeframes) - 1
    return plannable - pools * candles


def allowed_polls(rates: dict[int, float], budget: float) -> dict[int, float]:
    """Polls a day per pool: one each, then by need (trades a day / 300), then any surplus in
    proportion to the trade rate, never more often than the API's cache refreshes."""
    ceiling = TRADE_WINDOW / MIN_REFRESH
    if budget <= len(rates):
        return dict.fromkeys(rates, max(budget, 1e-9) / max(1, len(rates)))
    need = {p: min(ceiling, max(1.0, r / TRADE_CAP)) for p, r in rates.items()}
    total = sum(need.values())
    if budget <= total:
        extra = budget - len(rates)
        wanted = total - len(rates)
        return {p: 1.0 + (n - 1.0) * extra / wanted if wanted else 1.0 for p, n in need.items()}
    surplus = budget - total
    weight = sum(rates.values()) or 1.0
    return {p: min(ceiling, n + surplus * rates[p] / weight) for p, n in need.items()}


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
        interval = max(MIN_REFRESH, 86_400 / polls[pool_id])
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
        if len(stamps) < 1000:
            break
        before = min(stamps) - step
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


def overdue_after(kind: str, timeframe: str | None, freshness: dict[str, float]) -> float:
    """How long a unit may go unserved before it counts as stuck: three of its intervals and
    at least two days (a budget short of demand delays units; it must not forget them)."""
    if kind == "trades":
        interval = TRADE_WINDOW
    else:
        interval = ohlcv_interval(timeframe, freshness[timeframe])
    return max(3 * interval, 2 * 86_400)


def audit_stuck(run: Run, losses: Losses, addresses: dict[int, str]) -> None:
    config = CollectorConfig.current()
    freshness = config.freshness_seconds()
    for address in WatchlistEntry.objects.filter(active=True, pool__isnull=True).values_list(
        "pool_address", flat=True
    ):
        losses.stuck.append(f"details of watchlist pool {address}: never linked, nothing collected")
    for pool_id, address in sorted(addresses.items()):
        units = [("trades", None)] + [("ohlcv", tf) for tf in config.ohlcv_timeframes]
        for kind, tf in units:
            last = run.served.get((kind, pool_id, tf))
            idle = run.end - (run.start if last is None else last)
            if idle > overdue_after(kind, tf, freshness):
                when = "never served" if last is None else "last served"
                hours = f"{idle / 3600:.0f} h"
                losses.stuck.append(f"{kind} {tf or ''} of pool {address}: {when}, idle {hours}")
    day = 86_400
    for gap_id, first in run.gaps_seen.items():
        if first > run.end - day:
            continue
        gap = Gap.objects.filter(pk=gap_id, status=Gap.Status.OPEN, attempts=0).first()
        if gap is not None:
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
