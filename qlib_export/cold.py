"""Bars of archived months (marketdata.archive), read from their Parquet files.

Which months are archived is read in the export's snapshot, which source.snapshot takes after
locking the candle table: a month's ArchivedMonth row and the drop of its partition commit in
one transaction, which waits for that lock, so for one export a month is either in PostgreSQL or
in its file. A bar PostgreSQL also holds for an archived month (written late, into the default
partition) is PostgreSQL's, as an upsert would have made it. Files are read a batch at a time
(filters on ``timeframe``, ``ts`` and ``is_final``), so memory stays flat.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from psycopg import sql

from marketdata import archive_candles, partitions
from marketdata.models import ArchivedMonth, Candle

from .request import ExportError

TABLE = "marketdata_candle"
VALUES = ("open", "high", "low", "close", "volume_usd")


@dataclass(frozen=True)
class Month:
    start: int  # epoch seconds, inclusive
    end: int  # exclusive
    path: Path


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def months(window, *, check: bool = True) -> list[Month]:
    """The archived candle months meeting the window, oldest first; each file must be there."""
    found = []
    for month, path in (
        ArchivedMonth.objects.filter(table=TABLE).order_by("month").values_list("month", "path")
    ):
        first = datetime(month.year, month.month, 1, tzinfo=UTC)
        after = partitions.next_month(first)
        if window.end is not None and first >= window.end:
            continue
        if window.start is not None and after <= window.start:
            continue
        if check and not Path(path).is_file():
            raise ExportError(
                f"archived candles of {month:%Y-%m} are missing: {path} does not exist"
                " (restore the archive directory, see marketdata.archive)"
            )
        found.append(Month(_epoch(first), _epoch(after), Path(path)))
    return found


RECORD = np.dtype([("ts", "<i8"), *[(name, "<f8") for name in VALUES]])


class Archive:
    """The archived months of one window (of ``pool_ids``, or all), laid out again by pool on
    first use.

    A month's file is sorted by pool, but a pool's bars sit in a row group of 100,000 rows
    that would be decoded again for every pool. So each month is decoded once, a batch at a
    time, into a local file of fixed-size records (same order) and an index pool → (offset,
    count); a pool's bars are then one read of that file. Local disk: 48 bytes a bar.
    """

    def __init__(self, window, found: Sequence[Month], pool_ids: Sequence[int] | None = None):
        self.window = window
        self.months = list(found)
        self.pool_ids = None if pool_ids is None else sorted(set(pool_ids))
        self._spooled: list[tuple[Month, Path, dict[int, tuple[int, int]]]] | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    def __bool__(self) -> bool:
        return bool(self.months)

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir, self._spooled = None, None

    def _filter(self) -> pc.Expression:
        """Whole series of the timeframe (and pools): a bar's open may be the close of the
        bar before it (marketdata.archive), so the window is cut after the opens are back."""
        expr = pc.field("timeframe") == self.window.timeframe
        if self.pool_ids is not None:
            expr = expr & pc.field("pool_id").isin(self.pool_ids)
        return expr

    def _kept(self, month: Month, ts: np.ndarray, final: np.ndarray) -> np.ndarray:
        lo, hi = month.start, month.end
        if self.window.start is not None:
            lo = max(lo, _epoch(self.window.start))
        if self.window.end is not None:
            hi = min(hi, _epoch(self.window.end))
        kept = (ts >= lo) & (ts < hi)
        return kept if self.window.include_open else kept & final

    def _spool(self) -> list:
        if self._spooled is not None:
            return self._spooled
        self._dir = tempfile.TemporaryDirectory(prefix="qlib-export-archived-")
        self._spooled = []
        for n, month in enumerate(self.months):
            path = Path(self._dir.name) / f"{n}.bin"
            index: dict[int, tuple[int, int]] = {}
            offset = 0
            dataset = ds.dataset(month.path, format="parquet")
            series = archive_candles.Series()  # the row before each batch
            with open(path, "wb") as out:
                for batch in dataset.to_batches(
                    columns=["pool_id", "ts", "is_final", *VALUES], filter=self._filter()
                ):
                    if not batch.num_rows:
                        continue
                    pools = batch.column("pool_id").to_numpy()
                    records = np.empty(len(pools), RECORD)
                    records["ts"] = batch.column("ts").cast(pa.int64()).to_numpy() // 1_000_000
                    for name in VALUES:
                        records[name] = batch.column(name).fill_null(np.nan).to_numpy()
                    same, close_before = series.before(pools, None, records["close"])
                    try:
                        records["open"] = archive_candles.filled_opens(
                            batch.column("open"), same, close_before
                        )
                    except archive_candles.CandleFileError as error:
                        raise ExportError(f"{month.path}: {error}") from None
                    kept = self._kept(
                        month,
                        records["ts"],
                        batch.column("is_final").to_numpy(zero_copy_only=False),
                    )
                    pools, records = pools[kept], records[kept]
                    if not len(pools):
                        continue
                    out.write(records.tobytes())
                    starts = np.flatnonzero(np.diff(pools, prepend=pools[0] - 1))
                    counts = np.diff(np.append(starts, len(pools)))
                    for pool_id, at, count in zip(pools[starts], starts, counts, strict=True):
                        first, held = index.get(int(pool_id), (offset + int(at), 0))
                        index[int(pool_id)] = (first, held + int(count))
                    offset += len(pools)
            self._spooled.append((month, path, index))
        return self._spooled

    def read(
        self,
        raw: psycopg.Connection,
        pool_id: int,
        *,
        after: int | None = None,
        upto: int | None = None,
        values: bool = True,
    ) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """``(ts, [open, high, low, close, volume])`` per archived month, in time order, for
        bars in ``(after, upto]``; without ``values``, the ts only (and an empty list)."""
        slices = []
        for month, path, index in self._spool():
            if pool_id not in index:
                continue
            first, count = index[pool_id]
            records = np.fromfile(path, RECORD, count=count, offset=first * RECORD.itemsize)
            ts = records["ts"]
            if (np.diff(ts) <= 0).any():
                records = records[np.argsort(ts, kind="stable")]
                ts = records["ts"]
            lo = 0 if after is None else np.searchsorted(ts, after, "right")
            hi = len(ts) if upto is None else np.searchsorted(ts, upto, "right")
            if lo < hi:
                slices.append((month, records[lo:hi]))
        if not slices:
            return
        ranges = [(int(r["ts"][0]), int(r["ts"][-1]) + 1) for _, r in slices]
        hot = _hot_ts(raw, pool_id, self.window, ranges)
        for _, records in slices:
            if hot.size:
                records = records[~np.isin(records["ts"], hot)]
            if len(records):
                ts = np.ascontiguousarray(records["ts"])
                yield ts, [np.ascontiguousarray(records[n]) for n in VALUES] if values else []


def _hot_ts(
    raw: psycopg.Connection, pool_id: int, window, ranges: list[tuple[int, int]]
) -> np.ndarray:
    """Open times (epoch) PostgreSQL holds, in the window, inside the archived ranges."""
    within = sql.SQL(" OR ").join(
        sql.SQL("(ts >= to_timestamp({}) AND ts < to_timestamp({}))").format(
            sql.Literal(lo), sql.Literal(hi)
        )
        for lo, hi in ranges
    )
    query = sql.SQL("SELECT extract(epoch FROM ts)::bigint FROM {t} WHERE {w} AND ({r})").format(
        t=sql.Identifier(Candle._meta.db_table), w=window.where(pool_id), r=within
    )
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(query)
        return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
