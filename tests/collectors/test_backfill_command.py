"""``manage.py backfill_ohlcv`` in this process, against the simulator over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.management import CommandError
from django.utils import timezone

from collectors.gecko.client import OHLCV_PERIODS
from collectors.models import CollectionRun, CollectorConfig
from collectors.services.gaps import scan_gaps
from collectors.services.ohlcv import collect_ohlcv
from marketdata.coverage import covered_spans
from marketdata.models import Candle, CandleCoverage, Gap, HistoryStart
from marketdata.timeframes import Timeframe
from simulator import LIMIT_COUNTS
from tests.collectors.busy_pools import busiest_pool
from tests.marketdata.factories import pool as make_pool
from watchlist.models import WatchlistEntry

from .backfills import backfill as run
from .backfills import ohlcv_calls
from .clients import make_client

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture(params=LIMIT_COUNTS)
def api(request, simulator, settings, redis_client):
    """The command's settings pointed at the simulator, with a bucket fast enough for tests;
    under either reading of what an OHLCV ``limit`` counts."""
    simulator.control("config", {"limit_counts": request.param})
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    settings.GECKO_RATE_LIMIT_BURST = 50
    return simulator


@pytest.fixture
def watched(api):
    world = api.world()
    chosen = sorted(
        (p for p in world["pools"]["pumpswap"] if p["pool_created_at"] < world["now"] - 60 * DAY),
        key=lambda p: -p["trades_per_day"],
    )
    pools = []
    for entry in chosen[:2]:
        pool = make_pool(address=entry["address"])
        WatchlistEntry.objects.create(pool_address=pool.address, pool=pool)
        pools.append(pool)
    return pools


def served(simulator, address: str, timeframe: str, since: datetime, until: datetime) -> dict:
    """Every candle the API serves in [since, until), read back directly: ts → values."""
    period, aggregate = OHLCV_PERIODS[timeframe]
    found: dict = {}
    before = int(until.timestamp()) - 1
    while True:
        resp = httpx.get(
            f"{simulator.base_url}/networks/solana/pools/{address}/ohlcv/{period}",
            params={"aggregate": aggregate, "limit": 1000, "before_timestamp": before},
            timeout=10,
        )
        rows = resp.json()["data"]["attributes"]["ohlcv_list"]
        for ts, *values in rows:
            moment = datetime.fromtimestamp(ts, tz=UTC)
            if since <= moment < until:
                found[moment] = tuple(values)
        if len(rows) < 1000 or rows[-1][0] <= since.timestamp():
            return found
        before = rows[-1][0]


def stored(pool, timeframe: str, since: datetime, until: datetime) -> dict:
    rows = Candle.objects.filter(pool=pool, timeframe=timeframe, ts__gte=since, ts__lt=until)
    return {c.ts: (c.open, c.high, c.low, c.close, c.volume_usd) for c in rows}


def past_range(days: int) -> tuple[datetime, datetime]:
    until = Timeframe.H1.floor(timezone.now()) - timedelta(hours=1)
    return until - timedelta(days=days), until


def test_a_30_day_15m_backfill_stores_exactly_the_candles_the_api_serves(api, watched):
    since, until = past_range(30)
    pool = watched[0]

    out = run(
        "--pool",
        pool.address,
        "--timeframe",
        "15m",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
    )

    calls = ohlcv_calls(api)
    expected = served(api, pool.address, "15m", since, until)
    assert len(expected) > 2000
    assert stored(pool, "15m", since, until) == expected
    rows = list(Candle.objects.filter(pool=pool, timeframe="15m").values_list("ts", flat=True))
    assert len(rows) == len(set(rows)), "no duplicates"
    assert not Candle.objects.filter(ts__gte=until).exists()
    (span,) = covered_spans(pool.pk, "15m")
    assert span.start <= since and span.end == until
    assert "Backfilled 1 pools × 1 timeframes" in out and f"{len(rows):,} candles written" in out
    assert calls == 3, "2,880 intervals: three pages of up to 1,000"


def test_a_finished_backfill_run_again_makes_at_most_one_call_per_pool_and_timeframe(api, watched):
    run("--timeframe", "15m", "1h", "--days", "30")
    count = Candle.objects.count()
    before = ohlcv_calls(api)

    out = run("--timeframe", "15m", "1h", "--days", "30")

    assert ohlcv_calls(api) - before <= 2 * 2, "two pools × two timeframes"
    assert Candle.objects.count() - count <= 2 * 2 * 2, "at most the newest interval or two"
    assert "API calls" in out

    since, until = past_range(20)
    before = ohlcv_calls(api)
    run("--timeframe", "15m", "1h", "--since", since.isoformat(), "--until", until.isoformat())
    assert ohlcv_calls(api) == before, "a covered past range needs no call at all"


def test_history_starts_where_the_api_says_and_is_never_asked_again(api, settings):
    world = api.world()
    young = max(
        (
            p
            for p in world["pools"]["pumpswap"]
            if world["now"] - 20 * DAY < p["pool_created_at"] < world["now"] - 5 * DAY
        ),
        key=lambda p: p["trades_per_day"],
    )
    created = datetime.fromtimestamp(young["pool_created_at"], tz=UTC)
    pool = make_pool(address=young["address"], pool_created_at=created)

    out = run("--pool", pool.address, "--timeframe", "1h", "--days", "30")

    start = HistoryStart.objects.get(pool=pool, timeframe="1h").starts_at
    first = Candle.objects.filter(pool=pool, timeframe="1h").earliest("ts").ts
    assert start == first
    assert "unfillable: 1" in out and "before the pool's history start" in out
    calls = ohlcv_calls(api)
    run("--pool", pool.address, "--timeframe", "1h", "--days", "30")
    assert ohlcv_calls(api) - calls <= 1, "only the newest interval: history is not asked again"


def test_dry_run_prints_the_plan_and_writes_nothing(api, watched):
    out = run("--timeframe", "1m", "15m", "--days", "30", "--dry-run")

    assert "Plan: 2 pools × 2 timeframes (1m 15m)" in out
    assert "4 (pool × timeframe) to fetch" in out
    # 30 days of 1m is 43,200 intervals: 44 pages per pool; of 15m, 3 pages per pool.
    assert "~94 pages = ~94 API calls" in out
    assert "calls/min on the backfill lane" in out
    assert ohlcv_calls(api) == 0
    assert not Candle.objects.exists() and not CandleCoverage.objects.exists()
    assert not HistoryStart.objects.exists() and not CollectorConfig.objects.exists()


def test_async_queues_one_task_per_pool_and_timeframe_on_the_api_queue(api, watched, redis_client):
    out = run("--timeframe", "15m", "1h", "--days", "7", "--async")

    assert "Queued 4 backfill tasks" in out
    messages = [json.loads(m) for m in redis_client.lrange("api", 0, -1)]
    assert sorted(m["headers"]["task"] for m in messages) == ["collectors.tasks.backfill_ohlcv"] * 4
    assert ohlcv_calls(api) == 0 and not Candle.objects.exists()


def down_for_a_day(api, pool, key_prefix):
    """Collected once, then the collector was down for a day: a client, and when it stopped."""
    client = make_client(api.base_url, prefix=key_prefix)
    collect_ohlcv(client, pool.pk, "1m", max_pages=2, include_empty=False)
    last_run = Timeframe.M1.floor(timezone.now() - timedelta(days=1))
    Candle.objects.filter(pool=pool, ts__gte=last_run).delete()
    CandleCoverage.objects.filter(pool=pool).update(end=last_run)
    return client, last_run


def test_gaps_fills_the_holes_downtime_left(api, watched, key_prefix):
    pool = watched[0]
    client, last_run = down_for_a_day(api, pool, key_prefix)
    # The market was quiet for an hour inside the downtime: the API has no candles there.
    quiet = int(last_run.timestamp()) + 3 * 3600
    api.add_hole(pool.address, quiet, quiet + 3600)
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    client.close()
    assert scan_gaps("solana", ["1m"]) == 1
    gap = Gap.objects.get()

    out = run("--gaps")

    gap.refresh_from_db()
    assert gap.status == Gap.Status.FILLED and gap.attempts >= 1
    assert "1 backfilled" in out and "1 filled, 0 open, 0 unfillable" in out
    assert stored(pool, "1m", gap.start, gap.end) == served(
        api, pool.address, "1m", gap.start, gap.end
    )
    quiet_at = datetime.fromtimestamp(quiet, tz=UTC)
    assert not Candle.objects.filter(
        ts__gte=quiet_at, ts__lt=quiet_at + timedelta(hours=1)
    ).exists()
    assert scan_gaps("solana", ["1m"]) == 0


def test_gaps_scans_first_so_a_hole_since_the_last_periodic_scan_is_in_the_plan(
    api, watched, key_prefix
):
    pool = watched[0]
    client, last_run = down_for_a_day(api, pool, key_prefix)
    collect_ohlcv(client, pool.pk, "1m", max_pages=1, include_empty=False)
    client.close()
    assert not Gap.objects.exists(), "no periodic scan has run since the hole appeared"

    dry = run("--gaps", "--dry-run")
    assert "Plan: 1 open candle gaps" in dry
    assert not Gap.objects.exists(), "a dry run writes nothing, not even the scan's gaps"

    out = run("--gaps")

    assert "Plan: 1 open candle gaps" in out
    assert "1 backfilled" in out and "1 filled, 0 open, 0 unfillable" in out
    assert Gap.objects.get().status == Gap.Status.FILLED


# --- bad arguments: a clear message, a non-zero exit, nothing written -----------------------


def nothing_written(api) -> None:
    assert ohlcv_calls(api) == 0
    assert not Candle.objects.exists() and not CandleCoverage.objects.exists()


def test_a_pool_unknown_to_the_database_but_known_to_the_api(api, watched):
    address = next(
        p["address"]
        for p in api.world()["pools"]["pumpswap"]
        if p["address"] not in {w.address for w in watched}
    )
    with pytest.raises(CommandError, match=f"pool {address}: unknown to the database"):
        run("--pool", address)
    nothing_written(api)


def test_a_pool_unknown_to_the_api(api, watched):
    with pytest.raises(CommandError, match="pool NoSuchPool111: unknown to the API"):
        run("--pool", "NoSuchPool111")
    nothing_written(api)
    (recorded,) = CollectionRun.objects.filter(task="command:backfill_ohlcv")
    assert recorded.detail.startswith("CommandError: pool NoSuchPool111: unknown to the API")
    assert "Traceback" not in recorded.detail  # a message for the user, not a crash


def test_an_unknown_timeframe_lists_the_valid_ones(api, watched):
    with pytest.raises(CommandError, match="unknown timeframe 2m; valid: 1m 5m 15m 1h 4h 12h 1d"):
        run("--timeframe", "1m", "2m")
    nothing_written(api)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2025-06-02", "--until", "2025-06-01"], "is not before"),
        (["--since", "2099-01-01"], "reaches into the future"),
        (["--since", "2025-06-01", "--until", "2099-01-01"], "reaches into the future"),
        (["--days", "0"], "--days 0: give at least 1 day"),
        (["--since", "yesterday"], "--since 'yesterday' is not an ISO date"),
        (["--until", "2025-06-01"], "--until needs --since"),
        (["--pool", "x", "--all"], "argument --all: not allowed with argument --pool"),
        (["--watchlist", "--all"], "argument --all: not allowed with argument --watchlist"),
        (["--days", "3", "--full-history"], "not allowed with argument --days"),
        (["--gaps", "--days", "3"], "--gaps fills the open gaps"),
    ],
)
def test_bad_ranges_and_conflicting_options_are_refused(api, watched, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    nothing_written(api)


def test_the_queued_task_backfills_its_pool_and_timeframe(api, watched):
    from collectors import tasks
    from collectors.models import CollectionRun

    since, until = past_range(7)
    pool = watched[0]

    result = tasks.backfill_ohlcv.apply(
        kwargs={
            "pool_id": pool.pk,
            "timeframe": "1h",
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
    )

    assert result.successful(), result.traceback
    assert stored(pool, "1h", since, until) == served(api, pool.address, "1h", since, until)
    run = CollectionRun.objects.get(task="collectors.tasks.backfill_ohlcv")
    assert run.status == CollectionRun.Status.OK and run.api_calls == 1


def test_one_failing_pool_does_not_abort_the_batch(api, watched):
    gone = make_pool(address="GoneFromTheApi1111")
    WatchlistEntry.objects.create(pool_address=gone.address, pool=gone)

    with pytest.raises(CommandError, match="1 failed:\nGoneFromTheApi1111 15m: ohlcv: HTTP 404"):
        run("--timeframe", "15m", "--days", "3")

    assert {c.pool_id for c in Candle.objects.all()} == {p.pk for p in watched}


def test_full_history_walks_until_the_api_has_no_more(api):
    pool = busiest_pool(api, 300)

    out = run("--pool", pool.address, "--timeframe", "1h", "--full-history")

    start = HistoryStart.objects.get(pool=pool, timeframe="1h").starts_at
    first = Candle.objects.filter(pool=pool, timeframe="1h").earliest("ts").ts
    assert start == first
    assert timedelta(days=182) < timezone.now() - first < timedelta(days=184), "the API's depth"
    assert "the API's first candle" in out and "unfillable: none" in out


def test_without_a_span_it_reaches_back_as_far_as_the_plan_keeps_history(api, watched, settings):
    settings.GECKO_HISTORY_DAYS = 30
    out = run("--timeframe", "1m", "15m", "--dry-run")

    # As --days 30 above: the plan's depth (GECKO_HISTORY_DAYS), not a fixed 180 days.
    assert "~94 pages = ~94 API calls" in out


def test_a_backfill_to_now_leaves_the_unsettled_intervals_to_live_collection(api, watched):
    """The newest interval is open, and an answer may be a minute stale: no answer can prove it
    yet. A backfill to "now" that asked for it would ask again on every retry of its task (the
    same URL, twice within seconds, seen in the two-hosts run), so it stops where answers can
    be final: the interval open a minute ago."""
    before_first = Timeframe.H1.floor(timezone.now() - timedelta(seconds=60))
    run("--timeframe", "1h", "--days", "2")
    calls = ohlcv_calls(api)

    run("--timeframe", "1h", "--days", "2")

    if Timeframe.H1.floor(timezone.now() - timedelta(seconds=60)) == before_first:
        assert ohlcv_calls(api) == calls, "nothing settled was left to ask for"
    for pool in watched:
        newest = max(s.end for s in covered_spans(pool.pk, "1h"))
        assert newest <= Timeframe.H1.floor(timezone.now() - timedelta(seconds=60)) + timedelta(
            hours=1
        )


def test_a_walk_that_stops_at_the_plans_depth_claims_no_history_start(api, settings):
    """The plan's depth is "about six months" (GECKO_HISTORY_DAYS 180; the API keeps 183 days).
    A --days 180 walk looks back exactly that far and no further, so its last short page shows
    nothing about older candles: a history start recorded there would be wrong (the replay's
    pro run found six), and would mark the days the API still keeps unfillable."""
    pool = busiest_pool(api, 300)
    settings.GECKO_HISTORY_DAYS = 180

    run("--pool", pool.address, "--timeframe", "1h", "4h", "--days", "180")

    for start in HistoryStart.objects.filter(pool=pool):
        older = served(
            api,
            pool.address,
            start.timeframe,
            start.starts_at - timedelta(days=30),
            start.starts_at,
        )
        assert not older, f"{start.timeframe}: start {start.starts_at}, yet {min(older)} is served"
