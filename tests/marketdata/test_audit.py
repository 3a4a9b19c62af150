"""marketdata.audit: holes without a gap and candles outside coverage are found, nothing else is.

Each test seeds a small store the way the collectors leave it (candles, coverage, gap rows) and
checks the audit's findings to the interval.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketdata import store
from marketdata.audit import run_audit
from marketdata.coverage import record_coverage
from marketdata.history import note_history_start
from marketdata.models import Gap

from .factories import T0, candle_rows, pool

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def hours(start: int, end: int) -> tuple:
    return (T0 + start * H, T0 + end * H)


def series(report, pool_id, timeframe="1h"):
    (found,) = [s for s in report.series if s.pool_id == pool_id and s.timeframe == timeframe]
    return found


@pytest.fixture
def consistent():
    """48 hourly candles; coverage [0, 20) and [30, 47) with an open gap [20, 30) between and
    the 48th candle the live edge; hours 24-29 quiet (no candles: inside the gap's range)."""
    p = pool()
    rows = [r for r in candle_rows(p.pk, 48, "1h", 3600) if not 24 <= (r["ts"] - T0) / H < 30]
    store.upsert_candles(rows)
    record_coverage(p.pk, "1h", *hours(0, 20))
    record_coverage(p.pk, "1h", *hours(30, 47))
    Gap.objects.create(pool=p, timeframe="1h", start=T0 + 20 * H, end=T0 + 30 * H)
    return p


def test_a_consistent_store_has_no_finding(consistent):
    report = run_audit()

    assert report.ok, report.summary()
    s = series(report, consistent.pk)
    assert (s.candles, s.coverage_ranges, s.holes, s.candles_outside) == (42, 2, 0, 0)
    assert (s.covered_from, s.covered_to) == hours(0, 47)
    assert s.covered_seconds == 37 * 3600 and s.open_gaps == 1
    assert [x.timeframe for x in report.series] == ["1h"], "only series with something stored"


def test_a_hole_with_no_gap_row_is_found_to_the_interval(consistent):
    Gap.objects.all().delete()

    report = run_audit()

    s = series(report, consistent.pk)
    assert not report.ok and report.inconsistent == [s]
    assert (s.holes, s.hole_seconds, s.first_holes) == (1, 10 * 3600, [hours(20, 30)])
    assert s.candles_outside == 4, "hours 20-23 hold candles no answer vouches for"
    assert (s.first_outside, s.last_outside) == (T0 + 20 * H, T0 + 23 * H)


def test_a_filled_gap_explains_no_hole(consistent):
    Gap.objects.update(status=Gap.Status.FILLED)

    assert series(run_audit(), consistent.pk).holes == 1


def test_an_unfillable_gap_flags_its_range_and_its_reason_is_reported(consistent):
    Gap.objects.update(status=Gap.Status.UNFILLABLE, reason="older than the API keeps")

    report = run_audit()

    s = series(report, consistent.pk)
    assert report.ok
    assert (s.unfillable_gaps, s.unfillable_reasons, s.open_gaps) == (
        1,
        ["older than the API keeps"],
        0,
    )


def test_a_candle_outside_coverage_is_found_but_the_live_edge_is_not(consistent):
    later = candle_rows(consistent.pk, 60, "1h", 3600)[50:52]  # hours 50 and 51
    store.upsert_candles(later)

    report = run_audit()

    s = series(report, consistent.pk)
    assert not report.ok
    assert (s.candles_outside, s.first_outside, s.last_outside) == (
        2,
        T0 + 47 * H,
        T0 + 50 * H,
    ), "hour 51 is the newest: the live edge; 47 and 50 are not any more"
    assert (s.holes, s.first_holes) == (1, [hours(47, 51)])


def test_a_candle_before_the_first_coverage_is_a_hole_and_outside(consistent):
    store.upsert_candles([{**candle_rows(consistent.pk, 1, "1h")[0], "ts": T0 - 5 * H}])

    s = series(run_audit(), consistent.pk)

    assert (s.holes, s.first_holes) == (1, [(T0 - 5 * H, T0)])
    assert (s.candles_outside, s.first_outside) == (1, T0 - 5 * H)


def test_a_lone_newest_candle_without_coverage_is_the_live_edge():
    p = pool()
    store.upsert_candles(candle_rows(p.pk, 1, "5m", 300))

    report = run_audit()

    assert report.ok and series(report, p.pk, "5m").candles == 1


def test_filters_and_trade_windows(consistent):
    other = pool(address="Other1111111111111111111111111111111111111")
    store.upsert_candles(candle_rows(other.pk, 3, "1m"))  # no coverage: a hole, 2 outside
    Gap.objects.create(
        pool=other, timeframe=Gap.TRADES, start=T0, end=T0 + 2 * H, reason="full page"
    )

    everything = run_audit()
    mine = run_audit(pool_ids=[consistent.pk])
    one_minute = run_audit(timeframes=["1m"])

    by_address = [(s.pool, s.timeframe) for s in everything.series]
    assert by_address == [(consistent.address, "1h"), (other.address, "1m")]
    assert mine.ok and [s.pool_id for s in mine.series] == [consistent.pk] and not mine.trades
    assert not one_minute.ok and [s.pool_id for s in one_minute.series] == [other.pk]
    assert one_minute.trades == [], "trades only when asked for, or with no timeframe filter"
    (windows,) = everything.trades
    assert (windows.pool_id, windows.windows, windows.open_windows, windows.seconds) == (
        other.pk,
        1,
        1,
        7200.0,
    )
    assert windows.reasons == ["full page"]
    assert everything.trade_windows == 1 and not everything.ok


def test_an_unknown_timeframe_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown timeframe.*2h"):
        run_audit(timeframes=["1h", "2h"])


def test_the_history_start_is_reported_and_older_candles_are_no_inconsistency(consistent):
    note_history_start(consistent.pk, "1h", T0 + 10 * H, T0 + 100 * H)

    report = run_audit()

    assert report.ok and series(report, consistent.pk).history_start == T0 + 10 * H
