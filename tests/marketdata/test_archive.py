"""Cold months go to Parquet, verified before their partitions are dropped (issue 17)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import time_machine
from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.urls import reverse
from rest_framework.test import APIClient

from collectors.services.backfill import plan_backfill
from collectors.tasks import archive_month, compact_partition, maintain_partitions
from geckoproject.settings import hot_months
from marketdata import archive, partitions, store
from marketdata.audit import run_audit
from marketdata.coverage import record_coverage
from marketdata.models import ArchivedMonth, Candle, CandleCoverage, Trade
from marketdata.trade_layout import MONEY

from .factories import candle_rows, pool, token
from .recorded_trades import BASE_TOKEN, QUOTE_TOKEN, recorded_rows, store_rows

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
AUG = datetime(2025, 8, 1, tzinfo=UTC)  # the recorded trades are of 2025-08-28


def held() -> list[str]:
    return [*partitions.partitions("marketdata_candle"), *partitions.partitions("marketdata_trade")]


@pytest.fixture
def stored():
    """Hourly candles of 2025-08 and 2025-09, with their coverage, and the recorded trades."""
    p = pool(base_token=token(BASE_TOKEN), quote_token=token(QUOTE_TOKEN))
    rows = candle_rows(p.pk, 24 * 50, timeframe="1h", step=3600)  # 2025-08-20 .. 10-09
    store.upsert_candles(rows)
    record_coverage(p.pk, "1h", rows[0]["ts"], rows[-1]["ts"] + timedelta(hours=1))
    store.upsert_trades(store_rows(p.pk))
    partitions.ensure(NOW)
    return p, rows


def test_months_past_the_hot_ones_are_written_verified_and_dropped(stored, tmp_path):
    p, rows = stored

    done = archive.archive_cold(NOW, hot_months=15, directory=tmp_path)  # from 2025-09 on

    assert [(a.table, a.month.isoformat(), a.rows) for a in done] == [
        ("marketdata_candle", "2025-08-01", 12 * 24),
        ("marketdata_trade", "2025-08-01", 300),
    ]
    assert "marketdata_candle_y2025m08" not in held() and "marketdata_trade_y2025m08" not in held()
    assert "marketdata_candle_y2025m09" in held()
    assert Candle.objects.filter(ts__lt=datetime(2025, 9, 1, tzinfo=UTC)).count() == 0
    assert Trade.objects.count() == 0
    candles = pq.read_table(tmp_path / "candles" / "2025-08.parquet").to_pylist()
    assert [(c["ts"], c["close"], c["pool_address"]) for c in candles] == [
        (r["ts"], r["close"], p.address) for r in rows[: 12 * 24]
    ]
    archived = archive.read_rows("marketdata_trade", tmp_path / "trades" / "2025-08.parquet")
    trades = {archive.trade_id_of(t): t for t in archived}
    for row in recorded_rows():
        for field in ("tx_hash", "from_token_address", "volume_usd", "price_to_in_usd"):
            assert trades[row["id"]][field] == (row[field] or None), field
    assert CandleCoverage.objects.filter(pool=p, start__lt=AUG + timedelta(days=31)).exists(), (
        "coverage stays: an archived month is not missing"
    )
    assert archive.archive_cold(NOW, hot_months=15, directory=tmp_path) == []


def test_no_month_is_archived_by_default(stored, tmp_path):
    assert settings.GECKO_HOT_MONTHS is None, "GECKO_HOT_MONTHS=all"
    assert archive.archive_cold(NOW, hot_months=None, directory=tmp_path) == []
    assert "marketdata_candle_y2025m08" in held()


def test_no_hot_month_keeps_the_current_one_alone(stored, tmp_path):
    with time_machine.travel(datetime(2025, 10, 2, tzinfo=UTC), tick=False):
        partitions.ensure(datetime(2025, 10, 2, tzinfo=UTC))
        done = archive.archive_cold(datetime(2025, 10, 2, tzinfo=UTC), 0, directory=tmp_path)

    assert {(a.table, f"{a.month:%Y-%m}") for a in done} == {
        ("marketdata_candle", "2025-08"),
        ("marketdata_candle", "2025-09"),
        ("marketdata_trade", "2025-08"),
    }
    assert "marketdata_candle_y2025m10" in held(), "the current month stays"


@pytest.mark.parametrize(("text", "months"), [("all", None), ("", None), ("0", 0), (" 3", 3)])
def test_hot_months_reads_all_or_a_count(text, months):
    assert hot_months(text) == months


@pytest.mark.parametrize("text", ["-1", "two", "1.5"])
def test_hot_months_names_a_bad_value(text):
    with pytest.raises(ImproperlyConfigured, match=f"GECKO_HOT_MONTHS={text!r}: give 'all'"):
        hot_months(text)


def test_a_row_written_after_the_file_keeps_the_partition(stored, tmp_path, monkeypatch):
    """A writer adding a row between the file and the check: the counts differ, nothing drops."""
    p, _ = stored
    write = archive.write_month

    def write_then_a_late_row(table, month, path):
        written = write(table, month, path)
        if table == "marketdata_candle":
            late = candle_rows(p.pk, 1, timeframe="1d")[0] | {"ts": AUG + timedelta(days=2)}
            store.upsert_candles([late])
        return written

    monkeypatch.setattr(archive, "write_month", write_then_a_late_row)

    with pytest.raises(archive.ArchiveError, match="the partition is kept"):
        archive.archive_month("marketdata_candle", AUG, tmp_path)

    assert "marketdata_candle_y2025m08" in held()
    assert not ArchivedMonth.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM marketdata_candle_y2025m08")
        assert cursor.fetchone() == (12 * 24 + 1,)


def test_the_api_and_the_chart_say_which_months_are_archived(stored, tmp_path, admin_client):
    p, _ = stored
    archive.archive_cold(NOW, hot_months=15, directory=tmp_path)
    api = APIClient()
    api.force_authenticate(User.objects.get(username="admin"))

    older = api.get("/api/v1/candles/", {"pool": p.pk, "until": "2025-09-02T00:00:00Z"})
    newer = api.get("/api/v1/candles/", {"pool": p.pk, "since": "2025-09-01T00:00:00Z"})
    trades = api.get("/api/v1/trades/", {"pool": p.pk})

    assert older["X-Archived-Months"] == "2025-08" and older.json()["results"]
    assert "X-Archived-Months" not in newer
    assert trades["X-Archived-Months"] == "2025-08" and trades.json()["results"] == []
    url = reverse("admin:marketdata_pool_chart_data", args=[p.pk])
    chart = admin_client.get(url, {"timeframe": "1h", "n": 2000}).json()
    assert chart["archived_months"] == [], "drawn from the file"
    assert [c["time"] for c in chart["candles"]] == [
        int(r["ts"].timestamp()) for r in candle_rows(p.pk, 24 * 50, timeframe="1h", step=3600)
    ]
    (tmp_path / "candles" / "2025-08.parquet").unlink()
    chart = admin_client.get(url, {"timeframe": "1h", "n": 2000}).json()
    assert chart["archived_months"] == ["2025-08"], "a missing file: said, not drawn"
    assert chart["candles"][0]["time"] == int(datetime(2025, 9, 1, tzinfo=UTC).timestamp())


def test_the_command_lists_archives_and_dry_runs(stored, tmp_path, settings):
    settings.GECKO_ARCHIVE_DIR = tmp_path

    dry = StringIO()
    call_command("archive_months", "--hot-months", "15", "--dry-run", stdout=dry)
    assert "would archive marketdata_candle_y2025m08" in dry.getvalue()
    assert "would archive marketdata_candle_y2025m09" not in dry.getvalue()
    assert not ArchivedMonth.objects.exists()

    call_command("archive_months", "--hot-months", "15", stdout=StringIO())
    shown = StringIO()
    call_command("archive_months", "--list", stdout=shown)
    assert (
        f"marketdata_trade 2025-08 (300 rows)  {tmp_path}/trades/2025-08.parquet"
        in shown.getvalue()
    )
    with pytest.raises(CommandError, match="--hot-months: -1: give 0 or more months, or 'all'"):
        call_command("archive_months", "--hot-months", "-1")
    said = StringIO()
    call_command("archive_months", "--hot-months", "all", stdout=said)
    assert "nothing to do: every month stays in PostgreSQL" in said.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_daily_maintenance_packs_and_archives(leaves_no_partitions, stored, tmp_path, settings):
    """Ended months get their indexes packed (once); months past the hot ones are archived, a
    task per month: a month of 1,000 pools outlives an ordinary task's time limit."""
    settings.GECKO_ARCHIVE_DIR, settings.GECKO_HOT_MONTHS = tmp_path, 15
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True  # the queued archive tasks run here, in order
    try:
        with time_machine.travel(NOW, tick=False):
            detail = maintain_partitions.apply().get()
    finally:
        current_app.conf.task_always_eager = eager

    assert "queued for the archive: marketdata_candle 2025-08, marketdata_trade 2025-08" in detail
    assert "marketdata_candle_y2025m09" in detail.split("queued for packing: ")[1]
    assert "marketdata_candle_y2025m08" not in detail.split("queued for packing: ")[1], "archived"
    assert "marketdata_candle_y2025m09" not in partitions.ended_loose(NOW), "packed once"
    assert [str(a) for a in ArchivedMonth.objects.all()] == [
        "marketdata_candle 2025-08 (288 rows)",
        "marketdata_trade 2025-08 (300 rows)",
    ]
    assert archive_month.time_limit == compact_partition.time_limit
    assert compact_partition.time_limit == settings.GECKO_MAINTENANCE_TIME_LIMIT > 3600


@pytest.mark.django_db(transaction=True)
def test_a_pack_cut_short_is_mended_by_the_next(leaves_no_partitions, stored):
    """A killed REINDEX CONCURRENTLY leaves an invalid index copy: the next pack drops it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX idx_left_ccnew ON marketdata_candle_y2025m09 (ts)")
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_left_ccnew'::regclass"
        )

    assert partitions.compact("marketdata_candle_y2025m09")

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('idx_left_ccnew')")
        assert cursor.fetchone() == (None,)
        cursor.execute(
            "SELECT c.reloptions FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'marketdata_candle_y2025m09'::regclass AND i.indisprimary"
        )
        assert cursor.fetchone() == (["fillfactor=100"],), "an ended month's key packed full"
    assert "marketdata_candle_y2025m09" not in partitions.ended_loose(NOW)
    assert not partitions.compact("marketdata_candle_y1999m01"), "gone: nothing to pack"


def test_an_archived_month_is_not_fetched_again_nor_a_hole(stored, tmp_path):
    p, rows = stored
    covered = (rows[0]["ts"], rows[-1]["ts"] + timedelta(hours=1))
    before = plan_backfill([p.pk], ["1h"], since=covered[0], until=covered[1])

    archive.archive_cold(NOW, hot_months=15, directory=tmp_path)

    after = plan_backfill([p.pk], ["1h"], since=covered[0], until=covered[1])
    assert before.todo == after.todo == [], "coverage stays: nothing to fetch again"
    assert run_audit(pool_ids=[p.pk], timeframes=["1h"]).holes == 0


def test_an_archived_month_never_gets_a_partition_again(stored, tmp_path):
    """A late row of an archived month stays in the default partition: a second archive run
    would otherwise replace the month's file with that row alone."""
    p, _ = stored
    archive.archive_cold(NOW, hot_months=15, directory=tmp_path)
    file = tmp_path / "candles" / "2025-08.parquet"
    saved = file.read_bytes()

    assert partitions.ensure_span("marketdata_candle", AUG, AUG + timedelta(days=40)) == []
    late = candle_rows(p.pk, 1, timeframe="1d")[0] | {"ts": AUG + timedelta(days=3)}
    store.upsert_candles([late])
    assert "marketdata_candle_y2025m08" not in partitions.ensure(NOW)

    assert archive.archive_cold(NOW, hot_months=15, directory=tmp_path) == []
    assert file.read_bytes() == saved
    assert where_is(AUG + timedelta(days=3)) == "marketdata_candle_default"
    with pytest.raises(archive.ArchiveError, match="archived already"):
        with connection.cursor() as cursor:  # as an older version might have left it
            cursor.execute(
                "CREATE TABLE marketdata_candle_y2025m08 (LIKE marketdata_candle INCLUDING ALL)"
            )
        archive.archive_month("marketdata_candle", AUG, tmp_path)
    assert file.read_bytes() == saved


def where_is(ts: datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM marketdata_candle WHERE ts = %s", [ts])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_an_export_holding_the_table_makes_the_archive_wait_not_the_writers(
    leaves_no_partitions, stored, tmp_path, settings
):
    """The detach gives up after a lock timeout instead of queueing every write behind it."""
    settings.GECKO_ARCHIVE_DIR = tmp_path
    reader = psycopg.connect(**connection.get_connection_params())
    try:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("LOCK TABLE marketdata_candle IN ACCESS SHARE MODE")  # as export_qlib
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            archive.archive_month("marketdata_candle", AUG, tmp_path)
        assert time.monotonic() - started < archive.LOCK_TIMEOUT_MS / 1000 + 10
    finally:
        reader.close()
    assert "marketdata_candle_y2025m08" in held() and not ArchivedMonth.objects.exists()
    assert archive.archive_month("marketdata_candle", AUG, tmp_path).rows == 12 * 24


# A trade's money as the database may hold it: each must come back as the very same text.
MONEY_SHAPES = [
    "1.0",
    "0.000000" + "1234567890" * 7,  # 76 fractional digits
    "98765432109876543210." + "1234567890" * 6 + "12",  # 82 digits, wider than a decimal(76)
    "-12.50",
    "0",
    "100",
    "0." + "0" * 130 + "7",  # a scale past the file's int8: kept as text
]
TX = "432SvDgRKPzNWyZjZjv8cu8CS3tQtKGSJBCzQW4Ppwz5VYxEM3w1UChE9GYWeovMDwyBzWYX73fXHcwiXjbYuu9N"


def test_trade_money_and_hashes_come_back_exactly_from_the_file(tmp_path):
    p = pool(base_token=token(BASE_TOKEN), quote_token=token(QUOTE_TOKEN))
    rows = []
    for i, text in enumerate([*MONEY_SHAPES, None]):
        at = AUG + timedelta(days=1, seconds=i)
        value = None if text is None else Decimal(text)
        tx = TX if i else "0xABC"  # upper-case hex: kept as text
        rows.append(
            {
                "trade_id": f"solana_{100 + i}_{tx}_{i}_{int(at.timestamp()) + 5}",
                "pool_id": p.pk,
                "block_number": 100 + i,
                "block_timestamp": at,
                "tx_hash": tx,
                "tx_from_address": "8qcW84HGYGUF8Jqs2JwJyKRWeMm4ksNo9dVugMz9tUc5",
                "side": "buy",
                "from_token_address": QUOTE_TOKEN,
                "to_token_address": BASE_TOKEN,
                **{m: Decimal("1.0") if value is None else value for m in MONEY},
                "price_to_in_usd": value,  # nullable
            }
        )
    store.upsert_trades(rows)
    path = tmp_path / "trades.parquet"

    written = archive.write_month("marketdata_trade", AUG, path)

    assert written.rows == len(rows)
    assert archive.read_back("marketdata_trade", path) == written
    back = {r["block_number"]: r for r in archive.read_rows("marketdata_trade", path)}
    for row in rows:
        got = back[row["block_number"]]
        assert archive.trade_id_of(got) == row["trade_id"]
        assert got["tx_hash"] == row["tx_hash"]
        assert got["price_to_in_usd"] == (
            None if row["price_to_in_usd"] is None else format(row["price_to_in_usd"], "f")
        )
    assert [back[100 + i]["volume_usd"] for i in range(len(MONEY_SHAPES))] == MONEY_SHAPES
    stored = pq.read_table(path)
    as_text = [text if text == MONEY_SHAPES[-1] else None for text in [*MONEY_SHAPES, None]]
    assert stored.column("volume_usd_text").to_pylist() == as_text, "the rest as digits"
    assert pa.types.is_binary(stored.schema.field("tx_hash").type)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "Infinity",
        "-0.0",
        "-0",
        "-0.000",
        "00",
        "1.",
        ".5",
        "01.5",
        "+1.5",
        "1e5",
        "",
        "9" * 5000,
    ],
)
def test_money_its_digits_would_not_rebuild_is_kept_as_text(text):
    assert archive.pack_decimal(text) is None


@pytest.mark.parametrize(
    "text",
    [
        *MONEY_SHAPES[:-1],
        "-0.5",
        "0.0",
        "0.10",
        "-10.50",
        "255",
        "-128",
        "1" * 200,
        "0." + "0" * 126 + "7",
    ],
)
def test_money_packs_into_digits_that_unpack_to_the_same_text(text):
    assert archive.unpack_decimal(*archive.pack_decimal(text)) == text


def test_an_open_that_is_the_close_before_is_left_out_and_comes_back_bit_for_bit(tmp_path):
    """The API opens a bar at the close before: the file stores such opens as null, never a
    0.0 after -0.0 nor an open of another pool's or timeframe's bar."""
    a, b = pool("A"), pool("B")
    rows = candle_rows(a.pk, 6, timeframe="1h", step=3600)
    rows += candle_rows(b.pk, 3, timeframe="1h", step=3600)
    for n in (1, 2, 5):
        rows[n]["open"] = rows[n - 1]["close"]
    rows[3]["close"], rows[4]["open"] = -0.0, 0.0
    rows[6]["open"] = rows[5]["close"]  # pool B's first bar: another series, kept
    store.upsert_candles(rows)
    partitions.ensure(NOW)
    month = datetime(2025, 8, 1, tzinfo=UTC)

    written = archive.write_month("marketdata_candle", month, tmp_path / "c.parquet")
    stored = pq.read_table(tmp_path / "c.parquet").column("open").to_pylist()
    back = list(archive.read_rows("marketdata_candle", tmp_path / "c.parquet"))

    assert [o is None for o in stored] == [n in (1, 2, 5) for n in range(9)]
    assert archive.read_back("marketdata_candle", tmp_path / "c.parquet") == written
    assert [str(r["open"]) for r in back] == [str(r["open"]) for r in rows]
    assert str(back[4]["open"]) == "0.0" and str(back[3]["close"]) == "-0.0"
    table = pq.read_table(tmp_path / "c.parquet")
    first = table.column("open").to_pylist()
    first[0] = None
    pq.write_table(table.set_column(4, "open", pa.array(first, pa.float64())), tmp_path / "x")
    with pytest.raises(archive.ArchiveError, match="no bar precedes it"):
        list(archive.read_rows("marketdata_candle", tmp_path / "x"))


def test_batch_edges_neither_keep_an_open_nor_change_the_checksum(tmp_path, monkeypatch):
    """A month is written and read back a batch at a time: an open that is the close of the
    last row of the batch before is left out too, and the checksum is the same whatever the
    batch size."""
    a = pool("A")
    rows = candle_rows(a.pk, 7, timeframe="1h", step=3600)
    for n in range(1, 7):
        rows[n]["open"] = rows[n - 1]["close"]
    store.upsert_candles(rows)
    partitions.ensure(NOW)
    month = datetime(2025, 8, 1, tzinfo=UTC)
    whole = archive.write_month("marketdata_candle", month, tmp_path / "whole.parquet")

    monkeypatch.setattr(archive, "BATCH", 2)
    written = archive.write_month("marketdata_candle", month, tmp_path / "c.parquet")

    opens = pq.read_table(tmp_path / "c.parquet").column("open").to_pylist()
    assert [o is None for o in opens] == [False] + [True] * 6
    assert written == whole == archive.read_back("marketdata_candle", tmp_path / "c.parquet")


@pytest.mark.parametrize("column", ["high", "ts", "pool_address", "is_final"])
def test_a_value_the_file_changed_fails_the_check(tmp_path, column):
    """The checksum covers every column: one value changed in the file is caught."""
    a = pool("A")
    store.upsert_candles(candle_rows(a.pk, 3, timeframe="1h", step=3600))
    partitions.ensure(NOW)
    month = datetime(2025, 8, 1, tzinfo=UTC)
    written = archive.write_month("marketdata_candle", month, tmp_path / "c.parquet")
    table = pq.read_table(tmp_path / "c.parquet")
    values = table.column(column).to_pylist()
    changed = {
        "high": lambda v: v * (1 + 1e-15),
        "ts": lambda v: v + timedelta(microseconds=1),
        "pool_address": lambda v: v + "x",
        "is_final": lambda v: not v,
    }
    values[1] = changed[column](values[1])
    at = table.schema.get_field_index(column)
    column_type = table.schema.field(column).type
    pq.write_table(table.set_column(at, column, pa.array(values, column_type)), tmp_path / "x")

    back = archive.read_back("marketdata_candle", tmp_path / "x")

    assert back.rows == written.rows and back.checksum != written.checksum


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("tx_hash", lambda v: v[:-1] + bytes([v[-1] ^ 1])),
        ("from_token_amount_digits", lambda v: v + b"\0"),
        ("block_timestamp", lambda v: v + timedelta(microseconds=1)),
        ("kept_trade_id", lambda v: "x"),
    ],
)
def test_a_trade_value_the_file_changed_fails_the_check(stored, tmp_path, column, change):
    """The trades' checksum covers every column of the file, nulls included."""
    written = archive.write_month("marketdata_trade", AUG, tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    values = table.column(column).to_pylist()
    values[1] = change(values[1])
    at = table.schema.get_field_index(column)
    changed = table.set_column(at, column, pa.array(values, table.schema.field(column).type))
    pq.write_table(changed, tmp_path / "x")

    back = archive.read_back("marketdata_trade", tmp_path / "x")

    assert back.rows == written.rows and back.checksum != written.checksum
    assert archive.read_back("marketdata_trade", tmp_path / "t.parquet") == written
