"""The only way collectors write market data: idempotent bulk upserts on natural keys.

Rows are plain dicts keyed by model attnames (``pool_id``, not ``pool``), so this module knows
nothing about the API. Running any call twice with the same rows changes nothing and reports
``inserted=0, updated=0`` the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import sql

from . import trade_layout
from .models import Candle, Dex, Gap, Network, Pool, PoolSnapshot, Token, Trade
from .upsert import UpsertResult, upsert

Row = Mapping[str, object]
CANDLE_COLUMNS = ("pool_id", "timeframe", "ts", "open", "high", "low", "close", "volume_usd")
CANDLE_COLUMNS += ("is_final",)
CANDLE_VALUES = ("open", "high", "low", "close", "volume_usd", "is_final")
# Below this, one upsert statement costs less than the range check plus a COPY.
COPY_MIN_ROWS = 50


def get_network(slug: str) -> Network:
    """The Network row for ``slug``, created on first use."""
    network, _ = Network.objects.get_or_create(slug=slug)
    return network


def upsert_dexes(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, slug). ``is_target`` is an operator's choice and is never overwritten."""
    return upsert(Dex, rows, unique=("network_id", "slug"))


def upsert_tokens(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, address); only the columns given are refreshed."""
    return upsert(Token, rows, unique=("network_id", "address"))


def upsert_pools(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (network, address); only the columns given are refreshed. A new pool is first
    seen by the collectors' clock (the planner measures its wait from then), never again."""
    now = timezone.now()
    rows = [{"first_seen_at": now, **row} for row in rows]
    if not rows:
        return UpsertResult()
    update = [c for c in rows[0] if c not in ("network_id", "address", "first_seen_at")]
    return upsert(Pool, rows, unique=("network_id", "address"), update=update)


def append_pool_snapshots(rows: Iterable[Row]) -> UpsertResult:
    """One snapshot per (pool, taken_at); a repeated observation is ignored, never rewritten."""
    return upsert(PoolSnapshot, rows, unique=("pool_id", "taken_at"), update=())


def upsert_candles(rows: Iterable[Row], *, exclusive: bool = False) -> UpsertResult:
    """Keyed on (pool, timeframe, ts). A bar still moving is rewritten until it is final.

    Rows of one (pool,
    timeframe) landing where nothing is stored yet (a backfill's usual case) are copied in.
    ``exclusive``: the caller's transaction holds marketdata.coverage.lock_writers for them,
    so no writer can race the COPY and it needs no savepoint to fall back from.
    """
    rows = list(rows)
    if not rows:
        return UpsertResult()
    if len(rows) >= COPY_MIN_ROWS:
        copied = _copy_into_empty_range(rows, exclusive=exclusive)
        if copied is not None:
            return copied
    values = [c for c in rows[0] if c not in ("pool_id", "timeframe", "ts")]
    return upsert(Candle, rows, unique=("pool_id", "timeframe", "ts"), update=values)


def _copy_into_empty_range(rows: list[Row], *, exclusive: bool) -> UpsertResult | None:
    """COPY the ``rows`` of one (pool, timeframe) whose ``ts`` is not stored yet, and upsert
    the few that are (a backfill page shares its boundary candle with the page before).

    None means "use the plain upsert": mixed keys, or a range mostly stored already. A writer
    racing into the same range makes the COPY fail on the unique key; its savepoint rolls
    back and the plain upsert runs instead."""
    key = (rows[0]["pool_id"], rows[0]["timeframe"])
    if set(rows[0]) != set(CANDLE_COLUMNS) or any(
        (r["pool_id"], r["timeframe"]) != key for r in rows
    ):
        return None
    unique = {r["ts"]: r for r in rows}
    stored = {
        ts: values
        for ts, *values in Candle.objects.filter(
            pool_id=key[0], timeframe=key[1], ts__range=(min(unique), max(unique))
        ).values_list("ts", *CANDLE_VALUES)
    }
    if len(stored) * 10 > len(unique):
        return None
    fresh = [r for ts, r in unique.items() if ts not in stored]
    columns = [Candle._meta.get_field(c).column for c in CANDLE_COLUMNS]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(Candle._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    try:
        with transaction.atomic(savepoint=not exclusive), connection.cursor() as cursor:
            with cursor.cursor.copy(copy_sql) as copy:
                for row in fresh:
                    copy.write_row([row[c] for c in CANDLE_COLUMNS])
    except IntegrityError:
        if exclusive:
            raise
        return None
    # Stored candles identical to the new rows (a page's boundary candle, usually) need no
    # statement at all; the others are upserted.
    changed = [
        unique[ts] for ts, old in stored.items() if [unique[ts][c] for c in CANDLE_VALUES] != old
    ]
    result = UpsertResult(inserted=len(fresh), unchanged=len(stored) - len(changed))
    if changed:
        result += upsert(
            Candle, changed, unique=("pool_id", "timeframe", "ts"), update=CANDLE_VALUES
        )
    return result


def upsert_trades(rows: Iterable[Row]) -> UpsertResult:
    """Rows of the API's fields, stored lean (marketdata.trade_layout). Keyed on what
    identifies a trade; a trade never changes, so a repeat is ignored."""
    encoded = trade_layout.encode_rows(rows)
    return upsert(
        Trade, encoded, unique=("pool_id", "block_timestamp", "event_index", "tx_key"), update=()
    )


def upsert_gaps(rows: Iterable[Row]) -> UpsertResult:
    """Keyed on (pool, timeframe, start); a re-detected gap refreshes its end and reason."""
    return upsert(Gap, rows, unique=("pool_id", "timeframe", "start"))


def ids_by_address(model: type[Token] | type[Pool], network: Network, addresses: Iterable[str]):
    """Map address → primary key for tokens or pools of ``network``."""
    return dict(
        model.objects.filter(network=network, address__in=set(addresses)).values_list(
            "address", "pk"
        )
    )
