"""Bars of archived months (marketdata.archive), read from their Parquet files.

Which months are archived is read in the export's snapshot, which source.snapshot takes after
locking the candle table: a month's ArchivedMonth row and the drop of its partition commit in
one transaction, which waits for that lock, so for one export a month is either in PostgreSQL or
in its file. A bar PostgreSQL also holds for an archived month (written late, into the default
partition) is PostgreSQL's, as an upsert would have made it. Files are read per pool and month
with filters on the sorted ``pool_id``, ``timeframe`` and ``ts``, so memory stays flat.
"""

from __future__ import annotations

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

from marketdata import partitions
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


class Archive:
    """The archived months of one window, their files opened once."""

    def __init__(self, window, found: Sequence[Month]):
        self.window = window
        self.months = list(found)
        self._datasets: dict[Path, ds.Dataset] = {}

    def __bool__(self) -> bool:
        return bool(self.months)

    def _dataset(self, path: Path) -> ds.Dataset:
        if path not in self._datasets:
            self._datasets[path] = ds.dataset(path, format="parquet")
        return self._datasets[path]

    def _filter(self, pool_id: int, lo: int, hi: int) -> pc.Expression:
        """Bars of the pool in [lo, hi) (epoch) that the window counts."""
        ts = pc.field("ts")
        expr = (
            (pc.field("pool_id") == pool_id)
            & (pc.field("timeframe") == self.window.timeframe)
            & (ts >= pa.scalar(lo * 1_000_000, pa.timestamp("us", tz="UTC")))
            & (ts < pa.scalar(hi * 1_000_000, pa.timestamp("us", tz="UTC")))
        )
        if not self.window.include_open:
            expr = expr & pc.field("is_final")
        return expr

    def _bounds(self, month: Month, after: int | None, upto: int | None) -> tuple[int, int] | None:
        lo, hi = month.start, month.end
        if self.window.start is not None:
            lo = max(lo, _epoch(self.window.start))
        if self.window.end is not None:
            hi = min(hi, _epoch(self.window.end))
        if after is not None:
            lo = max(lo, after + 1)
        if upto is not None:
            hi = min(hi, upto + 1)
        return (lo, hi) if lo < hi else None

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
        ranges = [(m, b) for m in self.months if (b := self._bounds(m, after, upto))]
        if not ranges:
            return
        hot = _hot_ts(raw, pool_id, self.window, [b for _, b in ranges])
        columns = ["ts", *VALUES] if values else ["ts"]
        for month, (lo, hi) in ranges:
            table = self._dataset(month.path).to_table(
                columns=columns, filter=self._filter(pool_id, lo, hi)
            )
            if not table.num_rows:
                continue
            ts = table.column("ts").cast(pa.int64()).to_numpy() // 1_000_000
            order = np.argsort(ts, kind="stable")
            keep = order[~np.isin(ts[order], hot)] if hot.size else order
            ts = ts[keep]
            cols = [table.column(n).to_numpy()[keep] for n in VALUES] if values else []
            if len(ts):
                yield ts, cols


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
