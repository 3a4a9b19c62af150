"""Months archived to Parquet (marketdata.archive) are exported as if they were still in the
database: every file of an export is the same before and after archiving (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from marketdata import archive, partitions, store
from marketdata.models import ArchivedMonth, Pool
from qlib_export import source
from qlib_export.symbols import symbol_for
from tests.marketdata import factories

from .test_incremental import A, B, C, whole_tree

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 11, 12, tzinfo=UTC)  # hot from 2025-10 with one hot month


def fill(address: str, start: int, count: int, seed: float, *, step: int = 1) -> None:
    """Hourly bars from ``T0 + start`` hours, every ``step`` hours, with inexact doubles; most
    open at the bar before's close, as the API's do (the archive leaves those opens out), one
    at -0.0 after a close of 0.0 (not the same double)."""
    p = Pool.objects.filter(address=address).first() or factories.pool(address)
    rows = factories.candle_rows(p.pk, count, timeframe="1h", step=3600 * step)
    for row in rows:
        row["ts"] += timedelta(hours=start)
        row["open"] = seed + row["open"] / 7
        row["close"] = seed - row["close"] / 3
        row["volume_usd"] = -0.0 if row["volume_usd"] == 0 else row["volume_usd"] * 1.1
    for n in range(1, len(rows)):
        if n % 10:
            rows[n]["open"] = rows[n - 1]["close"]
    rows[3]["close"], rows[4]["open"] = 0.0, -0.0
    rows[-1]["is_final"] = False
    store.upsert_candles(rows)


@pytest.fixture
def three_months(monkeypatch):
    """Three pools from 2025-08-20 into 2025-11, one with gaps, one only in the archive; every
    export says it was made at the same time."""
    monkeypatch.setattr("qlib_export.manifest.now", lambda: "2026-01-01T00:00:00+00:00")
    fill(A, 0, 24 * 80, 1.0)  # 2025-08-20 .. 2025-11-08
    fill(B, 5, 24 * 30, 100.0, step=2)  # every other hour, 2025-08-20 .. 2025-09-29
    fill(C, 24 * 40, 24 * 40, 1e-7)  # 2025-09-29 .. 2025-11-08
    partitions.ensure(NOW)  # each month into its own partition


def archive_old(tmp_path: Path) -> list:
    return archive.archive_cold(NOW, hot_months=1, directory=tmp_path / "archive")


@pytest.mark.parametrize(
    ("fmt", "chunk"), [("bin", None), ("csv", None), ("parquet", None), ("parquet", 7), ("bin", 5)]
)
def test_an_export_after_archiving_is_the_export_before(
    export, tmp_path, three_months, monkeypatch, fmt, chunk
):
    if chunk:
        monkeypatch.setattr(source, "CHUNK_ROWS", chunk)
    args = ("--all", "--timeframe", "1h", "--format", fmt)
    export("--out", str(tmp_path / "before"), *args)

    done = archive_old(tmp_path)
    summary = export("--out", str(tmp_path / "after"), *args)

    assert [a.month.isoformat() for a in done if a.table == "marketdata_candle"] == [
        "2025-08-01",
        "2025-09-01",
    ]
    before, after = whole_tree(tmp_path / "before"), whole_tree(tmp_path / "after")
    assert before.keys() == after.keys()
    for name, content in before.items():
        assert after[name] == content, name
    assert f"{24 * 80 - 1 + 24 * 30 - 1 + 24 * 40 - 1:,} rows" in summary


@pytest.mark.parametrize("selection", [("--all",), ("--pools", C, B)])
def test_a_window_and_the_open_candle_read_the_archive_as_the_database(
    export, tmp_path, three_months, selection
):
    args = (*selection, "--timeframe", "1h", "--start", "2025-09-10T03:00", "--end", "2025-10-02")
    export("--out", str(tmp_path / "before"), *args, "--format", "csv", "--include-open-candle")
    archive_old(tmp_path)
    export("--out", str(tmp_path / "after"), *args, "--format", "csv", "--include-open-candle")

    assert whole_tree(tmp_path / "before") == whole_tree(tmp_path / "after")


def test_incremental_after_archiving_equals_a_full_export(export, tmp_path, three_months):
    args = ("--all", "--timeframe", "1h")
    export("--out", str(tmp_path / "inc"), *args)
    archive_old(tmp_path)
    fill(C, 24 * 80, 24, 1e-7)  # a day more for C, hot

    summary = export("--out", str(tmp_path / "inc"), *args, "--incremental")
    export("--out", str(tmp_path / "full"), *args)

    assert "rewritten" not in summary, "archiving changed no history"
    assert whole_tree(tmp_path / "inc" / "60min") == whole_tree(tmp_path / "full" / "60min")


def test_a_late_bar_of_an_archived_month_is_exported_with_the_archive(
    export, tmp_path, three_months
):
    """A bar written for an archived month lands in the default partition; the database's
    version of a bar wins over the archive's, as the upsert would have."""
    archive_old(tmp_path)
    late = factories.candle_rows(Pool.objects.get(address=A).pk, 2, timeframe="1h")
    late[0]["close"], late[1]["ts"] = 42.0, factories.T0 - timedelta(hours=1)
    store.upsert_candles(late)

    export("--out", str(tmp_path / "csv"), "--all", "--timeframe", "1h", "--format", "csv")

    path = tmp_path / "csv" / "60min" / "csv" / f"{symbol_for(A)}.csv"
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    assert len(rows) == 24 * 80 - 1 + 1
    assert rows[0][0] == "2025-08-19 23:00:00" and rows[1][0] == "2025-08-20 00:00:00"
    assert rows[1][4] == "42"


def test_an_archived_month_whose_file_is_gone_is_an_error(export, tmp_path, three_months):
    archive_old(tmp_path)
    Path(ArchivedMonth.objects.get(table="marketdata_candle", month="2025-09-01").path).unlink()

    with pytest.raises(CommandError, match="2025-09.parquet"):
        export("--out", str(tmp_path / "x"), "--all", "--timeframe", "1h")


def test_an_archived_file_whose_first_open_is_missing_is_an_error(export, tmp_path, three_months):
    """An open left out with no bar before it in its series cannot be filled back: the export
    names the file, never guesses the open."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    archive_old(tmp_path)
    path = Path(ArchivedMonth.objects.get(table="marketdata_candle", month="2025-09-01").path)
    table = pq.read_table(path)
    opens = table.column("open").to_pylist()
    opens[0] = None
    at = table.schema.get_field_index("open")
    pq.write_table(table.set_column(at, "open", pa.array(opens, pa.float64())), path)

    with pytest.raises(CommandError, match="2025-09.parquet: a bar's open is missing"):
        export("--out", str(tmp_path / "x"), "--all", "--timeframe", "1h")
