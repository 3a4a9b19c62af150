"""A planning tick against PostgreSQL, the Redis broker and the simulator: what it reads, what
it queues on the ``api`` queue, and that queued work is neither lost nor queued twice."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from collectors import tasks
from collectors.fleet import inflight
from collectors.models import CollectionRun, CollectorConfig, TradeCursor
from collectors.planner import service as planner
from collectors.planner import snapshot
from collectors.planner.demand import unit_key
from marketdata.models import CandleCoverage, HistoryStart
from marketdata.timeframes import ALL_TIMEFRAMES
from tests.marketdata.factories import dex, pool, token
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db


def watched(address: str, **extra):
    p = pool(address, **extra)
    WatchlistEntry.objects.create(pool_address=address, pool=p)
    return p


def api_queue(redis_client) -> list[dict]:
    """The messages waiting on the api queue (kombu's Redis list), oldest first."""
    return [json.loads(m) for m in reversed(redis_client.lrange("api", 0, -1))]


@pytest.fixture
def config(redis_client):
    config = CollectorConfig.current()
    config.reserve_share = 0.0
    config.save()
    return config


def test_the_snapshot_holds_tiers_trade_rates_and_last_fetches(config):
    now = timezone.now()
    target = dex("pumpswap", is_target=True)
    a = watched("A" * 32, dex=target, volume_usd_h24=1)
    top = [pool(f"{c}" * 32, dex=target, volume_usd_h24=v) for c, v in (("B", 9), ("C", 5))]
    pool("D" * 32, dex=target, volume_usd_h24=1)  # below the top-2 cut
    TradeCursor.objects.create(pool=a, last_collected_at=now, trades_per_day=1234.5)
    for end in (now - timedelta(hours=3), now - timedelta(hours=1)):
        CandleCoverage.objects.create(
            pool=a, timeframe="1m", start=end - timedelta(minutes=5), end=end
        )
    config.top_pools_collected, config.top_pools_collected_size = True, 2
    config.save()

    snap = snapshot.load(config, now)

    states = {s.pool_id: s for s in snap.pools}
    assert {pk: s.tier for pk, s in states.items()} == {
        a.pk: "watchlist",
        top[0].pk: "top",
        top[1].pk: "top",
    }
    assert snap.pools_per_tier == {"watchlist": 1, "top": 2}
    assert states[a.pk].trades_per_day == 1234.5
    assert states[a.pk].trades_polled_at == pytest.approx(now.timestamp())
    assert states[a.pk].fetched_until == {
        "1m": pytest.approx((now - timedelta(hours=1)).timestamp())
    }
    assert states[top[0].pk].trades_polled_at is None and states[top[0].pk].fetched_until == {}


def test_a_tick_queues_with_expiry_and_a_second_tick_queues_nothing_twice(
    config, redis_client, settings
):
    settings.GECKO_RATE_LIMIT_PER_MIN = 100
    for i in range(3):
        watched(f"{'P' * 31}{i}")
    config.plan_tick_seconds = 60
    config.save()

    first = planner.tick(config, send=tasks._send)

    messages = api_queue(redis_client)
    assert first.queued == len(messages) == 3 * (1 + len(ALL_TIMEFRAMES)) + 1
    names = [m["headers"]["task"] for m in messages]
    assert names[:3] == ["collectors.tasks.fetch_trades"] * 3, "perishable trades first"
    assert names[-1] == "collectors.tasks.fetch_pool_details", "never seen: one call for 3 pools"
    assert all(m["headers"]["expires"] for m in messages), "stale copies never run"
    ohlcv = [m for m in messages if m["headers"]["task"].endswith("fetch_ohlcv")]
    assert {m["headers"]["argsrepr"] for m in ohlcv} == {"()"}
    # Never fetched: one page of each timeframe; what lies before it is the backfill's.
    pages = sorted(m["headers"]["kwargsrepr"].split("'pages': ")[1][0] for m in ohlcv)
    assert pages == ["1"] * 3 * 7
    assert all("'limit': 1000" in m["headers"]["kwargsrepr"] for m in ohlcv)

    second = planner.tick(config, send=tasks._send)

    assert second.queued == 0 and len(api_queue(redis_client)) == len(messages)
    assert second.budget.in_flight == first.selection.spent == 3 + 3 * 7 + 1


def test_the_queue_holds_at_most_two_ticks_of_budget(config, redis_client, settings):
    settings.GECKO_RATE_LIMIT_PER_MIN = 10
    for i in range(20):
        watched(f"{'Q' * 30}{i:02d}")

    queued = [planner.tick(config, send=tasks._send).queued for _ in range(4)]

    assert queued == [10, 10, 0, 0], "one tick's budget a tick, two ticks' in flight at most"
    assert redis_client.llen("api") == 20


def test_a_unit_whose_worker_died_is_planned_again_when_its_key_expires(config, redis_client):
    p = watched("R" * 32)
    trades = unit_key("trades", p.pk)
    assert inflight.claim([(trades, 1)], ttl=1) == [trades]
    assert inflight.claim([(trades, 1)], ttl=1) == [], "held: a second planner cannot claim it"
    assert trades not in {u.key for u in planner.tick(config, send=None).selection.chosen}

    time.sleep(1.2)

    assert inflight.read().units == frozenset()
    assert trades in {u.key for u in planner.tick(config, send=None).selection.chosen}


def test_a_finished_fetch_releases_its_unit(config, redis_client, settings, simulator):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    address = simulator.world()["pools"]["pumpswap"][0]["address"]
    p = watched(address)
    unit = unit_key("trades", p.pk)
    inflight.claim([(unit, 1)], ttl=600)

    tasks.fetch_trades.apply(kwargs={"pool_id": p.pk}).get()

    assert unit not in inflight.read().units
    cursor = TradeCursor.objects.get(pool=p)
    assert cursor.trades_per_day is not None and cursor.trades_per_day > 0


def test_degradation_is_announced_once_per_change(config, redis_client, settings, caplog):
    settings.GECKO_RATE_LIMIT_PER_MIN = 1
    config.freshness_minutes = {"1m": 1}  # 30 pools' 1m candles alone need 30 calls a minute
    config.save()
    for i in range(30):
        watched(f"{'S' * 30}{i:02d}")

    for _ in range(3):
        tasks.plan_collection.apply().get()
    settings.GECKO_RATE_LIMIT_PER_MIN = 10_000
    tasks.plan_collection.apply().get()

    details = list(
        CollectionRun.objects.filter(task="collectors.tasks.plan_collection")
        .order_by("pk")
        .values_list("detail", flat=True)
    )
    assert len(details) == 4
    assert details[0].startswith("collection degraded: demand")
    assert not details[1].startswith("collection") and not details[2].startswith("collection")
    assert details[3].startswith("collection back within budget")
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "degraded" in r.message]
    assert len(warnings) == 1


def test_collect_plan_prints_demand_budget_and_lagging_pools(config, redis_client):
    p = watched("T" * 32, name="LATE / SOL")
    CandleCoverage.objects.create(
        pool=p,
        timeframe="1m",
        start=timezone.now() - timedelta(hours=6),
        end=timezone.now() - timedelta(hours=5),
    )
    out = io.StringIO()

    call_command("collect", "plan", stdout=out)

    text = out.getvalue()
    assert "API plan public: 25 calls/min" in text
    assert "watchlist" in text and "need/min" in text and "headroom" in text
    assert "LATE / SOL" in text and "3h00m behind" in text
    assert redis_client.llen("api") == 0, "a dry run queues nothing"


def test_token_info_waits_for_the_planner_and_is_asked_once(config, redis_client):
    t = token("U" * 32)
    watched("V" * 32, base_token=t)
    keys = {u.key for u in planner.tick(config, send=None).selection.chosen}
    assert unit_key("token_info", t.address) in keys
    t.info = {}
    t.save()
    keys = {u.key for u in planner.tick(config, send=None).selection.chosen}
    assert unit_key("token_info", t.address) not in keys


def test_a_pool_details_refresh_rereads_the_pools_and_releases_its_batch(
    config, redis_client, settings, simulator
):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RATE_LIMIT_PER_MIN = 6000
    addresses = [p["address"] for p in simulator.world()["pools"]["pumpswap"][:2]]
    pools = [watched(a) for a in addresses]
    [unit] = [
        u for u in planner.tick(config, send=None).selection.chosen if u.kind == "pool_details"
    ]
    inflight.claim([(unit.key, 1)], ttl=600)

    tasks.fetch_pool_details.apply(kwargs=unit.kwargs).get()

    for p in pools:
        p.refresh_from_db()
        assert p.last_seen_at is not None and p.name
    assert unit.key not in inflight.read().units
    after = planner.tick(config, send=None).selection.chosen
    assert not [u for u in after if u.kind == "pool_details"], "fresh for a day now"


def test_an_empty_answer_counts_as_fetched(config, redis_client):
    """A quiet pool's answer may hold no candles (so proves no coverage); the history start it
    showed says when it was asked, so the planner does not ask again every tick."""
    p = watched("W" * 32)
    HistoryStart.objects.create(
        pool=p, timeframe="1m", starts_at=timezone.now(), found_at=timezone.now()
    )

    snap = snapshot.load(config, timezone.now())

    assert snap.pools[0].fetched_until["1m"] == pytest.approx(timezone.now().timestamp(), abs=5)
    due = {u.key for u in planner.tick(config, send=None).selection.chosen}
    assert unit_key("ohlcv", p.pk, "1m") not in due and unit_key("ohlcv", p.pk, "5m") in due


def test_a_backfills_history_start_is_not_taken_for_a_live_fetch(config, redis_client):
    """A backfill's short page updates the history start's ``found_at``; the live unit is still
    as old as its coverage, so it stays due and its next fetch reaches back to the coverage."""
    now = timezone.now()
    p = watched("X" * 32)
    end = now - timedelta(hours=2, minutes=10)
    CandleCoverage.objects.create(pool=p, timeframe="1m", start=end - timedelta(days=3), end=end)
    HistoryStart.objects.create(
        pool=p, timeframe="1m", starts_at=now - timedelta(days=30), found_at=now
    )

    snap = snapshot.load(config, now)

    assert snap.pools[0].fetched_until["1m"] == pytest.approx(end.timestamp())
    result = planner.tick(config, send=None, now=now)
    [unit] = [u for u in result.selection.chosen if u.key == unit_key("ohlcv", p.pk, "1m")]
    assert unit.kwargs["limit"] >= 131, "back to the coverage's end: 130 bars and the moving one"
    [(pool_id, behind)] = result.report.tiers[0].lagging
    assert pool_id == p.pk and behind == pytest.approx(600, abs=5), "10 min past the 2 h target"
