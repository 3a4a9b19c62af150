"""Fixtures for the export tests: candles in PostgreSQL, and QLib itself to read the result.

QLib runs in its own virtualenv (``.venv-qlib``, made by ``make test`` from
requirements-qlib.txt; ``QLIB_PYTHON`` overrides the interpreter) because pyqlib's dependencies
conflict with ours. Without it these tests fail, never skip: loading with QLib is the point.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from marketdata.models import Candle, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS
from tests.marketdata import factories

ROOT = Path(__file__).resolve().parents[2]
QLIB_PYTHON = Path(os.environ.get("QLIB_PYTHON", ROOT / ".venv-qlib" / "bin" / "python"))
READER = Path(__file__).with_name("qlib_reader.py")


def load_with_qlib(provider: Path, freq: str) -> dict:
    """What QLib itself reads from ``provider`` at ``freq`` (see qlib_reader.py)."""
    if not QLIB_PYTHON.exists():
        pytest.fail(f"QLib's interpreter {QLIB_PYTHON} is missing: run `make qlib-venv`")
    done = subprocess.run(
        [str(QLIB_PYTHON), str(READER), str(provider), freq],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def add_candles(
    pool: Pool, timeframe: str, bars: dict[int, tuple[float, ...]], *, final: bool = True
) -> None:
    """Bars at ``T0 + slot * timeframe``: ``{slot: (open, high, low, close, volume)}``."""
    step = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    Candle.objects.bulk_create(
        Candle(
            pool=pool,
            timeframe=timeframe,
            ts=factories.T0 + slot * step,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume_usd=v,
            is_final=final,
        )
        for slot, (o, h, lo, c, v) in bars.items()
    )


def bar(seed: float) -> tuple[float, float, float, float, float]:
    """An OHLCV bar with values that float32 cannot hold exactly."""
    return (
        seed + 0.1234567,
        seed + 0.7654321,
        seed - 0.3333333,
        seed + 0.2718281,
        seed * 1e3 + 0.5,
    )


@pytest.fixture
def export():
    """``export(*args)`` runs ``manage.py export_qlib --no-progress`` and returns its stdout."""

    def run(*args: str) -> str:
        out = StringIO()
        call_command("export_qlib", *args, "--no-progress", stdout=out)
        return out.getvalue()

    return run
