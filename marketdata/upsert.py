"""Bulk upsert on a natural key, in one statement per chunk, with honest counts.

``INSERT … SELECT FROM unnest(arrays) ON CONFLICT (key) DO UPDATE … WHERE changed`` keeps the
parameter count fixed per column (no 65k-parameter ceiling), writes nothing for rows that did
not change (no dead tuples, no WAL), and ``RETURNING (xmax = 0)`` tells inserts from updates
(on a partitioned table, which has no xmax to return, the keys held before the statement do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction

from .partitions import is_partitioned

CHUNK_ROWS = 5000


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """Rows inserted, rows whose values changed, and rows that were already identical."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _array_type(field: models.Field) -> str:
    db_type = field.db_type(connection)
    if field.get_internal_type() in ("ForeignKey", "OneToOneField"):
        db_type = field.target_field.rel_db_type(connection)
    return db_type.split("(")[0] if db_type.startswith("varchar") else db_type


def upsert(
    model: type[models.Model],
    rows: Iterable[Mapping[str, object]],
    *,
    unique: Sequence[str],
    update: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> UpsertResult:
    """Insert ``rows`` (dicts keyed by field attname) or update them on the ``unique`` key.

    ``update`` names the columns refreshed on conflict (default: every given non-key column);
    an empty ``update`` means insert-or-ignore. Rows repeating a key within one call are
    collapsed, the last one winning, because PostgreSQL rejects a key twice in one statement.
    """
    deduped: dict[tuple, Mapping[str, object]] = {}
    for row in rows:
        missing = [k for k in unique if k not in row]
        if missing:
            raise ValueError(f"{model.__name__} upsert: rows lack key columns {missing}")
        deduped[tuple(row[k] for k in unique)] = row
    if not deduped:
        return UpsertResult()
    items = list(deduped.values())
    columns = list(items[0].keys())
    if update is None:
        update = [c for c in columns if c not in unique]
    meta = model._meta
    fields = {f.attname: f for f in meta.concrete_fields}
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ValueError(f"{model.__name__} upsert: unknown columns {unknown}")
    columns_sql = ", ".join(connection.ops.quote_name(fields[c].column) for c in columns)
    arrays_sql = ", ".join(f"%s::{_array_type(fields[c])}[]" for c in columns)
    key_sql = ", ".join(connection.ops.quote_name(fields[c].column) for c in unique)
    table = connection.ops.quote_name(meta.db_table)
    if update:
        targets = [connection.ops.quote_name(fields[c].column) for c in update]
        set_sql = ", ".join(f"{t} = EXCLUDED.{t}" for t in targets)
        old = ", ".join(f"{table}.{t}" for t in targets)
        new = ", ".join(f"EXCLUDED.{t}" for t in targets)
        conflict_sql = f"DO UPDATE SET {set_sql} WHERE ({old}) IS DISTINCT FROM ({new})"
    else:
        conflict_sql = "DO NOTHING"
    # Identifiers come from model metadata, never from input; values travel as parameters.
    rows_sql = f"SELECT * FROM unnest({arrays_sql})"  # noqa: S608
    if update and is_partitioned(meta.db_table):
        # A partitioned table has no xmax to return: an inserted row is one whose key was not
        # there before the statement (its snapshot, shared by every part of it).
        names = ", ".join(connection.ops.quote_name(fields[c].column) for c in columns)
        keys = ", ".join(f"d.{connection.ops.quote_name(fields[c].column)}" for c in unique)
        held = ", ".join(f"t.{connection.ops.quote_name(fields[c].column)}" for c in unique)
        sql = (
            f"WITH input ({names}) AS ({rows_sql}),"  # noqa: S608
            f" held AS (SELECT {held} FROM {table} t"
            f" WHERE ({held}) IN (SELECT {key_sql} FROM input)),"
            f" done AS (INSERT INTO {table} ({columns_sql}) SELECT * FROM input"
            f" ON CONFLICT ({key_sql}) {conflict_sql} RETURNING {key_sql})"
            f" SELECT ({keys}) NOT IN (SELECT * FROM held) FROM done d"
        )
    else:
        sql = (
            f"INSERT INTO {table} ({columns_sql}) {rows_sql} "  # noqa: S608
            f"ON CONFLICT ({key_sql}) {conflict_sql} "
            + ("RETURNING true" if not update else "RETURNING (xmax = 0)")
        )
    result = UpsertResult()
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(items), chunk_rows):
            chunk = items[start : start + chunk_rows]
            params = [
                [fields[c].get_db_prep_save(row[c], connection) for row in chunk] for c in columns
            ]
            cursor.execute(sql, params)
            flags = [r[0] for r in cursor.fetchall()]
            inserted = sum(flags)
            updated = len(flags) - inserted
            result += UpsertResult(inserted, updated, len(chunk) - inserted - updated)
    return result
