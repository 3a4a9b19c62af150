"""Candles and trades live in monthly partitions (issue 17): this month and the next ones exist
before their rows arrive, and a month that landed in the default partition gets its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from collectors.schedules import DEFAULT_SCHEDULES
from marketdata import partitions, store
from marketdata.models import Candle, Trade
from marketdata.paginators import EstimatedCountPaginator

from .factories import candle_rows, pool, trade

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
OLD = datetime(2019, 8, 21, tzinfo=UTC)


def where(table: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")  # noqa: S608
        return dict(cursor.fetchall())


def test_this_month_and_the_next_two_have_partitions():
    partitions.ensure(NOW)

    for table in partitions.PARTITIONED:
        names = partitions.partitions(table)
        for month in ("y2026m12", "y2027m01", "y2027m02"):
            assert f"{table}_{month}" in names


def test_a_month_in_the_default_partition_moves_to_its_own():
    """2019: no other test's committed partitions reach that far back."""
    p = pool()
    rows = candle_rows(p.pk, 30, timeframe="1d", step=86400)
    for row in rows:
        row["ts"] = row["ts"].replace(year=2019)  # 2019-08-20 .. 09-18
    store.upsert_candles(rows)
    trade(p, block_timestamp=OLD)
    assert set(where("marketdata_candle")) == {"marketdata_candle_default"}

    created = partitions.ensure(NOW)

    assert {"marketdata_candle_y2019m08", "marketdata_candle_y2019m09"} <= set(created)
    assert where("marketdata_candle") == {
        "marketdata_candle_y2019m08": 12,
        "marketdata_candle_y2019m09": 18,
    }
    assert where("marketdata_trade") == {"marketdata_trade_y2019m08": 1}
    assert partitions.ensure(NOW) == [], "a second run has nothing to do"
    assert Candle.objects.filter(pool=p).count() == 30 and Trade.objects.count() == 1
    again = store.upsert_candles(rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 30)


def test_upsert_counts_inserts_and_updates_on_a_partitioned_table():
    p = pool()
    rows = candle_rows(p.pk, 10)
    assert store.upsert_candles(rows[:6]).inserted == 6
    rows[0]["close"] = 99.0

    result = store.upsert_candles(rows)

    assert (result.inserted, result.updated, result.unchanged) == (4, 1, 5)


def test_the_admins_estimate_adds_up_the_partitions():
    p = pool()
    store.upsert_candles(candle_rows(p.pk, 12_000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_candle")

    estimate = EstimatedCountPaginator(Candle.objects.order_by("ts"), 100).count

    assert 11_000 <= estimate <= 13_000


def test_the_maintenance_is_scheduled_daily():
    (schedule,) = [s for s in DEFAULT_SCHEDULES if s.task.endswith("maintain_partitions")]
    assert schedule.every_seconds == 86400


def test_a_backfills_months_get_partitions_before_its_rows():
    start, end = datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 5, 2, tzinfo=UTC)

    made = partitions.ensure_span("marketdata_candle", start, end)

    assert made == [f"marketdata_candle_y2025m0{m}" for m in (3, 4, 5)]
    assert partitions.ensure_span("marketdata_candle", start, end) == []


def test_a_trade_is_found_by_id_without_a_btree_on_it():
    """No (id, month) primary key (~30 B a row): ids grow with arrival, a BRIN index finds one."""
    p = pool()
    for n in range(50):
        trade(p, f"solana_{n}_tx{n}_0_1", block_number=n, tx_hash=f"tx{n}")
    wanted = Trade.objects.order_by("id")[25]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT * FROM marketdata_trade WHERE id = %s", [wanted.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'p'"
            " AND conrelid = 'marketdata_trade'::regclass"
        )
        assert cursor.fetchone() == (0,)

    assert "Bitmap Index Scan" in plan, plan
    assert Trade.objects.get(pk=wanted.pk).trade_id == wanted.trade_id


def test_a_bar_is_keyed_by_pool_timeframe_and_time_and_packs_into_80_bytes():
    """The key is the primary key (no surrogate id); pool, flag and a two-letter timeframe
    share one 8-byte word, so a 1m bar's tuple is 24 B of header and 56 of data."""
    p = pool()
    store.upsert_candles(candle_rows(p.pk, 10))
    store.upsert_candles(candle_rows(p.pk, 10, timeframe="15m", step=900))
    wanted = Candle.objects.order_by("ts")[5]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'p'"
            " AND conrelid = 'marketdata_candle'::regclass"
        )
        assert cursor.fetchall() == [("PRIMARY KEY (pool_id, timeframe, ts)",)]
        cursor.execute(
            "SELECT timeframe, max(pg_column_size(c.*)) FROM marketdata_candle c GROUP BY 1"
        )
        sizes = dict(cursor.fetchall())

    assert sizes == {"1m": 80, "15m": 88}, sizes  # a three-letter one spills (5% of bars)
    assert Candle.objects.get(pk=wanted.pk).close == wanted.close
