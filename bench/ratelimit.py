"""Issue 3 benchmark: N processes sharing the Redis token bucket vs Celery's per-task rate_limit.

Why: Celery enforces ``rate_limit`` in each worker process, so N workers send N times the
limit and collect 429s. collectors.gecko.ratelimit shares one bucket across every process; this
measures, in one run and over real HTTP to the GeckoTerminal simulator on 127.0.0.1:

* ours: N spawned processes, each with its own GeckoClient, one RateLimiter key prefix;
* baseline: N real Celery workers (bench/_celery_baseline.py) whose task has
  ``rate_limit="R/m"`` and makes one plain GET.

The simulator admits ``--api-limit`` (default R) requests per client per sliding 60 s and its
counters (requests received, 200s, 429s) are the source of truth. The token grants recorded in
our processes give the paced rate after the initial burst and check the bucket's promise:
never more than ``R·t + burst`` requests in any interval of length t.

    .venv/bin/python bench/ratelimit.py [--seconds 30] [--rate-per-min 120] [--burst 3]
                                        [--workers 8] [--api-limit N]

Redis db 14 (``BENCH_REDIS_URL``) holds the bench's bucket keys and Celery queue. Goals met or
not are printed; the exit status is non-zero only if the benchmark itself crashes.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# Spawned children inherit this environment: never the live or test Redis, never a local .env.
os.environ.update(
    DJANGO_SETTINGS_MODULE="geckoproject.settings", GECKO_DOTENV="", REDIS_URL=BENCH_REDIS_URL
)
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

DEX = "pumpswap"
INCLUDE = "base_token,quote_token,dex"
JITTER = 0.05  # seconds of timestamp noise allowed when checking the bucket's promise
GOAL_RATIO = 0.95


@dataclass
class Phase:
    """What the simulator saw during one phase (and, for ours, when tokens were granted)."""

    name: str
    sent: int
    ok: int
    throttled: int
    peak_60s: int
    grants: list[float] = field(default_factory=list)
    end: float = 0.0  # when the phase closed (ours)
    client_throttled: int = 0
    errors: int = 0


def _setup_django() -> None:
    import django

    django.setup()


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(BENCH_REDIS_URL)


def _phase(name: str, stats: dict, **extra: Any) -> Phase:
    by_status = stats["by_status"]
    return Phase(
        name=name,
        sent=stats["total"],
        ok=by_status.get("200", 0),
        throttled=stats["status_429"],
        peak_60s=stats["peak_rate_60s"],
        **extra,
    )


# --- ours: N processes, one shared bucket ------------------------------------------------------


def _our_worker(
    index: int,
    base_url: str,
    pools: list[str],
    prefix: str,
    rate: float,
    burst: float,
    seconds: float,
    ready: Any,
    go: Any,
    start_at: Any,
    results: Any,
) -> None:
    """One collector process: GeckoClient.pool() in a loop until the phase ends."""
    _setup_django()
    from collectors.gecko.breaker import CircuitBreaker
    from collectors.gecko.client import GeckoClient
    from collectors.gecko.errors import GeckoError, MustWait
    from collectors.gecko.ratelimit import Grant, Lane, RateLimiter

    class RecordingLimiter(RateLimiter):
        """Notes when each token is granted: the pacing the bucket actually delivers."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.granted_at: list[float] = []

        def acquire(self, lane: Lane = "live") -> Grant:
            grant = super().acquire(lane)
            if grant.granted:
                self.granted_at.append(time.time())
            return grant

    limiter = RecordingLimiter(rate_per_min=rate, burst=burst, key_prefix=f"{prefix}rl:")
    client = GeckoClient(
        base_url=base_url, limiter=limiter, breaker=CircuitBreaker(key_prefix=f"{prefix}cb:")
    )
    errors = 0
    ready.put(index)
    if not go.wait(timeout=120):
        return
    end = start_at.value + seconds
    time.sleep(max(0.0, start_at.value - time.time()))
    with client:
        n = index
        while (left := end - time.time()) > 0:
            client.max_wait = left  # never hold a token wait (or a 429 cooldown) past the end
            try:
                client.pool(pools[n % len(pools)])
            except MustWait:
                break
            except GeckoError:
                errors += 1
            n += 1
    stats = client.stats
    results.put((limiter.granted_at, stats.throttled, errors))


def run_ours(sim: Any, args: argparse.Namespace, pools: list[str]) -> Phase:
    """Start the processes, let them all get ready, then open the phase at a shared instant."""
    from collectors.gecko.ratelimit import RateLimiter

    ctx = mp.get_context("spawn")
    prefix = f"bench:ratelimit:{uuid.uuid4().hex[:12]}:"
    ready, results, go, start_at = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=_our_worker,
            args=(i, sim.base_url, pools, prefix, args.rate_per_min, args.burst, args.seconds)
            + (ready, go, start_at, results),
            daemon=True,
        )
        for i in range(args.workers)
    ]
    redis_client = _redis()
    try:
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=120)
        RateLimiter(
            rate_per_min=args.rate_per_min, burst=args.burst, key_prefix=f"{prefix}rl:"
        ).reset()
        sim.reset()
        start_at.value = time.time() + 0.5
        go.set()
        reports = [results.get(timeout=args.seconds + 60) for _ in procs]
        stats = sim.stats()
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        keys = list(redis_client.scan_iter(match=f"{prefix}*"))
        if keys:
            redis_client.delete(*keys)
    return _phase(
        "ours: one shared Redis bucket",
        stats,
        grants=sorted(t for granted, _, _ in reports for t in granted),
        end=start_at.value + args.seconds,
        client_throttled=sum(r[1] for r in reports),
        errors=sum(r[2] for r in reports),
    )


# --- baseline: N Celery workers with rate_limit --------------------------------------------------


def _wait_for_workers(app: Any, names: list[str], procs: list[Any], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        replies = app.control.ping(destination=names, timeout=0.5)
        if {name for reply in replies for name in reply} >= set(names):
            return
        if any(proc.poll() is not None for proc in procs) or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Celery workers did not all start; log {log}:\n{tail}")


def _stop(procs: list[subprocess.Popen]) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL whatever is still running after 10 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_baseline(sim: Any, args: argparse.Namespace, pools: list[str]) -> Phase:
    """N real worker processes, each enforcing ``rate_limit`` on its own, fed from one queue."""
    from bench._celery_baseline import QUEUE, app, fetch

    env = {
        **os.environ,
        "BENCH_RATE_LIMIT": f"{args.rate_per_min:g}/m",
        "BENCH_REDIS_URL": BENCH_REDIS_URL,
        "PYTHONPATH": str(ROOT),
    }
    names = [f"bench{i}-{os.getpid()}@ratelimit" for i in range(args.workers)]
    log = Path(tempfile.gettempdir()) / f"bench-ratelimit-celery-{os.getpid()}.log"
    procs: list[subprocess.Popen] = []
    redis_client = _redis()
    with log.open("wb") as out:
        try:
            for name in names:
                cmd = [sys.executable, "-m", "celery", "-A", "bench._celery_baseline", "worker"]
                cmd += ["--pool", "solo", "-n", name, "-Q", QUEUE, "--loglevel", "WARNING"]
                cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
                procs.append(
                    subprocess.Popen(
                        cmd,
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            _wait_for_workers(app, names, procs, log)
            redis_client.delete(QUEUE)  # leftovers of an interrupted run
            sim.reset()
            until = time.time() + args.seconds
            # More tasks than N buckets can release in the phase; the rest are purged.
            tasks = math.ceil(args.workers * (args.rate_per_min * args.seconds / 60 + 1) * 1.5)
            for n in range(tasks + 10):
                url = f"{sim.base_url}/networks/solana/pools/{pools[n % len(pools)]}"
                fetch.apply_async((f"{url}?include={INCLUDE}", until), queue=QUEUE)
            time.sleep(max(0.0, until - time.time()) + 1.0)  # let in-flight requests land
            stats = sim.stats()
        finally:
            _stop(procs)
            redis_client.delete(QUEUE)
    log.unlink(missing_ok=True)
    return _phase(f"baseline: Celery rate_limit={args.rate_per_min:g}/m", stats)


# --- report ------------------------------------------------------------------------------------


def worst_excess(grants: list[float], per_sec: float) -> float:
    """Largest ``count - rate * span`` over every interval between two grants.

    The bucket promises at most ``burst`` here: ``R·t + burst`` requests in any interval t.
    """
    worst = 0.0
    for i, first in enumerate(grants):
        for j in range(i, len(grants)):
            worst = max(worst, j - i + 1 - per_sec * (grants[j] - first))
    return worst


def paced_rate(grants: list[float], burst: int, end: float, rate: float) -> float:
    """Requests per minute after the initial burst, until the phase closed.

    Idle time at the end counts (a 429 cooldown, a stall) beyond one token interval, which
    only says when the next token was due, so short phases are not penalised for rounding.
    """
    if len(grants) <= burst:
        return 0.0
    span = max(grants[-1], end - 60 / rate) - grants[burst - 1]
    return (len(grants) - burst) / span * 60 if span > 0 else 0.0


def report(args: argparse.Namespace, ours: Phase, base: Phase) -> None:
    rate, burst, seconds = args.rate_per_min, args.burst, args.seconds
    budget = rate * seconds / 60
    print()
    print(
        f"configured R = {rate:g}/min, burst {burst}; {args.workers} worker processes; "
        f"{seconds:g} s per phase; simulator admits {args.api_limit} per 60 s per client"
    )
    columns = ("sent", "sent/min", "200", "429", "sent÷R", "200÷R")
    head = f"{'phase':36}" + "".join(f" {c:>8}" for c in columns)
    print(head)
    print("-" * len(head))
    for p in (ours, base):
        print(
            f"{p.name:36} {p.sent:8d} {p.sent / seconds * 60:8.1f} {p.ok:8d} {p.throttled:8d}"
            f" {p.sent / budget:8.2f} {p.ok / budget:8.2f}"
        )
    print()

    def verdict(text: str, met: bool) -> None:
        print(f"  [{'MET' if met else 'NOT MET':7}] {text}")

    paced = paced_rate(ours.grants, burst, ours.end, rate)
    paced_ratio = paced / rate
    verdict(
        f"ours, achieved rate after the initial burst: {paced:.1f}/min = "
        f"{paced_ratio:.3f} × R (goal ≥ {GOAL_RATIO})",
        paced_ratio >= GOAL_RATIO,
    )
    slack = rate / 60 * JITTER
    verdict(
        f"ours, sent {ours.sent / budget:.3f} × R in the phase "
        f"(goal ≤ 1 + burst/(R·t) = {1 + burst / budget:.3f})",
        ours.sent <= budget + burst + slack,
    )
    excess = worst_excess(ours.grants, rate / 60)
    verdict(
        f"ours, most granted in any interval t: R·t + {excess:.2f} (goal ≤ R·t + burst {burst})",
        excess <= burst + slack,
    )
    verdict(
        f"ours, 429s received: {ours.throttled} (client saw {ours.client_throttled}; goal 0)",
        ours.throttled == 0,
    )
    verdict(
        f"ours beats the baseline: Celery's rate_limit let {args.workers} workers send "
        f"{base.sent / budget:.2f} × R ({base.throttled} 429s); ours {ours.sent / budget:.2f} × R",
        ours.sent < base.sent and ours.throttled <= base.throttled,
    )
    if len(ours.grants) != ours.sent or ours.errors:
        print(
            f"  note: {len(ours.grants)} tokens granted, {ours.sent} requests received, "
            f"{ours.errors} client errors"
        )
    print(f"  busiest 60 s at the simulator: ours {ours.peak_60s}, baseline {base.peak_60s}")
    if seconds < 60:
        print(
            f"  note: phases shorter than the simulator's 60 s window only 429 past "
            f"{args.api_limit} requests per phase; use --seconds 70+ to test a full window"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--rate-per-min", type=float, default=120.0, help="configured rate R")
    parser.add_argument("--burst", type=int, default=3, help="bucket capacity")
    parser.add_argument("--workers", type=int, default=8, help="processes in each phase")
    parser.add_argument(
        "--api-limit",
        type=int,
        default=None,
        help="simulator's per-client limit per sliding 60 s (default: R, like 30/min "
        "configured against the real API's 30/min)",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate_per_min <= 0 or args.burst < 1 or args.workers < 1:
        parser.error("--seconds, --rate-per-min, --workers must be > 0 and --burst >= 1")
    if args.api_limit is None:
        args.api_limit = math.floor(args.rate_per_min)
    return args


def _timed(label: str, run: Any, *args: Any) -> Phase:
    """Run a phase, saying how long it took with process start-up and shutdown."""
    print(f"{label} ...", end=" ", flush=True)
    began = time.monotonic()
    phase = run(*args)
    print(f"done in {time.monotonic() - began:.1f} s", flush=True)
    return phase


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    _setup_django()
    from simulator import RunningSimulator, Simulator

    sim = Simulator(seed=7, rate_per_min=args.api_limit)
    pools = [p["address"] for p in sim.world_summary()["pools"][DEX]]
    with RunningSimulator(sim, "127.0.0.1", 0) as running:
        print(f"simulator on {running.base_url}", flush=True)
        ours = _timed(f"ours: {args.workers} processes, one bucket", run_ours, running, args, pools)
        base = _timed(
            f"baseline: {args.workers} Celery workers", run_baseline, running, args, pools
        )
    report(args, ours, base)
    print(f"\ntotal runtime {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
