"""The CSV and Parquet exports, for users who run their own QLib pipeline or plain pandas.

Both keep the database's float64 values as they are (only the ``.bin`` format is float32) and
hold one row per bar: a quiet interval has no row, so no value is ever filled in or shifted.

* CSV: one file per symbol, ``date,open,high,low,close,volume,factor,vwap,symbol``, dates naive
  UTC in QLib's format for the frequency: what QLib's collectors write and ``dump_bin.py
  dump_all --exclude_fields symbol`` reads.
* Parquet: one file per timeframe with typed columns (``ts`` is a UTC timestamp), written a
  chunk at a time so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .binwriter import field_values
from .calendar import ts_format
from .source import Bars

CSV_COLUMNS = ("date", "open", "high", "low", "close", "volume", "factor", "vwap", "symbol")
PARQUET_FILE = "candles.parquet"


def write_csv(path: Path, name: str, freq: str, chunks: Iterable[Bars]) -> int:
    """One symbol's CSV; returns its row count (no file when there are no bars)."""
    rows = 0
    handle = None
    try:
        for bars in chunks:
            if not len(bars):
                continue
            frame = pd.DataFrame(field_values(bars))
            frame.insert(0, "date", pd.to_datetime(bars.ts, unit="s").strftime(ts_format(freq)))
            frame["symbol"] = name
            if handle is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = path.open("w", newline="")
            frame.to_csv(handle, header=rows == 0, index=False, lineterminator="\n")
            rows += len(bars)
    finally:
        if handle is not None:
            handle.close()
    return rows


class ParquetSink:
    """Appends bars to one Parquet file, a row group per chunk."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.schema = pa.schema(
            [
                ("symbol", pa.string()),
                ("pool_address", pa.string()),
                ("ts", pa.timestamp("s", tz="UTC")),
                *[(name, pa.float64()) for name in ("open", "high", "low", "close", "volume")],
            ]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(path, self.schema)

    def write(self, name: str, address: str, chunks: Iterable[Bars]) -> int:
        pa = self._pa
        rows = 0
        for bars in chunks:
            if not len(bars):
                continue
            count = len(bars)
            columns = [
                pa.array(np.full(count, name, dtype=object), pa.string()),
                pa.array(np.full(count, address, dtype=object), pa.string()),
                pa.array(bars.ts, pa.timestamp("s", tz="UTC")),
                *[pa.array(getattr(bars, f)) for f in ("open", "high", "low", "close", "volume")],
            ]
            self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
            rows += count
        return rows

    def close(self) -> None:
        self._writer.close()
