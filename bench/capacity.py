"""Issue 9 benchmark: how many pools the budget planner keeps complete on the free tier.

Three figures, for 100, 1,000 and 5,000 pools at the default rate and at 30/min:

* the calls a day the plan needs for daily completeness (every trade before the API's 300/24 h
  window drops it; every candle of all seven timeframes), against the physical minimum
  Σ⌈trades a day / 300⌉ + 8 a pool (one call per 1,000 candles per timeframe);
* the largest pool count whose demand fits the budget at the default freshness targets;
* the planner's own cost per tick at 5,000 and 20,000 pools (the pro plan's scale), snapshot
  queries on PostgreSQL included: median and p95 of the ticks, and whether the p95 at 20,000
  pools meets issue 17's goal of at most 1 s (``MET`` / ``NOT MET``).

Trade rates come from the simulator: its world's ~280 pools are heavy-tailed (median ~30 trades
a day, the busiest tens of thousands) and ``GET /__sim__/world`` lists each pool's
``trades_per_day``. N pools are a seeded resample of those rates (each with a little log-normal
jitter, so copies differ). They count every trade, not only those above the USD filter, so the
figures err on the expensive side. Without the simulator the bench falls back to a seeded
log-normal with the same median and says so.

    .venv/bin/python bench/capacity.py [--ticks 5] [--quick]

The tick is timed on its own database (``BENCH_DATABASE_URL``, default bench_gecko_plan,
created and migrated if missing) and Redis db 8 (``BENCH_REDIS_URL``). The 20,000 pools grow the
5,000 timed first, so the smaller figure costs only its ticks; seeding them takes about half a
minute on two cores, and ``--quick`` times the 5,000-pool tick alone.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._database import configure, migrated  # noqa: E402

BENCH_DATABASE_URL = configure("bench_gecko_plan", redis_db=8)

SEED = 9
MEDIAN_PER_DAY = 30.0
SIGMA = 1.8  # median 30/day; ~1% of pools above 2,000/day; the busiest tens of thousands
COUNTS = (100, 1_000, 5_000)
GOAL_RATIO = 1.2
GOAL_POOLS = 1_000
GOAL_TICK = 1.0  # seconds, the tick's p95 at the pro plan's scale (issue 17)
GOAL_TICK_POOLS = 20_000
TICK_COUNTS = (5_000, GOAL_TICK_POOLS)


def lognormal_rates(n: int, seed: int = SEED) -> list[float]:
    rng = random.Random(seed)
    return [min(100_000.0, rng.lognormvariate(math.log(MEDIAN_PER_DAY), SIGMA)) for _ in range(n)]


def world_rates() -> list[float]:
    """Every simulated pool's trades a day, from the simulator over HTTP."""
    try:
        from simulator import RunningSimulator, Simulator  # its own app since the move
    except ImportError:
        from collectors.simulator import RunningSimulator, Simulator
    import httpx

    with RunningSimulator(Simulator(seed=42, rate_per_min=0)) as sim:
        world = httpx.get(f"{sim.sim_url}/__sim__/world", timeout=30).json()
    return [float(p["trades_per_day"]) for pools in world["pools"].values() for p in pools]


def resample(source: list[float], n: int, seed: int = SEED) -> list[float]:
    rng = random.Random(seed)
    return [rng.choice(source) * rng.lognormvariate(0.0, 0.3) for _ in range(n)]


def ensure_database() -> None:
    migrated(BENCH_DATABASE_URL)


def completeness(rates: list[float]) -> tuple[float, int]:
    from collectors.planner import demand
    from marketdata.timeframes import ALL_TIMEFRAMES

    need = sum(demand.completeness_per_day(r, ALL_TIMEFRAMES) for r in rates)
    least = sum(demand.minimum_per_day(r, ALL_TIMEFRAMES) for r in rates)
    return need, least


def demand_per_pool(rates: list[float]) -> list[float]:
    """Steady-state calls a minute of each pool at the default freshness targets."""
    from collectors.models import DEFAULT_FRESHNESS_MINUTES
    from collectors.planner import demand
    from marketdata.timeframes import ALL_TIMEFRAMES

    targets = demand.Targets(
        freshness={tf: m * 60.0 for tf, m in DEFAULT_FRESHNESS_MINUTES.items()},
        timeframes=ALL_TIMEFRAMES,
        tick_seconds=60,
    )
    now = 1_757_000_000.0
    states = [
        demand.PoolState(i, "watchlist", rate, now, dict.fromkeys(ALL_TIMEFRAMES, now))
        for i, rate in enumerate(rates)
    ]
    per_pool = [0.0] * len(rates)
    for unit in demand.pool_units(states, targets, now):
        per_pool[unit.pool_id] += unit.need_per_min
    return per_pool


def largest_fitting(per_pool: list[float], budget_per_min: float) -> int:
    total = 0.0
    for count, need in enumerate(per_pool):
        total += need
        if total > budget_per_min:
            return count
    return len(per_pool)


def seed_pools(n: int, rates: list[float], start: int = 0) -> None:
    """Pools start..n-1: watchlist entries with trade rates, seven timeframes of coverage, tokens
    with info. From 0 the tables are emptied first; from ``start`` they grow the pools already
    seeded, so the 20,000-pool tick reuses the 5,000 timed before it. Coverage (14 rows a pool)
    goes in by COPY: bulk_create took most of the seeding time."""
    from django.db import connection
    from django.utils import timezone

    from collectors.models import CollectorConfig, TradeCursor
    from marketdata import store
    from marketdata.models import CandleCoverage, Pool, Token
    from marketdata.timeframes import ALL_TIMEFRAMES
    from watchlist.models import WatchlistEntry

    if start == 0:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE marketdata_pool, marketdata_token, watchlist_watchlistentry, "
                "collectors_collectionrun RESTART IDENTITY CASCADE"
            )
    net = store.get_network("solana")
    now = timezone.now()
    rng = random.Random(SEED + start)
    tokens = Token.objects.bulk_create(
        Token(network=net, address=f"tok{i:040d}", info={"ok": True}) for i in range(start, n)
    )
    pools = Pool.objects.bulk_create(
        Pool(network=net, address=f"pool{i:040d}", base_token=token, name=f"P{i}")
        for i, token in enumerate(tokens, start)
    )
    WatchlistEntry.objects.bulk_create(
        WatchlistEntry(network="solana", pool_address=p.address, pool=p) for p in pools
    )
    TradeCursor.objects.bulk_create(
        TradeCursor(
            pool=p,
            last_collected_at=now - timedelta(seconds=rng.uniform(0, 20 * 3600)),
            trades_per_day=rates[i],
        )
        for i, p in enumerate(pools, start)
    )
    table = CandleCoverage._meta.db_table
    with connection.cursor() as cursor:
        copy = sql.SQL('COPY {} (pool_id, timeframe, start, "end") FROM STDIN').format(
            sql.Identifier(table)
        )
        with cursor.cursor.copy(copy) as sink:
            for p in pools:
                for tf in ALL_TIMEFRAMES:
                    end = now - timedelta(seconds=rng.uniform(0, 30 * 3600))
                    # Two ranges each: an old one and the live one (a gap between them).
                    old = (end - timedelta(days=40), end - timedelta(days=20))
                    sink.write_row((p.pk, tf, *old))
                    sink.write_row((p.pk, tf, end - timedelta(days=10), end))
    config = CollectorConfig.current()
    config.save()
    with connection.cursor() as cursor:
        # As autovacuum leaves a live store (it is off on some machines): else the first tick
        # after seeding sets the hint bits of every row it reads, and that tick is the p95.
        cursor.execute("VACUUM (ANALYZE)")


def time_ticks(ticks: int) -> tuple[list[float], list[float], int, int]:
    from django.utils import timezone

    from collectors.models import CollectorConfig
    from collectors.planner import service, snapshot

    config = CollectorConfig.current()
    totals, snaps = [], []
    result = None
    for _ in range(ticks):
        started = time.perf_counter()
        snapshot.load(config, timezone.now())
        snaps.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = service.tick(config, send=None)
        totals.append(time.perf_counter() - started)
    assert result is not None
    units = len(service.build_units(config, snapshot.load(config, timezone.now())))
    return totals, snaps, units, result.budget.capacity


def p95(values: list[float]) -> float:
    """Interpolated between the two slowest of a few ticks (nearly the slowest)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def tick_figures(trade_rates, ticks: int, counts: tuple[int, ...]) -> None:
    """Seed each count in turn (growing the pools seeded before) and time the tick there."""
    seeded = 0
    for n in counts:
        started = time.perf_counter()
        seed_pools(n, trade_rates(n), start=seeded)
        seeded = n
        print(f"  {n:,} pools: seeded in {time.perf_counter() - started:.1f}s")
        totals, snaps, units, capacity = time_ticks(ticks)
        median, slow = statistics.median(totals), p95(totals)
        print(f"    snapshot queries: median {statistics.median(snaps) * 1000:.0f} ms")
        print(
            f"    whole tick (snapshot, {units:,} units, selection, report): median "
            f"{median * 1000:.0f} ms, p95 {slow * 1000:.0f} ms, best {min(totals) * 1000:.0f} ms;"
            f" capacity {capacity} calls"
        )
        if n == GOAL_TICK_POOLS:
            verdict = "MET" if slow <= GOAL_TICK else "NOT MET"
            print(f"  planner tick p95 at {n:,} pools (goal ≤ {GOAL_TICK:g} s): {verdict}")


def describe(rates: list[float]) -> str:
    ordered = sorted(rates)
    q = statistics.quantiles(ordered, n=100)
    return (
        f"{len(rates)} pools: median {statistics.median(ordered):.0f}/day, p90 {q[89]:.0f}, "
        f"p99 {q[98]:.0f}, max {ordered[-1]:.0f}; mean {statistics.fmean(ordered):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help=f"time the tick at {TICK_COUNTS[0]:,} pools only"
    )
    args = parser.parse_args()
    ensure_database()
    from django.conf import settings

    from collectors.models import CollectorConfig

    reserve = CollectorConfig._meta.get_field("reserve_share").default
    default_rate = settings.GECKO_RATE_LIMIT_PER_MIN
    try:
        source = world_rates()
        print(f"trade rates: the simulator's world, {describe(source)}")

        def trade_rates(n: int) -> list[float]:
            return resample(source, n)

        print(f"  resampled to 20,000 pools: {describe(trade_rates(20_000))}")
    except Exception as exc:  # noqa: BLE001 — the simulator is the source, not a requirement
        print(f"simulator world not read ({type(exc).__name__}: {exc}); generated log-normal")
        trade_rates = lognormal_rates
        print(f"trade rates (log-normal, seed {SEED}): {describe(trade_rates(20_000))}")
    print()
    print("1) calls a day for daily completeness (plan) against the physical minimum")
    print(
        f"{'pools':>7} {'plan':>10} {'minimum':>10} {'ratio':>6}  fits 30/min ({30 * 1440:,}/day)"
    )
    for n in COUNTS:
        need, least = completeness(trade_rates(n))
        verdict = "yes" if need <= 30 * 1440 * (1 - reserve) else "no"
        ok = "ok" if need <= GOAL_RATIO * least else "GOAL MISSED"
        print(f"{n:>7,} {need:>10,.0f} {least:>10,} {need / least:>6.2f}  {verdict}  [{ok}]")
    print()
    print(
        f"2) largest pool count whose demand fits, default freshness targets, reserve {reserve:.0%}"
    )
    per_pool = demand_per_pool(trade_rates(50_000))
    for rate in sorted({default_rate, 30.0}):
        budget = rate * (1 - reserve)
        fits = largest_fitting(per_pool, budget)
        mean = statistics.fmean(per_pool[:fits]) * 1440 if fits else 0
        ok = "ok" if fits >= GOAL_POOLS else "GOAL MISSED"
        print(
            f"  {rate:g}/min (planner budget {budget:.2f}/min): {fits:,} pools "
            f"(~{mean:.1f} calls a pool a day)  [{ok}]"
        )
    if trade_rates is not lognormal_rates:
        budget = default_rate * (1 - reserve)
        fits = largest_fitting(demand_per_pool(lognormal_rates(50_000)), budget)
        print(
            f"  cross-check, log-normal rates (median {MEDIAN_PER_DAY:g}/day, sigma {SIGMA}): "
            f"{fits:,} pools at {default_rate:g}/min"
        )
    for n in COUNTS:
        need = sum(per_pool[:n])
        print(f"  {n:>6,} pools need {need:8.2f} calls/min at the default targets")
    print()
    counts = TICK_COUNTS[:1] if args.quick else TICK_COUNTS
    print(f"3) planner tick on PostgreSQL ({args.ticks} ticks at each count)")
    tick_figures(trade_rates, args.ticks, counts)


if __name__ == "__main__":
    main()
