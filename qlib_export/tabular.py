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

from .binwriter import field_values
from .source import Bars

CSV_COLUMNS = ("date", "open", "high", "low", "close", "volume", "factor", "vwap", "symbol")
PARQUET_FILE = "candles.parquet"


def write_csv(path: Path, name: str, freq: str, chunks: Iterable[Bars]) -> int:
    """One symbol's CSV; returns its row count (no file when there are no bars).

    pyarrow's writer prints each float64 in its shortest form that reads back exactly.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rows = 0
    writer = None
    options = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
    try:
        for bars in chunks:
            if not len(bars):
                continue
            columns = {"date": pa.array(_dates(bars.ts, freq))}
            columns |= {name: pa.array(values) for name, values in field_values(bars).items()}
            # QLib's name, read back by dump_update, so never quoted: symbols.symbol_for keeps
            # it from starting with a character spreadsheets evaluate (geckoproject.csv_cells).
            columns["symbol"] = pa.array(np.full(len(bars), name, dtype=object), pa.string())
            table = pa.table(columns)
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pa_csv.CSVWriter(path, table.schema, write_options=options)
            writer.write_table(table)
            rows += len(bars)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _dates(epochs: np.ndarray, freq: str) -> np.ndarray:
    """Naive UTC in QLib's calendar format for ``freq`` (calendar.ts_format), vectorised."""
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="D" if freq == "day" else "s")
    return text if freq == "day" else np.char.replace(text, "T", " ")


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
