"""A trade collection survives its whole worker being SIGKILLed mid-call (issue 11, kills).

tests/test_worker_lost.py kills a prefork *child*: the main process sees it die and requeues
the message at once. Here the main process dies too, so nothing requeues it: the broker hands
the unacknowledged message out again once it is older than its visibility timeout (see
tests/test_kill_backfill.py), and the copy must then take over the dead one's lock and
in-flight claim and store what the simulator serves, once, with the cursor right and no gap.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from collectors import tasks
from collectors.fleet import inflight as planned
from collectors.fleet.locks import lock_key
from collectors.models import CollectionRun, CollectorConfig, TradeCursor
from collectors.planner.demand import unit_key
from marketdata.models import Gap, Trade
from marketdata.trade_layout import trade_ids
from tests.ground_truth import answer_margin, served_trades
from tests.marketdata.factories import pool as make_pool

from .audit import assert_audit_clean
from .celery_worker import prefork_worker, wait_for_runs
from .kills import VISIBILITY_TIMEOUT, kill_whole_worker, unacked_ages
from .waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FETCH_TRADES = "collectors.tasks.fetch_trades"
WORKER_ENV = {"CELERY_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}


def queue_like_the_planner(pool_id: int) -> None:
    """Claim the unit in flight, as plan_collection does before it sends the task."""
    assert planned.claim([(unit_key("trades", pool_id), 1)], ttl=120)
    tasks.fetch_trades.apply_async(kwargs={"pool_id": pool_id})


@pytest.mark.timeout(90)
def test_a_trade_collection_whose_whole_worker_was_killed_completes_on_a_fresh_worker(
    simulator, redis_client
):
    world = [p for dex in simulator.world()["pools"].values() for p in dex]
    address = max(world, key=lambda p: p["trades_per_day"])["address"]
    pool = make_pool(address=address)
    config = CollectorConfig.current()
    started = timezone.now()

    with prefork_worker(simulator.base_url, **WORKER_ENV):
        queue_like_the_planner(pool.pk)
        wait_for_runs(FETCH_TRADES, 1, started, timeout=30)
    first_poll = TradeCursor.objects.get(pool=pool).last_collected_at
    assert Trade.objects.filter(pool=pool).exists()

    simulator.add_fault("slow", count=1, path_contains="/trades", delay=60)
    with prefork_worker(simulator.base_url, **WORKER_ENV) as worker:
        queue_like_the_planner(pool.pk)
        wait_until(lambda: simulator.simulator.faults.pending() == [], 30, "the slowed call")
        assert redis_client.exists(lock_key(FETCH_TRADES, {"pool_id": pool.pk}))
        kill_whole_worker(worker)
    assert TradeCursor.objects.get(pool=pool).last_collected_at == first_poll
    assert len(unacked_ages(redis_client)) == 1

    wait_until(
        lambda: min(unacked_ages(redis_client)) > VISIBILITY_TIMEOUT + 0.5,
        VISIBILITY_TIMEOUT + 5,
        "the visibility timeout",
    )
    with prefork_worker(simulator.base_url, **WORKER_ENV):
        wait_until(
            lambda: CollectionRun.objects.filter(task=FETCH_TRADES, status="ok").count() == 2,
            40,
            "the redelivered collection",
        )
    simulator.simulator.faults.reset()

    polled = TradeCursor.objects.get(pool=pool).last_collected_at
    assert polled > first_poll
    # The simulator's series runs on: what it serves now from before the last poll was served
    # to that poll, allowing for the CDN's age (ground_truth.answer_margin: the redelivered poll
    # may be served the answer the edge cached for the killed one's slowed request).
    served = {
        t.trade_id
        for t in served_trades(simulator, address, float(config.min_trade_usd))
        if t.block_timestamp < polled - answer_margin(simulator)
    }
    stored = trade_ids(Trade.objects.filter(pool=pool))
    assert served and len(stored) == len(set(stored)), "no trade stored twice"
    assert served - set(stored) == set(), "every trade served is stored"
    assert not Gap.objects.filter(pool=pool, timeframe=Gap.TRADES).exists(), "no false gap"
    assert not CollectionRun.objects.filter(task=FETCH_TRADES, status="running").exists()
    assert not redis_client.exists(lock_key(FETCH_TRADES, {"pool_id": pool.pk}))
    assert unit_key("trades", pool.pk) not in planned.read().units, "in-flight claim released"
    assert not redis_client.zcard("unacked_index")
    assert_audit_clean()


@pytest.mark.timeout(60)
def test_a_killed_workers_claims_lapse_so_the_planner_queues_the_pool_again_at_once(
    simulator, redis_client
):
    """The planner's messages expire with its tick, long before the broker would redeliver
    them, so the planner's next tick is the recovery: the dead run's in-flight claim and lock
    must lapse within a lease (GECKO_LEASE_SECONDS), not the hard time limit (16 min)."""
    world = [p for dex in simulator.world()["pools"].values() for p in dex]
    pool = make_pool(address=max(world, key=lambda p: p["trades_per_day"])["address"])
    CollectorConfig.current()
    unit, lock = unit_key("trades", pool.pk), lock_key(FETCH_TRADES, {"pool_id": pool.pk})
    lease = {"GECKO_LEASE_SECONDS": "3"}
    simulator.add_fault("slow", count=1, path_contains="/trades", delay=60)

    with prefork_worker(simulator.base_url, **lease) as worker:
        queue_like_the_planner(pool.pk)
        wait_until(lambda: simulator.simulator.faults.pending() == [], 30, "the slowed call")
        wait_until(lambda: redis_client.pttl(lock) > 0, 5, "the run's lock")
        time.sleep(4)  # longer than a lease: a live run keeps renewing it
        assert redis_client.exists(lock) and unit in planned.read().units
        kill_whole_worker(worker)

    wait_until(lambda: unit not in planned.read().units, 5, "the dead run's in-flight claim")
    wait_until(lambda: not redis_client.exists(lock), 5, "the dead run's lock")
    queue_like_the_planner(pool.pk)
    with prefork_worker(simulator.base_url, **lease):
        wait_until(
            lambda: CollectionRun.objects.filter(task=FETCH_TRADES, status="ok").exists(),
            30,
            "the next tick's collection",
        )
    assert Trade.objects.filter(pool=pool).exists()
    assert not Gap.objects.filter(pool=pool, timeframe=Gap.TRADES).exists()
    assert_audit_clean()
