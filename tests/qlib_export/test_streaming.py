"""Pools are read in bounded chunks; the chunk size never changes what is written."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management.base import CommandError

from marketdata.models import Candle
from qlib_export import binwriter, source
from qlib_export.source import Window
from tests.marketdata import factories

from .conftest import add_candles, bar

pytestmark = pytest.mark.django_db


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "export.json"
    }


def test_a_pool_comes_in_chunks_of_at_most_chunk_rows_in_time_order(monkeypatch):
    pool = factories.pool()
    add_candles(pool, "5m", {i: bar(float(i)) for i in range(0, 50, 3)})  # 17 bars
    monkeypatch.setattr(source, "CHUNK_ROWS", 5)

    chunks = list(source.stream_bars(pool.id, Window("5m")))

    assert [len(c) for c in chunks] == [5, 5, 5, 2]
    ts = np.concatenate([c.ts for c in chunks])
    assert list(ts - ts[0]) == [300 * i for i in range(0, 50, 3)]
    assert list(np.concatenate([c.close for c in chunks])) == [
        bar(float(i))[3] for i in range(0, 50, 3)
    ]


def test_the_bin_export_is_the_same_whatever_the_chunk_size(export, tmp_path, monkeypatch):
    pool = factories.pool()
    add_candles(pool, "5m", {i: bar(float(i)) for i in range(0, 50) if i % 4})
    export("--out", str(tmp_path / "one"), "--all", "--timeframe", "5m")
    monkeypatch.setattr(source, "CHUNK_ROWS", 4)
    export("--out", str(tmp_path / "many"), "--all", "--timeframe", "5m")

    assert files_of(tmp_path / "one" / "5min") == files_of(tmp_path / "many" / "5min")


def test_a_bar_off_the_timeframes_grid_is_an_error_naming_it(export, tmp_path):
    pool = factories.pool()
    add_candles(pool, "1h", {i: bar(float(i)) for i in range(4)})
    Candle.objects.filter(pool=pool, ts=factories.T0 + timedelta(hours=2)).update(
        ts=factories.T0 + timedelta(hours=2, minutes=30)
    )

    with pytest.raises(CommandError, match="2025-08-20 02:30:00 UTC is not on the 3600 s grid"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    assert list(tmp_path.iterdir()) == []


def test_a_writer_failing_mid_export_stops_the_reader_and_keeps_the_error(
    export, tmp_path, monkeypatch
):
    for n in range(6):
        add_candles(factories.pool(f"Pool{n}" + "x" * 38), "1h", {i: bar(1.0) for i in range(3)})
    calls = []
    real = binwriter.field_values

    def failing(bars):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("No space left on device")
        return real(bars)

    monkeypatch.setattr(binwriter, "field_values", failing)
    monkeypatch.setattr(source, "PREFETCH_CHUNKS", 1)

    with pytest.raises(Exception, match="No space left on device"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    assert [p.name for p in tmp_path.iterdir()] == []
    assert not [t for t in threading.enumerate() if t.name == "qlib-export-reader"]
