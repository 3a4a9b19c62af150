"""Which bars are exported: --pools, --start/--end (half-open), final or open candles."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.marketdata import factories

from .conftest import add_candles, bar

pytestmark = pytest.mark.django_db

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
B = "HcjZvfeSNJbNkfLD4eEcRBr96AD3w1GpmMppaeRZf7ur"


def exported(tmp_path) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "60min" / "candles.parquet")


def export_1h(export, out, pool: str, *more: str) -> None:
    """Export ``pool``'s 1h candles as parquet into ``out``, with ``more`` arguments."""
    export("--out", str(out), "--pools", pool, "--timeframe", "1h", "--format", "parquet", *more)


@pytest.fixture
def pools():
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "1h", {i: bar(float(i)) for i in range(10)})
    add_candles(a, "1h", {10: bar(10.0)}, final=False)
    add_candles(b, "1h", {i: bar(float(i)) for i in range(5)})
    return a, b


def test_start_is_inclusive_and_end_exclusive(pools, export, tmp_path):
    export_1h(
        export, tmp_path, A, "--start", "2025-08-20T02:00", "--end", "2025-08-20T05:00:00+00:00"
    )

    hours = list(exported(tmp_path)["ts"].dt.hour)
    assert hours == [2, 3, 4]


def test_an_offset_in_start_is_converted_to_utc(pools, export, tmp_path):
    export_1h(export, tmp_path, A, "--start", "2025-08-20T10:00+02:00")

    assert exported(tmp_path)["ts"].dt.hour.min() == 8


def test_only_the_named_pools_are_exported(pools, export, tmp_path):
    export_1h(export, tmp_path, B)

    assert set(exported(tmp_path)["pool_address"]) == {B}


def test_the_open_candle_comes_only_when_asked_for(pools, export, tmp_path):
    export_1h(export, tmp_path / "final", A)
    export_1h(export, tmp_path / "open", A, "--include-open-candle")

    assert len(exported(tmp_path / "final")) == 10
    assert exported(tmp_path / "open")["ts"].dt.hour.max() == 10
