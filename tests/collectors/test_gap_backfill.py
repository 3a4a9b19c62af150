"""Gap backfill: a gap is abandoned only on the API's word, never on a count of waits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collectors.gecko.errors import MustWait
from collectors.services.backfill import Walk, backfill_gap
from collectors.services.gaps import gaps_to_backfill, scan_gaps
from collectors.services.ohlcv import collect_ohlcv
from marketdata.coverage import sync_gaps
from marketdata.models import Candle, CandleCoverage, Gap, HistoryStart
from marketdata.timeframes import Timeframe
from simulator import LIMIT_COUNTS
from tests.collectors.busy_pools import busiest_pool
from tests.marketdata.factories import T0
from tests.marketdata.factories import pool as make_pool

from .backfills import ohlcv_calls
from .clients import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=LIMIT_COUNTS)
def limit_counts(request, simulator):
    """Every test under either reading of what an OHLCV ``limit`` counts."""
    simulator.control("config", {"limit_counts": request.param})
    return request.param


@pytest.fixture
def watched(simulator):
    return busiest_pool(simulator, 4, watched=True)


def open_gap_after_downtime(pool, client) -> Gap:
    """The collector was down for a day, then read one live page: a hole between the two."""
    collect_ohlcv(client, pool.pk, "1m", max_pages=2, include_empty=False)
    last_run = Timeframe.M1.floor(timezone.now() - timedelta(days=1))
    Candle.objects.filter(pool=pool, ts__gte=last_run).delete()
    CandleCoverage.objects.filter(pool=pool).update(end=last_run)
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    assert scan_gaps("solana", ["1m"]) == 1
    return Gap.objects.get()


def test_waiting_for_the_rate_limit_never_abandons_a_gap(
    simulator, watched, key_prefix, redis_client
):
    gecko = make_client(simulator.base_url, prefix=key_prefix)
    gap = open_gap_after_downtime(watched, gecko)
    calls_before = ohlcv_calls(simulator)
    # A 429 put the whole bucket on cooldown: every backfill is told to wait, six times over,
    # with a gap scan between retries as the beat would run it.
    waiting = make_client(simulator.base_url, prefix=key_prefix, max_wait=0.05)
    waiting.limiter.penalize(60)
    assert gaps_to_backfill(10) == [gap.pk], "queued once"
    for _ in range(6):
        with pytest.raises(MustWait):
            backfill_gap(Walk(waiting), gap.pk)
        assert scan_gaps("solana", ["1m"]) == 1
        assert gaps_to_backfill(10) == [], "still queued: not queued again"

    gap.refresh_from_db()
    assert ohlcv_calls(simulator) == calls_before, "no call was made"
    assert (gap.status, gap.attempts) == (Gap.Status.OPEN, 0)

    waiting.limiter.reset()
    backfill_gap(Walk(gecko), gap.pk)

    gap.refresh_from_db()
    assert gap.status == Gap.Status.FILLED and gap.attempts >= 1


def test_the_admin_reopens_gaps_and_queues_their_backfill_once(admin_client, redis_client):
    pool = make_pool()
    gap = Gap.objects.create(
        pool=pool,
        timeframe="1m",
        start=T0,
        end=T0 + timedelta(hours=1),
        status=Gap.Status.UNFILLABLE,
        attempts=5,
        reason="still open after 5 backfills",
    )
    HistoryStart.objects.create(
        pool=pool, timeframe="1m", starts_at=T0 + timedelta(hours=2), found_at=timezone.now()
    )
    form = {"action": "reopen_and_backfill", "_selected_action": [gap.pk]}
    url = reverse("admin:marketdata_gap_changelist")

    first = admin_client.post(url, form, follow=True)
    second = admin_client.post(url, form, follow=True)

    gap.refresh_from_db()
    assert (gap.status, gap.attempts, gap.reason) == ("open", 0, "re-opened by an operator")
    assert not HistoryStart.objects.exists(), "the API will be asked again"
    queued = [json.loads(m)["headers"]["task"] for m in redis_client.lrange("api", 0, -1)]
    assert queued == ["collectors.tasks.backfill_gap"], "queued once, not twice"
    assert "queued 1 backfills" in first.content.decode()
    assert "queued 0 backfills (1 were already queued or running)" in second.content.decode()


def test_a_gap_older_than_the_api_keeps_becomes_unfillable_on_its_answer(
    simulator, key_prefix, redis_client
):
    pool = busiest_pool(simulator, 300)
    day = Timeframe.D1.floor(timezone.now())
    # Collected long ago, when the API still served those days; the API keeps ~183 days.
    CandleCoverage.objects.create(
        pool=pool, timeframe="1h", start=day - timedelta(days=250), end=day - timedelta(days=240)
    )
    CandleCoverage.objects.create(
        pool=pool, timeframe="1h", start=day - timedelta(days=230), end=day - timedelta(days=220)
    )
    (gap,) = sync_gaps(pool.pk, "1h")
    calls = ohlcv_calls(simulator)
    gecko = make_client(simulator.base_url, prefix=key_prefix)

    backfill_gap(Walk(gecko), gap.pk)

    gap.refresh_from_db()
    assert ohlcv_calls(simulator) == calls + 1, "the API was asked"
    assert gap.status == Gap.Status.UNFILLABLE and gap.attempts == 1
    assert gap.reason.startswith("older than the API keeps")
    assert HistoryStart.objects.get(pool=pool, timeframe="1h").starts_at >= gap.end
