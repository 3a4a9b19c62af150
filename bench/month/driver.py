"""Run collection for a set-up on a virtual clock: the planner's ticks, the units it queues,
the gap scan and the backfill lane, in one process and in order.

Celery is left out, not the logic: each queued unit runs the service function its fetch task
runs, spread over the tick as a worker would take them; the backfill lane gets what the bucket
would leave it (half the rate at most, never more than live left of the minute) and a refusal
is the MustWait a task retries on. ``time-machine`` moves ``time.time()`` and
``datetime.now()`` (so ``timezone.now()``), which the collectors and the simulator both read;
nothing is patched in the project itself. PostgreSQL's own ``now()`` does not follow it; the
collectors use it only for row bookkeeping (``created_at``, a gap's ``detected_at`` order).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import time_machine
from django.conf import settings

from collectors.fleet import inflight as planned
from collectors.fleet.locks import redis_client
from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.errors import GeckoError, MustWait
from collectors.models import CollectorConfig
from collectors.planner import limits
from collectors.planner import service as planner
from collectors.planner.demand import Unit
from collectors.services import backfill, gaps, ohlcv, pools, trades
from marketdata.models import Gap
from simulator import Simulator
from watchlist.models import WatchlistEntry

from . import inprocess
from .setups import BENCH_KEY, Setup

logger = logging.getLogger(__name__)

# The seeded "scan gaps" schedule (collectors.schedules).
SCAN_EVERY = 900.0
# A pro key's own figures are cached this long (collectors.planner.limits.KEY_FIGURES_TTL).
KEY_FIGURES_EVERY = 6 * 3600.0


@dataclass
class Backfill:
    """One (pool, timeframe) of an initial ``backfill_ohlcv --days N --async``."""

    pool_id: int
    timeframe: str
    since: datetime
    until: datetime
    done: bool = False


@dataclass
class Run:
    """What the driver saw, for the audit."""

    setup: Setup
    sim: Simulator
    start: float
    end: float = 0.0
    calls: Counter = field(default_factory=Counter)  # by unit kind, and "backfill"
    errors: Counter = field(default_factory=Counter)  # by error type
    first_poll: dict[int, float] = field(default_factory=dict)  # pool → first trades poll
    served: dict[tuple, float] = field(default_factory=dict)  # (kind, pool, tf) → last run
    backfills: list[Backfill] = field(default_factory=list)
    gaps_seen: dict[int, float] = field(default_factory=dict)  # candle gap → first scan open
    # When a backfill last stopped to leave the month's credit to live collection (0: never).
    credit_stopped_at: float = 0.0
    ticks: int = 0
    degraded_ticks: int = 0  # ticks whose demand exceeded the budget (the planner said so)
    plannable_calls: float = 0.0  # what the planner's budgets allowed, summed over the ticks
    wall_seconds: float = 0.0
    phases: Counter = field(default_factory=Counter)  # wall seconds by phase of the loop


class WorldTooSmall(ValueError):
    """The set-up asks for more pools than the simulator's world holds."""


def choose_pools(sim: Simulator, count: int, seed: int) -> list[str]:
    """``count`` pools of the world, a seeded sample (the world's busy and quiet alike)."""
    world = list(sim.world.pools)
    if count > len(world):
        raise WorldTooSmall(
            f"{count} pools asked for; the simulator's world (seed {seed}) holds {len(world)}"
        )
    return [p.address for p in random.Random(seed).sample(world, count)]


def forget_coordination() -> None:
    """Planner carry, in-flight claims, the month's call count and breaker state of an
    earlier run."""
    client = redis_client()
    for pattern in ("gecko:plan:*", "gecko:credit:*"):
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    CircuitBreaker().reset()


class Driver:
    def __init__(self, setup: Setup, clock: time_machine.Coordinates, *, progress=None) -> None:
        self.setup = setup
        self.clock = clock
        self.progress: Callable[[str], None] = progress or (lambda _: None)
        self.config = CollectorConfig.current()
        self.config.min_trade_usd = 0  # every trade counts: the audit compares exact counts
        self.config.save()
        sim = Simulator(
            seed=setup.seed,
            rate_per_min=0,  # the planner's budget is the limit under test
            clock=time.time,
            api_key=BENCH_KEY if setup.keyed else None,
            plan=setup.plan if setup.keyed else "demo",
            monthly_credit=setup.monthly_credit or None,
            pools=setup.world_pools,
        )
        self.run = Run(setup, sim, start=time.time())
        self.live = inprocess.client(sim, lane="live", limiter=inprocess.Unlimited())
        self.allowance = inprocess.Allowance()
        self.lane = inprocess.client(sim, lane="backfill", limiter=self.allowance)
        self.queue: deque = deque()
        self.pending_backfill = setup.backfill_days > 0

    def watch(self) -> list[str]:
        addresses = choose_pools(self.run.sim, self.setup.pools, self.setup.seed)
        WatchlistEntry.objects.bulk_create(
            [WatchlistEntry(network=self.config.network, pool_address=a) for a in addresses]
        )
        return addresses

    def move_to(self, ts: float) -> None:
        self.clock.move_to(datetime.fromtimestamp(ts, tz=UTC))

    # --- the loop ------------------------------------------------------------------------
    def loop(self) -> Run:
        started = time.perf_counter()
        tick = float(self.config.plan_tick_seconds)
        t = self.run.start
        end = t + self.setup.days * 86_400
        next_scan = t + SCAN_EVERY
        next_figures = t
        day = 0
        while t < end:
            self.move_to(t)
            if self.setup.plan == "pro" and t >= next_figures:
                self._key_figures()
                next_figures = t + KEY_FIGURES_EVERY
            queued: list[Unit] = []
            mark = time.perf_counter()
            result = planner.tick(
                self.config, send=lambda unit, _expires, out=queued: out.append(unit)
            )
            self.run.degraded_ticks += result.report.degraded
            self.run.plannable_calls += result.budget.plannable_per_min * tick / 60.0
            mark = self._phase("planner ticks", mark)
            live_before = self.live.stats.calls
            for index, unit in enumerate(queued):
                self.move_to(t + tick * index / (len(queued) + 1))
                self._run_unit(unit)
            self.move_to(t + tick * len(queued) / (len(queued) + 1))
            mark = self._phase("live units", mark)
            if self.pending_backfill:
                self._request_backfill()
            if t >= next_scan:
                self._scan()
                next_scan += SCAN_EVERY
            mark = self._phase("gap scans", mark)
            spent = self.live.stats.calls - live_before
            self._backfill_lane(tick, spent)
            self._phase("backfill lane", mark)
            self.run.ticks += 1
            t += tick
            if (t - self.run.start) // 86_400 > day:
                day = int((t - self.run.start) // 86_400)
                self.progress(
                    f"day {day}: {self.live.stats.calls:,} live calls, "
                    f"{self.lane.stats.calls:,} backfill, "
                    f"{time.perf_counter() - started:.0f} s wall"
                )
        self.move_to(end)
        gaps.scan_gaps(self.config.network, list(self.config.ohlcv_timeframes))
        self.run.end = end
        self.run.wall_seconds = time.perf_counter() - started
        self.run.calls["live"] = self.live.stats.calls
        self.run.calls["backfill"] = self.lane.stats.calls
        return self.run

    def _phase(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.run.phases[name] += now - since
        return now

    def _key_figures(self) -> None:
        try:
            limits.store_key_figures(self.live.key_figures())
        except GeckoError as exc:
            self.run.errors[type(exc).__name__] += 1

    # --- live units, as their fetch tasks run them -----------------------------------------
    def _run_unit(self, unit: Unit) -> None:
        now = time.time()
        try:
            self._dispatch(unit)
        except GeckoError as exc:
            self.run.errors[type(exc).__name__] += 1
        finally:
            planned.release([unit.key])
        self.run.calls[unit.kind] += 1
        if unit.pool_id is not None:
            self.run.served[(unit.kind, unit.pool_id, unit.timeframe)] = now
        if unit.kind == "trades":
            self.run.first_poll.setdefault(unit.pool_id, now)

    def _dispatch(self, unit: Unit) -> None:
        config, kwargs = self.config, unit.kwargs
        if unit.kind == "trades":
            trades.collect_trades(self.live, unit.pool_id, min_usd=config.min_trade_usd)
        elif unit.kind == "ohlcv":
            ohlcv.collect_ohlcv(
                self.live,
                unit.pool_id,
                unit.timeframe,
                max_pages=min(kwargs["pages"], config.ohlcv_pages_per_fetch),
                include_empty=config.include_empty_intervals,
                limit=kwargs["limit"],
            )
        elif unit.kind == "details":
            pools.fetch_watchlist_details(self.live, token_info=False)
        elif unit.kind == "token_info":
            pools.fetch_token_info(self.live, kwargs["address"])
        elif unit.kind == "pool_details":
            pools.refresh_pools(self.live, kwargs["pool_ids"])
        else:
            raise ValueError(f"unit kind {unit.kind!r}: the bench does not know how to run it")

    # --- the gap scan and the backfill lane ------------------------------------------------
    def _scan(self) -> None:
        gaps.scan_gaps(self.config.network, list(self.config.ohlcv_timeframes))
        now = time.time()
        for gap_id in (
            Gap.objects.filter(status=Gap.Status.OPEN)
            .exclude(timeframe=Gap.TRADES)
            .values_list("pk", flat=True)
        ):
            self.run.gaps_seen.setdefault(gap_id, now)
        for gap_id in gaps.gaps_to_backfill(self.config.backfill_tasks_per_run):
            self.queue.append(("gap", gap_id))

    def _request_backfill(self) -> None:
        """``backfill_ohlcv --days N --async`` once every pool is known."""
        pool_ids = WatchlistEntry.objects.collected_pool_ids(self.config.network)
        if len(pool_ids) < self.setup.pools:
            return
        now = datetime.fromtimestamp(time.time(), tz=UTC)
        since = now - timedelta(days=self.setup.backfill_days)
        for tf in self.config.ohlcv_timeframes:
            for pool_id in sorted(pool_ids):
                unit = Backfill(pool_id, tf, since, now)
                self.run.backfills.append(unit)
                self.queue.append(("unit", unit))
        self.pending_backfill = False

    def _backfill_lane(self, tick: float, live_spent: int) -> None:
        """The bucket's share for backfill this tick: at most (1 − live share) of the rate,
        and never what live already took of it."""
        rate = settings.GECKO_RATE_LIMIT_PER_MIN * tick / 60.0
        share = rate * (1.0 - settings.GECKO_RATE_LIMIT_LIVE_SHARE)
        self.allowance.top_up(max(0.0, min(share, rate - live_spent)), ceiling=share)
        while self.queue and self.allowance.left >= 1.0:
            item = self.queue[0]
            walk = backfill.Walk(self.lane, include_empty=self.config.include_empty_intervals)
            try:
                if item[0] == "gap":
                    report = backfill.backfill_gap(walk, item[1])
                    if report is not None and report.credit_stop:
                        self.run.credit_stopped_at = time.time()
                else:
                    unit = item[1]
                    report = backfill.backfill_unit(
                        walk, unit.pool_id, unit.timeframe, since=unit.since, until=unit.until
                    )
                    if report.busy:
                        return
                    unit.done = True
            except MustWait:
                return
            except GeckoError as exc:
                self.run.errors[f"backfill {type(exc).__name__}"] += 1
            if item[0] == "gap":
                gaps.release_gap(item[1])
            self.queue.popleft()
