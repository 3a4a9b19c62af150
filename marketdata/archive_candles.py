"""A month of candles to Parquet and back a column at a time (marketdata.archive's candle half).

A month of 1,000 pools is ~58M bars: row by row (a dict each, a checksum of its ``repr``) that
took over an hour here, at ~13,500 rows a second. Here PostgreSQL sends the month in key order
as binary COPY, whose rows are all one width (every column is fixed-size and NOT NULL; the
timeframe travels as its number in Timeframe), so numpy reads a batch of them in one go; the
``open`` elision, its filling back and the checksum then work on whole columns, each batch
carrying its last row to the next.

The checksum is one blake2b over per-column blake2b digests, each fed its column in file order,
so it does not depend on where a batch ends: numbers as their bytes (a double's sign and NaN
payload included), texts as their UTF-8 bytes and, apart, their lengths.
"""

from __future__ import annotations

import hashlib
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
from .models import Pool
from .timeframes import Timeframe

DOUBLES = ("open", "high", "low", "close", "volume_usd")
TEXTS = ("pool_address", "timeframe")
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


class Digest:
    """The month's checksum: digests per column, fed batch after batch."""

    def __init__(self, names: list[str]):
        self.parts = {name: hashlib.blake2b(digest_size=32) for name in names}
        self.parts |= {f"{name} lengths": hashlib.blake2b(digest_size=32) for name in TEXTS}
        self.rows = 0

    def update(self, columns: dict[str, np.ndarray | pa.Array]) -> None:
        for name, values in columns.items():
            if name in TEXTS:
                self._text(name, values)
            else:
                self.parts[name].update(np.ascontiguousarray(values).tobytes())
        self.rows += len(columns["pool_id"])

    def _text(self, name: str, values: pa.Array) -> None:
        values = values.cast(pa.string())
        lengths = pc.binary_length(values).fill_null(-1).to_numpy().astype(np.int32)
        self.parts[f"{name} lengths"].update(lengths.tobytes())
        offsets = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1, values.offset * 4)
        data = values.buffers()[2]
        if data is not None:
            self.parts[name].update(memoryview(data)[offsets[0] : offsets[-1]])

    def hexdigest(self) -> str:
        whole = hashlib.blake2b(str(self.rows).encode(), digest_size=32)
        for digest in self.parts.values():
            whole.update(digest.digest())
        return whole.hexdigest()


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
    pending = bytearray()
    with connection.cursor() as cursor, cursor.copy(query) as copy:
        for data in copy:
            pending += data
            if len(pending) >= len(HEADER) + size * ROW.itemsize:
                yield from _drain(pending, size)
    if pending[: len(HEADER)] == HEADER:
        del pending[: len(HEADER)]
    if pending[-len(TRAILER) :] != TRAILER or (len(pending) - 2) % ROW.itemsize:
        raise CandleFileError("the candles' binary COPY did not end as it should")
    del pending[-len(TRAILER) :]
    yield from _drain(pending, size)


def _drain(pending: bytearray, size: int) -> Iterator[dict[str, np.ndarray]]:
    """Whole rows off the front of ``pending``, ``size`` at a time (the header first)."""
    if pending[: len(HEADER)] == HEADER:
        del pending[: len(HEADER)]
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


def write(month: datetime, writer: pq.ParquetWriter, size: int) -> tuple[int, str]:
    """Write the month's candles through ``writer``; (rows, checksum)."""
    digest, series = Digest(writer.schema.names), Series()
    ids, addresses = _addresses()
    for columns in _copied(month, size):
        at = np.searchsorted(ids, columns["pool_id"]).clip(0, max(len(ids) - 1, 0))
        if len(ids) == 0 or (ids[at] != columns["pool_id"]).any():
            raise CandleFileError("a candle's pool is not in marketdata_pool")
        codes = columns.pop("timeframe")
        columns["pool_address"] = addresses.take(at)
        columns["timeframe"] = TIMEFRAMES.take(codes)
        same, close_before = series.before(columns["pool_id"], codes, columns["close"])
        opens = elided_opens(columns["open"], same, close_before)
        digest.update(columns)
        writer.write_batch(_record_batch(columns, opens, writer.schema))
    return digest.rows, digest.hexdigest()


def read_back(path: Path, size: int) -> tuple[int, str]:
    """(rows, checksum) of the file :func:`write` wrote, its opens filled back."""
    file = pq.ParquetFile(path)
    digest, series = Digest(file.schema_arrow.names), Series()
    for batch in file.iter_batches(batch_size=size):
        columns = {name: batch.column(name) for name in TEXTS}
        columns |= {n: batch.column(n).to_numpy() for n in ("pool_id", *DOUBLES) if n != "open"}
        columns["ts"] = batch.column("ts").cast(pa.int64()).to_numpy()
        columns["is_final"] = batch.column("is_final").to_numpy(zero_copy_only=False)
        codes = pc.index_in(columns["timeframe"], TIMEFRAMES).fill_null(-1).to_numpy()
        same, close_before = series.before(columns["pool_id"], codes, columns["close"])
        try:
            columns["open"] = filled_opens(batch.column("open"), same, close_before)
        except CandleFileError as error:
            raise CandleFileError(f"{path}: {error}") from None
        digest.update({n: columns[n] for n in file.schema_arrow.names})
    return digest.rows, digest.hexdigest()
