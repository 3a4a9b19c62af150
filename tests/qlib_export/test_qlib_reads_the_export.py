"""QLib itself (qlib.init + D.features) reads back exactly what PostgreSQL holds."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from marketdata.models import Candle
from qlib_export.symbols import qlib_name, symbol_for
from tests.marketdata import factories

from .conftest import add_candles, bar, load_with_qlib

pytestmark = pytest.mark.django_db

FIELDS = ("open", "high", "low", "close", "volume")


def expected_values(timeframe: str) -> dict[str, dict[str, dict[str, float]]]:
    """``qlib name → field → timestamp → value`` for every final candle, from the database."""
    expected: dict[str, dict[str, dict[str, float]]] = {}
    for candle in Candle.objects.filter(timeframe=timeframe, is_final=True).select_related("pool"):
        fields = expected.setdefault(qlib_name(symbol_for(candle.pool.address)), {})
        ts = candle.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        values = dict(
            zip(
                FIELDS,
                (candle.open, candle.high, candle.low, candle.close, candle.volume_usd),
                strict=True,
            )
        )
        values["factor"] = 1.0
        values["vwap"] = (candle.high + candle.low + candle.close) / 3
        for name, value in values.items():
            fields.setdefault(name, {})[ts] = value
    return expected


def assert_same(loaded: dict, expected: dict) -> None:
    assert sorted(loaded["features"]) == sorted(expected)
    for name, fields in expected.items():
        got = loaded["features"][name]
        first, last = min(fields["open"]), max(fields["open"])
        assert loaded["instruments"][name] == [first, last]
        calendar = [ts for ts in loaded["calendar"] if first <= ts <= last]
        assert got["ts"] == calendar, name
        for field, by_ts in fields.items():
            want = np.array([by_ts.get(ts, np.nan) for ts in calendar], dtype=np.float32)
            have = np.array(got[f"${field}"], dtype=np.float32)
            np.testing.assert_array_equal(have, want, err_msg=f"{name} {field}")


def make_pools():
    dex = factories.dex("raydium")
    return [
        factories.pool("7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP", name="A / SOL", dex=dex),
        factories.pool("HcjZvfeSNJbNkfLD4eEcRBr96AD3w1GpmMppaeRZf7ur", name="B / SOL", dex=dex),
        factories.pool("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2", name="C / USDC"),
    ]


def test_it_round_trips_hourly_candles_through_qlib_with_nan_for_quiet_hours(export, tmp_path):
    a, b, c = make_pools()
    add_candles(a, "1h", {i: bar(1 + i) for i in range(30) if i not in (4, 5, 17)})
    add_candles(b, "1h", {i: bar(1e-6 * (i + 1)) for i in range(10, 48)})
    add_candles(b, "1h", {48: bar(99.0)}, final=False)
    add_candles(c, "1h", {i: bar(250.0 + i) for i in (40, 41, 45)})

    summary = export("--out", str(tmp_path / "q"), "--all", "--timeframe", "1h")

    loaded = load_with_qlib(tmp_path / "q" / "60min", "60min")
    assert len(loaded["calendar"]) == 48  # every hour of slots 0-47: none skipped, no open bar
    assert loaded["calendar"][0] == "2025-08-20 00:00:00"
    assert_same(loaded, expected_values("1h"))
    assert "3 instruments" in summary and "calendar 60min=48" in summary


def test_it_round_trips_daily_candles_at_qlibs_day_freq(export, tmp_path):
    a, b, c = make_pools()
    add_candles(a, "1d", {i: bar(10 + i) for i in range(12) if i != 6})
    add_candles(b, "1d", {i: bar(3e5 + i) for i in range(3, 20)})
    add_candles(c, "1d", {0: bar(1.0)})

    export("--out", str(tmp_path / "q"), "--all", "--timeframe", "1d")

    calendar_file = tmp_path / "q" / "day" / "calendars" / "day.txt"
    assert calendar_file.read_text().splitlines()[:2] == ["2025-08-20", "2025-08-21"]
    loaded = load_with_qlib(tmp_path / "q" / "day", "day")
    assert len(loaded["calendar"]) == 20
    assert_same(loaded, expected_values("1d"))
    assert datetime(2025, 8, 26, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S") in loaded["calendar"]
