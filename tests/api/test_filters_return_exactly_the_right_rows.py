"""Each filter returns exactly the rows it names: not one more, not one less."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collectors.models import CollectionRun
from marketdata import store
from marketdata.models import Gap
from tests.marketdata.factories import T0, candle_rows, dex, pool, token, trade

from .conftest import all_results

pytestmark = pytest.mark.django_db
OTHER = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


@pytest.fixture
def two_pools():
    base = token(address="BaseMint1111111111111111111111111111111111")
    a = pool(name="A", base_token=base, dex=dex("pumpswap"))
    b = pool(address=OTHER, name="B", dex=dex("heaven"))
    store.upsert_candles(candle_rows(a.pk, 30) + candle_rows(a.pk, 10, "5m", 300))
    store.upsert_candles(candle_rows(b.pk, 30))
    return a, b


def test_candles_by_pool_timeframe_and_half_open_time_range(api, two_pools):
    a, _ = two_pools
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=12)
    rows = all_results(
        api,
        "/api/v1/candles/",
        pool=a.pk,
        timeframe="1m",
        since=since.isoformat(),
        until=until.isoformat().replace("+00:00", "Z"),
    )
    expected = [
        (T0 + timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in range(5, 12)
    ]
    assert [r["ts"] for r in rows] == expected
    assert {(r["pool"], r["timeframe"]) for r in rows} == {(a.pk, "1m")}


def test_candles_by_pool_address_are_that_pools_only(api, two_pools):
    _, b = two_pools
    rows = all_results(api, "/api/v1/candles/", pool_address=OTHER)
    assert len(rows) == 30
    assert {r["pool"] for r in rows} == {b.pk}
    assert {r["pool_address"] for r in rows} == {OTHER}


def test_a_since_without_offset_is_utc(api, two_pools):
    a, _ = two_pools
    rows = all_results(
        api, "/api/v1/candles/", pool=a.pk, timeframe="5m", since="2025-08-20T00:30:00"
    )
    assert [r["ts"] for r in rows] == [f"2025-08-20T00:{m}:00Z" for m in (30, 35, 40, 45)]


def test_an_unknown_timeframe_or_bad_time_is_a_400(api, two_pools):
    assert api.get("/api/v1/candles/", {"timeframe": "2m"}).status_code == 400
    assert api.get("/api/v1/candles/", {"since": "yesterday"}).status_code == 400


def test_trades_by_pool_and_time_range(api, two_pools):
    a, b = two_pools
    for i in range(6):
        trade(a, trade_id=f"a{i}", block_timestamp=T0 + timedelta(minutes=i))
        trade(b, trade_id=f"b{i}", block_timestamp=T0 + timedelta(minutes=i))
    rows = all_results(
        api,
        "/api/v1/trades/",
        pool=a.pk,
        since=(T0 + timedelta(minutes=1)).isoformat(),
        until=(T0 + timedelta(minutes=4)).isoformat(),
    )
    assert [r["trade_id"] for r in rows] == ["a1", "a2", "a3"]


def test_gaps_by_pool_timeframe_and_status(api, two_pools):
    a, b = two_pools

    def gap(p, tf, hour, status):
        start = T0 + timedelta(hours=hour)
        return Gap.objects.create(
            pool=p, timeframe=tf, start=start, end=start + timedelta(minutes=30), status=status
        )

    wanted = gap(a, "1m", 1, "open")
    gap(a, "1m", 2, "filled")
    gap(a, "5m", 3, "open")
    gap(b, "1m", 4, "open")
    gap(a, "trades", 5, "open")
    rows = all_results(api, "/api/v1/gaps/", pool=a.pk, timeframe="1m", status="open")
    assert [r["id"] for r in rows] == [wanted.pk]
    trade_gaps = all_results(api, "/api/v1/gaps/", timeframe="trades")
    assert [r["start"] for r in trade_gaps] == ["2025-08-20T05:00:00Z"]


def test_pools_by_dex_and_base_token_address(api, two_pools):
    a, _ = two_pools
    assert [r["id"] for r in all_results(api, "/api/v1/pools/", dex="pumpswap")] == [a.pk]
    rows = all_results(
        api, "/api/v1/pools/", base_token_address="BaseMint1111111111111111111111111111111111"
    )
    assert [r["id"] for r in rows] == [a.pk]
    assert all_results(api, "/api/v1/pools/", address=OTHER)[0]["name"] == "B"


def test_tokens_by_symbol_ignore_case(api):
    wanted = token(symbol="BONK")
    token(address="Other11111111111111111111111111111111111111", symbol="WIF")
    assert [r["id"] for r in all_results(api, "/api/v1/tokens/", symbol="bonk")] == [wanted.pk]


def test_runs_by_task_and_status_newest_first(api):
    fetch_trades, fetch_ohlcv = "collectors.tasks.fetch_trades", "collectors.tasks.fetch_ohlcv"
    ok = [CollectionRun.objects.create(task=fetch_trades, status="ok") for _ in range(3)]
    CollectionRun.objects.create(task=fetch_trades, status="failed")
    CollectionRun.objects.create(task=fetch_ohlcv, status="ok")
    rows = all_results(api, "/api/v1/runs/", task=fetch_trades, status="ok", page_size=2)
    assert [r["id"] for r in rows] == [run.pk for run in reversed(ok)]
