"""CollectorConfig validation, and the per-(task, arguments) lock around every task run."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.exceptions import ValidationError

from collectors import tasks
from collectors.fleet.locks import lock_key, redis_client, task_lock
from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Candle
from marketdata.timeframes import ALL_TIMEFRAMES
from tests.collect_command import unthrottled
from tests.marketdata.factories import pool as make_pool

pytestmark = pytest.mark.django_db
FETCH_OHLCV = "collectors.tasks.fetch_ohlcv"


# --- CollectorConfig -------------------------------------------------------------------------


def test_the_default_config_collects_all_seven_timeframes_and_is_valid():
    config = CollectorConfig.current()

    config.full_clean()

    assert config.ohlcv_timeframes == list(ALL_TIMEFRAMES)
    assert len(config.ohlcv_timeframes) == 7
    assert CollectorConfig.current().pk == config.pk, "one row per network"


@pytest.mark.parametrize(
    "timeframes",
    [["1m", "2h"], ["1h", "1h"], ["1m", "5m", "1m"]],
    ids=["unknown 2h", "twice", "twice, apart"],
)
def test_an_unknown_or_repeated_timeframe_is_rejected(timeframes):
    config = CollectorConfig.current()
    config.ohlcv_timeframes = timeframes

    with pytest.raises(ValidationError) as caught:
        config.full_clean()

    assert "ohlcv_timeframes" in caught.value.message_dict


# --- the task lock ---------------------------------------------------------------------------


def concurrent_holders(first: dict, second: dict) -> list[bool]:
    """Two threads enter task_lock at the same time; both stay inside until both got an answer."""
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[bool] = []

    def run(arguments: dict) -> None:
        barrier.wait()
        with task_lock(FETCH_OHLCV, arguments, ttl=30) as acquired:
            outcomes.append(acquired)
            barrier.wait()

    threads = [threading.Thread(target=run, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    return outcomes


def test_of_two_concurrent_runs_with_the_same_arguments_only_one_holds_the_lock():
    arguments = {"pool_id": uuid.uuid4().hex, "timeframe": "1m"}

    assert sorted(concurrent_holders(arguments, dict(arguments))) == [False, True]
    assert not redis_client().exists(lock_key(FETCH_OHLCV, arguments)), "released after"


def test_runs_with_different_arguments_do_not_block_each_other():
    pool_id = uuid.uuid4().hex

    outcomes = concurrent_holders(
        {"pool_id": pool_id, "timeframe": "1m"}, {"pool_id": pool_id, "timeframe": "5m"}
    )

    assert outcomes == [True, True]


@pytest.fixture
def live_api(settings, simulator):
    """Tasks build their client from settings: point them at the simulator, unthrottled."""
    unthrottled(settings, simulator.base_url)
    return simulator


def test_a_task_whose_work_is_already_running_is_skipped_and_leaves_no_run(live_api):
    pool = make_pool(address=live_api.world()["pools"]["pumpswap"][0]["address"])
    held = {"pool_id": pool.pk, "timeframe": "1h"}

    with task_lock(FETCH_OHLCV, held, ttl=30) as acquired:
        assert acquired
        skipped = tasks.fetch_ohlcv.apply(kwargs=held).get()
        other = tasks.fetch_ohlcv.apply(kwargs={"pool_id": pool.pk, "timeframe": "4h"}).get()

    assert skipped == {"skipped": True}
    assert other is None
    calls = live_api.stats()["by_kind"]
    # The 4h walk may take a second page: a short page proves only as far back as it looked.
    assert set(calls) == {"ohlcv"}, "only the other timeframe was fetched"
    assert not Candle.objects.filter(timeframe="1h").exists()
    assert Candle.objects.filter(pool=pool, timeframe="4h").exists()
    run = CollectionRun.objects.get()
    assert (run.task, run.arguments, run.status) == (
        FETCH_OHLCV,
        {"pool_id": pool.pk, "timeframe": "4h"},
        CollectionRun.Status.OK,
    )
    assert run.items_written > 0 and run.api_calls == calls["ohlcv"] and run.finished_at
    assert not redis_client().exists(lock_key(FETCH_OHLCV, held))

    again = tasks.fetch_ohlcv.apply(kwargs=held).get()

    assert again is None and Candle.objects.filter(pool=pool, timeframe="1h").exists()


def test_a_dead_workers_lock_is_taken_over_by_its_redelivered_task_but_not_by_another(live_api):
    pool = make_pool(address=live_api.world()["pools"]["pumpswap"][0]["address"])
    held = {"pool_id": pool.pk, "timeframe": "1h"}
    dead = task_lock(FETCH_OHLCV, held, ttl=30, owner="task-x")
    assert dead.__enter__(), "the worker running task-x dies inside its block"

    other = tasks.fetch_ohlcv.apply(kwargs=held, task_id="task-y").get()
    redelivered = tasks.fetch_ohlcv.apply(kwargs=held, task_id="task-x").get()

    assert other == {"skipped": True}, "a different task with the same arguments waits"
    assert redelivered is None and Candle.objects.filter(pool=pool, timeframe="1h").exists()
    assert CollectionRun.objects.get().status == CollectionRun.Status.OK
    assert not redis_client().exists(lock_key(FETCH_OHLCV, held)), "released by the new copy"
