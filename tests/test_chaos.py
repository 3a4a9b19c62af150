"""Chaos run (issue 11): 50 watchlist pools, 10 planner cycles, 4 worker processes × 2 threads,
and a simulator answering one request in five with a fault.

Every fault kind is in the mix (500s, 429s with and without ``Retry-After: 0``, CoinGecko's
429, throttles under HTTP 200, timeouts, truncated and broken JSON, slow answers), with the
client's default 5 attempts per call. Afterwards nothing may be lost or doubled: the simulator,
its faults off, is asked again for what it served and every candle and trade must be in the
database; every error must have been handled (no traceback in the workers' output, no failed
run, no run left waiting) and be accounted for on CollectionRun (every fault the simulator
served that failed a call is counted on some run); and the shared bucket, set below the
simulator's limit, must never have let a request past it.

The simulator's fast clock is not used: the collectors read wall time (what is due, which
trades a poll covered), so simulated time running ahead would break the ground-truth checks.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db.models import Count, Q, Sum
from django.utils import timezone

from collectors.models import CollectionRun, TradeCursor
from marketdata.models import CandleCoverage, Pool
from simulator import FAULT_KINDS, faults
from watchlist.models import WatchlistEntry

from .audit import assert_audit_clean
from .celery_worker import celery_beat, celery_worker, drained, wait_for_runs
from .collector_setup import planned_every, watched_world
from .ground_truth import assert_complete_and_unique
from .waiting import wait_until

logger = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

POOLS = 50
CYCLES = 10
TICK = 15  # seconds between planner ticks: fetch tasks expire with it, and a retry after a
# long 429 (8 s) or an open breaker (5 s) must still fit in it
SIM_RATE = 300  # the simulator's limit per client per 60 s
BUCKET_RATE = 240  # the fleet's bucket, just below it: it binds, and keeps the limit
TIMEFRAMES = ["1m", "1h"]
HTTP_TIMEOUT = 4.0  # above a slow answer (2 s), below a timeout fault's stall (10 s)
WORKERS = 4  # processes, each with THREADS threads
THREADS = 2
WORKER_ENV = {
    "GECKO_RATE_LIMIT_PER_MIN": str(BUCKET_RATE),
    "GECKO_RATE_LIMIT_BURST": "5",
    "GECKO_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
    "GECKO_RATE_LIMIT_COOLDOWN_FLOOR": "1",
    # The default 5 attempts per call: one call in ~3,000 meets 5 faults in a row at 20%, and
    # the task must then retry itself (below a tick, so the retry runs before it expires).
    "GECKO_RETRY_BACKOFF": "0.2",
    "GECKO_RETRY_BACKOFF_MAX": "2",
    "GECKO_TASK_FAULT_BACKOFF": "1",
    "GECKO_BREAKER_COOLOFF": "5",
}
# Faults that fail the call they answer (a slow answer still comes back whole).
FAILING = set(FAULT_KINDS) - {"slow"}
THROTTLES = {"429", "429_retry_after_0", "coingecko_429", "throttle_200"}


@pytest.mark.timeout(420)
def test_chaos_run_loses_nothing_doubles_nothing_and_keeps_the_rate_limit(
    simulator_factory, redis_client, tmp_path: Path, monkeypatch
):
    # A genuine 429 says Retry-After: 30; the cooldown floor is 1 s here, so make it 2 s or the
    # run would mostly wait. One explicit 429 below keeps a long one (beyond a task's 5 s wait).
    monkeypatch.setattr(faults, "DEFAULT_RETRY_AFTER", 2)
    sim = simulator_factory(rate_per_min=SIM_RATE, fault_rate=0.2)
    world = watched_world(sim, POOLS)
    # Each kind at least once whatever the random draw; a long 429 (beyond a task's 5 s wait
    # for a token); and five 500s in a row on one pool's trades: on one call if tokens come
    # fast enough (its task then retries itself, tests/collectors covers that path), else
    # spread over the MustWait retries of a bucket that binds.
    for kind, pool in zip(FAULT_KINDS, world, strict=False):
        sim.add_fault(kind, path_contains=f"/pools/{pool['address']}/ohlcv/")
    sim.add_fault("429", retry_after=8, path_contains=f"/pools/{world[-1]['address']}/trades")
    sim.add_fault("500", count=5, path_contains=f"/pools/{world[-2]['address']}/trades")
    config = planned_every(TICK, ohlcv_timeframes=TIMEFRAMES)

    log = tmp_path / "celery.log"
    since = timezone.now()
    started = time.monotonic()
    with ExitStack() as workers:
        for n in range(1, WORKERS + 1):
            workers.enter_context(
                celery_worker(
                    sim.base_url,
                    concurrency=THREADS,
                    hostname=f"chaos{n}@%h",
                    log=log,
                    **WORKER_ENV,
                )
            )
        with celery_beat(sim.base_url, tmp_path, log=log, **WORKER_ENV):
            wait_for_runs("collectors.tasks.plan_collection", CYCLES, since, timeout=240)
            # A fetch whose retry expired after the last of those ticks is planned again by a
            # later one: beat runs on until every pool's trades were polled once.
            wait_until(
                lambda: (
                    TradeCursor.objects.filter(last_collected_at__isnull=False).count() == POOLS
                ),
                90,
                "every pool's trades polled",
                pause=1,
            )
        # A retry that would outlive its tick's expiry closes its run as expired, so no run may
        # stay waiting (a long 429 keeps a retry in a worker for 8 s: five looks, 2 s apart).
        drained(redis_client, 90, looks=5, pause=2, statuses=("running", "waiting"))
    elapsed = time.monotonic() - started

    stats = sim.stats()
    sim.simulator.configure(rate_per_min=0, fault_rate=0)
    sim.simulator.faults.reset()
    runs = CollectionRun.objects.filter(started_at__gte=since)
    by_status = dict(runs.values_list("status").annotate(n=Count("id")))
    logger.warning(
        "chaos: %.0f s, %d requests, %d faults %s, peak %d/60 s, runs %s, %s",
        elapsed,
        stats["total"],
        stats["faults_served"],
        stats["faults_by_kind"],
        stats["peak_rate_60s"],
        by_status,
        runs.aggregate(calls=Sum("api_calls"), errors=Sum("errors"), throttled=Sum("throttled")),
    )

    # The chaos happened: every kind of fault was served, and the cycles ran.
    assert set(stats["faults_by_kind"]) == set(FAULT_KINDS), stats["faults_by_kind"]
    assert stats["faults_served"] >= 0.1 * stats["total"]
    assert runs.filter(task="collectors.tasks.plan_collection").count() >= CYCLES

    # No unhandled exception: every fault was retried, waited out or recorded, none escaped;
    # and no run was left waiting for a retry that cannot come.
    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "raised unexpected" not in output, output[-5000:]
    assert not runs.filter(status="failed").exists(), list(
        runs.filter(status="failed").values_list("task", "detail")
    )
    assert not runs.filter(status="waiting").exists()

    # The bucket kept the fleet under the simulator's limit.
    assert stats["rate_limited"] == 0, stats
    assert stats["peak_rate_60s"] <= SIM_RATE
    assert stats["peak_rate_60s"] >= 0.6 * BUCKET_RATE, "the bucket was the bottleneck"

    # Errors are recorded: the long 429 left runs that waited, resumed on retry or closed as
    # expired when the retry would outlive the tick; every call the simulator answered is
    # counted on some run, and so is every fault that failed a call (throttles apart too).
    waited = Q(detail__contains="retry of a run that waited") | Q(status="expired")
    assert runs.filter(waited).exists(), by_status
    served = stats["faults_by_kind"]
    totals = runs.aggregate(
        calls=Sum("api_calls"), errors=Sum("errors"), throttled=Sum("throttled")
    )
    assert totals["calls"] == stats["total"]
    assert totals["errors"] == sum(n for kind, n in served.items() if kind in FAILING), served
    assert totals["throttled"] == sum(n for kind, n in served.items() if kind in THROTTLES)

    # Everything was collected.
    linked = WatchlistEntry.objects.filter(pool__isnull=False).count()
    assert linked == POOLS
    polled = TradeCursor.objects.filter(last_collected_at__isnull=False).count()
    unpolled = Pool.objects.exclude(tradecursor__last_collected_at__isnull=False)
    trade_runs = [
        (r.arguments, r.status, r.detail[:200])
        for r in runs.filter(task="collectors.tasks.fetch_trades")
        if r.arguments.get("pool_id") in set(unpolled.values_list("pk", flat=True))
    ]
    plans = list(
        runs.filter(task="collectors.tasks.plan_collection").values_list("detail", flat=True)
    )
    assert polled == POOLS, f"trades of {polled} pools polled; {trade_runs}; {plans}"
    covered = CandleCoverage.objects.filter(timeframe="1m").values("pool").distinct().count()
    assert covered >= 0.9 * POOLS, f"1m candles of {covered} pools (quiet pools aside)"
    assert CandleCoverage.objects.filter(timeframe="1h").exists()

    # No duplicate row, and everything served is stored.
    assert_complete_and_unique(sim, float(config.min_trade_usd))
    assert_audit_clean()
