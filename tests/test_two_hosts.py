"""Two hosts (issue 11): an ``api`` and a ``default`` worker on each of two machines, one beat,
one PostgreSQL and one Redis.

Every process is configured with the full rate, as a lone host would be; the fleet must still
keep one budget (the Redis bucket), so the planner's share plus an operator's backfill on top
must not push the simulator, limited just above the bucket, past its limit. Work is spread over
both hosts and none is done twice: no unit runs twice in a tick or twice at once, no URL is
asked twice in a tick (faults are off, so there are no retries), and no row is stored twice.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from collectors.models import CollectionRun
from collectors.services.backfill import plan_backfill
from marketdata.models import Candle, Trade
from marketdata.trade_layout import trade_ids
from watchlist.models import WatchlistEntry

from .celery_worker import celery_beat, celery_worker, drained, wait_for_runs
from .collector_setup import planned_every, watched_world

logger = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POOLS = 40
CYCLES = 7
TICK = 10  # seconds between planner ticks (the shortest CollectorConfig allows)
RATE = 150  # the fleet's bucket; every process is told this rate, as a lone host would be
BURST = 5
SIM_RATE = RATE + 2 * BURST  # the simulator's limit, just above the bucket
HOSTS = ("hosta", "hostb")
ENV = {"GECKO_RATE_LIMIT_PER_MIN": str(RATE), "GECKO_RATE_LIMIT_BURST": str(BURST)}
PLAN = "collectors.tasks.plan_collection"
BACKFILL = "collectors.tasks.backfill_ohlcv"


class RequestLog(logging.Handler):
    """Every API request the in-process simulator answers: (time, path?query, status)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.requests: list[tuple[float, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 7 and args[6] != " control":
            self.requests.append((time.monotonic(), f"{args[2]}{args[3]}", int(args[4])))


def wait_until_linked(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while WatchlistEntry.objects.filter(pool__isnull=False).count() < POOLS:
        if time.monotonic() > deadline:
            raise AssertionError(f"watchlist pools not linked after {timeout}s")
        time.sleep(0.5)


def backfill_deadline(live_share: float) -> float:
    """When the backfill must be done: its plan's pages (an upper bound) at the backfill lane's
    rate, plus a minute for start-up and the retries' latency. The lane, not the test's
    patience, sets how long 14 days of 5m for every pool take."""
    pool_ids = list(WatchlistEntry.objects.values_list("pool_id", flat=True))
    until = timezone.now()
    plan = plan_backfill(pool_ids, ["5m"], since=until - timedelta(days=14), until=until)
    lane_per_min = (1 - live_share) * RATE
    return time.monotonic() + plan.pages / lane_per_min * 60 + 60


def wait_for_backfill(deadline: float) -> None:
    """Every pool's backfill finished (a unit waiting for tokens keeps one run, "waiting")."""
    while True:
        done = CollectionRun.objects.filter(task=BACKFILL, status="ok").count()
        if done >= POOLS:
            return
        if time.monotonic() > deadline:
            rows = CollectionRun.objects.filter(task=BACKFILL).order_by().values_list("status")
            raise AssertionError(
                f"{done} of {POOLS} backfills done by the lane's deadline: "
                f"{dict(rows.annotate(n=Count('id')))}"
            )
        time.sleep(0.5)


def repeats_within(times_by_key: dict, seconds: float) -> list[str]:
    """Keys done twice less than ``seconds`` apart."""
    found = []
    for key, times in times_by_key.items():
        times = sorted(times)
        found += [f"{key} at +{b - a:.1f}s" for a, b in pairwise(times) if b - a < seconds]
    return found


def peak_in_60s(times: list[float]) -> int:
    """The most of ``times`` inside any 60 s window."""
    times, peak, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 60:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def overlapping_runs(runs) -> list[str]:
    """OK runs of the same task and arguments whose [started, finished] intervals overlap."""
    by_unit = defaultdict(list)
    for run in runs:
        by_unit[(run.task, repr(sorted(run.arguments.items())))].append(run)
    found = []
    for unit, rows in by_unit.items():
        rows.sort(key=lambda r: r.started_at)
        for a, b in pairwise(rows):
            if b.started_at < a.finished_at:
                found.append(f"{unit}: runs {a.pk} and {b.pk} overlap")
    return found


@pytest.fixture
def request_log():
    sim_logger, handler = logging.getLogger("simulator"), RequestLog()
    level = sim_logger.level
    sim_logger.setLevel(logging.INFO)
    sim_logger.addHandler(handler)
    yield handler
    sim_logger.removeHandler(handler)
    sim_logger.setLevel(level)


@pytest.mark.timeout(420)
def test_two_hosts_keep_one_budget_share_the_work_and_do_nothing_twice(
    simulator_factory, redis_client, request_log, tmp_path: Path, settings
):
    sim = simulator_factory(rate_per_min=SIM_RATE)
    watched_world(sim, POOLS)
    planned_every(TICK, ohlcv_timeframes=["1m", "1h"])

    log = tmp_path / "celery.log"
    since = timezone.now()
    started = time.monotonic()
    workers = [
        celery_worker(
            sim.base_url,
            queues=queue,
            concurrency=concurrency,
            hostname=f"{queue}@{host}",
            log=log,
            HOSTNAME=host,
            **ENV,
        )  # fmt: skip
        for host in HOSTS
        for queue, concurrency in (("api", 4), ("default", 1))
    ]
    with workers[0], workers[1], workers[2], workers[3]:
        with celery_beat(sim.base_url, tmp_path, log=log, HOSTNAME=HOSTS[0], **ENV):
            wait_until_linked(timeout=60)
            # An operator's backfill on top of the planner's share: more than one bucket's
            # worth of demand, so only a bucket shared by both hosts keeps the limit.
            backfill_until = backfill_deadline(settings.GECKO_RATE_LIMIT_LIVE_SHARE)
            call_command(
                "backfill_ohlcv", "--async", "--timeframe", "5m", "--days", "14", verbosity=0
            )
            wait_for_runs(PLAN, CYCLES, since, timeout=120)
        wait_for_backfill(backfill_until)
        drained(redis_client, timeout=60, statuses=("running", "waiting"))
    elapsed = time.monotonic() - started

    stats = sim.stats()
    runs = CollectionRun.objects.filter(started_at__gte=since)
    logger.warning(
        "two hosts: %.0f s, %d requests %s, peak %d/60 s, %d limited; runs %s",
        elapsed,
        stats["total"],
        stats["by_kind"],
        stats["peak_rate_60s"],
        stats["rate_limited"],
        dict(runs.values_list("task").annotate(n=Count("id"))),
    )

    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-5000:]
    assert not runs.filter(status="failed").exists()
    assert runs.filter(task=BACKFILL, status="ok").count() == POOLS

    # One budget: the shared bucket bound the fleet, and kept it under the simulator's limit.
    assert stats["rate_limited"] == 0, stats
    assert stats["peak_rate_60s"] <= RATE + BURST, stats["peak_rate_60s"]
    # The backfill (the only 5m calls) asked for more than its lane, and the lane is one for the
    # fleet: a bucket per host would let each host's lane run at the full share.
    lane = (1 - settings.GECKO_RATE_LIMIT_LIVE_SHARE) * RATE
    backfill_peak = peak_in_60s([at for at, url, _ in request_log.requests if "aggregate=5" in url])
    assert 0.8 * lane <= backfill_peak <= lane + BURST, (backfill_peak, lane)

    # Nothing twice. The planner never plans a unit again within a minute (MIN_REFRESH), so
    # any unit or URL repeated within a tick was done twice.
    done = runs.filter(status__in=["ok", "warning"]).exclude(task=PLAN)
    starts = defaultdict(list)
    for run in done:
        starts[(run.task, repr(sorted(run.arguments.items())))].append(run.started_at.timestamp())
    assert repeats_within(starts, TICK) == []
    assert overlapping_runs(done.filter(status="ok")) == []
    asked = defaultdict(list)
    for at, url, _status in request_log.requests:
        asked[url].append(at)
    assert len(request_log.requests) == stats["total"]
    assert repeats_within(asked, TICK) == []
    assert Trade.objects.count() == len(set(trade_ids(Trade.objects.all())))
    assert (
        Candle.objects.count()
        == Candle.objects.values("pool", "timeframe", "ts").distinct().count()
    )

    # Both hosts worked, and each run says which worker ran it.
    logger.warning("runs by worker: %s", dict(runs.values_list("worker").annotate(n=Count("id"))))
    fetched = runs.filter(task__startswith="collectors.tasks.fetch_")
    assert set(fetched.values_list("worker", flat=True)) == {f"api@{h}" for h in HOSTS}
    planned = runs.filter(task=PLAN).values_list("worker", flat=True)
    assert set(planned) <= {f"default@{h}" for h in HOSTS}
    assert not runs.filter(worker="").exists()
