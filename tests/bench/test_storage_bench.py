"""bench/storage.py at a tiny size: it loads what it is asked to with COPY, measures every
table's bytes per row and the three reads, and prints each goal with its verdict."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from bench import storage


@pytest.mark.django_db
def test_the_storage_bench_loads_measures_and_judges_at_a_tiny_size():
    loaded = storage.fill(candles=5_000, trades=1_000)
    storage.settle(vacuum=False)
    measured = storage.sizes()
    reads = storage.latencies(loaded, runs=3)

    assert abs(loaded.candles - 5_000) < 5_000 * 0.01 and loaded.trades == 1_000
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",), "the load's triggers are off after it"
    assert measured["candles"].rows == loaded.candles
    assert measured["trades"].rows == loaded.trades
    for size in measured.values():
        assert size.heap > 0 and size.indexes > 0 and size.toast >= 0
    assert set(reads) == {"chart_db", "chart", "month_db", "month", "api", "admin"}
    assert all(len(v) == 3 and min(v) > 0 for v in reads.values())

    storage.reindex()
    rebuilt = storage.sizes()
    assert 0 < rebuilt["candles"].indexes <= measured["candles"].indexes

    end = storage.storage_write.when_loaded(storage._days(loaded.days)[0])
    written = storage.storage_write.measure(end, pages=2)
    assert written.rows == 2 * 1000 and written.write_seconds > 0 and written.copy_seconds > 0
    assert storage.sizes()["candles"].rows == loaded.candles, "the bench's pool is gone after"
    assert re.search(r"^write path at this size .*: (MET|NOT MET)$", written.line(storage.verdict))

    archived = storage.archive_fullest_month()
    assert archived.rows == loaded.candles + loaded.trades, "2.7 days: one month"
    assert set(archived.bytes_per_row) == {"candles", "trades"}
    lines = storage.report(loaded, rebuilt, reads) + storage.archive_lines(rebuilt, archived)
    text = "\n".join(lines)
    assert re.search(r"^load: .* load took [\d.]+ s", text, re.M)
    for label in (
        "candles on disk",
        "trades on disk",
        "a year of 1,000 pools",
        "chart query",
        "one pool's 30 days of 1m",
        "/api/v1/candles/",
        "admin changelists",
    ):
        assert re.search(rf"^{re.escape(label)}.*: (MET|NOT MET)$", text, re.M), label


def test_synthetic_trades_have_the_api_formats():
    import random

    pool = storage.BenchPool(1, "x", "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump")
    rows = list(storage.trade_rows([pool], 2.0, 200, random.Random(1)))
    assert len(rows) == 200
    for row in rows:
        trade_id, _, block, _, tx, wallet, side, *_ = row
        assert trade_id.startswith(f"solana_{block}_{tx}_")
        assert len(tx) in (87, 88) and len(wallet) in (43, 44)
        assert side in ("buy", "sell")
    for row in rows:
        assert re.fullmatch(r"[1-9]\d{2}\.\d{50,75}[1-9]", row[15]), "volume_usd"
        token_price_in_sol = row[12] if row[6] == "buy" else row[11]
        assert re.fullmatch(r"0\.000000\d{12,14}[1-9]", token_price_in_sol)
        assert (row[11] if row[6] == "buy" else row[12]) == "1.0"


def test_the_export_goal_is_judged_from_the_export_benchs_own_lines():
    from bench import storage_relays

    def output(hot_bin, hot_csv, mixed_bin, mixed_csv):
        return "\n".join(
            [
                f"hot bin                   19.49 s   {hot_bin:5.2f} µs/row  peak RSS  180.0 MiB",
                f"hot csv                   22.93 s   {hot_csv:5.2f} µs/row  peak RSS  191.6 MiB",
                f"mixed bin                 22.81 s   {mixed_bin:5.2f} µs/row  peak RSS  383.7 MiB",
                f"mixed csv                 16.01 s   {mixed_csv:5.2f} µs/row  peak RSS  355.9 MiB",
                "mixed bin --incremental   12.82 s    1.48 µs/row  peak RSS  377.3 MiB",
            ]
        )

    full = storage_relays.per_row(output(2.25, 2.64, 2.63, 1.85))
    small = storage_relays.per_row(output(4.63, 4.15, 3.61, 3.70))
    assert full == {("hot", "bin"): 2.25, ("hot", "csv"): 2.64, ("mixed", "bin"): 2.63,
                    ("mixed", "csv"): 1.85}  # fmt: skip
    line = storage_relays.export_verdict(full, small, storage.verdict)
    assert "bin 2.63 µs/row against 4.63 (0.57×)" in line and line.endswith(": MET")
    slower = storage_relays.per_row(output(2.25, 2.64, 5.00, 1.85))
    assert storage_relays.export_verdict(slower, small, storage.verdict).endswith(": NOT MET")
