"""What to export, read from PostgreSQL: the selected pools, their spans, and their bars.

Bars are streamed pool by pool with a binary ``COPY``: every row has the same six fixed-width
columns (epoch seconds as int8, OHLCV as float8), so a block of rows is a numpy view of the
bytes, parsed without a Python object per value. At most ``CHUNK_ROWS`` rows of one pool are in
memory at once, however long its history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from psycopg import sql

from marketdata.models import Candle, Network, Pool

CHUNK_ROWS = 50_000
PRICE_FIELDS = ("open", "high", "low", "close")

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("len_ts", ">i4"),
        ("ts", ">i8"),
        *[
            item
            for name in ("open", "high", "low", "close", "volume")
            for item in ((f"len_{name}", ">i4"), (name, ">f8"))
        ],
    ]
)


@dataclass(frozen=True)
class PoolInfo:
    """One selected pool and what the mapping file says about it."""

    id: int
    address: str
    name: str
    dex: str
    base_token: str
    base_token_address: str
    quote_token: str
    quote_token_address: str


@dataclass(frozen=True)
class Bars:
    """Consecutive bars of one pool, in time order; ``ts`` is the open time in epoch seconds."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class Window:
    """Which bars count: ``[start, end)`` (either open), final only unless ``include_open``."""

    timeframe: str
    start: datetime | None = None
    end: datetime | None = None
    include_open: bool = False

    def where(self, pool_id: int, after: int | None = None) -> sql.Composed:
        """The WHERE clause for one pool; ``after`` (epoch) keeps only later bars."""
        parts = [
            sql.SQL("pool_id = {}").format(sql.Literal(pool_id)),
            sql.SQL("timeframe = {}").format(sql.Literal(self.timeframe)),
        ]
        if not self.include_open:
            parts.append(sql.SQL("is_final"))
        if self.start is not None:
            parts.append(sql.SQL("ts >= {}").format(sql.Literal(self.start)))
        if self.end is not None:
            parts.append(sql.SQL("ts < {}").format(sql.Literal(self.end)))
        if after is not None:
            parts.append(sql.SQL("ts > to_timestamp({})").format(sql.Literal(after)))
        return sql.SQL(" AND ").join(parts)


def network(slug: str) -> Network | None:
    return Network.objects.filter(slug=slug).first()


def pools_by_address(network_obj: Network, addresses: Sequence[str]) -> tuple[list[int], list[str]]:
    """Ids of the pools with exactly these addresses (case matters), and the unknown addresses."""
    found = dict(
        Pool.objects.filter(network=network_obj, address__in=addresses).values_list("address", "id")
    )
    return [found[a] for a in dict.fromkeys(addresses) if a in found], [
        a for a in addresses if a not in found
    ]


def all_pool_ids(network_obj: Network) -> list[int]:
    return list(Pool.objects.filter(network=network_obj).values_list("id", flat=True))


def watchlist_pool_ids(network_obj: Network) -> list[int]:
    from watchlist.models import WatchlistEntry

    return WatchlistEntry.objects.collected_pool_ids(network_obj.slug)


def pool_infos(pool_ids: Sequence[int]) -> list[PoolInfo]:
    """The pools, in address order (the order they are exported in)."""
    rows = (
        Pool.objects.filter(id__in=pool_ids)
        .select_related("dex", "base_token", "quote_token")
        .order_by("address")
    )
    return [
        PoolInfo(
            id=p.id,
            address=p.address,
            name=p.name,
            dex=p.dex.slug if p.dex else "",
            base_token=p.base_token.symbol if p.base_token else "",
            base_token_address=p.base_token.address if p.base_token else "",
            quote_token=p.quote_token.symbol if p.quote_token else "",
            quote_token_address=p.quote_token.address if p.quote_token else "",
        )
        for p in rows
    ]


def spans(
    pool_ids: Sequence[int], window: Window, *, after: int | None = None
) -> dict[int, tuple[int, int]]:
    """``pool id → (first, last)`` bar open time (epoch) inside the window, and after ``after``.

    Pools with no such bar are left out.
    Two index probes per pool on ``uq_candle_pool_tf_ts``, not a scan of the bars.
    """
    result: dict[int, tuple[int, int]] = {}
    query = sql.SQL(
        "SELECT extract(epoch FROM (SELECT min(ts) FROM {t} WHERE {w}))::bigint,"
        " extract(epoch FROM (SELECT max(ts) FROM {t} WHERE {w}))::bigint"
    )
    table = sql.Identifier(Candle._meta.db_table)
    with connection.cursor() as cursor:
        for pool_id in pool_ids:
            cursor.execute(query.format(t=table, w=window.where(pool_id, after)))
            first, last = cursor.fetchone()
            if first is not None:
                result[pool_id] = (int(first), int(last))
    return result


def stream_bars(pool_id: int, window: Window, *, after: int | None = None) -> Iterator[Bars]:
    """One pool's bars in time order, in chunks of at most ``CHUNK_ROWS``."""
    query = sql.SQL(
        "COPY (SELECT extract(epoch FROM ts)::bigint, open, high, low, close, volume_usd"
        " FROM {t} WHERE {w} ORDER BY ts) TO STDOUT (FORMAT BINARY)"
    ).format(t=sql.Identifier(Candle._meta.db_table), w=window.where(pool_id, after))
    chunk_bytes = CHUNK_ROWS * _ROW.itemsize
    buffer = bytearray()
    header_done = False
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            buffer += block
            if not header_done and len(buffer) >= 19:
                del buffer[: _header_length(buffer)]
                header_done = True
            if header_done and len(buffer) >= chunk_bytes:
                yield _parse(buffer, CHUNK_ROWS)
                del buffer[:chunk_bytes]
    if not header_done:
        del buffer[: _header_length(buffer)]
    if buffer[-2:] != b"\xff\xff":
        raise ValueError("COPY stream did not end with its trailer")
    rows, rest = divmod(len(buffer) - 2, _ROW.itemsize)
    if rest:
        raise ValueError("COPY stream is not made of whole rows")
    if rows:
        yield _parse(buffer, rows)


def _header_length(buffer: bytes | bytearray) -> int:
    if bytes(buffer[:11]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    return 19 + int.from_bytes(buffer[15:19], "big")


def _parse(buffer: bytearray, rows: int) -> Bars:
    records = np.frombuffer(buffer, dtype=_ROW, count=rows)
    if (records["nfields"] != 6).any() or (records["len_ts"] != 8).any():
        raise ValueError("unexpected row layout in the COPY stream")
    return Bars(
        ts=records["ts"].astype(np.int64),
        **{name: records[name].astype(np.float64) for name in (*PRICE_FIELDS, "volume")},
    )
