"""A monthly credit (the demo key's 10,000 calls) is shared by live collection and backfills:
a backfill may spend only what is left after live collection's need to the month's end, and
its plan says how much that is. Against the simulator over HTTP, the Redis counter and the
database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from collectors import tasks
from collectors.gecko.credit import MonthlyCalls
from collectors.models import CollectionRun
from collectors.planner import limits
from marketdata.models import Candle
from tests.collectors.busy_pools import busiest_pool

from .backfills import backfill, ohlcv_calls

pytestmark = pytest.mark.django_db
CREDIT = 10_000


@pytest.fixture
def demo(simulator, settings, redis_client):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    settings.GECKO_RATE_LIMIT_BURST = 50
    settings.GECKO_MONTHLY_CREDIT = CREDIT
    return simulator


@pytest.fixture
def watched(demo):
    return busiest_pool(demo, 10, watched=True)


def spend(calls: int) -> None:
    """Calls already sent this month, as the counter every API call bumps holds them."""
    MonthlyCalls().client.set(MonthlyCalls().key(datetime.now(tz=UTC)), calls)


def test_a_backfill_leaves_live_collection_its_credit(demo, watched):
    spend(CREDIT - 10)  # ten calls left: live collection needs more than that this month

    out = backfill("--pool", watched.address, "--timeframe", "1m", "--days", "3")

    assert ohlcv_calls(demo) == 0, "not one call of live collection's credit"
    assert not Candle.objects.exists()
    assert "monthly credit" in out and "backfill may use 0 calls" in out
    assert "stopped: the monthly credit left is live collection's" in out.lower()


def test_the_async_path_says_so_and_its_tasks_stop_too(demo, watched):
    spend(CREDIT - 10)
    now = timezone.now()

    out = backfill("--pool", watched.address, "--timeframe", "1m", "--days", "3", "--async")
    tasks.backfill_ohlcv.apply(
        kwargs={
            "pool_id": watched.pk,
            "timeframe": "1m",
            "since": (now - timedelta(days=3)).isoformat(),
            "until": now.isoformat(),
        }
    )

    assert "backfill may use 0 calls" in out
    assert ohlcv_calls(demo) == 0
    run = CollectionRun.objects.get(task="collectors.tasks.backfill_ohlcv")
    assert run.status == CollectionRun.Status.WARNING
    assert "monthly credit" in run.detail


def test_with_credit_to_spare_a_backfill_runs_and_every_call_is_counted(demo, watched):
    out = backfill("--pool", watched.address, "--timeframe", "1m", "--days", "3")

    calls = demo.stats()["total"]
    assert ohlcv_calls(demo) >= 4, "three days of 1m: four pages or more"
    assert MonthlyCalls().spent() == calls
    assert "monthly credit" in out and "backfill may use" in out
    assert limits.current().remaining_this_month == CREDIT - calls


def test_collect_plan_shows_what_backfills_may_spend(demo, watched):
    spend(CREDIT - 10)
    out = StringIO()

    call_command("collect", "plan", stdout=out)

    assert "10 left this month" in out.getvalue() and "backfill may use 0 calls" in out.getvalue()
