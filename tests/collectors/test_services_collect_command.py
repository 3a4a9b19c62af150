"""``manage.py collect all --sync --csv PATH`` end to end against the simulator."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from collectors.models import CollectionRun, CollectorConfig
from marketdata.models import Candle, Dex, Gap, Pool, Token, Trade
from marketdata.timeframes import ALL_TIMEFRAMES
from simulator import WSOL
from tests.collect_command import collect, forgiving, unthrottled, watchlist_csv
from tests.collector_setup import configured
from tests.marketdata.factories import dex
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
STEPS = ("dexes", "top_pools", "watchlist", "ohlcv", "trades", "gaps")
WATCHED = 3


@pytest.fixture
def api(settings, simulator):
    """The command's clients are built from settings: the simulator, unthrottled, quick retries,
    and a breaker that will not trip on purpose-made failures."""
    unthrottled(settings, simulator.base_url)
    forgiving(settings)
    dex("pumpswap", is_target=True)
    configured(ohlcv_pages_per_fetch=1)
    return simulator


@pytest.fixture
def watchlist(api, tmp_path):
    pools = api.world()["pools"]["pumpswap"][:WATCHED]
    return watchlist_csv(tmp_path / "watchlist.csv", pools), pools


def runs() -> dict[str, CollectionRun]:
    """The latest run of each step."""
    return {r.task.removeprefix("collect."): r for r in CollectionRun.objects.order_by("pk")}


def test_collect_all_sync_fills_the_database_from_the_api(simulator, watchlist):
    path, pools = watchlist

    out, err = collect("all", "--sync", "--csv", path)

    assert err == ""
    for step in STEPS:
        assert f"{step}: " in out
    addresses = {p["address"] for p in pools}
    assert Dex.objects.count() > 20 and Dex.objects.get(slug="pumpswap").is_target
    assert Pool.objects.filter(dex__slug="pumpswap").count() == 20
    assert addresses <= set(Pool.objects.values_list("address", flat=True))
    assert {p["base_token"] for p in pools} | {WSOL} <= set(
        Token.objects.values_list("address", flat=True)
    )
    entries = WatchlistEntry.objects.select_related("pool")
    assert {e.pool_address: e.pool.address for e in entries} == {a: a for a in addresses}
    for pool in Pool.objects.filter(address__in=addresses):
        assert set(pool.candles.values_list("timeframe", flat=True)) == set(ALL_TIMEFRAMES)
        assert Trade.objects.filter(pool=pool).exists()
    assert Candle.objects.exclude(pool__address__in=addresses).count() == 0
    assert not Trade.objects.filter(
        volume_usd__lte=CollectorConfig.current().min_trade_usd
    ).exists()
    done = runs()
    assert set(done) == set(STEPS) and CollectionRun.objects.count() == len(STEPS)
    for step, run in done.items():
        assert run.status == CollectionRun.Status.OK, (step, run.detail)
        assert run.finished_at is not None and run.detail
    for step in ("dexes", "top_pools", "watchlist", "ohlcv", "trades"):
        assert done[step].api_calls > 0, step
        assert done[step].items_written > 0, step
    assert done["watchlist"].arguments == {"csv": path}
    assert sum(r.api_calls for r in done.values()) == simulator.stats()["total"]


def test_a_second_collect_all_duplicates_nothing_and_finds_no_gap(simulator, watchlist):
    path, _ = watchlist
    collect("all", "--sync", "--csv", path)
    before = (Pool.objects.count(), Token.objects.count(), WatchlistEntry.objects.count())
    candles = Candle.objects.count()

    out, err = collect("all", "--sync", "--csv", path)

    assert err == "" and "watchlist.csv: unchanged" in out
    assert (Pool.objects.count(), Token.objects.count(), WatchlistEntry.objects.count()) == before
    # Only intervals that opened since the first run can be new: a handful per (pool, tf).
    assert candles <= Candle.objects.count() <= candles + 2 * WATCHED * len(ALL_TIMEFRAMES)
    assert not Gap.objects.exists()
    second = CollectionRun.objects.filter(pk__in=[r.pk for r in runs().values()])
    assert CollectionRun.objects.count() == 2 * len(STEPS)
    assert all(r.status == CollectionRun.Status.OK for r in second)
    assert second.get(task="collect.watchlist").api_calls == 0, "every entry is linked already"
    total = sum(CollectionRun.objects.values_list("api_calls", flat=True))
    assert total == simulator.stats()["total"]


def test_an_unreadable_watchlist_fails_the_command_after_the_other_steps_ran(watchlist):
    path, _ = watchlist

    with pytest.raises(CommandError, match="watchlist") as caught:
        collect("all", "--sync", "--csv", f"{path}.missing")

    out, err = caught.value.output
    assert "watchlist: FAILED: FileNotFoundError" in err
    assert "dexes: " in out and "trades: " in out and "gaps: " in out
    done = runs()
    assert set(done) == set(STEPS), "every step ran"
    assert done["watchlist"].status == CollectionRun.Status.FAILED
    assert "FileNotFoundError" in done["watchlist"].detail
    assert all(r.status == CollectionRun.Status.OK for s, r in done.items() if s != "watchlist")
    assert Pool.objects.filter(dex__slug="pumpswap").count() == 20
    assert not WatchlistEntry.objects.exists() and not Candle.objects.exists()


def test_an_api_failing_for_one_step_fails_the_command_after_the_later_steps_ran(
    simulator, watchlist
):
    path, pools = watchlist
    simulator.add_fault("500", count=100, path_contains="/ohlcv/")

    with pytest.raises(CommandError, match="ohlcv"):
        collect("all", "--sync", "--csv", path)

    done = runs()
    assert set(done) == set(STEPS)
    assert done["ohlcv"].status == CollectionRun.Status.FAILED
    assert "ServerError" in done["ohlcv"].detail
    assert done["ohlcv"].api_calls == 2, "one call, retried once: attempts exhausted"
    assert all(r.status == CollectionRun.Status.OK for s, r in done.items() if s != "ohlcv")
    assert not Candle.objects.exists()
    assert set(Trade.objects.values_list("pool__address", flat=True)) == {
        p["address"] for p in pools
    }
