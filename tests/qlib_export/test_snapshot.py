"""A full export reads one snapshot: candles committed while it runs never reach its files."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

from qlib_export import binwriter, export
from qlib_export.calendar import Calendar
from qlib_export.source import Bars
from qlib_export.symbols import symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
B = "HcjZvfeSNJbNkfLD4eEcRBr96AD3w1GpmMppaeRZf7ur"


class CommitsWhenSpansAreRead(export.Progress):
    """Commits candles from another connection when the export starts writing a timeframe.

    ``start`` is called after the spans are read and before any bar is streamed: the window
    in which collection racing the export used to corrupt it.
    """

    def __init__(self, commit) -> None:
        self.commit = commit
        self.done = False

    def start(self, label: str, total: int) -> None:
        if self.done:
            return
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self.commit()
            except BaseException as exc:  # noqa: BLE001 — re-raised in the test's thread
                errors.append(exc)
            finally:
                connection.close()  # this thread's own connection

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)
        assert not errors, errors
        self.done = True


def bin_values(root: Path, address: str, field: str) -> np.ndarray:
    return np.fromfile(root / "features" / symbol_for(address) / f"{field}.60min.bin", "<f4")


@pytest.mark.django_db(transaction=True)
def test_candles_committed_during_a_full_export_stay_out_of_it(tmp_path):
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(10)})
    add_candles(b, "1h", {i: bar(50.0 + i) for i in range(2, 6)})

    def collect() -> None:
        add_candles(a, "1h", {10: bar(11.0), 11: bar(12.0)})  # past the calendar's end
        add_candles(b, "1h", {-2: bar(48.0)})  # before the calendar's start

    racer = CommitsWhenSpansAreRead(collect)
    request = export.Request(
        out=tmp_path / "out", network="solana", pool_ids=[a.id, b.id], timeframes=["1h"]
    )
    summary = export.run(request, racer)

    assert racer.done
    root = tmp_path / "out" / "60min"
    assert len((root / "calendars" / "60min.txt").read_text().splitlines()) == 10
    for field in binwriter.FIELDS:
        a_bin, b_bin = bin_values(root, A, field), bin_values(root, B, field)
        assert a_bin[0] == 0.0 and len(a_bin) == 1 + 10, f"A {field}: {a_bin}"
        assert b_bin[0] == 2.0 and len(b_bin) == 1 + 4, f"B {field}: {b_bin}"
    assert summary.results[0].rows == 14

    # The racing bars were committed: the next export has them.
    export.run(
        export.Request(
            out=tmp_path / "next", network="solana", pool_ids=[a.id, b.id], timeframes=["1h"]
        )
    )
    assert len((tmp_path / "next" / "60min" / "calendars" / "60min.txt").read_text().split()) > 10


@pytest.mark.django_db(transaction=True)
def test_candles_committed_during_an_incremental_export_wait_for_the_next(tmp_path):
    a, b = factories.pool(A), factories.pool(B)
    add_candles(a, "1h", {i: bar(1.0 + i) for i in range(6)})
    add_candles(b, "1h", {i: bar(50.0 + i) for i in range(2, 6)})
    out = tmp_path / "out"
    export.run(export.Request(out=out, network="solana", pool_ids=[a.id, b.id], timeframes=["1h"]))
    add_candles(a, "1h", {6: bar(7.0), 7: bar(8.0)})

    def collect() -> None:
        add_candles(a, "1h", {8: bar(9.0), 9: bar(10.0)})  # past the calendar just read
        add_candles(b, "1h", {0: bar(48.0)})  # history the digests just read did not have

    incremental = export.Request(
        out=out, network="solana", pool_ids=[a.id, b.id], timeframes=["1h"], incremental=True
    )
    racer = CommitsWhenSpansAreRead(collect)
    summary = export.run(incremental, racer)

    assert racer.done and summary.results[0].rows == 2
    root = out / "60min"
    assert len((root / "calendars" / "60min.txt").read_text().splitlines()) == 8
    for field in binwriter.FIELDS:
        assert len(bin_values(root, A, field)) == 1 + 8
        assert bin_values(root, B, field)[0] == 2.0

    export.run(incremental)  # the racing bars come with the next increment
    export.run(
        export.Request(
            out=tmp_path / "full", network="solana", pool_ids=[a.id, b.id], timeframes=["1h"]
        )
    )
    for field in binwriter.FIELDS:
        for address in (A, B):
            full = bin_values(tmp_path / "full" / "60min", address, field)
            np.testing.assert_array_equal(bin_values(root, address, field), full)


def bars_at(slots: list[int], calendar: Calendar) -> Bars:
    ts = calendar.start + np.array(slots, dtype=np.int64) * calendar.step
    values = np.arange(len(slots), dtype=np.float64) + 1.5
    return Bars(ts, values, values, values, values, values)


@pytest.mark.parametrize(("slots", "where"), [([8, 9, 10, 11], "after"), ([-2, 0, 1], "before")])
def test_the_writer_refuses_a_bar_outside_the_calendar(tmp_path, slots, where):
    calendar = Calendar(start=1_755_648_000, step=3600, length=10)

    with pytest.raises(ValueError, match=rf"sym_1: .* {where} .*calendar.*open\.60min\.bin"):
        binwriter.write_symbol(tmp_path, "sym_1", "60min", calendar, [bars_at(slots, calendar)])
