"""A backfill that fails for good leaves the rest of its range as a gap (issue 15, defect 4).

The walk goes newest first, so what it did not reach lies before the first covered range: no
hole between covered ranges, so the gap scan alone would never see it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collectors.gecko.errors import GeckoError
from collectors.services.backfill import Walk, backfill_unit
from collectors.services.gaps import scan_gaps
from marketdata.coverage import covered_spans, sync_gaps
from marketdata.models import Gap
from marketdata.timeframes import Timeframe
from tests.collectors.busy_pools import busiest_pool

from .clients import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(simulator):
    return busiest_pool(simulator, 10, watched=True)


def test_the_unwalked_rest_of_a_failed_backfill_is_an_open_gap_until_filled(
    simulator, busy, key_prefix, redis_client
):
    until = Timeframe.M1.floor(timezone.now()) - timedelta(hours=1)
    since = until - timedelta(days=3)
    pages: list[int] = []

    def fail_after_two_pages(candles: int) -> None:
        pages.append(candles)
        if len(pages) == 2:
            simulator.add_fault("500", count=100, path_contains="/ohlcv/")

    gecko = make_client(simulator.base_url, prefix=key_prefix)
    walk = Walk(gecko, on_page=fail_after_two_pages)
    with pytest.raises(GeckoError):
        backfill_unit(walk, busy.pk, "1m", since=since, until=until)

    (covered,) = covered_spans(busy.pk, "1m")
    assert since < covered.start and covered.end >= until, "the walk stopped midway"
    (gap,) = Gap.objects.filter(pool=busy, timeframe="1m")
    assert (gap.start, gap.end, gap.status) == (since, covered.start, Gap.Status.OPEN)
    assert "500" in gap.reason or "failed" in gap.reason
    assert scan_gaps("solana", ["1m"]) == 1, "the scan keeps it open: nothing covers it"

    simulator.simulator.faults.reset()
    backfill_unit(Walk(gecko), busy.pk, "1m", since=gap.start, until=gap.end)
    assert sync_gaps(busy.pk, "1m") == []
    gap.refresh_from_db()
    assert gap.status == Gap.Status.FILLED
