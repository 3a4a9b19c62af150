"""Issue 17 figures: ``export_qlib`` per row with every month in PostgreSQL, then with most
months archived to Parquet (marketdata.archive), on the data bench/export.py makes.

Fills its own database (it archives, which drops partitions, so never bench/export.py's):
``pools`` × ``candles`` hourly bars from 2024-01 (about ten months), puts each month into its
own partition, exports (bin, then csv), archives every month before 2024-08, exports again, and
checks the two exports are the same file for file; then an ``--incremental`` run over the mixed
store (it digests every bar, archived ones in numpy). Prints seconds and µs per row (the best
of ``--repeat`` exports); no goal.

    .venv/bin/python bench/export_archived.py [--pools 200] [--candles 5000] [--repeat 1]

``BENCH_ARCHIVE_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/bench_export_archived``)
is dropped and made again on every run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault(
    "BENCH_DATABASE_URL",
    os.environ.get(
        "BENCH_ARCHIVE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_export_archived"
    ),
)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import export as base  # noqa: E402  (bench/export.py, with this database)

ARCHIVE = """
from datetime import UTC, datetime
from pathlib import Path
from marketdata import archive, partitions
partitions.ensure(datetime(2024, 10, 15, tzinfo=UTC))
done = archive.archive_cold(datetime(2024, 10, 15, tzinfo=UTC), 2, Path({directory!r}))
print(sum(a.rows for a in done if a.table == 'marketdata_candle'))
"""
SPLIT = """
from datetime import UTC, datetime
from marketdata import partitions
partitions.ensure(datetime(2024, 10, 15, tzinfo=UTC))
"""


def recreate() -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(base.BENCH_DATABASE_URL).path.lstrip("/")
    if not name.startswith("bench_"):
        raise SystemExit(f"{name}: refusing to drop a database not named bench_*")
    admin = base.BENCH_DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    base.ensure_database()


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "export.json"
    }


def rows_of(run: base.Run) -> int:
    return int(run.output.split(" rows")[0].rsplit(" ", 1)[1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=200)
    parser.add_argument("--candles", type=int, default=5000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="export each this many times, keep the fastest"
    )
    args = parser.parse_args()

    recreate()
    addresses = base.fill(args.pools, args.candles)
    base.manage("shell", "-c", SPLIT)
    work = Path(tempfile.mkdtemp(prefix="bench-export-archived-"))
    common = ["--network", base.NETWORK, "--timeframe", "1h", "--no-progress", "--pools"]
    common += addresses
    runs: dict[str, base.Run] = {}

    def best(store: str, fmt: str) -> base.Run:
        """The fastest of ``--repeat`` exports, each into a directory of its own (the first is
        kept for the comparison): one export of a few seconds varies by a fifth run to run."""
        tries = []
        for n in range(args.repeat):
            out = work / f"{store}-{fmt}" if n == 0 else work / f"{store}-{fmt}-{n}"
            tries.append(base.manage("export_qlib", "--out", str(out), "--format", fmt, *common))
            if n:
                shutil.rmtree(out, ignore_errors=True)
        return min(tries, key=lambda run: run.seconds)

    try:
        for fmt in ("bin", "csv"):
            runs[f"hot {fmt}"] = best("hot", fmt)
        archived = base.manage("shell", "-c", ARCHIVE.format(directory=str(work / "archive")))
        for fmt in ("bin", "csv"):
            runs[f"mixed {fmt}"] = best("mixed", fmt)
        inc = ["--out", str(work / "mixed-bin"), "--incremental"]
        runs["mixed bin --incremental"] = base.manage("export_qlib", *inc, *common)
        same = {
            fmt: tree(work / f"hot-{fmt}") == tree(work / f"mixed-{fmt}") for fmt in ("bin", "csv")
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total = rows_of(runs["hot bin"])
    cold = int(archived.output.splitlines()[-1])
    print(f"data: {args.pools} pools × {args.candles:,} hourly candles, {total:,} exported rows;")
    print(f"archived: {cold:,} candle rows ({cold / total:.0%}) in Parquet, the rest in PostgreSQL")
    for label, run in runs.items():
        rows = rows_of(run) if "incremental" not in label else total
        print(
            f"{label:24} {run.seconds:6.2f} s  {run.seconds / rows * 1e6:5.2f} µs/row"
            f"  peak RSS {run.peak_mib:6.1f} MiB"
        )
    for fmt in ("bin", "csv"):
        ratio = runs[f"mixed {fmt}"].seconds / runs[f"hot {fmt}"].seconds
        print(f"{fmt}: mixed ÷ hot per row = {ratio:.2f}; same files: {same[fmt]}")


if __name__ == "__main__":
    main()
