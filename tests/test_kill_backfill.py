"""A backfill survives its whole worker being SIGKILLed mid-walk (issue 11, kills).

``manage.py backfill_ohlcv --async`` queues one task; the simulator's answers are slowed so the
kill lands after some pages were committed. With the Redis broker and acks_late, the dead
worker's message stays unacknowledged in kombu's ``unacked`` hash: no worker is told it died,
and any worker restores it to its queue only once it is older than the broker's
``visibility_timeout`` (an hour by default; CELERY_BROKER_VISIBILITY_TIMEOUT). A fresh worker
then runs the same task id again: it takes over the dead copy's Redis lock, the PostgreSQL
advisory lock died with the dead connection, and the walk resumes from what coverage lacks.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from collectors.models import CollectionRun
from marketdata.coverage import sync_gaps
from marketdata.models import Candle, CandleCoverage, Gap, HistoryStart
from tests.ground_truth import served_candles

from .audit import assert_audit_clean
from .celery_worker import prefork_worker, wait_for_runs
from .kills import VISIBILITY_TIMEOUT, kill_whole_worker, unacked_ages
from .slow_backfills import BACKFILL, gap_between, last_whole_minutes, slow_walk
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DAYS = 4  # ~5,800 one-minute candles: six pages or so
WORKER_ENV = {"CELERY_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}


def killed_after_two_pages(simulator, pool, **env: str) -> None:
    """Run the queued backfill on a worker and SIGKILL the whole worker once two pages of
    ``pool`` are committed."""
    with prefork_worker(simulator.base_url, **env) as worker:
        wait_until(
            lambda: Candle.objects.filter(pool=pool).count() >= 1500, 60, "two pages committed"
        )
        kill_whole_worker(worker)


@pytest.mark.timeout(90)
def test_a_backfill_whose_whole_worker_was_killed_completes_on_a_fresh_worker(
    simulator, redis_client
):
    walk = slow_walk(simulator, DAYS, delay=1.5, count=100)
    pool, since, until = walk.pool, walk.since, walk.until
    started = timezone.now()

    call_command(*walk.command())
    killed_after_two_pages(simulator, pool, **WORKER_ENV)
    stored_at_kill = Candle.objects.filter(pool=pool).count()
    (cov,) = CandleCoverage.objects.filter(pool=pool, timeframe="1m")
    assert since < cov.start and cov.end >= until, "the killed walk stopped midway"
    assert len(unacked_ages(redis_client)) == 1, "the dead worker's message is unacknowledged"

    # The broker gives the message out again only once it is older than the timeout.
    wait_until(
        lambda: min(unacked_ages(redis_client)) > VISIBILITY_TIMEOUT + 0.5,
        VISIBILITY_TIMEOUT + 5,
        "the visibility timeout",
    )
    simulator.simulator.faults.reset()
    with prefork_worker(simulator.base_url, **WORKER_ENV):
        runs = wait_for_runs(BACKFILL, 2, started, timeout=60)
    # The dead copy's row is closed as soon as the redelivered copy starts, not in 30 minutes.
    dead, run = sorted(runs, key=lambda r: r.pk)
    assert dead.status == CollectionRun.Status.FAILED and "abandoned" in dead.detail
    assert run.status == CollectionRun.Status.OK, run.detail
    assert run.correlation_id == dead.correlation_id, "the same message, redelivered"
    assert not redis_client.zcard("unacked_index"), "the redelivered copy was acknowledged"

    served = served_candles(simulator, walk.address, "1m", since, until)
    stored = walk.stored()
    assert len(stored) > stored_at_kill
    assert len(stored) == len(set(stored)), "no candle stored twice"
    assert set(stored) == set(served), "every candle served for the range is stored"
    (cov,) = CandleCoverage.objects.filter(pool=pool, timeframe="1m")
    assert cov.start <= since and cov.end >= until
    assert not HistoryStart.objects.filter(pool=pool, starts_at__gt=since).exists()
    assert sync_gaps(pool.pk, "1m") == []
    assert not Gap.objects.filter(pool=pool, status=Gap.Status.UNFILLABLE).exists()
    assert_audit_clean()


@pytest.mark.timeout(90)
def test_re_running_the_command_after_a_worker_was_killed_is_not_blocked_by_its_locks(
    simulator, redis_client
):
    """The operator's path when an hour's visibility timeout is too long to wait: run the same
    command again. Its new task must not be skipped for the dead task's Redis lock."""
    walk = slow_walk(simulator, DAYS, delay=1.5, count=100)
    pool, since, until = walk.pool, walk.since, walk.until
    started = timezone.now()

    call_command(*walk.command())
    killed_after_two_pages(simulator, pool)
    simulator.simulator.faults.reset()
    call_command(*walk.command())
    with prefork_worker(simulator.base_url):
        wait_until(
            lambda: CollectionRun.objects.filter(
                task=BACKFILL, started_at__gte=started, status="ok"
            ).exists(),
            60,
            "the re-queued backfill's run",
        )

    served = served_candles(simulator, walk.address, "1m", since, until)
    stored = walk.stored()
    assert len(stored) == len(set(stored)) and set(stored) == set(served)
    assert sync_gaps(pool.pk, "1m") == []
    assert_audit_clean()


@pytest.mark.timeout(90)
def test_a_gap_whose_backfill_worker_was_killed_can_be_queued_again_within_a_lease(
    simulator, redis_client, settings
):
    """``backfill_ohlcv --gaps`` and the gap scan skip a gap claimed as queued or running (an
    hour's claim, as long as the broker takes to redeliver). Once a backfill runs the claim is
    a lease (GECKO_LEASE_SECONDS): a killed run's gap can be queued again within one."""
    until = last_whole_minutes()
    address, pool, gap = gap_between(
        settings, simulator, ((until - timedelta(days=4), until - timedelta(days=3)),
                              (until - timedelta(days=1), until)),
    )  # fmt: skip
    in_gap = Candle.objects.filter(pool=pool, ts__gte=gap.start, ts__lt=gap.end)
    simulator.add_fault("slow", count=100, path_contains="/ohlcv/", delay=1.5)
    lease = {"GECKO_LEASE_SECONDS": "3"}

    assert "Queued 1 gap" in command_output("--gaps", "--async")
    with prefork_worker(simulator.base_url, **lease) as worker:
        wait_until(lambda: in_gap.count() >= 900, 60, "a page of the gap committed")
        kill_whole_worker(worker)
    assert "Queued 0 gap" in command_output("--gaps", "--async"), "claimed while it may run"
    wait_until(lambda: "Queued 1 gap" in command_output("--gaps", "--async"), 6, "the lease")
    simulator.simulator.faults.reset()
    with prefork_worker(simulator.base_url, **lease):
        wait_until(
            lambda: Gap.objects.get(pk=gap.pk).status == Gap.Status.FILLED, 60, "the gap filled"
        )

    served = served_candles(simulator, address, "1m", gap.start, gap.end)
    stored = list(in_gap.values_list("ts", flat=True))
    assert len(stored) == len(set(stored)) and set(stored) == set(served)
    assert sync_gaps(pool.pk, "1m") == []
    assert_audit_clean()


def command_output(*args: str) -> str:
    out = StringIO()
    call_command("backfill_ohlcv", *args, stdout=out)
    return out.getvalue()
