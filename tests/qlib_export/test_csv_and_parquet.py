"""The CSV and Parquet formats hold the database's rows, float64 and all."""

from __future__ import annotations

import pandas as pd
import pytest

from marketdata.models import Candle
from qlib_export import source
from qlib_export.symbols import qlib_name, symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar

pytestmark = pytest.mark.django_db

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
B = "7bqjg2zdmkbekgsmfuqnvbvqevwavgl8ueo33zqdl3np"


def database_rows(timeframe: str) -> pd.DataFrame:
    rows = [
        {
            "symbol": qlib_name(symbol_for(c.pool.address)),
            "pool_address": c.pool.address,
            "ts": c.ts,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume_usd,
        }
        for c in Candle.objects.filter(timeframe=timeframe, is_final=True).select_related("pool")
    ]
    return pd.DataFrame(rows).sort_values(["symbol", "ts"], ignore_index=True)


def make_candles():
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "15m", {i: bar(0.001 * i + 1e-9) for i in range(40) if i % 7})
    add_candles(b, "15m", {i: bar(1e7 + i) for i in range(10, 30)})
    add_candles(b, "15m", {30: bar(5.0)}, final=False)


def test_the_parquet_file_reads_back_with_pandas_to_the_same_rows(export, tmp_path):
    make_candles()

    export("--out", str(tmp_path), "--all", "--timeframe", "15m", "--format", "parquet")

    frame = pd.read_parquet(tmp_path / "15min" / "candles.parquet")
    assert list(frame.columns) == [
        "symbol",
        "pool_address",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert str(frame["ts"].dtype).startswith("datetime64") and str(frame["ts"].dt.tz) == "UTC"
    expected = database_rows("15m")
    frame = frame.sort_values(["symbol", "ts"], ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False, check_exact=True)
    assert frame["ts"].dt.tz is not None


def test_the_parquet_file_is_the_same_when_pools_are_read_in_many_chunks(
    export, tmp_path, monkeypatch
):
    make_candles()
    export("--out", str(tmp_path / "one"), "--all", "--timeframe", "15m", "--format", "parquet")
    monkeypatch.setattr(source, "CHUNK_ROWS", 3)
    export("--out", str(tmp_path / "many"), "--all", "--timeframe", "15m", "--format", "parquet")

    one = pd.read_parquet(tmp_path / "one" / "15min" / "candles.parquet")
    many = pd.read_parquet(tmp_path / "many" / "15min" / "candles.parquet")
    pd.testing.assert_frame_equal(one, many)


def test_the_csv_files_have_qlibs_column_layout_and_every_digit(export, tmp_path):
    make_candles()

    export("--out", str(tmp_path), "--all", "--timeframe", "15m", "--format", "csv")

    files = sorted((tmp_path / "15min" / "csv").iterdir())
    assert [f.stem for f in files] == sorted([symbol_for(A), symbol_for(B)])
    expected = database_rows("15m")
    for path in files:
        frame = pd.read_csv(path)
        assert list(frame.columns) == [
            "date",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "factor",
            "vwap",
            "symbol",
        ]
        name = qlib_name(path.stem)
        want = expected[expected["symbol"] == name]
        assert list(frame["date"]) == [t.strftime("%Y-%m-%d %H:%M:%S") for t in want["ts"]]
        for field in ("open", "high", "low", "close", "volume"):
            assert list(frame[field]) == list(want[field])  # exact: no float32, no rounding
        assert set(frame["factor"]) == {1.0} and set(frame["symbol"]) == {name}
