"""The audit on a store the real collectors wrote from the simulator: clean after collection;
a hole left by downtime is reported until the gap scan records it, then clean again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collectors.services.gaps import scan_gaps
from collectors.services.ohlcv import collect_ohlcv
from marketdata.audit import run_audit
from marketdata.models import Candle, CandleCoverage
from marketdata.timeframes import ALL_TIMEFRAMES, Timeframe
from tests.audit import assert_audit_clean, describe

from .test_services_ohlcv import watched  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_every_timeframe_collected_twice_audits_clean(watched, gecko):  # noqa: F811
    for _ in range(2):
        for tf in ALL_TIMEFRAMES:
            collect_ohlcv(gecko, watched.pk, tf, max_pages=2, include_empty=False)

    report = assert_audit_clean()

    assert {s.timeframe for s in report.series} == set(ALL_TIMEFRAMES)
    assert all(s.candles > 1 and s.coverage_ranges == 1 for s in report.series), describe(report)


def test_a_hole_left_by_downtime_is_reported_until_the_gap_scan_flags_it(watched, gecko):  # noqa: F811
    collect_ohlcv(gecko, watched.pk, "1m", max_pages=2, include_empty=False)
    last_run = Timeframe.M1.floor(timezone.now() - timedelta(days=1))
    Candle.objects.filter(pool=watched, ts__gte=last_run).delete()
    CandleCoverage.objects.filter(pool=watched).update(end=last_run)
    collect_ohlcv(gecko, watched.pk, "1m", max_pages=1, include_empty=False)
    first_live = CandleCoverage.objects.filter(pool=watched).latest("start").start

    before_scan = run_audit()
    scan_gaps("solana", ["1m"])

    (s,) = before_scan.inconsistent
    assert (s.holes, s.first_holes, s.candles_outside) == (1, [(last_run, first_live)], 0)
    assert_audit_clean()
