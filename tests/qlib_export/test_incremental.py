"""--incremental leaves exactly what a full export would, and appends without rewriting history.

New bars are appended, NaN-padded on the calendar. A symbol whose exported history changed (a
backfilled range, a revised bar) is rewritten whole, and bars older than the calendar extend it
backwards (every symbol's start slot moves).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management.base import CommandError

from marketdata.models import Candle
from qlib_export import manifest
from qlib_export.symbols import qlib_name, symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar, load_with_qlib

pytestmark = pytest.mark.django_db

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
B = "HcjZvfeSNJbNkfLD4eEcRBr96AD3w1GpmMppaeRZf7ur"
C = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "export.json"
    }


def test_an_incremental_export_after_new_candles_equals_a_full_export(export, tmp_path):
    a, b, c = factories.pool(A), factories.pool(B), factories.pool(C)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(0, 20) if i != 7})
    add_candles(b, "1h", {i: bar(100.0 + i) for i in range(5, 12)})  # ends before the calendar
    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h")
    before = files_of(tmp_path / "inc" / "60min")

    add_candles(a, "1h", {i: bar(1.0 + i) for i in (20, 21, 25, 26)})  # a quiet gap at 22-24
    add_candles(b, "1h", {i: bar(100.0 + i) for i in (23, 24)})  # NaN from 12 to 22
    add_candles(c, "1h", {i: bar(900.0 + i) for i in range(15, 30)})  # a new pool
    summary = export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h", "--incremental")
    export("--out", str(tmp_path / "full"), "--all", "--timeframe", "1h")

    after = files_of(tmp_path / "inc" / "60min")
    assert after == files_of(tmp_path / "full" / "60min")
    for name, old in before.items():
        if name.endswith(".bin"):
            assert after[name][: len(old)] == old, f"{name} history was rewritten"
    assert "21 rows" in summary and "calendar 60min=30" in summary

    loaded = load_with_qlib(tmp_path / "inc" / "60min", "60min")
    b_close = np.array(loaded["features"][qlib_name(symbol_for(B))]["$close"], dtype=np.float32)
    assert len(b_close) == 24 - 5 + 1
    assert np.isnan(b_close[12 - 5 : 23 - 5]).all()
    assert b_close[23 - 5] == np.float32(bar(123.0)[3])
    a_close = loaded["features"][qlib_name(symbol_for(A))]["$close"]
    assert np.isnan(a_close[22:25]).all() and a_close[25] == np.float32(bar(26.0)[3])


def whole_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, export.json included, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_incremental_equals_full_after_new_bars_an_older_new_pool_and_a_backfill(
    export, tmp_path, monkeypatch
):
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    inc = tmp_path / "inc"
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(0, 20) if i not in (7, 8)})
    add_candles(b, "1h", {i: bar(100.0 + i) for i in range(5, 12)})
    export("--out", str(inc), "--all", "--timeframe", "1h")

    def same_as_full(step: str) -> str:
        summary = export("--out", str(inc), "--all", "--timeframe", "1h", "--incremental")
        export("--out", str(tmp_path / step), "--all", "--timeframe", "1h")
        assert whole_tree(inc / "60min") == whole_tree(tmp_path / step / "60min"), step
        return summary

    add_candles(a, "1h", {i: bar(1.0 + i) for i in (20, 21, 25)})
    add_candles(b, "1h", {23: bar(123.0)})
    same_as_full("new-bars")

    # 25 bars, 10 of them before the calendar's first slot
    add_candles(factories.pool(C), "1h", {i: bar(900.0 + i) for i in range(-10, 15)})
    summary = same_as_full("new-pool-with-older-bars")
    assert "25 rows" in summary

    add_candles(a, "1h", {7: bar(8.0), 8: bar(9.0)})  # a backfilled gap
    add_candles(b, "1h", {i: bar(100.0 + i) for i in range(0, 5)})  # older than B's first bar
    Candle.objects.filter(pool=a, ts=factories.T0 + timedelta(hours=3)).update(close=42.0)
    summary = same_as_full("backfilled")
    assert "2 symbols rewritten" in summary

    loaded = load_with_qlib(inc / "60min", "60min")
    a_close = loaded["features"][qlib_name(symbol_for(A))]["$close"]
    assert a_close[7] == np.float32(bar(8.0)[3]) and a_close[3] == 42.0


def test_an_incremental_export_with_nothing_new_changes_no_data(export, tmp_path):
    pool = factories.pool(A)
    add_candles(pool, "1d", {i: bar(1.0 + i) for i in range(5)})
    export("--out", str(tmp_path), "--all", "--timeframe", "1d")
    before = files_of(tmp_path / "day")

    summary = export("--out", str(tmp_path), "--all", "--timeframe", "1d", "--incremental")

    assert files_of(tmp_path / "day") == before
    assert "0 rows" in summary


def test_a_bin_longer_than_its_span_from_an_interrupted_run_is_cut_back(export, tmp_path):
    pool = factories.pool(A)
    add_candles(pool, "1h", {i: bar(1.0 + i) for i in range(5)})
    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h")
    close = tmp_path / "inc" / "60min" / "features" / symbol_for(A) / "close.60min.bin"
    with close.open("ab") as handle:
        handle.write(np.array([123.0, 456.0], dtype="<f4").tobytes())  # appended, never listed

    add_candles(pool, "1h", {i: bar(1.0 + i) for i in range(5, 8)})
    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h", "--incremental")
    export("--out", str(tmp_path / "full"), "--all", "--timeframe", "1h")

    assert files_of(tmp_path / "inc" / "60min") == files_of(tmp_path / "full" / "60min")


def test_incremental_needs_a_previous_bin_export(export, tmp_path):
    add_candles(factories.pool(A), "1h", {0: bar(1.0)})
    with pytest.raises(CommandError, match="no previous export"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--incremental")
    export("--out", str(tmp_path / "p"), "--all", "--timeframe", "1h", "--format", "parquet")
    with pytest.raises(CommandError, match="csv and parquet are rewritten whole"):
        export(
            "--out",
            str(tmp_path / "p"),
            "--all",
            "--timeframe",
            "1h",
            "--format",
            "parquet",
            "--incremental",
        )


def test_incremental_refuses_to_freeze_an_open_candle(export, tmp_path):
    pool = factories.pool(A)
    add_candles(pool, "1h", {0: bar(1.0)})
    export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    before = files_of(tmp_path / "60min")
    add_candles(pool, "1h", {1: bar(2.0)}, final=False)

    with pytest.raises(CommandError, match="open bar would be frozen"):
        export(
            "--out",
            str(tmp_path),
            "--all",
            "--timeframe",
            "1h",
            "--incremental",
            "--include-open-candle",
        )

    assert files_of(tmp_path / "60min") == before


def test_symbols_not_selected_now_are_kept_when_the_calendar_moves_back(
    export, tmp_path, monkeypatch
):
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(0, 12)})
    add_candles(b, "1h", {i: bar(100.0 + i) for i in range(3, 9)})
    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h")

    add_candles(factories.pool(C), "1h", {i: bar(900.0 + i) for i in range(-6, 4)})
    export("--out", str(tmp_path / "inc"), "--pools", C, "--timeframe", "1h", "--incremental")
    export("--out", str(tmp_path / "full"), "--all", "--timeframe", "1h")

    assert whole_tree(tmp_path / "inc" / "60min") == whole_tree(tmp_path / "full" / "60min")
    assert sorted(p.name for p in (tmp_path / "inc").iterdir()) == ["60min"]  # no copy left


@pytest.mark.parametrize("older", [False, True], ids=["in-place", "calendar-moved"])
def test_an_interrupted_increment_is_done_again_by_the_next(export, tmp_path, monkeypatch, older):
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    a = factories.pool(A)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(0, 12) if i != 4})
    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h")
    before = load_with_qlib(tmp_path / "inc" / "60min", "60min") if older else None

    add_candles(a, "1h", {4: bar(5.0), 12: bar(13.0)})
    if older:
        add_candles(factories.pool(B), "1h", {i: bar(50.0 + i) for i in range(-3, 2)})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(manifest, "write", broken)
        with pytest.raises(CommandError, match="disk full"):
            export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h", "--incremental")
    if older:  # the copy never replaced the export
        assert load_with_qlib(tmp_path / "inc" / "60min", "60min") == before
        assert sorted(p.name for p in (tmp_path / "inc").iterdir()) == ["60min"]

    export("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h", "--incremental")
    export("--out", str(tmp_path / "full"), "--all", "--timeframe", "1h")
    assert whole_tree(tmp_path / "inc" / "60min") == whole_tree(tmp_path / "full" / "60min")


def test_an_export_without_per_symbol_state_is_refused_with_the_command_to_run(export, tmp_path):
    add_candles(factories.pool(A), "1h", {0: bar(1.0)})
    export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    path = tmp_path / "60min" / "export.json"
    recorded = json.loads(path.read_text())
    del recorded["instruments"]
    path.write_text(json.dumps(recorded))

    with pytest.raises(
        CommandError,
        match=rf"no per-symbol state .* manage.py export_qlib --out {tmp_path} --timeframe 1h",
    ):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--incremental")


def test_an_increment_keeps_the_previous_start(export, tmp_path, monkeypatch):
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    a = factories.pool(A)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(0, 6)})
    inc = ("--out", str(tmp_path / "inc"), "--all", "--timeframe", "1h")
    start = ("--start", "2025-08-20T02:00")
    export(*inc, *start)
    add_candles(a, "1h", {6: bar(7.0)})

    with pytest.raises(CommandError, match=r"exported with --start 2025-08-20T02:00:00\+00:00"):
        export(*inc, "--incremental", "--start", "2025-08-20T01:00")
    export(*inc, "--incremental")
    export(
        "--out", str(tmp_path / "full"), "--all", "--timeframe", "1h", "--start", "2025-08-20T02"
    )
    assert whole_tree(tmp_path / "inc" / "60min") == whole_tree(tmp_path / "full" / "60min")
