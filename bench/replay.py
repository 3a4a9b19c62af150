"""Issue 15: the simulated month. The real planner and collection services, without Celery or
token waits, against the simulator's world on a virtual clock; then an audit of the store
against the simulator's ground truth: a loss table by cause and the goals, MET or NOT MET.

    .venv/bin/python bench/replay.py                  # the three set-ups, 30 days each
    .venv/bin/python bench/replay.py --setup demo --days 3 --pools 20

Set-ups: free (1,000 pools, 25/min), demo (100 pools, 10k calls a month), pro (50 pools,
500/min, a 6-month backfill at the start). ``--days``/``--pools`` shorten a set-up (its wall
time is then not judged). Runs on its own database (``BENCH_DATABASE_URL``, default
bench_gecko_replay, created and migrated if missing, emptied before each set-up) and Redis db 7
(``BENCH_REDIS_URL``). Exits 1 when a goal is NOT MET.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._database import configure, migrated  # noqa: E402

BENCH_DATABASE_URL = configure("bench_gecko_replay", redis_db=7, log_level="ERROR")


def ensure_database() -> None:
    migrated(BENCH_DATABASE_URL, durable=False)


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: give a number above 0")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=("free", "demo", "pro", "all"), default="all")
    parser.add_argument("--days", type=positive, help="simulated days (default 30)")
    parser.add_argument("--pools", type=int, help="watchlist pools (default: the set-up's)")
    args = parser.parse_args()
    if args.pools is not None and args.pools < 1:
        parser.error(f"--pools {args.pools}: give at least 1")
    ensure_database()
    from django.core.management import call_command

    from bench.month.driver import WorldTooSmall
    from bench.month.report import goals, render
    from bench.month.setups import SETUPS
    from bench.month.simulate import simulate

    names = list(SETUPS) if args.setup == "all" else [args.setup]
    all_met = True
    for name in names:
        setup = SETUPS[name]
        full = args.days is None and args.pools is None
        if not full:
            setup = setup.shorter(days=args.days, pools=args.pools)
        call_command("flush", interactive=False, verbosity=0)
        try:
            run, losses = simulate(setup, progress=lambda line: print(f"  {line}", flush=True))  # noqa: T201
        except WorldTooSmall as exc:
            print(f"== {setup.name}: NOT RUN: {exc}\n", flush=True)  # noqa: T201
            all_met = False
            continue
        print(render(run, losses, full_length=full), flush=True)  # noqa: T201
        print(flush=True)  # noqa: T201
        all_met &= all(g.met for g in goals(run, losses, full_length=full))
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
