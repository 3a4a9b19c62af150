"""A backup restored into a fresh database has the same rows and the same newest candles."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import sql

from collectors.models import CollectionRun
from geckoproject.backup import BackupError, backup, restore
from marketdata import archive, partitions, store
from tests.marketdata import factories
from watchlist.models import WatchlistEntry

POOLS = (
    "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP",
    "4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",
)
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)  # 2025-08's candles are past 15 hot months


def libpq(db: dict) -> dict:
    return {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "dbname": db["NAME"],
    }


def admin_connection(db: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture
def fresh_database():
    """An empty database of this test's own, dropped afterwards."""
    db = dict(settings.DATABASES["default"], NAME=f"test_gecko_i11_restore_{uuid.uuid4().hex[:8]}")
    with admin_connection(db) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    yield db
    with admin_connection(db) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["NAME"]))
        )


def snapshot(cursor) -> tuple[dict[str, int], list[tuple]]:
    """Row count of every table, and each pool's newest candle per timeframe."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [name for (name,) in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)).as_string(None)
        )
        counts[table] = cursor.fetchone()[0]
    cursor.execute(
        "SELECT p.address, c.timeframe, max(c.ts), (array_agg(c.close ORDER BY c.ts DESC))[1]"
        " FROM marketdata_candle c JOIN marketdata_pool p ON p.id = c.pool_id"
        " GROUP BY p.address, c.timeframe ORDER BY 1, 2"
    )
    return counts, cursor.fetchall()


def populate() -> None:
    for n, address in enumerate(POOLS):
        pool = factories.pool(address)
        store.upsert_candles(factories.candle_rows(pool.pk, 500 + n * 7))
        store.upsert_candles(factories.candle_rows(pool.pk, 40, timeframe="1h", step=3600))
        WatchlistEntry.objects.create(network="solana", pool_address=address, source="csv")
    CollectionRun.objects.create(task="collectors.tasks.fetch_ohlcv", status="ok")


def snapshot_of(database: dict) -> tuple:
    """The snapshot of ``database`` (a DATABASES entry), read over a connection of its own."""
    with (
        psycopg.connect(
            host=database["HOST"] or None,
            port=database["PORT"] or None,
            user=database["USER"] or None,
            password=database["PASSWORD"] or None,
            dbname=database["NAME"],
        ) as conn,
        conn.cursor() as cursor,
    ):
        return snapshot(cursor)


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_has_the_same_rows_and_newest_candles(tmp_path, fresh_database):
    populate()
    with connection.cursor() as cursor:
        before = snapshot(cursor)
    assert before[0]["marketdata_candle"] == 500 + 507 + 80 and len(before[1]) == 4

    dump = backup(tmp_path / "db.dump")
    assert dump.stat().st_size > 0 and not list(tmp_path.glob("*.partial"))
    restore(dump, fresh_database)

    after = snapshot_of(fresh_database)
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_restore_into_a_used_database_replaces_its_rows(tmp_path, fresh_database):
    populate()
    dump = backup(tmp_path / "db.dump")
    restore(dump, fresh_database)
    with connection.cursor() as cursor:
        expected = snapshot(cursor)

    restore(dump, fresh_database)  # --clean: a second restore over the first, no duplicates

    assert snapshot_of(fresh_database) == expected


def test_a_missing_or_broken_file_is_named(tmp_path, fresh_database):
    with pytest.raises(BackupError, match="no such backup file"):
        restore(tmp_path / "nope.dump", fresh_database)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP not really")
    with pytest.raises(BackupError, match="pg_restore exited"):
        restore(broken, fresh_database)


def test_a_failed_backup_leaves_no_file(tmp_path):
    db = dict(settings.DATABASES["default"], NAME="no_such_database_i11")
    with pytest.raises(BackupError, match="pg_dump exited.*no_such_database_i11"):
        backup(tmp_path / "x.dump", db)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_the_restore_command_wants_confirmation(tmp_path):
    with pytest.raises(CommandError, match="run again with --yes"):
        call_command("restore", str(tmp_path / "x.dump"))


def test_make_restore_without_file_is_refused():
    done = subprocess.run(
        ["make", "-s", "restore"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "FILE=" in done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_archive_travels_with_its_backup(tmp_path, fresh_database):
    """Months archived to Parquet are in no dump: the backup carries their files beside it."""
    populate()
    archived = tmp_path / "archive"
    partitions.ensure(NOW)
    (month,) = archive.archive_cold(NOW, hot_months=15, directory=archived)
    assert month.table == "marketdata_candle" and month.rows == 500 + 507 + 80

    dump = backup(tmp_path / "db.dump", archive=archived)
    saved = Path(month.path).read_bytes()
    shutil.rmtree(archived)
    restore(dump, fresh_database, archive=archived)

    assert Path(month.path).read_bytes() == saved
    with psycopg.connect(**libpq(fresh_database)) as conn:
        rows = conn.execute('SELECT "table", rows FROM marketdata_archivedmonth').fetchall()
    assert rows == [("marketdata_candle", month.rows)]
