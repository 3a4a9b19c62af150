"""An implausible candle at a series' newest settled interval is flagged when its page is stored.

Found by ``manage.py audit`` after the free replay: the live fetch rejects the candle and covers
the time around it, but nothing covered lies after it yet, so the gap scan (holes *between*
covered ranges) could not flag it until the next interval settled: 12 h for 12h, 24 h for 1d,
with a hole no gap row explained.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from collectors.services.ohlcv import collect_ohlcv
from marketdata.audit import run_audit
from marketdata.coverage import record_coverage, sync_gaps
from marketdata.gap_scan import out_of_sync
from marketdata.models import Gap
from marketdata.timeframes import Timeframe

pytestmark = pytest.mark.django_db
TWELVE_HOURS = timedelta(hours=12)


def test_a_rejected_newest_settled_candle_leaves_an_open_gap_not_a_hole(
    simulator, gecko, busy_pool
):
    newest = Timeframe("12h").floor(timezone.now()) - TWELVE_HOURS
    start = int(newest.timestamp())
    simulator.control(
        "implausible",
        {"pool": busy_pool.address, "start": start, "end": start + 60, "kind": "high_below_low"},
    )

    report = collect_ohlcv(gecko, busy_pool.pk, "12h", max_pages=1, include_empty=False, limit=6)

    assert report.rejected == 1
    audit = run_audit(pool_ids=[busy_pool.pk], timeframes=["12h"])
    assert audit.holes == 0, audit.series[0].first_holes
    (gap,) = Gap.objects.filter(pool=busy_pool, timeframe="12h")
    assert (gap.start, gap.end, gap.status) == (newest, newest + TWELVE_HOURS, Gap.Status.OPEN)
    assert "rejected" in gap.reason

    assert out_of_sync([busy_pool.pk], ["12h"]) == set(), "the scan leaves it as it is"
    assert [g.pk for g in sync_gaps(busy_pool.pk, "12h")] == [gap.pk]


def test_the_gap_is_filled_once_a_later_answer_covers_its_interval(busy_pool):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    record_coverage(busy_pool.pk, "12h", start - 4 * TWELVE_HOURS, start)
    Gap.objects.create(pool=busy_pool, timeframe="12h", start=start, end=start + TWELVE_HOURS)
    assert out_of_sync([busy_pool.pk], ["12h"]) == set()

    record_coverage(busy_pool.pk, "12h", start, start + 2 * TWELVE_HOURS)

    assert out_of_sync([busy_pool.pk], ["12h"]) == {(busy_pool.pk, "12h")}
    assert sync_gaps(busy_pool.pk, "12h") == []
    assert Gap.objects.get(pool=busy_pool).status == Gap.Status.FILLED
