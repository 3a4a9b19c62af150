"""Paging through 100,000 candles returns each one exactly once, in natural-key order.

The candles share timestamps across pools and timeframes and thousands share a pool: DRF's
stock cursor (first ordering field plus a capped offset) repeats rows here; the keyset cursor
on (pool, timeframe, ts) must not, and must stay an index range scan however deep it goes.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketdata import store
from marketdata.models import Candle
from tests.marketdata.factories import T0, candle_rows, pool

from .conftest import all_results

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def make_candles(scale: int) -> dict:
    """Pool A: 60% of the rows at 1m and 20% at 5m; pool B: 20% at 1m; all from T0."""
    pools = {"A": pool(), "B": pool(address="9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")}
    series = [("A", "1m", 60, 6), ("A", "5m", 300, 2), ("B", "1m", 60, 2)]
    for name, timeframe, step, share in series:
        count = share * scale // 10
        rows = candle_rows(pools[name].pk, count, timeframe, step)
        for i in range(0, count, 10_000):
            store.upsert_candles(rows[i : i + 10_000])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_candle")
    assert Candle.objects.count() == scale
    return pools


@pytest.fixture
def many_candles():
    return make_candles(100_000)


@pytest.fixture
def candles():
    return make_candles(10_000)


def test_every_candle_once_over_all_pools_and_timeframes(api, many_candles):
    rows = all_results(api, "/api/v1/candles/", page_size=5000)

    keys = [(r["pool"], r["timeframe"], r["ts"]) for r in rows]
    assert len(keys) == 100_000 and len(set(keys)) == 100_000
    stored = Candle.objects.values_list("pool", "timeframe", "ts")
    assert set(keys) == {(p, tf, ts.isoformat().replace("+00:00", "Z")) for p, tf, ts in stored}
    assert keys == sorted(keys), "rows come in (pool, timeframe, ts) order"


def test_every_candle_of_one_series_once_at_the_default_page_size(api, candles):
    a = candles["A"]
    since = T0 + timedelta(hours=10)
    rows = all_results(api, "/api/v1/candles/", pool=a.pk, timeframe="1m", since=since.isoformat())
    expected = Candle.objects.filter(pool=a, timeframe="1m", ts__gte=since).count()
    assert expected == 6_000 - 600
    assert len(rows) == expected == len({r["ts"] for r in rows})
    assert rows[0]["ts"] == "2025-08-20T10:00:00Z"


def test_previous_walks_back_to_the_same_page(api, candles):
    first = api.get("/api/v1/candles/", {"page_size": 1000}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    back = api.get(third["previous"]).json()
    assert back["results"] == second["results"]
    start = api.get(back["previous"]).json()
    assert start["results"] == first["results"]
    assert start["previous"] is None


def test_a_deep_page_is_an_index_range_scan(api, candles):
    a = candles["A"]
    url = api.get("/api/v1/candles/", {"pool": a.pk, "timeframe": "1m", "page_size": 500})
    deep = api.get(url.json()["next"])  # a cursor in the middle of the series
    with CaptureQueriesContext(connection) as queries:
        assert api.get(deep.json()["next"]).status_code == 200
    (sql,) = [q["sql"] for q in queries if 'FROM "marketdata_candle"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Each monthly partition's copy of the primary key (pool, timeframe, ts), merged in order:
    # no sort.
    assert "_pkey on marketdata_candle" in plan and "Sort  (" not in plan, plan


def test_a_tampered_cursor_is_a_404_not_a_500(api, candles):
    cursor = base64.urlsafe_b64encode(json.dumps({"d": "next", "v": [1, "1m", "x"]}).encode())
    assert api.get("/api/v1/candles/", {"cursor": cursor.decode()}).status_code == 404
    assert api.get("/api/v1/candles/", {"cursor": "garbage"}).status_code == 404


def test_a_newest_first_listing_pages_both_ways(api):
    from collectors.models import CollectionRun

    ids = [CollectionRun.objects.create(task="t").pk for _ in range(7)][::-1]
    first = api.get("/api/v1/runs/", {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    assert [[r["id"] for r in p["results"]] for p in (first, second, third)] == [
        ids[:3],
        ids[3:6],
        ids[6:],
    ]
    assert third["next"] is None
    back = api.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == ids[3:6]
