"""What to export, read from PostgreSQL: the selected pools, their spans, and their bars.

Bars are streamed pool by pool, in chunks of at most ``CHUNK_ROWS`` rows (keyset paging on
the candle primary key), so memory stays flat however long a pool's history is. Months
archived to Parquet are read from their files (cold.py) and merged in, in spans, digests and
bars alike, so an export does not change when a month is archived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
from django.db import connection, transaction
from psycopg import pq, sql
from psycopg.adapt import Loader

from marketdata.models import Candle, Network, Pool

from . import cold, pghash

CHUNK_ROWS = 50_000
PREFETCH_CHUNKS = 4


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

    def where(
        self, pool_id: int, after: int | None = None, upto: int | None = None
    ) -> sql.Composed:
        """The WHERE clause for one pool; ``after`` and ``upto`` (epoch) keep (after, upto]."""
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
        if upto is not None:
            parts.append(sql.SQL("ts <= to_timestamp({})").format(sql.Literal(upto)))
        return sql.SQL(" AND ").join(parts)


@contextmanager
def snapshot(pool_ids: Sequence[int] | None = None) -> Iterator[None]:
    """Every read inside sees one snapshot: a REPEATABLE READ, READ ONLY transaction.

    An export reads the spans first and streams the bars later; collection commits in between
    would otherwise put bars outside the calendar made from those spans. Inside a caller's own
    transaction (a test's) the isolation can no longer be set, so that transaction's holds.

    The candle table (and so every partition) is locked ACCESS SHARE before the snapshot is
    taken: archiving a month drops its partition in the transaction that records it as
    archived, so it either committed before this snapshot (the month is read from its file)
    or waits for the export (the month is read from PostgreSQL); never neither. Archived
    months are read once per snapshot, for ``pool_ids`` only when given.
    """
    lock = sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
        sql.Identifier(Candle._meta.db_table)
    )
    global _archives, _archive_pools
    _archives, _archive_pools = {}, pool_ids
    try:
        if connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(lock)
            yield
            return
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute(lock)
            yield
    finally:
        for archive in _archives.values():
            archive.close()
        _archives = _archive_pools = None


_archives: dict[Window, cold.Archive] | None = None
_archive_pools: Sequence[int] | None = None


def _archive(window: Window) -> cold.Archive:
    """The window's archived months, read once per snapshot (and per call outside one)."""
    if _archives is None:
        return cold.Archive(window, cold.months(window))
    if window not in _archives:
        _archives[window] = cold.Archive(window, cold.months(window), _archive_pools)
    return _archives[window]


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
    Two index probes per pool on the candle primary key, not a scan of the bars, and the
    open times of its bars in archived months.
    """
    result: dict[int, tuple[int, int]] = {}
    archive = _archive(window)
    query = sql.SQL(
        "SELECT extract(epoch FROM (SELECT min(ts) FROM {t} WHERE {w}))::bigint,"
        " extract(epoch FROM (SELECT max(ts) FROM {t} WHERE {w}))::bigint"
    )
    table = sql.Identifier(Candle._meta.db_table)
    with connection.cursor() as cursor:
        for pool_id in pool_ids:
            cursor.execute(query.format(t=table, w=window.where(pool_id, after)))
            first, last = cursor.fetchone()
            bounds = [] if first is None else [int(first), int(last)]
            if archive:
                for ts, _ in archive.read(
                    connection.connection, pool_id, after=after, values=False
                ):
                    bounds += [int(ts[0]), int(ts[-1])]
            if bounds:
                result[pool_id] = (min(bounds), max(bounds))
    return result


@dataclass(frozen=True)
class Digest:
    """What a pool's exported bars were: their count and a sum of one hash per bar.

    Each bar's hash covers its open time and its five values, so a bar added, removed or
    revised changes the digest; being a sum, the digest of a history is the digest of its old
    part plus that of its new bars.
    """

    rows: int
    total: int

    def __add__(self, other: Digest) -> Digest:
        return Digest(self.rows + other.rows, self.total + other.total)


def digests(
    pool_ids: Sequence[int],
    window: Window,
    *,
    after: dict[int, int] | None = None,
    upto: dict[int, int] | None = None,
) -> dict[int, Digest]:
    """``pool id → Digest`` of its bars in the window, in ``(after, upto]`` where given.

    One aggregate per pool over the candle primary key: it reads the bars but sends none;
    bars of archived months are hashed here the same way (pghash).
    """
    # hash_record_extended hashes each column with its type's own hash (a float8's bits, with
    # -0.0 taken as 0.0); the one hash partitioning relies on, so it is stable across versions.
    query = sql.SQL(
        "SELECT count(*), coalesce(sum(hash_record_extended("
        "(ts, open, high, low, close, volume_usd), 0)), 0)::text FROM {t} WHERE {w}"
    )
    table = sql.Identifier(Candle._meta.db_table)
    archive = _archive(window)
    result = {}
    with connection.cursor() as cursor:
        for pool_id in pool_ids:
            since, until = (after or {}).get(pool_id), (upto or {}).get(pool_id)
            cursor.execute(query.format(t=table, w=window.where(pool_id, since, until)))
            rows, total = cursor.fetchone()
            digest = Digest(int(rows), int(total))
            if archive:
                for ts, values in archive.read(
                    connection.connection, pool_id, after=since, upto=until
                ):
                    digest += Digest(len(ts), pghash.total(pghash.bar_hashes(ts, values)))
            result[pool_id] = digest
    return result


def stream_pools(
    pool_ids: Sequence[int], window: Window, *, after: dict[int, int] | None = None
) -> Iterator[tuple[int, Iterator[Bars]]]:
    """``(pool id, its chunks)`` for each pool in order; consume each pool's chunks in turn.

    A reader thread runs ahead by at most ``PREFETCH_CHUNKS`` chunks, so the database works on
    the next pool while the caller writes files for this one, and memory stays bounded. It
    uses this thread's connection (psycopg serialises its use), so it sees the same transaction.
    """
    connection.ensure_connection()
    raw = connection.connection
    archive = _archive(window)
    items: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for pool_id in pool_ids:
                since = after.get(pool_id) if after else None
                for bars in _pool_bars(raw, archive, pool_id, window, since):
                    if not put((pool_id, bars)):
                        return
                if not put((pool_id, None)):
                    return
        except Exception as exc:  # noqa: BLE001 — handed to the caller, raised there
            put(exc)

    def chunks(pool_id: int) -> Iterator[Bars]:
        while True:
            item = items.get()
            if isinstance(item, Exception):
                raise item
            if item[0] != pool_id:
                raise RuntimeError(f"reader is at pool {item[0]}, caller at {pool_id}")
            if item[1] is None:
                return
            yield item[1]

    reader = threading.Thread(target=read, name="qlib-export-reader", daemon=True)
    reader.start()
    try:
        for pool_id in pool_ids:
            yield pool_id, chunks(pool_id)
    finally:
        stop.set()
        reader.join()


def stream_bars(pool_id: int, window: Window, *, after: int | None = None) -> Iterator[Bars]:
    """One pool's bars in time order, in chunks of at most ``CHUNK_ROWS`` (no thread)."""
    connection.ensure_connection()
    archive = _archive(window)
    yield from _pool_bars(connection.connection, archive, pool_id, window, after)


def _pool_bars(
    raw: psycopg.Connection, archive: cold.Archive, pool_id: int, window: Window, after: int | None
) -> Iterator[Bars]:
    """The pool's bars from PostgreSQL, merged in time order with its archived ones."""
    hot = _read_pool(raw, pool_id, window, after)
    if not archive:
        yield from hot
        return
    archived = (Bars(ts, *values) for ts, values in archive.read(raw, pool_id, after=after))
    yield from rechunk(merge(archived, hot))


def rechunk(chunks: Iterator[Bars]) -> Iterator[Bars]:
    """The same bars in chunks of ``CHUNK_ROWS`` (the last one shorter), as PostgreSQL alone
    gives them: a Parquet export's row groups follow the chunks, so its bytes do not change."""
    size = CHUNK_ROWS
    held: list[Bars] = []
    count = 0
    for bars in chunks:
        held.append(bars)
        count += len(bars)
        while count >= size:
            whole = _concat(held)
            yield _slice(whole, 0, size)
            rest = _slice(whole, size, len(whole))
            held, count = [rest], len(rest)
    if count:
        yield _concat(held)


def _concat(chunks: list[Bars]) -> Bars:
    if len(chunks) == 1:
        return chunks[0]
    return Bars(*(np.concatenate([getattr(c, n) for c in chunks]) for n in _FIELDS))


def _slice(bars: Bars, start: int, stop: int) -> Bars:
    return Bars(*(getattr(bars, n)[start:stop] for n in _FIELDS))


def merge(one: Iterator[Bars], other: Iterator[Bars]) -> Iterator[Bars]:
    """Two time-ordered chunk streams with no open time in common, as one."""
    a, b = next(one, None), next(other, None)
    while a is not None and b is not None:
        cut = min(a.ts[-1], b.ts[-1])
        i, j = np.searchsorted(a.ts, cut, "right"), np.searchsorted(b.ts, cut, "right")
        ts = np.concatenate([a.ts[:i], b.ts[:j]])
        order = np.argsort(ts, kind="stable")
        yield Bars(ts[order], *(np.concatenate([x[:i], y[:j]])[order] for x, y in _pairs(a, b)))
        a = _rest(a, i) or next(one, None)
        b = _rest(b, j) or next(other, None)
    for bars, rest in ((a, one), (b, other)):
        if bars is not None:
            yield bars
            yield from rest


def _pairs(a: Bars, b: Bars) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(getattr(a, n), getattr(b, n)) for n in _FIELDS[1:]]


def _rest(bars: Bars, i: int) -> Bars | None:
    return _slice(bars, i, len(bars)) if i < len(bars) else None


_FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _read_pool(
    raw: psycopg.Connection, pool_id: int, window: Window, after: int | None
) -> Iterator[Bars]:
    """One pool's bars in time order, in chunks of at most ``CHUNK_ROWS``.

    Each chunk is one query returning six arrays in PostgreSQL's binary array format, which
    numpy reads in place: no Python object per value, and one round trip per chunk rather than
    one per row (psycopg hands a COPY stream over a row at a time).
    """
    # The arrays follow the sorted subquery; the order is checked below, not assumed.
    query = sql.SQL(
        "SELECT array_agg(ts), array_agg(open), array_agg(high), array_agg(low),"
        " array_agg(close), array_agg(volume_usd)"
        " FROM (SELECT ts, open, high, low, close, volume_usd FROM {t} WHERE {w}"
        " ORDER BY ts LIMIT {n}) AS chunk"
    )
    table = sql.Identifier(Candle._meta.db_table)
    # A plain psycopg cursor: Django's connections make client-side cursors, which bind text only.
    with psycopg.Cursor(raw) as cursor:
        for oid in (_TIMESTAMPTZ_ARRAY_OID, _FLOAT8_ARRAY_OID):
            cursor.adapters.register_loader(oid, _RawLoader)
        while True:
            where = window.where(pool_id, after)
            cursor.execute(query.format(t=table, w=where, n=sql.Literal(CHUNK_ROWS)), binary=True)
            arrays = cursor.fetchone()
            if arrays[0] is None:
                return
            # Binary timestamptz: microseconds since 2000-01-01 UTC.
            micros = _array(arrays[0], ">i8").astype(np.int64)
            if micros.size and (micros % 1_000_000).any():
                raise ValueError(f"pool {pool_id}: a bar opens at a fraction of a second")
            ts = micros // 1_000_000 + _PG_EPOCH
            values = [_array(raw, ">f8").astype(np.float64) for raw in arrays[1:]]
            if (np.diff(ts) <= 0).any():
                order = np.argsort(ts, kind="stable")
                ts, values = ts[order], [v[order] for v in values]
            yield Bars(ts, *values)
            if len(ts) < CHUNK_ROWS:
                return
            after = int(ts[-1])


_TIMESTAMPTZ_ARRAY_OID = 1185
_FLOAT8_ARRAY_OID = 1022
_PG_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds


class _RawLoader(Loader):
    format = pq.Format.BINARY

    def load(self, data) -> bytes:
        return bytes(data)


def _array(raw: bytes, element: str) -> np.ndarray:
    """A one-dimensional, NULL-free array of 8-byte values in PostgreSQL's binary format."""
    ndim, has_nulls = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
    if ndim != 1 or has_nulls:
        raise ValueError("expected a one-dimensional array without NULLs")
    count = int.from_bytes(raw[12:16], "big")
    records = np.frombuffer(raw, np.dtype([("size", ">i4"), ("value", element)]), count, 20)
    if (records["size"] != 8).any():
        raise ValueError("unexpected element size in a binary array")
    return records["value"]
