"""Bad requests fail with an error naming the problem, a non-zero exit, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management.base import CommandError

from qlib_export import binwriter
from tests.command_output import finished
from tests.marketdata import factories
from watchlist.models import WatchlistEntry

from .conftest import add_candles, bar, load_with_qlib

pytestmark = pytest.mark.django_db

A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
B = "HcjZvfeSNJbNkfLD4eEcRBr96AD3w1GpmMppaeRZf7ur"


@pytest.fixture
def pool():
    p = factories.pool(A)
    add_candles(p, "1h", {i: bar(1.0 + i) for i in range(5)})
    return p


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--timeframe", "1h", "2h"],
            "unknown timeframe 2h; use 1m 5m 15m 1h 4h 12h 1d or QLib's names "
            "1min 5min 15min 60min 240min 720min day",
        ),
        (["--pools", A, B], f"unknown pool\\(s\\) on solana: {B}"),
        (["--pools", A.lower()], "unknown pool.*case-sensitive"),
        (["--all", "--timeframe", "1d"], "no final candles to export for timeframe 1d"),
        (["--all", "--start", "2025-08-21", "--end", "2025-08-20"], "is not before --end"),
        (["--all", "--start", "yesterday"], "--start 'yesterday' is not an ISO-8601"),
        (["--all", "--network", "ethereum"], "unknown network 'ethereum'"),
        ([], "watchlist has no active pool"),
    ],
)
def test_a_bad_request_is_refused_and_writes_nothing(pool, export, tmp_path, args, message):
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=message):
        export("--out", str(out), *args)
    assert not out.exists() or not any(out.iterdir())


def test_the_watchlist_is_the_default_selection(pool, export, tmp_path):
    factories.pool(B)
    WatchlistEntry.objects.create(pool_address=A, pool=pool)

    summary = export("--out", str(tmp_path), "--timeframe", "1h")

    assert "1 instruments, 5 rows" in summary


def test_an_export_into_a_file_or_under_one_is_refused(pool, export, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError, match="is not a directory"):
        export("--out", str(blocker), "--all", "--timeframe", "1h")
    with pytest.raises(CommandError, match="cannot write to --out"):
        export("--out", str(blocker / "sub"), "--all", "--timeframe", "1h")
    assert blocker.read_text() == "not a directory"


def test_a_full_export_into_a_non_empty_directory_needs_force(pool, export, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty; pass --force"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

    export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--force")
    export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--force")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["60min", "notes.txt"]
    (tmp_path / "plain").mkdir()
    assert (tmp_path / "60min").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_a_failed_export_leaves_the_previous_one_readable(pool, export, tmp_path, monkeypatch):
    export("--out", str(tmp_path), "--all", "--timeframe", "1h")
    before = load_with_qlib(tmp_path / "60min", "60min")
    add_candles(factories.pool(B), "1h", {i: bar(50.0 + i) for i in range(9)})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(binwriter, "instruments_lines", broken)
    with pytest.raises(CommandError, match="failed: disk full"):
        export("--out", str(tmp_path), "--all", "--timeframe", "1h", "--force")

    assert load_with_qlib(tmp_path / "60min", "60min") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["60min"]  # no partial left behind


def test_the_command_exits_non_zero_with_the_error_on_stderr(tmp_path):
    done = finished("export_qlib", "--out", str(tmp_path), "--timeframe", "2h")
    assert done.returncode != 0
    assert "unknown timeframe 2h" in done.stderr
    assert list(Path(tmp_path).iterdir()) == []


def test_help_lists_the_options():
    done = finished("export_qlib", "--help")
    assert done.returncode == 0, done.stderr
    for option in (
        "--out",
        "--timeframe",
        "--pools",
        "--watchlist",
        "--all",
        "--incremental",
        "--force",
        "--include-open-candle",
        "--format",
    ):
        assert option in done.stdout
