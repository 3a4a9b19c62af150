"""collect_ohlcv, scan_gaps and backfill_gap against the simulator (on the real clock).

The collector's "now" is Django's clock and the simulator's is its own; they must agree, as the
real API's and ours do. So the simulator stays on the wall clock, and "the collector was down
for a day" is set up the way it would look in the database: the rows written since then are
removed and the coverage ends where the last run ended.

A test whose expectations depend on where "now" falls in a minute (which candle is still open,
whether the open minute has traded yet) stops the wall clock for both at a chosen instant
(``time-machine`` moves ``time.time()`` and ``datetime.now()``, which both read): on a running
clock a minute can roll over between the test's reads and the collector's fetch.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.utils import timezone

from collectors.gecko.client import OHLCV_PERIODS
from collectors.services.backfill import Walk, backfill_gap
from collectors.services.gaps import gaps_to_backfill, scan_gaps
from collectors.services.ohlcv import collect_ohlcv
from marketdata.coverage import covered_spans
from marketdata.models import Candle, CandleCoverage, Gap
from marketdata.timeframes import ALL_TIMEFRAMES, Timeframe
from simulator import LIMIT_COUNTS, RunningSimulator
from tests.collectors.busy_pools import busiest_pool

from .clients import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched(simulator):
    """The busiest pumpswap pool with days of history (it trades every minute), on the watchlist
    and linked."""
    return busiest_pool(simulator, 4, watched=True)


def api_candles(simulator, address: str, timeframe: str, before: datetime, limit: int) -> dict:
    """What the API serves, read directly: ts → (open, high, low, close, volume)."""
    period, aggregate = OHLCV_PERIODS[timeframe]
    resp = httpx.get(
        f"{simulator.base_url}/networks/solana/pools/{address}/ohlcv/{period}",
        params={
            "aggregate": aggregate,
            "limit": limit,
            "before_timestamp": int(before.timestamp()),
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    rows = resp.json()["data"]["attributes"]["ohlcv_list"]
    return {datetime.fromtimestamp(r[0], tz=UTC): tuple(r[1:]) for r in rows}


def stored(pool, timeframe: str) -> dict:
    return {
        c.ts: (c.open, c.high, c.low, c.close, c.volume_usd, c.is_final)
        for c in Candle.objects.filter(pool=pool, timeframe=timeframe)
    }


def traded_minute(running: RunningSimulator, address: str, *, by_second: int) -> int:
    """The start of the latest past minute (on ``running``'s clock) in which ``address`` had
    traded within its first ``by_second`` seconds (0: had not traded at its very start)."""
    sim = running.simulator

    def wanted(minute: int) -> bool:
        traded = sim.trade_count(address, minute, minute + max(by_second, 1)) > 0
        return traded if by_second else not traded

    minute = int(sim.clock()) // 60 * 60 - 60
    while not wanted(minute):
        minute -= 60
    return minute


def stop_clock(time_machine, epoch: float) -> datetime:
    """Stop the wall clock (Django's and every simulator's) at ``epoch``."""
    instant = datetime.fromtimestamp(epoch, tz=UTC)
    time_machine.move_to(instant, tick=False)
    return instant


def half_a_traded_minute_in(running: RunningSimulator, address: str, time_machine) -> datetime:
    """Stop the clock half a minute into a minute in which the busy pool has traded by then:
    it trades every minute, yet not always within its first seconds, and an open 1m candle
    needs a trade."""
    return stop_clock(time_machine, traded_minute(running, address, by_second=30) + 30)


def test_ohlcv_fills_all_seven_timeframes_with_only_the_newest_candle_open(
    simulator, watched, gecko, time_machine
):
    now = half_a_traded_minute_in(simulator, watched.address, time_machine)
    for tf in ALL_TIMEFRAMES:
        report = collect_ohlcv(gecko, watched.pk, tf, max_pages=1, include_empty=False)
        assert report.pages == 1 and report.written == report.candles > 0

    for tf in ALL_TIMEFRAMES:
        candles = list(Candle.objects.filter(pool=watched, timeframe=tf).order_by("-ts"))
        moving_from = Timeframe(tf).floor(now)
        assert candles[0].ts >= moving_from, f"{tf}: the busy pool traded in this interval"
        assert [c.is_final for c in candles] == [c.ts < moving_from for c in candles], tf
        assert len(candles) > 1 and candles[1].ts < moving_from, tf
        (span,) = covered_spans(watched.pk, tf)
        # Coverage reaches the open candle's start: what the answer proves, not our clock.
        assert span.start <= candles[-1].ts and span.end == candles[0].ts, tf
    assert len(stored(watched, "1m")) == 1000, "one full page"


def test_a_second_run_adds_no_duplicates_and_rewrites_no_final_candle(watched, gecko):
    for tf in ALL_TIMEFRAMES:
        collect_ohlcv(gecko, watched.pk, tf, max_pages=1, include_empty=False)
    first = {tf: stored(watched, tf) for tf in ALL_TIMEFRAMES}

    reports = {
        tf: collect_ohlcv(gecko, watched.pk, tf, max_pages=1, include_empty=False)
        for tf in ALL_TIMEFRAMES
    }

    for tf, report in reports.items():
        second = stored(watched, tf)
        assert report.pages == 1 and report.candles < 10, "only what is newer than the last final"
        final_before = {ts: row for ts, row in first[tf].items() if row[-1]}
        assert {ts: second[ts] for ts in final_before} == final_before, tf
        moving_before = len(first[tf]) - len(final_before)
        assert report.written <= len(second) - len(first[tf]) + moving_before, tf
        assert Candle.objects.filter(pool=watched, timeframe=tf).count() == len(second)
        assert len(covered_spans(watched.pk, tf)) == 1


@pytest.mark.parametrize("limit_counts", LIMIT_COUNTS)
def test_a_quiet_interval_inside_a_fetched_range_is_not_a_gap(
    simulator, watched, gecko, limit_counts, time_machine
):
    # The 1,000 minutes asked about end with the open one, which counts only once it traded.
    half_a_traded_minute_in(simulator, watched.address, time_machine)
    simulator.control("config", {"limit_counts": limit_counts})
    now = int(simulator.world()["now"])
    simulator.add_hole(watched.address, now - 3 * 3600, now - 2 * 3600)

    collect_ohlcv(gecko, watched.pk, "1m", max_pages=1, include_empty=False)

    quiet = (datetime.fromtimestamp(now - 3 * 3600 + 60, tz=UTC), timedelta(minutes=58))
    assert not Candle.objects.filter(ts__range=(quiet[0], quiet[0] + quiet[1])).exists()
    # 1,000 candles, or the 1,000 minutes asked about less the quiet hour.
    expected = 1000 if limit_counts == "candles" else 1000 - 60
    assert Candle.objects.filter(pool=watched, timeframe="1m").count() == expected
    assert scan_gaps("solana", ["1m"]) == 0 and not Gap.objects.exists()


def test_a_hole_left_by_downtime_becomes_a_gap_that_backfill_fills(
    simulator, watched, gecko, redis_client
):
    collect_ohlcv(gecko, watched.pk, "1m", max_pages=2, include_empty=False)
    # The collector's last run was a day ago: what it wrote since is not there.
    last_run = Timeframe.M1.floor(timezone.now() - timedelta(days=1))
    Candle.objects.filter(pool=watched, ts__gte=last_run).delete()
    CandleCoverage.objects.filter(pool=watched).update(end=last_run)
    assert scan_gaps("solana", ["1m"]) == 0, "time after the last covered range is no gap"

    # Back up: one page of 1000 minutes does not reach back a whole day.
    live = collect_ohlcv(gecko, watched.pk, "1m", max_pages=1, include_empty=False)

    assert live.pages == 1
    assert scan_gaps("solana", ALL_TIMEFRAMES) == 1
    gap = Gap.objects.get()
    first_live = Candle.objects.filter(pool=watched, ts__gt=last_run).earliest("ts").ts
    assert (gap.timeframe, gap.status, gap.start, gap.end) == ("1m", "open", last_run, first_live)
    assert gap.end - gap.start > timedelta(hours=6)
    assert not Candle.objects.filter(ts__gte=last_run, ts__lt=first_live).exists()
    assert gaps_to_backfill(10) == [gap.pk]

    report = backfill_gap(Walk(gecko), gap.pk)

    gap.refresh_from_db()
    assert (gap.status, gap.attempts) == ("filled", 1) and gap.resolved_at is not None
    assert report.written > 0
    minutes = int((first_live - last_run).total_seconds() // 60) + 1
    served = api_candles(simulator, watched.address, "1m", first_live, minutes)
    held = stored(watched, "1m")
    for ts, values in served.items():
        if last_run <= ts <= first_live:
            assert held[ts] == (*values, True), ts
    assert len([ts for ts in held if last_run <= ts < first_live]) > 6 * 60
    (span,) = covered_spans(watched.pk, "1m")
    assert span.start < last_run and span.end > first_live
    assert scan_gaps("solana", ["1m"]) == 0 and gaps_to_backfill(10) == []


def lagging_busy_pool(simulator_factory, key_prefix):
    """A simulator whose answers are a minute old (as the CDN may serve them), its busiest
    pumpswap pool with a day of history, and a client for it."""
    lagging = simulator_factory(clock=lambda: time.time() - 60)
    pool = busiest_pool(lagging, 1)
    return lagging, pool, make_client(lagging.base_url, prefix=key_prefix)


def test_a_stale_answer_covers_only_what_it_shows(simulator_factory, key_prefix, time_machine):
    """The CDN may serve an answer up to 60 s old: its newest minute is not ours to claim."""
    lagging, pool, client = lagging_busy_pool(simulator_factory, key_prefix)
    served = traded_minute(lagging, pool.address, by_second=30) + 30
    now = stop_clock(time_machine, served + 60)

    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    client.close()

    newest = Candle.objects.filter(pool=pool, timeframe="1m").latest("ts")
    (span,) = covered_spans(pool.pk, "1m")
    assert newest.ts == Timeframe.M1.floor(now - timedelta(seconds=60)), "a minute old, open"
    assert not newest.is_final
    assert span.end == newest.ts, "the newest (still open when served) minute is not claimed"


def test_a_stale_answer_without_an_open_candle_covers_the_minutes_closed_when_served(
    simulator_factory, key_prefix, time_machine
):
    """Served as a minute began, before its first trade: the minute before had ended, so the
    answer proves it (final) and claims up to where the open, still empty, minute starts."""
    lagging, pool, client = lagging_busy_pool(simulator_factory, key_prefix)
    served = traded_minute(lagging, pool.address, by_second=0)
    stop_clock(time_machine, served + 60)

    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    client.close()

    newest = Candle.objects.filter(pool=pool, timeframe="1m").latest("ts")
    (span,) = covered_spans(pool.pk, "1m")
    opened = datetime.fromtimestamp(served, tz=UTC)
    assert newest.ts == opened - timedelta(minutes=1) and newest.is_final
    assert span.end == opened
