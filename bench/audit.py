"""Issue 12 benchmark: ``manage.py audit`` on 1,000 pools with 6 months of history each.

Goal: the whole audit (Django start-up included, as an operator runs it) in ≤ 30 s.

The bench fills its own database once, with SQL (no API): 1,000 pools × 183 days of candles in
each of ``--timeframes`` (default 1h 4h 1d: 5.7 M candles; ``--timeframes 15m 1h 4h 1d`` adds
17.6 M), ~1 % of intervals quiet (no candle, inside coverage), each series covered [start, end)
with its newest candle the live edge, and a few findings seeded so the run shows it finds them:

* every 50th pool: a day never fetched in the first timeframe, split coverage, an open gap row
  (consistent: not a finding);
* every 100th pool (+1): an unfillable gap before its history, with a reason;
* every 20th pool (+2): a trade window flagged as possibly lost;
* pools 3 and 503: 6 h of the first timeframe with candles but no coverage and no gap row:
  each one hole and its candles outside coverage (the inconsistencies the audit must report).

The run checks the audit found exactly those (2 holes, the 6 h of candles outside) and times
the best of ``--repeat`` runs.

    .venv/bin/python bench/audit.py [--pools 1000] [--timeframes 1h 4h 1d] [--repeat 2]

``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/bench_gecko_audit``) is
created and migrated if missing, and filled once per shape. Goals met or not are printed; the
exit status is non-zero only if the benchmark itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._database import create_if_missing, environment  # noqa: E402

CHILD_ENV = {
    **os.environ,
    **environment("bench_gecko_audit", redis_db=13),
    "DEBUG": "1",
    "LOG_LEVEL": "WARNING",
}
BENCH_DATABASE_URL = CHILD_ENV["DATABASE_URL"]
NETWORK = "auditbench"
GOAL_S = 30.0
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=183)
STEP = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "12h": 43200, "1d": 86400}
HOLE = timedelta(hours=6)
INCONSISTENT = (3, 503)


def manage(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
    )
    return time.monotonic() - started, done


def ensure_database() -> None:
    create_if_missing(BENCH_DATABASE_URL)
    _, done = manage("migrate", "--noinput", "--verbosity", "0")
    if done.returncode:
        raise SystemExit(f"migrate failed:\n{done.stderr[-3000:]}")


def fill(pools: int, timeframes: list[str]) -> dict:
    """The bench's store (made once per shape: a different shape empties it first)."""
    import psycopg

    shape = f"{pools} pools × {' '.join(timeframes)} × {START:%Y-%m-%d}..{END:%Y-%m-%d}"
    with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_audit_shape (shape text)")
        if conn.execute("SELECT 1 FROM bench_audit_shape WHERE shape = %s", [shape]).fetchone():
            return _counts(conn)
        print(f"filling {shape} …", flush=True)
        started = time.monotonic()
        for table in ("gap", "candlecoverage", "candle", "pool"):
            conn.execute(f"TRUNCATE marketdata_{table} CASCADE")  # noqa: S608 (constant names)
        conn.execute("DELETE FROM bench_audit_shape")
        net = conn.execute(
            "INSERT INTO marketdata_network (slug, name) VALUES (%s, 'audit bench')"
            " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            [NETWORK],
        ).fetchone()[0]
        addresses = [f"AuditBench{i:05d}Poo1{'xY' * 14}{i % 9}" for i in range(pools)]
        ids = [
            row[0]
            for row in conn.execute(
                "INSERT INTO marketdata_pool (network_id, address, name)"
                " SELECT %s, a, 'BENCH / SOL' FROM unnest(%s::text[]) WITH ORDINALITY u(a, n)"
                " ORDER BY n RETURNING id",
                [net, addresses],
            ).fetchall()
        ]
        conn.execute("SELECT setseed(0.12)")
        for tf in timeframes:
            conn.execute(
                """
                INSERT INTO marketdata_candle
                    (pool_id, timeframe, ts, open, high, low, close, volume_usd, is_final)
                SELECT p.id, %(tf)s, ts, 1.0, 1.1, 0.9, 1.05, 100 * random(), ts < %(end)s
                FROM unnest(%(ids)s::bigint[]) p(id),
                     generate_series(%(start)s::timestamptz, %(end)s, %(step)s * interval '1 s') ts
                WHERE ts = %(end)s OR random() > 0.01
                """,
                {"tf": tf, "ids": ids, "start": START, "end": END, "step": STEP[tf]},
            )
        first = timeframes[0]
        mid = START + timedelta(days=91)
        coverage, gaps = [], []
        for i, pk in enumerate(ids):
            for tf in timeframes:
                if tf == first and i % 50 == 0:
                    coverage += [(pk, tf, START, mid), (pk, tf, mid + timedelta(days=1), END)]
                    gaps.append(
                        (pk, tf, mid, mid + timedelta(days=1), "open", "range never fetched")
                    )
                elif tf == first and i in INCONSISTENT:
                    coverage += [(pk, tf, START, mid), (pk, tf, mid + HOLE, END)]
                else:
                    coverage.append((pk, tf, START, END))
            if i % 100 == 1:
                reason = f"older than the API keeps (its candles start at {START:%Y-%m-%d} UTC)"
                gaps.append((pk, first, START - timedelta(days=30), START, "unfillable", reason))
            if i % 20 == 2:
                window = (END - timedelta(days=3), END - timedelta(days=2))
                reason = "not polled within the API's 24 h window; trades may be missing"
                gaps.append((pk, "trades", *window, "open", reason))
        gapped = [pk for i, pk in enumerate(ids) if i % 50 == 0]
        conn.execute(
            "DELETE FROM marketdata_candle WHERE pool_id = ANY(%s) AND timeframe = %s"
            " AND ts >= %s AND ts < %s",
            [gapped, first, mid, mid + timedelta(days=1)],
        )
        with conn.cursor() as cursor:
            with cursor.copy(
                'COPY marketdata_candlecoverage (pool_id, timeframe, start, "end") FROM STDIN'
            ) as copy:
                for row in coverage:
                    copy.write_row(row)
            with cursor.copy(
                'COPY marketdata_gap (pool_id, timeframe, start, "end", status, reason) FROM STDIN'
            ) as copy:
                for row in gaps:
                    copy.write_row(row)
        conn.execute("VACUUM ANALYZE marketdata_candle")
        conn.execute("ANALYZE marketdata_candlecoverage")
        conn.execute("ANALYZE marketdata_gap")
        conn.execute("INSERT INTO bench_audit_shape VALUES (%s)", [shape])
        print(f"filled in {time.monotonic() - started:.0f} s", flush=True)
        return _counts(conn)


def _counts(conn) -> dict:
    candles = conn.execute("SELECT count(*) FROM marketdata_candle").fetchone()[0]
    pools = conn.execute("SELECT count(*) FROM marketdata_pool").fetchone()[0]
    return {"candles": candles, "pools": pools}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--timeframes", nargs="+", default=["1h", "4h", "1d"], choices=list(STEP))
    parser.add_argument("--repeat", type=int, default=2, help="audit runs (the best counts)")
    args = parser.parse_args()
    ensure_database()
    counts = fill(args.pools, args.timeframes)
    runs = []
    for _ in range(args.repeat):
        seconds, done = manage("audit", "--json")
        if done.returncode not in (0, 1):
            raise SystemExit(f"audit failed ({done.returncode}):\n{done.stderr[-3000:]}")
        runs.append((seconds, done))
    best, done = min(runs, key=lambda r: r[0])
    report = json.loads(done.stdout)
    first = args.timeframes[0]
    outside_each = HOLE // timedelta(seconds=STEP[first])
    seeded = [i for i in INCONSISTENT if i < args.pools]
    found = {(s["pool"][10:15], s["timeframe"]) for s in report["series"] if s["inconsistent"]}
    expected = {(f"{i:05d}", first) for i in seeded}
    print(
        f"data: {counts['pools']:,} pools × {' '.join(args.timeframes)} × 183 days = "
        f"{counts['candles']:,} candles; {len(report['series']):,} series"
    )
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"audit: {' '.join(f'{r[0]:.1f}' for r in runs)} s (best {best:.1f} s, "
        f"{counts['candles'] / best / 1e6:.2f} M candles/s, Django start-up included; "
        f"load average {load} on {os.cpu_count()} cores)"
    )
    print(
        f"found: {report['holes']} holes without a gap, {report['candles_outside']} candles "
        f"outside coverage, {report['unfillable_gaps']} unfillable gaps, "
        f"{report['trade_windows']} trade windows; exit status {done.returncode}"
    )
    right = (
        found == expected
        and report["holes"] == len(seeded)
        and report["candles_outside"] == len(seeded) * outside_each
        and done.returncode == (1 if seeded else 0)
    )
    print(
        f"  [{'MET' if right else 'NOT MET':7}] finds exactly the seeded inconsistencies "
        f"({len(seeded)} holes, {len(seeded) * outside_each} candles outside; exit 1)"
    )
    met = best <= GOAL_S
    print(f"  [{'MET' if met else 'NOT MET':7}] audit of {args.pools:,} pools in ≤ {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
