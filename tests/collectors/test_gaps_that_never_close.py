"""Gaps the API can never fill back off, and after N identical answers become unfillable, so
they cannot take every backfill slot of every scan from the gaps that can be filled.

The simulator (real HTTP) answers some gaps with the same implausible candle every time and
others with a 404 (a pool that disappeared); scans run as the beat's scan_gaps does: pick,
backfill, release the claim.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from collectors.gecko.errors import NotFound
from collectors.services.backfill import Walk, backfill_gap
from collectors.services.gaps import gaps_to_backfill, release_gap, reopen_gaps
from marketdata.coverage import sync_gaps
from marketdata.models import CandleCoverage, Gap, Pool
from marketdata.timeframes import Timeframe
from tests.marketdata.factories import pool as make_pool

from .backfills import ohlcv_calls
from .clients import make_client

pytestmark = pytest.mark.django_db
DAY = 86400
HOUR = timedelta(hours=1)
SLOTS = 10  # backfill tasks per scan


def busy_pools(simulator, count: int) -> list[Pool]:
    """Old pools with a candle in every hour: a one-hour gap of theirs has a candle to serve."""
    world = simulator.world()
    old = [p for p in world["pools"]["pumpswap"] if p["pool_created_at"] < world["now"] - 4 * DAY]
    chosen = sorted(old, key=lambda p: -p["trades_per_day"])[:count]
    return [make_pool(address=p["address"]) for p in chosen]


def one_hour_gaps(pool: Pool, count: int) -> list[Gap]:
    """``count`` one-hour holes in otherwise covered 1h history of the last two days."""
    now = Timeframe.H1.floor(timezone.now())
    start = now - timedelta(hours=2 * count + 4)
    holes = [start + HOUR * (2 * i + 1) for i in range(count)]
    cursor = start
    for hole in holes:
        CandleCoverage.objects.create(pool=pool, timeframe="1h", start=cursor, end=hole)
        cursor = hole + HOUR
    CandleCoverage.objects.create(pool=pool, timeframe="1h", start=cursor, end=now - HOUR)
    gaps = sync_gaps(pool.pk, "1h")
    assert [(g.start, g.end) for g in gaps] == [(h, h + HOUR) for h in holes]
    return gaps


def scan(client) -> list[int]:
    """One scan as the beat runs it: claim up to SLOTS open gaps, backfill each, release."""
    chosen = gaps_to_backfill(SLOTS)
    for gap_id in chosen:
        try:
            backfill_gap(Walk(client), gap_id)
        except NotFound:
            pass  # the task ends failed; its claim is released all the same
        finally:
            release_gap(gap_id)
    return chosen


def test_ten_gaps_that_never_close_do_not_starve_an_eleventh(simulator, key_prefix, redis_client):
    implausible, gone, healthy = busy_pools(simulator, 3)
    never = one_hour_gaps(implausible, 5) + one_hour_gaps(gone, 5)
    (eleventh,) = one_hour_gaps(healthy, 1)  # detected last
    simulator.add_fault("implausible", count=1000, path_contains=f"{implausible.address}/ohlcv")
    simulator.add_fault("404", count=1000, path_contains=f"{gone.address}/ohlcv")
    client = make_client(simulator.base_url, prefix=key_prefix)
    calls = ohlcv_calls(simulator)

    for _ in range(5):
        scan(client)

    eleventh.refresh_from_db()
    assert eleventh.attempts >= 1, "the fillable gap was never tried"
    assert eleventh.status == Gap.Status.FILLED
    assert ohlcv_calls(simulator) - calls == 11, "one answer each, then the failing ones wait"
    now = timezone.now()
    for gap in Gap.objects.filter(pk__in=[g.pk for g in never]):
        assert gap.status == Gap.Status.OPEN and gap.attempts == 1
        assert gap.misses == 1 and gap.next_attempt_at > now + timedelta(minutes=10)
    answers = set(Gap.objects.filter(pool=gone).values_list("last_answer", flat=True))
    assert answers == {"the API answers 404 Not Found for this pool"}
    for answer in Gap.objects.filter(pool=implausible).values_list("last_answer", flat=True):
        assert answer.startswith("implausible candle ") and "high < low" in answer


def test_after_n_identical_answers_a_gap_is_unfillable_with_the_reason(
    simulator, key_prefix, redis_client, settings
):
    settings.GECKO_GAP_RETRY_BASE_SECONDS = 0.2
    settings.GECKO_GAP_SAME_ANSWERS = 3
    implausible, gone = busy_pools(simulator, 2)
    (bad,) = one_hour_gaps(implausible, 1)
    (lost,) = one_hour_gaps(gone, 1)
    simulator.add_fault("implausible", count=1000, path_contains=f"{implausible.address}/ohlcv")
    simulator.add_fault("404", count=1000, path_contains=f"{gone.address}/ohlcv")
    client = make_client(simulator.base_url, prefix=key_prefix)
    calls = ohlcv_calls(simulator)
    tried: list[list[int]] = []

    deadline = time.monotonic() + 10
    while Gap.objects.filter(status=Gap.Status.OPEN).exists() and time.monotonic() < deadline:
        tried.append(scan(client))
        time.sleep(0.05)

    bad.refresh_from_db()
    lost.refresh_from_db()
    assert (bad.status, lost.status) == (Gap.Status.UNFILLABLE, Gap.Status.UNFILLABLE)
    assert ohlcv_calls(simulator) - calls == 6, "three answers each"
    assert [] in tried, "between answers the gaps waited out their backoff"
    assert bad.reason.startswith("the API gave the same answer 3 times: implausible candle ")
    assert lost.reason == (
        "the API gave the same answer 3 times: the API answers 404 Not Found for this pool"
    )
    assert bad.resolved_at is not None and (bad.attempts, lost.attempts) == (3, 3)

    reopen_gaps(Gap.objects.filter(pk__in=[bad.pk, lost.pk]))

    bad.refresh_from_db()
    assert (bad.status, bad.misses, bad.same_answers, bad.last_answer) == ("open", 0, 0, "")
    assert bad.next_attempt_at is None
    assert sorted(gaps_to_backfill(SLOTS)) == sorted([bad.pk, lost.pk]), "tried again at once"
