"""Monthly partitions of the two big tables: candles by ``ts``, trades by ``block_timestamp``.

A month is one partition (``marketdata_candle_y2026m11``), so archiving or dropping a month
detaches a table instead of deleting rows. Each table also has a default partition, so a write
never fails for want of a partition: the daily maintenance (``ensure``) creates the months ahead
and moves any month found in the default partition into its own, in one transaction per month
(create, move, attach) under an advisory lock, so two maintainers never race.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime

from django.db import connection, transaction
from psycopg import sql

logger = logging.getLogger(__name__)
PARTITIONED = {"marketdata_candle": "ts", "marketdata_trade": "block_timestamp"}
MONTHS_AHEAD = 2


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def months(start: datetime, end: datetime) -> list[datetime]:
    """The month starts of every month meeting [start, end)."""
    out, month = [], month_start(start)
    while month < end:
        out.append(month)
        month = next_month(month)
    return out


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_y{month:%Y}m{month:%m}"


def month_of(name: str) -> datetime:
    """The month a partition named by ``partition_name`` holds."""
    return datetime.strptime(name.rsplit("_", 1)[1], "y%Ym%m").replace(tzinfo=UTC)


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partitioned(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions(table: str) -> list[str]:
    """The month partitions of ``table``, oldest first (the default partition left out)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s) AND c.relname <> %s ORDER BY c.relname",
            [table, default_name(table)],
        )
        return [name for (name,) in cursor.fetchall()]


def archived(table: str, month: datetime) -> bool:
    """Whether ``month`` of ``table`` went to the Parquet archive (marketdata.archive). Such a
    month never gets a partition again: a late row of it stays in the default partition,
    where readers find it beside the file, and no second archive run can overwrite the file."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('marketdata_archivedmonth') IS NOT NULL")
        if not cursor.fetchone()[0]:  # migrating, before the archive's table exists
            return False
        cursor.execute(
            'SELECT EXISTS (SELECT 1 FROM marketdata_archivedmonth WHERE "table" = %s'
            " AND month = %s)",
            [table, month.date()],
        )
        return cursor.fetchone()[0]


def add_month(table: str, month: datetime) -> bool:
    """Give ``month`` its own partition of ``table``, moving its rows out of the default one;
    False if it had one already, or was archived."""
    name, column = partition_name(table, month), PARTITIONED[table]
    bounds = [month, next_month(month)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0] or archived(table, month):
            return False
        ids = {"t": sql.Identifier(table), "p": sql.Identifier(name), "c": sql.Identifier(column)}
        ids["d"] = sql.Identifier(default_name(table))
        statements = [
            "CREATE TABLE {p} (LIKE {t} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING INDEXES)",
            "WITH moved AS (DELETE FROM {d} WHERE {c} >= %s AND {c} < %s RETURNING *)"
            " INSERT INTO {p} SELECT * FROM moved",
            "ALTER TABLE {t} ATTACH PARTITION {p} FOR VALUES FROM (%s) TO (%s)",
        ]
        for statement in statements:
            query = sql.SQL(statement).format(**ids)
            cursor.execute(query, bounds if "%s" in statement else None)
    logger.info("partition %s created", name)
    return True


def ensure_span(table: str, start: datetime, end: datetime) -> list[str]:
    """Partitions for every month of [start, end) before a writer fills them (a backfill's
    months would otherwise wait in the default partition for the daily maintenance)."""
    if not is_partitioned(table):
        return []
    return [partition_name(table, m) for m in months(start, end) if add_month(table, m)]


def months_in_default(table: str) -> list[datetime]:
    column = PARTITIONED[table]
    query = sql.SQL("SELECT DISTINCT date_trunc('month', {c}, 'UTC') FROM {d}").format(
        c=sql.Identifier(column), d=sql.Identifier(default_name(table))
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return sorted(month for (month,) in cursor.fetchall())


def ensure(now: datetime, *, ahead: int = MONTHS_AHEAD) -> list[str]:
    """This month and ``ahead`` more, and every month sitting in a default partition, get
    their own partitions. Returns the partitions created."""
    created = []
    for table in PARTITIONED:
        if not is_partitioned(table):
            continue
        wanted = [month_start(now)]
        for _ in range(ahead):
            wanted.append(next_month(wanted[-1]))
        for month in sorted({*wanted, *months_in_default(table)}):
            if add_month(table, month):
                created.append(partition_name(table, month))
    return created


COMPACTED = "compacted"  # the comment on a month partition whose indexes were rebuilt whole


def ended_loose(now: datetime) -> list[str]:
    """Month partitions that have ended and whose indexes were not packed yet."""
    current = month_start(now)
    return [
        name
        for table in PARTITIONED
        for name in partitions(table)
        if month_of(name) < current and _comment(name) != COMPACTED
    ]


def compact(name: str, *, concurrently: bool = True) -> bool:
    """Pack the indexes of month partition ``name`` (False if it is gone, archived say).

    Rows arrive interleaved across pools, so a month's B-trees fill as they split, about half
    full; once the month has ended (only a backfill still writes to it) one ``REINDEX
    CONCURRENTLY`` packs them like a bulk load, without blocking readers or writers, and full
    (fillfactor 100, not 90: the 10% kept for inserts would wait for rows that rarely come; a
    late row splits a page, as in any B-tree). Such a rebuild cut short leaves invalid copies
    behind, dropped first. Needs autocommit (``concurrently=False``: a plain REINDEX, which
    blocks writers, for a caller in a transaction such as the storage bench)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = to_regclass(%s) AND NOT i.indisvalid",
            [name],
        )
        for (index,) in cursor.fetchall():
            cursor.execute(sql.SQL("DROP INDEX CONCURRENTLY {}").format(sql.Identifier(index)))
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = to_regclass(%s)"
            " AND a.amname = 'btree'",
            [name],
        )
        for (index,) in cursor.fetchall():
            cursor.execute(
                sql.SQL("ALTER INDEX {} SET (fillfactor = 100)").format(sql.Identifier(index))
            )
        how = "CONCURRENTLY " if concurrently else ""
        cursor.execute(sql.SQL(f"REINDEX TABLE {how}{{}}").format(sql.Identifier(name)))
        cursor.execute(
            sql.SQL("COMMENT ON TABLE {} IS %s").format(sql.Identifier(name)), [COMPACTED]
        )
    logger.info("partition %s compacted", name)
    return True


def _comment(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [name])
        return cursor.fetchone()[0]
