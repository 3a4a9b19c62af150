"""Moves trades stored by the old layout (text ids, hashes and addresses) into the lean one.

Run by migration 0005 in batches, each committed on its own: a migration killed midway leaves
the batches done, and ``manage.py migrate`` again goes on from the first row not yet moved
(``tx`` still null). Raw SQL only, so that later changes to the models cannot change it.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from psycopg import sql

from .trade_layout import PoolTokens, encode_rows

logger = logging.getLogger(__name__)
BATCH = 5_000
OLD = (
    "id",
    "pool_id",
    "trade_id",
    "block_number",
    "block_timestamp",
    "tx_hash",
    "tx_from_address",
    "side",
    "from_token_address",
    "to_token_address",
)
NEW = (
    "event_index",
    "id_lag",
    "kept_trade_id",
    "tx_key",
    "tx",
    "tx_from",
    "from_token",
    "to_token",
)
TYPES = ("int", "int", "text", "bigint", "bytea", "bytea", "bytea", "bytea")


def _pools(cursor, pool_ids: set[int]) -> dict[int, PoolTokens]:
    cursor.execute(
        "SELECT p.id, n.slug, b.address, q.address FROM marketdata_pool p"
        " JOIN marketdata_network n ON n.id = p.network_id"
        " LEFT JOIN marketdata_token b ON b.id = p.base_token_id"
        " LEFT JOIN marketdata_token q ON q.id = p.quote_token_id"
        " WHERE p.id = ANY(%s)",
        [list(pool_ids)],
    )
    return {pk: PoolTokens(net, base, quote) for pk, net, base, quote in cursor.fetchall()}


def move_batch(batch: int = BATCH) -> int:
    """Move up to ``batch`` old rows in one transaction; returns how many were moved."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT {} FROM marketdata_trade WHERE tx IS NULL ORDER BY id LIMIT %s FOR UPDATE"
            ).format(sql.SQL(", ").join(map(sql.Identifier, OLD))),
            [batch],
        )
        names = [c.name for c in cursor.description]
        old = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if not old:
            return 0
        pools = _pools(cursor, {row["pool_id"] for row in old})
        new = encode_rows(old, pools)
        arrays = [[row["id"] for row in old]] + [[row[c] for row in new] for c in NEW]
        query = sql.SQL(
            "UPDATE marketdata_trade t SET {sets} FROM unnest({casts}) AS u(id, {names})"
            " WHERE t.id = u.id"
        ).format(
            sets=sql.SQL(", ").join(
                sql.SQL("{c} = u.{c}").format(c=sql.Identifier(c)) for c in NEW
            ),
            casts=sql.SQL(", ").join(
                sql.SQL("%s::{}[]").format(sql.SQL(t)) for t in ("bigint", *TYPES)
            ),
            names=sql.SQL(", ").join(map(sql.Identifier, NEW)),
        )
        cursor.execute(query, arrays)
        return len(old)


def move_all(batch: int = BATCH, *, max_batches: int | None = None) -> int:
    """Move every old row (``max_batches``: stop after that many, as a kill would)."""
    moved = done = 0
    while max_batches is None or done < max_batches:
        count = move_batch(batch)
        if not count:
            break
        moved, done = moved + count, done + 1
        if done % 20 == 0:
            logger.info("trades moved to the lean layout: %s", f"{moved:,}")
    return moved
