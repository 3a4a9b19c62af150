"""Rows stored by an older schema move to the new layout, in batches that survive a kill:
trades into the lean layout (0004-0006), candles into monthly partitions (0007).

The database is taken back to migration 0003 (text ids, hashes and addresses), filled with the
recorded trades as that schema stored them, moved one batch (as if the migration were killed
after it), then migrated to the end: every trade comes back string for string.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from marketdata import relayout, trade_layout
from marketdata.models import Candle, Trade
from marketdata.repartition import convert
from marketdata.trade_relayout import move_all

from .factories import pool, trade
from .recorded_trades import BASE_TOKEN, MONEY, QUOTE_TOKEN, recorded_rows, store_rows

pytestmark = pytest.mark.django_db(transaction=True)
OLD = [("marketdata", "0003_misc_gap_backoff")]
COLUMNS = [("marketdata", "0004_trade_lean_columns")]
FETCHED = datetime(2025, 8, 28, 16, 20, tzinfo=UTC)


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def fill_old_schema() -> int:
    """A pool that knows its tokens and the recorded trades, in the 0003 tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketdata_network (slug, name, created_at)"
            " VALUES ('solana', '', now()) RETURNING id"
        )
        (network,) = cursor.fetchone()
        tokens = []
        for address in (BASE_TOKEN, QUOTE_TOKEN):
            cursor.execute(
                "INSERT INTO marketdata_token (network_id, address, symbol, name, image_url,"
                " coingecko_coin_id, first_seen_at) VALUES (%s, %s, '', '', '', '', now())"
                " RETURNING id",
                [network, address],
            )
            tokens.append(cursor.fetchone()[0])
        cursor.execute(
            "INSERT INTO marketdata_pool (network_id, address, base_token_id, quote_token_id,"
            " name, first_seen_at) VALUES (%s, 'pool1', %s, %s, '', now()) RETURNING id",
            [network, *tokens],
        )
        (pool,) = cursor.fetchone()
        columns = list(store_rows(pool, FETCHED)[0])
        for row in store_rows(pool, FETCHED):
            cursor.execute(
                f"INSERT INTO marketdata_trade ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                [row[c] for c in columns],
            )
    return pool


def test_old_trades_move_over_and_a_killed_move_goes_on(leaves_no_partitions):
    migrate(OLD)
    try:
        fill_old_schema()
        migrate(COLUMNS)

        assert move_all(batch=120, max_batches=1) == 120, "killed after one batch"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FILTER (WHERE tx IS NULL) FROM marketdata_trade")
            assert cursor.fetchone() == (180,)

        migrate(latest())
    finally:
        migrate(latest())

    trades = {
        t.trade_id: t
        for t in Trade.objects.select_related(
            "pool__network", "pool__base_token", "pool__quote_token"
        )
    }
    rows = recorded_rows()
    assert len(trades) == len(rows)
    for row in rows:
        trade = trades[row["id"]]
        for field in ("tx_hash", "tx_from_address", "from_token_address", "to_token_address"):
            assert getattr(trade, field) == row[field], field
        for field in MONEY:
            value = getattr(trade, field)
            assert (format(value, "f") if value is not None else "") == row[field], field
    assert not Trade.objects.filter(from_token__isnull=False).exists(), "the pool's tokens"


def test_old_candles_move_into_monthly_partitions_and_a_killed_move_goes_on(
    leaves_no_partitions,
):
    migrate([("marketdata", "0006_trade_lean_finish")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO marketdata_network (slug, name, created_at)"
                " VALUES ('solana', '', now()) RETURNING id"
            )
            (network,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO marketdata_pool (network_id, address, name, first_seen_at)"
                " VALUES (%s, 'pool1', '', now()) RETURNING id",
                [network],
            )
            (pool,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO marketdata_candle (pool_id, timeframe, ts, open, high, low, close,"
                " volume_usd, is_final, fetched_at)"
                " SELECT %s, '1h', t, 1, 2, 0.5, 1.5 + n, 10, true, now()"
                " FROM generate_series(timestamptz '2026-07-30', timestamptz '2026-10-02',"
                " interval '1 hour') WITH ORDINALITY AS g(t, n)",
                [pool],
            )
            cursor.execute("SELECT count(*), sum(close) FROM marketdata_candle")
            before = cursor.fetchone()

        assert convert("marketdata_candle", batch=500, max_batches=1) == 500, "killed"
        migrate(latest())

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), sum(close) FROM marketdata_candle")
            assert cursor.fetchone() == before
            cursor.execute(
                "SELECT tableoid::regclass::text, count(*) FROM marketdata_candle"
                " GROUP BY 1 ORDER BY 1"
            )
            held = dict(cursor.fetchall())
    finally:
        migrate(latest())
    assert set(held) == {f"marketdata_candle_y2026m{m:02d}" for m in (7, 8, 9, 10)}
    assert held["marketdata_candle_y2026m08"] == 31 * 24
    assert Candle.objects.filter(pool__address="pool1").count() == before[0]


def test_bars_of_the_0009_layout_move_to_the_natural_key_and_a_killed_move_goes_on(
    leaves_no_partitions,
):
    """0010 takes the surrogate id and fetch time away: every bar comes back value for value,
    in the months it was in, after a move killed after one batch of blocks."""
    migrate([("marketdata", "0009_coverage_ndistinct")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO marketdata_network (slug, name, created_at)"
                " VALUES ('solana', '', now()) RETURNING id"
            )
            (network,) = cursor.fetchone()
            pools = []
            for address in ("pool1", "pool2"):
                cursor.execute(
                    "INSERT INTO marketdata_pool (network_id, address, name, first_seen_at)"
                    " VALUES (%s, %s, '', now()) RETURNING id",
                    [network, address],
                )
                pools.append(cursor.fetchone()[0])
            cursor.execute(
                "INSERT INTO marketdata_candle (pool_id, timeframe, ts, open, high, low, close,"
                " volume_usd, is_final, fetched_at)"
                " SELECT p, tf, t, 1.0 / n, 2, 0.5, 1.5 + n, 0.1 * n, n %% 97 <> 0, now()"
                " FROM unnest(%s::bigint[]) p, unnest(array['1m', '15m']) tf,"
                " generate_series(timestamptz '2026-08-30', timestamptz '2026-09-02',"
                " interval '1 minute') WITH ORDINALITY AS g(t, n)",
                [pools],
            )
            bars = (
                "SELECT pool_id, timeframe, ts, open, high, low, close, volume_usd, is_final"
                " FROM marketdata_candle ORDER BY 1, 2, 3"
            )
            cursor.execute(bars)
            before = cursor.fetchall()

        assert relayout.rebuild(relayout.CANDLE, blocks=20, max_batches=1) > 0, "killed"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM marketdata_candle_prev")
            assert 0 < cursor.fetchone()[0] < len(before), "the rest waits in the old table"
        migrate(latest())

        with connection.cursor() as cursor:
            cursor.execute(bars)
            after = cursor.fetchall()
            cursor.execute(
                "SELECT tableoid::regclass::text, count(*) FROM marketdata_candle"
                " GROUP BY 1 ORDER BY 1"
            )
            held = dict(cursor.fetchall())
            cursor.execute("SELECT to_regclass('marketdata_candle_prev')")
            assert cursor.fetchone() == (None,)
    finally:
        migrate(latest())
    assert after == before
    assert set(held) == {"marketdata_candle_y2026m08", "marketdata_candle_y2026m09"}
    assert held["marketdata_candle_y2026m08"] == 2 * 2 * 2 * 24 * 60
    assert {f.name for f in Candle._meta.concrete_fields} >= {"pool", "ts"}
    assert Candle.objects.filter(pool__address="pool2", is_final=False).exists()


def test_trades_of_the_0010_layout_lose_the_fetch_time_and_a_killed_move_goes_on(
    leaves_no_partitions,
):
    """0011 drops the fetch time and narrows the pool id: the recorded trades come back string
    for string, ids kept, after a move killed after one batch; new ids follow the largest."""
    migrate([("marketdata", "0010_candle_natural_key")])
    try:
        p = pool()
        rows = trade_layout.encode_rows(store_rows(p.pk, FETCHED))
        columns = list(rows[0])
        with connection.cursor() as cursor:
            for row in rows:
                cursor.execute(
                    f"INSERT INTO marketdata_trade ({', '.join(columns)})"  # noqa: S608
                    f" VALUES ({', '.join(['%s'] * len(columns))})",
                    [row[c] for c in columns],
                )
            cursor.execute("SELECT max(id) FROM marketdata_trade")
            (last,) = cursor.fetchone()

        assert 0 < relayout.rebuild(relayout.TRADE, blocks=2, max_batches=1) < len(rows)
        migrate(latest())

        stored = {t.trade_id: t for t in Trade.objects.all()}
        newest = trade(p, "solana_1_newtx_0_1", tx_hash="newtx")
    finally:
        migrate(latest())
    assert len(stored) == len(rows) == 300
    for row in recorded_rows():
        t = stored[row["id"]]
        assert (t.tx_hash, t.tx_from_address) == (row["tx_hash"], row["tx_from_address"])
        assert (t.from_token_address, t.to_token_address) == (
            row["from_token_address"],
            row["to_token_address"],
        )
        for field in MONEY:
            value = getattr(t, field)
            assert (format(value, "f") if value is not None else "") == row[field], field
    assert max(t.pk for t in stored.values()) == last
    assert newest.pk == last + 1
