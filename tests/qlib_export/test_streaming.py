"""Pools are read in bounded chunks; the chunk size never changes what is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qlib_export import source
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
