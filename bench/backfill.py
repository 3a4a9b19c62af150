"""Issue 7 benchmark: backfill throughput end to end, of the write path alone, and raw COPY.

Why: a backfill is bounded by the API's rate; our side must never be the bottleneck. In one run,
against the GeckoTerminal simulator over real HTTP on 127.0.0.1 and a PostgreSQL database of
its own, for six months of 1m candles of one pool (~260k):

* end to end: collectors.services.backfill.backfill_unit, the simulator's rate limit off and
  our bucket wide open: candles/s from the first request to the last commit;
* write path: the same answers (raw JSON, fetched beforehand) through parse → rows → upsert →
  coverage (collectors.services.ohlcv.store_page), one transaction per page as in a backfill;
* ceiling: PostgreSQL ``COPY`` of the same rows into the same, emptied table;
* rate-limited: a shorter walk with the bucket on (``--rate-per-min``, no burst), whose elapsed
  time is compared with API calls ÷ the backfill lane's rate.

    .venv/bin/python bench/backfill.py [--days 180] [--limited-seconds 40] [--rate-per-min 600]
                                       [--seed 22]

``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/bench_geckoproject``, created
and migrated if missing) and ``BENCH_REDIS_URL`` (default db 14) are the bench's own. Goals met
or not are printed; the exit status is non-zero only if the benchmark itself crashes.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._database import configure, migrated  # noqa: E402

BENCH_DATABASE_URL = configure("bench_geckoproject", redis_db=14)

DAY = 86400
WRITE_GOAL = 0.50  # write path ≥ 50% of COPY
RATE_GOAL = 0.05  # rate-limited end to end within 5% of calls ÷ rate
COLUMNS = ("pool_id", "timeframe", "ts", "open", "high", "low", "close", "volume_usd")
COLUMNS += ("is_final",)


def _setup() -> None:
    migrated(BENCH_DATABASE_URL)


@dataclass
class Result:
    name: str
    candles: int
    seconds: float
    calls: int = 0

    @property
    def rate(self) -> float:
        return self.candles / self.seconds if self.seconds else 0.0


def _client(base_url: str, rate_per_min: float, burst: float, live_share: float) -> Any:
    from collectors.gecko.breaker import CircuitBreaker
    from collectors.gecko.client import GeckoClient
    from collectors.gecko.ratelimit import RateLimiter

    prefix = f"bench:backfill:{uuid.uuid4().hex[:8]}:"
    limiter = RateLimiter(
        rate_per_min=rate_per_min, burst=burst, live_share=live_share, key_prefix=f"{prefix}rl:"
    )
    breaker = CircuitBreaker(key_prefix=f"{prefix}cb:")
    return GeckoClient(
        base_url=base_url, lane="backfill", limiter=limiter, breaker=breaker, max_wait=None
    )


def _wipe() -> None:
    """Empty the bench database's candle tables (TRUNCATE: no dead rows to slow the next phase)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE marketdata_candle, marketdata_candlecoverage, marketdata_historystart"
        )


def _pool(sim: Any, days: int) -> Any:
    """The busiest pool old enough for ``days`` of history, as a Pool row."""
    from marketdata import store
    from marketdata.models import Pool

    world = sim.world()
    cutoff = world["now"] - days * DAY
    old = [p for pools in world["pools"].values() for p in pools if p["pool_created_at"] < cutoff]
    busiest = max(old, key=lambda p: p["trades_per_day"])
    network = store.get_network("solana")
    pool, _ = Pool.objects.get_or_create(network=network, address=busiest["address"])
    return pool


def end_to_end(sim: Any, pool: Any, since: Any, until: Any) -> Result:
    from collectors.services.backfill import Walk, backfill_unit

    _wipe()
    client = _client(sim.base_url, 1e7, 1e6, 0.0)
    began = time.perf_counter()
    report = backfill_unit(Walk(client), pool.pk, "1m", since=since, until=until)
    seconds = time.perf_counter() - began
    client.close()
    return Result("end to end (rate limit off)", report.candles, seconds, client.stats.calls)


def fetch_raw(sim: Any, pool: Any, since: Any, until: Any) -> list[tuple[bytes, int, int]]:
    """The answers a backfill gets, as raw bytes with the before/limit they answered."""
    import httpx

    out = []
    before = int(until.timestamp()) - 60
    with httpx.Client(timeout=30) as http:
        while True:
            resp = http.get(
                f"{sim.base_url}/networks/solana/pools/{pool.address}/ohlcv/minute",
                params={"aggregate": 1, "limit": 1000, "before_timestamp": before},
            )
            body = resp.json()["data"]["attributes"]["ohlcv_list"]
            out.append((resp.content, before, 1000))
            if len(body) < 1000 or body[-1][0] <= since.timestamp():
                return out
            before = body[-1][0]


def write_path(pool: Any, raw: list[tuple[bytes, int, int]]) -> Result:
    from collectors.gecko import parse
    from collectors.services.ohlcv import store_page

    _wipe()
    candles = 0
    began = time.perf_counter()
    for content, before, limit in raw:
        page = parse.parse_ohlcv(parse.check_envelope(parse.loads(content, "ohlcv"), "ohlcv"))
        candles += store_page(pool, "1m", page, before=before, limit=limit).candles
    return Result("write path (parse→rows→upsert→coverage)", candles, time.perf_counter() - began)


def copy_ceiling(pool: Any) -> Result:
    """COPY of exactly the rows the write path stored, into the emptied table."""
    from django.db import connection, transaction
    from psycopg import sql

    from marketdata.models import Candle

    rows = list(Candle.objects.filter(pool=pool).order_by("-ts").values_list(*COLUMNS))
    _wipe()
    copy_sql = sql.SQL("COPY marketdata_candle ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    return Result("PostgreSQL COPY of the same rows", len(rows), time.perf_counter() - began)


def rate_limited(sim: Any, pool: Any, until: Any, seconds: float, rate: float) -> Result:
    """A walk long enough to take about ``seconds`` at the backfill lane's rate."""
    from datetime import timedelta

    from collectors.services.backfill import PER_PAGE, Walk, backfill_unit

    live_share = 0.5
    per_second = rate * (1 - live_share) / 60
    pages = max(2, int(seconds * per_second))
    since = until - timedelta(minutes=pages * PER_PAGE - 1)
    _wipe()
    client = _client(sim.base_url, rate, 1, live_share)
    client.limiter.reset()
    began = time.perf_counter()
    report = backfill_unit(Walk(client), pool.pk, "1m", since=since, until=until)
    elapsed = time.perf_counter() - began
    client.close()
    return Result(
        f"end to end, bucket at {rate:g}/min ({per_second * 60:g}/min backfill)",
        report.candles,
        elapsed,
        client.stats.calls,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=180, help="history to backfill (1m)")
    parser.add_argument("--limited-seconds", type=float, default=40.0)
    parser.add_argument("--rate-per-min", type=float, default=600.0)
    # Seed 22's world has a pool over a year old that trades every minute (~48k trades a day):
    # six months of 1m candles with no quiet minutes, the ~260k the issue asks for.
    parser.add_argument("--seed", type=int, default=22, help="simulator world")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    _setup()
    from datetime import UTC, datetime, timedelta

    from simulator import RunningSimulator, Simulator

    with RunningSimulator(Simulator(seed=args.seed, rate_per_min=0)) as sim:
        pool = _pool(sim, args.days + 3)
        now = datetime.fromtimestamp(sim.world()["now"], tz=UTC)
        until = now.replace(second=0, microsecond=0) - timedelta(hours=1)
        since = until - timedelta(days=args.days)
        print(
            f"simulator (seed {args.seed}) on {sim.base_url}; pool {pool.address}; "
            f"1m, {args.days} days",
            flush=True,
        )
        e2e = end_to_end(sim, pool, since, until)
        raw = fetch_raw(sim, pool, since, until)
        write = write_path(pool, raw)
        ceiling = copy_ceiling(pool)
        limited = rate_limited(sim, pool, until, args.limited_seconds, args.rate_per_min)
        _wipe()

    print()
    head = f"{'phase':52} {'candles':>9} {'seconds':>8} {'calls':>6} {'candles/s':>10}"
    print(head)
    print("-" * len(head))
    for r in (e2e, write, ceiling, limited):
        print(f"{r.name:52} {r.candles:9d} {r.seconds:8.2f} {r.calls:6d} {r.rate:10.0f}")
    print()
    share = write.rate / ceiling.rate
    expected = limited.calls / (args.rate_per_min * 0.5 / 60)
    ratio = limited.seconds / expected
    met = share >= WRITE_GOAL
    print(f"  [{'MET' if met else 'NOT MET':7}] write path is {share:.0%} of COPY (goal ≥ 50%)")
    met = abs(ratio - 1) <= RATE_GOAL
    print(
        f"  [{'MET' if met else 'NOT MET':7}] rate-limited walk took {limited.seconds:.1f} s for "
        f"{limited.calls} calls; calls ÷ rate = {expected:.1f} s; ratio {ratio:.3f} (goal ±5%)"
    )
    print(f"\ntotal runtime {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
