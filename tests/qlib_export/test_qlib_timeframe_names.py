"""``export_qlib --timeframe`` takes QLib's own frequency names as well as ours."""

from __future__ import annotations

import pytest

from tests.command_output import finished
from tests.marketdata import factories

from .conftest import add_candles, bar

pytestmark = pytest.mark.django_db

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"


@pytest.fixture
def pool():
    p = factories.pool(A)
    add_candles(p, "1h", {i: bar(1.0 + i) for i in range(5)})
    add_candles(p, "1d", {0: bar(2.0)})
    return p


def test_qlibs_names_export_the_same_as_ours(pool, export, tmp_path, monkeypatch):
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    export("--out", str(tmp_path / "ours"), "--all", "--timeframe", "1h", "1d")
    export("--out", str(tmp_path / "qlibs"), "--all", "--timeframe", "60min", "day")

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(tmp_path / "qlibs") == files(tmp_path / "ours")
    assert {p.name for p in (tmp_path / "qlibs").iterdir()} == {"60min", "day"}


def test_a_name_given_both_ways_is_exported_once(pool, export, tmp_path):
    summary = export("--out", str(tmp_path), "--all", "--timeframe", "1h", "60min")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["60min"]
    assert "1 instruments, 5 rows" in summary


def test_help_names_qlibs_spellings():
    done = finished("export_qlib", "--help", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "1min 5min 15min 60min 240min 720min day" in " ".join(done.stdout.split())
