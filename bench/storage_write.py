"""The collectors' write path against the store bench/storage.py loaded (issue 17: at least half
the rate of COPY into the same layout at 100M rows, not only on an empty table).

A backfill's pages of 1,000 one-minute bars for a new pool go through
``collectors.services.ohlcv.store_page`` (rows, the range check, COPY or upsert, coverage, one
transaction a page), then the same rows are deleted and written again by one COPY: both into
the tables, indexes and partitions the load left. The pool and its rows are removed after.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PER_PAGE = 1000
GOAL_RATIO = 0.5


@dataclass(frozen=True)
class WriteFigures:
    rows: int
    write_seconds: float
    copy_seconds: float

    @property
    def ratio(self) -> float:
        return self.copy_seconds / max(self.write_seconds, 1e-9)

    def line(self, verdict) -> str:
        write_rate = self.rows / max(self.write_seconds, 1e-9)
        copy_rate = self.rows / max(self.copy_seconds, 1e-9)
        return (
            f"write path at this size (store_page, {self.rows:,} bars in pages of {PER_PAGE:,}):"
            f" {write_rate:,.0f} rows/s against COPY's {copy_rate:,.0f} ="
            f" {self.ratio:.2f}× COPY (goal ≥ {GOAL_RATIO}×): {verdict(GOAL_RATIO, self.ratio)}"
        )


def _pages(end: datetime, pages: int, seed: int):
    from collectors.gecko.records import CandleRecord, OhlcvPage

    rng, price = random.Random(seed), 1e-4
    top = end - timedelta(minutes=1)
    for n in range(pages):
        candles = []
        for i in range(PER_PAGE):  # newest first, as served
            close = price
            price = close / (1 + rng.gauss(0, 0.01))
            high = max(price, close) * (1 + abs(rng.gauss(0, 0.004)))
            low = min(price, close) * (1 - abs(rng.gauss(0, 0.004)))
            at = top - timedelta(minutes=n * PER_PAGE + i)
            candles.append(CandleRecord(at, price, high, low, close, rng.expovariate(1 / 20)))
        yield (
            int((top - timedelta(minutes=n * PER_PAGE)).timestamp()) + 60,
            OhlcvPage(f"bench-{n}", candles),
        )


def measure(end: datetime, pages: int = 40, seed: int = 5) -> WriteFigures:
    """Time ``pages`` pages ending at ``end`` through the write path, then through COPY."""
    from django.db import connection, transaction
    from psycopg import sql

    from collectors.services.ohlcv import store_page
    from marketdata import partitions
    from marketdata.models import Candle, CandleCoverage, Network, Pool

    pool = Pool.objects.create(
        network=Network.objects.get(slug="solana"), address="bench-write-path", name="W / SOL"
    )
    start = end - timedelta(minutes=pages * PER_PAGE)
    partitions.ensure_span("marketdata_candle", start, end)
    made = list(_pages(end, pages, seed))
    began = time.perf_counter()
    for before, page in made:
        store_page(pool, "1m", page, before=before, limit=PER_PAGE)
    write_seconds = time.perf_counter() - began

    columns = ("pool_id", "timeframe", "ts", "open", "high", "low", "close", "volume_usd")
    columns += ("is_final",)
    rows = list(Candle.objects.filter(pool=pool).order_by("-ts").values_list(*columns))
    Candle.objects.filter(pool=pool).delete()
    copy_sql = sql.SQL("COPY marketdata_candle ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    copy_seconds = time.perf_counter() - began

    Candle.objects.filter(pool=pool).delete()
    CandleCoverage.objects.filter(pool=pool).delete()
    pool.delete()
    return WriteFigures(len(rows), write_seconds, copy_seconds)


def when_loaded(first_day: float) -> datetime:
    """An end for the pages before the loaded history, so they meet no loaded bar."""
    return datetime.fromtimestamp(first_day, UTC) - timedelta(days=1)
