"""A month of candles to Parquet and back a column at a time (marketdata.archive's candle half).

A month of 1,000 pools is ~58M bars: row by row (a dict each, a checksum of its ``repr``) that
took over an hour here, at ~13,500 rows a second. Here PostgreSQL sends the month in key order
as binary COPY, whose rows are all one width (every column is fixed-size and NOT NULL; the
timeframe travels as its number in Timeframe), so numpy reads a batch of them in one go; the
``open`` elision, its filling back and the checksum then work on whole columns, each batch
carrying its last row to the next.

The checksum (archive_digest.BatchDigest) is of the rows as read, opens filled back, so the one
taken while writing and the one of the file read back agree only if every value came back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import connection
from psycopg import sql

from . import partitions
from .archive_digest import BatchDigest
from .models import Pool
from .timeframes import Timeframe

DOUBLES = ("open", "high", "low", "close", "volume_usd")
TIMEFRAMES = pa.array(Timeframe.values, pa.string())
SINCE_2000_US = 946_684_800_000_000  # PostgreSQL's binary timestamps count from 2000-01-01
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, no flags, no header extension
TRAILER = b"\xff\xff"
# One binary COPY row: the field count, then each field's length and value (big-endian).
FIELDS = [("pool_id", ">i4"), ("timeframe", ">i2"), ("ts", ">i8")]
FIELDS += [(name, ">f8") for name in DOUBLES] + [("is_final", "u1")]
ROW = np.dtype(
    [("fields", ">i2")]
    + [p for name, kind in FIELDS for p in ((f"{name}_len", ">i4"), (name, kind))]
)
COPY = (
    "COPY (SELECT pool_id, (array_position({timeframes}, timeframe::text) - 1)::int2, ts,"
    " open, high, low, close, volume_usd, is_final FROM marketdata_candle"
    " WHERE ts >= {start} AND ts < {end} ORDER BY pool_id, timeframe, ts) TO STDOUT (FORMAT BINARY)"
)


class CandleFileError(ValueError):
    """The rows or the file are not what this module writes."""


class Series:
    """The last row a batch ended on (its pool, timeframe and close), for the next batch."""

    def __init__(self):
        self.pool, self.timeframe, self.close = None, None, None

    def before(self, pools: np.ndarray, timeframes: np.ndarray | None, closes: np.ndarray):
        """Each row's row before: (of the same series as it, its close). ``timeframes`` None:
        the rows are all of one timeframe."""
        if timeframes is None:
            timeframes = np.zeros(len(pools), np.int8)
        same = np.empty(len(pools), bool)
        same[1:] = (pools[1:] == pools[:-1]) & (timeframes[1:] == timeframes[:-1])
        same[0] = self.pool == pools[0] and self.timeframe == timeframes[0]
        close = np.empty(len(closes))
        close[1:] = closes[:-1]
        close[0] = np.nan if self.close is None else self.close
        self.pool, self.timeframe, self.close = pools[-1], timeframes[-1], closes[-1]
        return same, close


def elided_opens(opens: np.ndarray, same: np.ndarray, close_before: np.ndarray) -> pa.Array:
    """``opens`` with null where it is the close before (same series), bit for bit."""
    bitwise = opens.view(np.int64) == close_before.view(np.int64)
    return pa.array(opens, mask=same & bitwise)


def filled_opens(opens: pa.Array, same: np.ndarray, close_before: np.ndarray) -> np.ndarray:
    """The opens :func:`elided_opens` was given."""
    missing = opens.is_null().to_numpy(zero_copy_only=False)
    values = opens.fill_null(0.0).to_numpy().copy()
    if (missing & ~same).any():
        raise CandleFileError("a bar's open is missing and no bar precedes it")
    values[missing] = close_before[missing]
    return values


def _parsed(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Native columns of binary COPY rows, every field checked to be there and of its size."""
    sizes = {"fields": len(FIELDS), **{f"{n}_len": np.dtype(k).itemsize for n, k in FIELDS}}
    for name, size in sizes.items():
        if (raw[name] != size).any():
            raise CandleFileError(
                f"a candle row's {name.removesuffix('_len')} is not {size} bytes (a null, or a"
                f" timeframe not one of {', '.join(Timeframe.values)})"
            )
    out = {name: raw[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in FIELDS}
    out["pool_id"] = out["pool_id"].astype(np.int64)
    out["ts"] = out["ts"] + SINCE_2000_US
    out["is_final"] = out["is_final"].astype(bool)
    return out


def _copied(month: datetime, size: int) -> Iterator[dict[str, np.ndarray]]:
    """The month's rows in key order, ``size`` at a time, as native columns."""
    query = sql.SQL(COPY).format(
        timeframes=sql.Literal(Timeframe.values),
        start=sql.Literal(month),
        end=sql.Literal(partitions.next_month(month)),
    )
    pending, started = bytearray(), False
    with connection.cursor() as cursor, cursor.copy(query) as copy:
        for data in copy:
            pending += data
            if not started and len(pending) >= len(HEADER):
                _strip_header(pending)
                started = True
            if started and len(pending) >= size * ROW.itemsize:
                yield from _drain(pending, size)
    if not started:
        _strip_header(pending)
    if pending[-len(TRAILER) :] != TRAILER or (len(pending) - 2) % ROW.itemsize:
        raise CandleFileError("the candles' binary COPY did not end as it should")
    del pending[-len(TRAILER) :]
    yield from _drain(pending, size)


def _strip_header(pending: bytearray) -> None:
    if pending[: len(HEADER)] != HEADER:
        raise CandleFileError("the candles' binary COPY did not start as it should")
    del pending[: len(HEADER)]


def _drain(pending: bytearray, size: int) -> Iterator[dict[str, np.ndarray]]:
    """Whole rows off the front of ``pending``, ``size`` at a time."""
    rows = len(pending) // ROW.itemsize
    for start in range(0, rows, size):
        count = min(size, rows - start)
        yield _parsed(np.frombuffer(pending, ROW, count, start * ROW.itemsize))
    del pending[: rows * ROW.itemsize]


def _addresses() -> tuple[np.ndarray, pa.Array]:
    """Every pool's id (sorted) and address, to name a candle's pool."""
    pools = list(Pool.objects.order_by("id").values_list("id", "address"))
    return np.array([p[0] for p in pools], np.int64), pa.array([p[1] for p in pools], pa.string())


def _record_batch(columns: dict, opens: pa.Array, schema: pa.Schema) -> pa.RecordBatch:
    arrays = {name: pa.array(columns[name]) for name in ("pool_id", "high", "low", "close")}
    arrays |= {
        "pool_address": columns["pool_address"],
        "timeframe": columns["timeframe"],
        "ts": pa.array(columns["ts"]).cast(schema.field("ts").type),
        "open": opens,
        "volume_usd": pa.array(columns["volume_usd"]),
        "is_final": pa.array(columns["is_final"]),
    }
    return pa.RecordBatch.from_arrays([arrays[n] for n in schema.names], schema=schema)


def with_opens(batch: pa.RecordBatch, series: Series) -> pa.RecordBatch:
    """``batch`` (the next of a file's, ``series`` the row before it) with its opens filled."""
    codes = pc.index_in(batch.column("timeframe"), TIMEFRAMES).fill_null(-1).to_numpy()
    closes = batch.column("close").to_numpy()
    same, close_before = series.before(batch.column("pool_id").to_numpy(), codes, closes)
    opens = filled_opens(batch.column("open"), same, close_before)
    at = batch.schema.get_field_index("open")
    return batch.set_column(at, batch.schema.field(at), pa.array(opens))


def write(month: datetime, writer: pq.ParquetWriter, size: int) -> tuple[int, str]:
    """Write the month's candles through ``writer``; (rows, checksum of the rows as read)."""
    digest, series = BatchDigest(writer.schema), Series()
    ids, addresses = _addresses()
    at_open = writer.schema.get_field_index("open")
    for columns in _copied(month, size):
        at = np.searchsorted(ids, columns["pool_id"]).clip(0, max(len(ids) - 1, 0))
        if len(ids) == 0 or (ids[at] != columns["pool_id"]).any():
            raise CandleFileError("a candle's pool is not in marketdata_pool")
        codes = columns.pop("timeframe")
        columns["pool_address"] = addresses.take(at)
        columns["timeframe"] = TIMEFRAMES.take(codes)
        same, close_before = series.before(columns["pool_id"], codes, columns["close"])
        whole = _record_batch(columns, pa.array(columns["open"]), writer.schema)
        digest.update(whole)
        opens = elided_opens(columns["open"], same, close_before)
        writer.write_batch(whole.set_column(at_open, writer.schema.field(at_open), opens))
    return digest.rows, digest.hexdigest()


def read_back(path: Path, size: int) -> tuple[int, str]:
    """(rows, checksum) of the file :func:`write` wrote, its opens filled back."""
    file = pq.ParquetFile(path)
    digest, series = BatchDigest(file.schema_arrow), Series()
    for batch in file.iter_batches(batch_size=size):
        try:
            digest.update(with_opens(batch, series))
        except CandleFileError as error:
            raise CandleFileError(f"{path}: {error}") from None
    return digest.rows, digest.hexdigest()
