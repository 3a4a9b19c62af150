"""Turns a big table into a partitioned one by month (marketdata.partitions), keeping its rows.

Run by migration 0007 for candles and trades (``revert`` is its way back). The old table is
renamed aside, a partitioned
table of the same name is made with the same columns (fixed-width ones first, widest first, so a
row carries no alignment padding), constraints and indexes, and the rows move over in batches of
ids, each batch committed: a migration killed midway goes on after the last id moved. Raw SQL
only, read from the catalog, so later changes to the models cannot change it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from . import partitions

logger = logging.getLogger(__name__)
BATCH = 50_000


def aside(table: str, *, partitioned: bool = False) -> str:
    """Where the table being rebuilt waits while its rows move: the old flat table, or (when
    reverting) the old partitioned one."""
    return f"{table}_{'partitioned' if partitioned else 'unpartitioned'}"


def _fetch(query, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _columns(table: str) -> list[tuple[str, str, bool, str]]:
    """(name, type, not null, identity) of ``table``, widest fixed-width first."""
    return _fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY t.typlen < 0, t.typlen DESC, a.attnum",
        [table],
    )


def _recreated(table: str) -> list[str]:
    """Statements that give a new ``table`` the old one's constraints (its primary key, which
    must now take in the partition key, aside) and other indexes, by their names."""
    statements = [
        f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"  # noqa: S608 (catalog's)
        for name, definition in _fetch(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) AND contype IN ('u', 'f', 'c') ORDER BY conname",
            [table],
        )
    ]
    statements += [
        definition
        for (definition,) in _fetch(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY i.indexrelid",
            [table],
        )
    ]
    return statements


def _rename_aside(cursor, table: str, old: str) -> None:
    """The old table and its constraint and index names out of the new one's way."""
    cursor.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(table), sql.Identifier(old))
    )
    for (name,) in _fetch(
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s)", [old]
    ):
        cursor.execute(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(old), sql.Identifier(name), sql.Identifier(f"{name}_old")
            )
        )
    for (name,) in _fetch(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = to_regclass(%s)",
        [old],
    ):
        cursor.execute(
            sql.SQL("ALTER INDEX IF EXISTS {} RENAME TO {}").format(
                sql.Identifier(name), sql.Identifier(f"{name}_old")
            )
        )


def _create(table: str, now: datetime, *, partitioned: bool) -> None:
    """A new ``table`` beside the old one: partitioned by month, with its default partition
    and the months the old rows need; or (reverting) a flat one."""
    column = partitions.PARTITIONED[table]
    columns = _columns(table)
    recreated = _recreated(table)
    (first,) = _fetch(
        sql.SQL("SELECT min({}) FROM {}").format(sql.Identifier(column), sql.Identifier(table))
    )[0]
    with transaction.atomic(), connection.cursor() as cursor:
        _rename_aside(cursor, table, aside(table, partitioned=not partitioned))
        parts = []
        for name, kind, not_null, identity in columns:
            text = f"{name} {kind}{' NOT NULL' if not_null else ''}"
            if identity:
                text += f" GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY"
            parts.append(text)
        if partitioned:
            # No primary key: on a partitioned table it would have to be (id, month column), a
            # B-tree entry of ~30 B a row for lookups by id the admin and the API make a few at
            # a time. Ids grow with the rows' arrival, so a BRIN index (a few bytes a thousand
            # rows) finds one in a millisecond; the natural key stays unique.
            tail = f") PARTITION BY RANGE ({column})"
            recreated.append(f"CREATE INDEX {table}_id_brin ON {table} USING brin (id)")
        else:
            tail = ", PRIMARY KEY (id))"
            recreated = [r for r in recreated if "USING brin (id)" not in r]
        cursor.execute(f"CREATE TABLE {table} ({', '.join(parts)}{tail}")  # noqa: S608
        for statement in recreated:
            cursor.execute(sql.SQL(statement))  # the catalog's own definitions
        if partitioned:
            cursor.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                    sql.Identifier(partitions.default_name(table)), sql.Identifier(table)
                )
            )
    if partitioned:
        for month in partitions.months(first or now, now):
            partitions.add_month(table, month)
        partitions.ensure(now)


def _move_batch(table: str, old: str, after: int, batch: int) -> tuple[int, int | None]:
    """Move the next ``batch`` rows by id: how many, and the last id (None: none were left)."""
    names = sql.SQL(", ").join(sql.Identifier(name) for name, *_ in _columns(table))
    query = sql.SQL(
        "WITH moved AS (INSERT INTO {t} ({cols}) OVERRIDING SYSTEM VALUE"
        " SELECT {cols} FROM {old} WHERE id > %s ORDER BY id LIMIT %s RETURNING id)"
        " SELECT count(*), max(id) FROM moved"
    ).format(t=sql.Identifier(table), old=sql.Identifier(old), cols=names)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(query, [after, batch])
        return cursor.fetchone()


def _finish(table: str, old: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(max(id), 0) + 1, false)"
                " FROM {}"
            ).format(sql.Identifier(table)),
            [table],
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))


def convert(table: str, *, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Partition ``table`` by month, or go on with a conversion that stopped; the rows moved
    (``max_batches``: stop after that many, as a kill would)."""
    return _rebuild(table, partitioned=True, batch=batch, max_batches=max_batches)


def revert(table: str, *, batch: int = BATCH) -> int:
    """Make ``table`` one flat table again (the migration's way back)."""
    return _rebuild(table, partitioned=False, batch=batch, max_batches=None)


def _rebuild(table: str, *, partitioned: bool, batch: int, max_batches: int | None) -> int:
    old = aside(table, partitioned=not partitioned)
    started = _fetch("SELECT to_regclass(%s) IS NOT NULL", [old])[0][0]
    if partitions.is_partitioned(table) == partitioned and not started:
        return 0
    if not started:
        _create(table, timezone.now(), partitioned=partitioned)
    (after,) = _fetch(sql.SQL("SELECT COALESCE(max(id), 0) FROM {}").format(sql.Identifier(table)))[
        0
    ]
    moved = done = 0
    while max_batches is None or done < max_batches:
        count, last = _move_batch(table, old, after, batch)
        if last is None:
            _finish(table, old)
            break
        moved, after, done = moved + count, last, done + 1
        if done % 20 == 0:
            logger.info("%s: %s rows moved", table, f"{moved:,}")
    return moved
