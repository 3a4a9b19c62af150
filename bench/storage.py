"""Issue 17 benchmark: what the store costs on disk and how fast it reads, on today's tables.

The bench empties its own database, then loads N candles (pools × the seven timeframes, the
last ``days`` ending 2026-11-01) and M trades with COPY, one day per pool at a time and
interleaved across pools, as the collectors' pages arrive. Trades look like the API's
(``get_trades.csv`` in the recorded answers): 87-88-char base58 signatures that decode to 64
bytes, 43-44-char wallets, the ``{network}_{block}_{tx}_{index}_{ts}`` id, and decimal strings
of the recorded lengths (up to 76 fractional digits, "1.0" kept as sent). It prints how long
the load took, then per table the bytes a row takes all-in (heap, indexes, TOAST), the year of
1,000 pools projected from them (670M candles and 160M trades, the issue's figures), and three
read latencies, each goal MET or NOT MET:

* chart: the candle query ``marketdata.chart.chart_data`` makes (one pool, one timeframe, the
  last 1,000) p95 ≤ 20 ms;
* one pool's 30 days of 1m, the ORM's query for them, p95 ≤ 50 ms;
* ``/api/v1/candles/?pool=…&timeframe=…&since=…`` (first page, 500 rows) through DRF's test
  client with a token user, p95 ≤ 200 ms;
* the admin's candle and trade changelists (pages 1 to 51) as a staff user, p95 ≤ 200 ms.

The first two are judged on their time inside PostgreSQL (``EXPLAIN ANALYZE``: every row read,
none sent), which is what the store's layout decides; beside each the bench prints what the
application adds (all of ``chart_data``; the 43,200 rows decoded into Python). Indexes grow as
collection grows them (rows arrive interleaved across pools), so they are less full than freshly
built ones; the daily maintenance packs the indexes of every month that has ended
(marketdata.partitions.compact), and every month of the bench's data has ended, so the sizes it
judges are packed ones; the sizes as collected are printed too. Then it archives the fullest
month (marketdata.archive) and projects a year of 100, 1,000 and 10,000 pools with
docs/capacity.md's ``GECKO_HOT_MONTHS``. It also times the collectors' write path against COPY
into the loaded tables (bench/storage_write.py), ``make backup`` and ``make restore`` per GB,
and relays bench/capacity.py's planner tick at 20,000 pools and bench/export_archived.py's
export of 1,000 pools × a year of 1h (bench/storage_relays.py; ``--no-tick`` and
``--no-export`` skip them).

The goals are judged at ≥ 100M candles and ≥ 20M trades (``--candles 100000000 --trades
20000000``: 35 min of load and an hour of measuring here); the defaults are a quick look in
about fifteen minutes, nine of them the export (12M candles and 2M trades: 23 minutes without
it).

    .venv/bin/python bench/storage.py [--candles 2000000] [--trades 300000] [--runs 50]
        [--jobs 2] [--no-tick] [--no-export] [--no-backup] [--load-only | --reuse]

``--load-only`` loads (and vacuums) the store and stops; a later ``--reuse`` run of the same
sizes measures that load instead of making it again (the load is most of the judged run's
time), and prints how long it took.

``BENCH_DATABASE_URL`` (default bench_gecko_storage) is created and migrated if missing, and
its market data emptied on each run. Exit status is non-zero only if the bench itself fails.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import based58
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import storage_relays, storage_write  # noqa: E402 (after the path)

END = datetime(2026, 11, 1, tzinfo=UTC)
STEPS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "12h": 43200, "1d": 86400}
CANDLES_PER_POOL_DAY = sum(86400 // s for s in STEPS.values())  # 1,857
DAYS = 60  # history per pool at the default sizes; pools = candles / (1,857 × DAYS)
MAX_POOLS = 1000
YEAR_CANDLES = 670_000_000
YEAR_TRADES = 160_000_000
JUDGED_CANDLES = 100_000_000
JUDGED_TRADES = 20_000_000
GOAL_CANDLE_BYTES = 120
GOAL_TRADE_BYTES = 400
GOAL_YEAR_GB = 60
RECOMMENDED_HOT_MONTHS = 0  # docs/capacity.md's recommendation for a year of 1,000 pools
GOAL_CHART_MS = 20
GOAL_MONTH_MS = 50
GOAL_API_MS = 200
LOADS = "bench_storage_load"  # the bench's note of a finished load (--load-only, --reuse)
TABLES = {"candles": "marketdata_candle", "trades": "marketdata_trade"}
SOL = "So11111111111111111111111111111111111111112"
BLOCK_AT_END = 380_000_000  # Solana slot near END; slots are ~0.4 s
DIGITS = "0123456789"
# (integer digits, zeros after the point, fractional digits) of each decimal field, by side,
# as in the recorded trades (a buy sends SOL for the token; a sell the reverse).
SHAPES = {
    "buy": [(1, 0, 9), (7, 0, 6), "1.0", (1, 6, 21), (3, 0, 45), (1, 4, 67), (3, 0, 54)],
    "sell": [(7, 0, 6), (1, 0, 9), (1, 6, 21), "1.0", (1, 4, 67), (3, 0, 45), (3, 0, 73)],
}
CANDLE_COLUMNS = "pool_id, timeframe, ts, open, high, low, close, volume_usd, is_final"
TRADE_COLUMNS = (
    "pool_id, block_timestamp, event_index, tx_key, block_number, id_lag, kept_trade_id, tx,"
    " tx_from, side, from_token, to_token, from_token_amount, to_token_amount,"
    " price_from_in_currency_token, price_to_in_currency_token, price_from_in_usd,"
    " price_to_in_usd, volume_usd"
)


@dataclass(frozen=True)
class BenchPool:
    id: int
    address: str
    token: str


@dataclass(frozen=True)
class Fill:
    pools: list[BenchPool]
    days: float
    candles: int
    trades: int
    candle_seconds: float
    trade_seconds: float


@dataclass(frozen=True)
class Size:
    rows: int
    heap: int
    indexes: int
    toast: int

    @property
    def total(self) -> int:
        return self.heap + self.indexes + self.toast

    def per_row(self, part: int) -> float:
        return part / self.rows if self.rows else 0.0


def base58(raw: bytes) -> str:
    """Bitcoin-alphabet base58, as Solana writes signatures and addresses."""
    return based58.b58encode(raw).decode("ascii")


def shape_for(candles: int) -> tuple[int, float]:
    """(pools, days of history each) holding ``candles`` across the seven timeframes."""
    pools = max(1, min(MAX_POOLS, round(candles / (CANDLES_PER_POOL_DAY * DAYS))))
    return pools, candles / (pools * CANDLES_PER_POOL_DAY)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {LOADS}")  # noqa: S608 (a constant name)
        cursor.execute(
            "TRUNCATE marketdata_candle, marketdata_trade, marketdata_pool, marketdata_token,"
            " marketdata_network, marketdata_archivedmonth RESTART IDENTITY CASCADE"
        )


def record(fill: Fill, asked: tuple[int, int]) -> None:
    """Note a finished load beside its rows (the bench's own table), for ``--reuse``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {LOADS} (asked_candles bigint, asked_trades bigint, candles bigint,"  # noqa: S608
            " trades bigint, days float8, candle_seconds float8, trade_seconds float8)"
        )
        cursor.execute(
            f"INSERT INTO {LOADS} VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            [*asked, fill.candles, fill.trades, fill.days, fill.candle_seconds, fill.trade_seconds],
        )


def recorded(asked: tuple[int, int]) -> Fill | None:
    """The load of ``asked`` (candles, trades) a ``--load-only`` run left, untouched since:
    None if there is none (or a later run archived part of it)."""
    from django.db import connection

    from marketdata.models import ArchivedMonth, Pool

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [LOADS])
        if cursor.fetchone()[0] is None or ArchivedMonth.objects.exists():
            return None
        cursor.execute(
            f"SELECT candles, trades, days, candle_seconds, trade_seconds FROM {LOADS}"  # noqa: S608
            " WHERE asked_candles = %s AND asked_trades = %s",
            list(asked),
        )
        found = cursor.fetchone()
    if found is None:
        return None
    pools = [
        BenchPool(p.id, p.address, p.base_token.address)
        for p in Pool.objects.select_related("base_token").order_by("id")
    ]
    return Fill(pools, found[2], found[0], found[1], found[3], found[4])


def make_pools(n: int, rng: random.Random) -> list[BenchPool]:
    from marketdata.models import Network, Pool, Token

    network = Network.objects.create(slug="solana", name="Solana")
    sol = Token.objects.create(network=network, address=SOL, symbol="SOL", decimals=9)
    tokens = Token.objects.bulk_create(
        Token(network=network, address=base58(rng.randbytes(32))[:40] + "pump", symbol=f"B{i}")
        for i in range(n)
    )
    pools = Pool.objects.bulk_create(
        Pool(
            network=network,
            address=base58(rng.randbytes(32)),
            base_token=token,
            quote_token=sol,
            name=f"{token.symbol} / SOL",
        )
        for token in tokens
    )
    return [BenchPool(p.id, p.address, p.base_token.address) for p in pools]


def _days(days: float) -> range:
    """Day windows (epoch seconds) back from END covering ``days``."""
    end = int(END.timestamp())
    first = end - math.ceil(days) * 86400
    return range(first, end, 86400)


def candle_rows(pools: list[BenchPool], days: float, rng: random.Random):
    end = int(END.timestamp())
    # Whole bars, rounded up: the load holds at least the candles asked for.
    starts = {tf: end - math.ceil(days * 86400 / step) * step for tf, step in STEPS.items()}
    price = {p.id: 10 ** rng.uniform(-6, -3) for p in pools}
    for lo in _days(days):
        for pool in pools:
            for tf, step in STEPS.items():
                for t in range(max(lo, starts[tf]), lo + 86400, step):
                    o = price[pool.id]
                    c = o * (1 + rng.gauss(0, 0.01))
                    price[pool.id] = c
                    ts = datetime.fromtimestamp(t, UTC)
                    yield (
                        pool.id,
                        tf,
                        ts,
                        o,
                        max(o, c) * (1 + abs(rng.gauss(0, 0.004))),
                        min(o, c) * (1 - abs(rng.gauss(0, 0.004))),
                        c,
                        rng.expovariate(1 / (step / 3)),
                        t + step < end,
                    )


def decimal_text(rng: random.Random, shape) -> str:
    """A decimal string of the shape's lengths, its last digit non-zero (as the API sends)."""
    if isinstance(shape, str):
        return shape
    whole, zeros, frac = shape
    frac -= rng.choice((0, 0, 0, 0, 0, 0, 0, 1, 1, 2))
    if zeros:
        head = "0"
    elif whole > 1:
        head = str(rng.randrange(10 ** (whole - 1), 10**whole))
    else:
        head = str(rng.randrange(10))
    body = frac - zeros - 1
    tail = str(rng.randrange(10**body)).zfill(body) + str(rng.randrange(1, 10))
    return f"{head}.{'0' * zeros}{tail}"


def trade_rows(pools: list[BenchPool], days: float, trades: int, rng: random.Random):
    end = int(END.timestamp())
    wallets = [base58(rng.randbytes(32)) for _ in range(max(10, trades // 20))]
    windows = _days(days)
    per_window = trades / (len(pools) * len(windows))
    made = 0
    for w, lo in enumerate(windows):
        for p, pool in enumerate(pools):
            target = round(per_window * (w * len(pools) + p + 1))
            count, made = target - made, target
            for t in sorted(rng.randrange(lo, lo + 86400) for _ in range(count)):
                side = rng.choice(("buy", "sell"))
                tx = base58(rng.randbytes(64))
                block = BLOCK_AT_END - int((end - t) / 0.4)
                at = datetime.fromtimestamp(t, UTC)
                trade_id = f"solana_{block}_{tx}_{rng.randint(0, 250)}_{t + rng.randint(3, 10)}"
                pair = (SOL, pool.token) if side == "buy" else (pool.token, SOL)
                numbers = [decimal_text(rng, s) for s in SHAPES[side]]
                yield (
                    trade_id,
                    pool.id,
                    block,
                    at,
                    tx,
                    rng.choice(wallets),
                    side,
                    *pair,
                    *numbers,
                )


def lean_trade_rows(pools: list[BenchPool], rows, batch: int = 10_000):
    """The API-shaped rows in the store's lean layout, as store.upsert_trades writes them."""
    from marketdata.trade_layout import TRADE_FIELDS, PoolTokens, encode_rows

    api_fields = ("trade_id", "pool_id", *TRADE_FIELDS[1:])  # as trade_rows yields them
    owners = {pool.id: PoolTokens("solana", pool.token, SOL) for pool in pools}
    names = [c.strip() for c in TRADE_COLUMNS.split(",")]
    chunk = []
    for row in rows:
        chunk.append(dict(zip(api_fields, row, strict=True)))
        if len(chunk) == batch:
            yield from (tuple(r[c] for c in names) for r in encode_rows(chunk, owners))
            chunk = []
    yield from (tuple(r[c] for c in names) for r in encode_rows(chunk, owners))


def _copy(table: str, columns: str, rows) -> int:
    """COPY ``rows`` into ``table``; the number of rows written."""
    from django.db import connection

    n = 0
    with connection.cursor() as cursor:
        # As pg_restore --disable-triggers loads: the pools the rows name were made first, and
        # the foreign key's check is a query a row, queued until the commit (minutes at the
        # judged size, with the rows already sent).
        cursor.execute("SET session_replication_role = replica")
        try:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    copy.write_row(row)
                    n += 1
        finally:
            cursor.execute("RESET session_replication_role")
    return n


def fill(candles: int, trades: int, seed: int = 17, jobs: int = 1) -> Fill:
    """Empty the store and load ``candles`` and ``trades`` into today's tables with COPY, in
    ``jobs`` processes of their own (each a share of the pools, its own connection): making a
    trade's rows costs more Python than PostgreSQL takes to store it, and two cores load the
    judged size in about half the time. One job loads in this process, on its connection."""
    rng = random.Random(seed)
    reset()
    n_pools, days = shape_for(candles)
    pools = make_pools(n_pools, rng)
    from marketdata import partitions

    first = datetime.fromtimestamp(_days(days)[0], UTC)
    for table in TABLES.values():
        partitions.ensure_span(table, first, END)  # as a backfill makes its months first
    parts = [pools[i::jobs] for i in range(jobs)]
    shares = [trades * (i + 1) // jobs - trades * i // jobs for i in range(jobs)]
    seeds = [rng.randrange(2**32) for _ in parts]
    started = time.monotonic()
    n_candles = _in_jobs(_load_candles, parts, [days] * jobs, seeds)
    candle_seconds = time.monotonic() - started
    started = time.monotonic()
    n_trades = _in_jobs(_load_trades, parts, [(days, share) for share in shares], seeds)
    trade_seconds = time.monotonic() - started
    return Fill(pools, days, n_candles, n_trades, candle_seconds, trade_seconds)


def _in_jobs(load, *arguments: list) -> int:
    """Rows written by ``load`` over each job's arguments: here for one job, else in spawned
    processes (a fork would share this process's connection)."""
    if len(arguments[0]) == 1:
        return load(*(args[0] for args in arguments))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import django

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        len(arguments[0]), mp_context=context, initializer=django.setup
    ) as executor:
        return sum(executor.map(load, *arguments))


def _load_candles(pools: list[BenchPool], days: float, seed: int) -> int:
    return _copy("marketdata_candle", CANDLE_COLUMNS, candle_rows(pools, days, random.Random(seed)))


def _load_trades(pools: list[BenchPool], shape: tuple[float, int], seed: int) -> int:
    days, trades = shape
    rows = trade_rows(pools, days, trades, random.Random(seed))
    return _copy("marketdata_trade", TRADE_COLUMNS, lean_trade_rows(pools, rows))


def settle(vacuum: bool = True) -> None:
    """Statistics (and the visibility map) as tables have them after autovacuum's visit; the
    small ones too (pools: with no statistics the admin's list was planned as a sort of each
    pool's bars, 230 ms a page), as autovacuum may be off where the bench runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        if vacuum:
            for table in TABLES.values():
                cursor.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        cursor.execute("ANALYZE")  # every table once, the two big ones included


def sizes() -> dict[str, Size]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for name, table in TABLES.items():
            cursor.execute(
                "SELECT (SELECT count(*) FROM " + table + "),"  # noqa: S608 (constant names)
                " sum(pg_total_relation_size(c.oid))::bigint, sum(pg_indexes_size(c.oid))::bigint,"
                " sum(COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0))::bigint"
                " FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid",
                [table],
            )
            rows, total, indexes, toast = cursor.fetchone()
            out[name] = Size(rows, total - indexes - toast, indexes, toast)
    return out


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _timed(call, picks) -> list[float]:
    call(*picks[0])  # warm the caches and the code paths once
    out = []
    for pick in picks:
        started = time.perf_counter()
        call(*pick)
        out.append((time.perf_counter() - started) * 1000)
    return out


def in_database_ms(queryset) -> float:
    """The query's execution time inside PostgreSQL (every row read, none sent)."""
    from django.db import connection

    query, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Django's own SQL for the queryset, its values still parameters.
        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {query}", params)  # noqa: S608
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Execution Time"]


def latencies(fill: Fill, runs: int, seed: int = 17) -> dict[str, list[float]]:
    """Milliseconds per read, ``runs`` reads each, on random pools and timeframes.

    ``chart_db``/``month_db`` are the candle queries' time inside PostgreSQL, what the store's
    layout decides; ``chart`` (all of ``chart_data``) and ``month`` (its rows fetched into
    Python through the ORM) add what the application does with them."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from marketdata.chart import chart_data
    from marketdata.models import Candle

    rng = random.Random(seed)
    ids = [p.id for p in fill.pools]
    timeframes = list(STEPS)
    columns = ("ts", "open", "high", "low", "close", "volume_usd")

    def last_1000(pool_id: int, timeframe: str):
        query = Candle.objects.filter(pool_id=pool_id, timeframe=timeframe).order_by("-ts")
        return query.values_list(*columns)[:1000]

    def month_of_1m(pool_id: int):
        month = END - timedelta(days=30)
        query = Candle.objects.filter(pool_id=pool_id, timeframe="1m", ts__gte=month, ts__lt=END)
        return query.values_list(*columns)

    def fetch(pool_id: int) -> None:
        list(month_of_1m(pool_id))

    user, _ = get_user_model().objects.get_or_create(username="storage-bench")
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    span = int(fill.days * 86400)

    def api(pool_id: int, timeframe: str, since: datetime) -> None:
        params = {"pool": pool_id, "timeframe": timeframe, "since": since.isoformat()}
        response = client.get("/api/v1/candles/", params)
        if response.status_code != 200:
            raise RuntimeError(f"/api/v1/candles/ answered {response.status_code}")

    staff, _ = get_user_model().objects.get_or_create(
        username="storage-bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    admin = Client(SERVER_NAME="localhost")
    admin.force_login(staff)

    def changelist(model: str, page: int) -> None:
        response = admin.get(f"/admin/marketdata/{model}/", {"p": page} if page else {})
        if response.status_code != 200:
            raise RuntimeError(f"the {model} changelist answered {response.status_code}")

    charts = [(rng.choice(ids), rng.choice(timeframes)) for _ in range(runs)]
    last_page = max(0, min(fill.candles, fill.trades) // 100 - 1)  # the admin's 100 a page
    some_pages = [page for page in (0, 0, 1, 5, 50) if page <= last_page]
    pages = [(rng.choice(("candlerow", "trade")), rng.choice(some_pages)) for _ in range(runs)]
    months = [(rng.choice(ids),) for _ in range(runs)]
    since = [END - timedelta(seconds=rng.randrange(span)) for _ in range(runs)]
    return {
        "chart_db": [in_database_ms(last_1000(*pick)) for pick in charts],
        "chart": _timed(lambda pk, tf: chart_data(pk, tf, 1000), charts),
        "month_db": [in_database_ms(month_of_1m(*pick)) for pick in months],
        "month": _timed(fetch, months),
        "api": _timed(api, [(*pick, at) for pick, at in zip(charts, since, strict=True)]),
        "admin": _timed(changelist, pages),
    }


def verdict(value: float, goal: float) -> str:
    return "MET" if value <= goal else "NOT MET"


def size_lines(measured: dict[str, Size]) -> list[str]:
    lines = [
        f"{'table':<8} {'rows':>12} {'bytes/row':>9} {'heap':>6} {'indexes':>7} {'toast':>6}"
        f" {'all-in MB':>10}"
    ]
    for name, size in measured.items():
        lines.append(
            f"{name:<8} {size.rows:>12,} {size.per_row(size.total):>9.0f}"
            f" {size.per_row(size.heap):>6.0f} {size.per_row(size.indexes):>7.0f}"
            f" {size.per_row(size.toast):>6.0f} {size.total / 1e6:>10.1f}"
        )
    return lines


def reindex() -> None:
    """Pack the indexes as the daily maintenance packs an ended month's (marketdata.partitions
    .compact: full, fillfactor 100); the other leaves (the default partition) are rebuilt."""
    from django.db import connection
    from django.utils import timezone

    from marketdata import partitions

    with connection.cursor() as cursor:
        # Sorts of a 58M-row month in memory, not in temporary files: the same indexes, sooner.
        cursor.execute("SET maintenance_work_mem = '1GB'")
    ended = set(partitions.ended_loose(timezone.now()))
    for leaf in ended:
        partitions.compact(leaf, concurrently=False)
    with connection.cursor() as cursor:
        for table in TABLES.values():
            # Partition by partition: a partitioned table's REINDEX refuses a transaction.
            cursor.execute(
                "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) WHERE isleaf",
                [table],
            )
            for (leaf,) in cursor.fetchall():
                if leaf not in ended:
                    cursor.execute(sql.SQL("REINDEX TABLE {}").format(sql.Identifier(leaf)))


@dataclass(frozen=True)
class Archived:
    month: str
    rows: int
    seconds: float
    bytes_per_row: dict[str, float]


def _archive(table: str, month: datetime, directory: str) -> tuple[int, int]:
    """Archive one table's month; its rows and file bytes."""
    from marketdata import archive

    done = archive.archive_month(table, month, Path(directory))
    return done.rows, Path(done.path).stat().st_size if done.rows else 0


def archive_fullest_month() -> Archived | None:
    """Archive the month holding the most candles (marketdata.archive: write, read back, check,
    drop) into a temporary directory, candles then trades; what its files take a row and how
    long it took."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('month', ts, 'UTC'), count(*) FROM marketdata_candle"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )
        fullest = cursor.fetchone()
    if fullest is None:
        return None
    month = fullest[0].astimezone(UTC)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        done = {n: _archive(t, month, directory) for n, t in TABLES.items()}
    per_row = {name: size / rows for name, (rows, size) in done.items() if rows}
    rows = sum(rows for rows, _ in done.values())
    return Archived(f"{month:%Y-%m}", rows, time.monotonic() - started, per_row)


def backup_lines() -> list[str]:
    """``make backup`` and ``make restore`` (geckoproject.backup) of the bench's database, the
    archive's files included, timed per GB of database; the restore goes to a database of its
    own, dropped afterwards."""
    from django.conf import settings
    from django.db import connection

    from geckoproject.backup import backup, restore

    db = settings.DATABASES["default"]
    target = dict(db, NAME=f"{db['NAME']}_restore")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        gb = cursor.fetchone()[0] / 1e9
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target["NAME"])))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target["NAME"])))
    try:
        with tempfile.TemporaryDirectory() as directory:
            started = time.monotonic()
            dump = backup(Path(directory) / "bench.dump")
            backup_s = time.monotonic() - started
            started = time.monotonic()
            restore(dump, target)
            restore_s = time.monotonic() - started
            dump_gb = dump.stat().st_size / 1e9
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(target["NAME"])
                )
            )
    return [
        f"make backup: {backup_s:.1f} s for a {gb:.2f} GB database ({backup_s / gb:.0f} s/GB;"
        f" dump {dump_gb:.2f} GB); make restore: {restore_s:.1f} s ({restore_s / gb:.0f} s/GB)"
    ]


def year_with_archive(candle_b: float, trade_b: float, archived: Archived) -> float:
    """GB for a year of 1,000 pools with GECKO_HOT_MONTHS at docs/capacity.md's recommendation:
    this month and the hot ones in PostgreSQL, the rest in Parquet, at the end of a month (the
    current month full: the most the disk holds)."""
    hot = (RECOMMENDED_HOT_MONTHS + 1) / 12
    cold_candle = archived.bytes_per_row.get("candles", candle_b)
    cold_trade = archived.bytes_per_row.get("trades", trade_b)
    candles = YEAR_CANDLES * (hot * candle_b + (1 - hot) * cold_candle)
    trades = YEAR_TRADES * (hot * trade_b + (1 - hot) * cold_trade)
    return (candles + trades) / 1e9


def archive_lines(measured: dict[str, Size], archived: Archived | None) -> list[str]:
    if archived is None:
        return ["archive: no month to archive"]
    candle_b = measured["candles"].per_row(measured["candles"].total)
    trade_b = measured["trades"].per_row(measured["trades"].total)
    year_gb = year_with_archive(candle_b, trade_b, archived)
    all_hot = (YEAR_CANDLES * candle_b + YEAR_TRADES * trade_b) / 1e9
    cold = ", ".join(f"{k} {v:.0f} B/row" for k, v in archived.bytes_per_row.items())
    return [
        f"archive of {archived.month} ({archived.rows:,} rows written, read back, checked and"
        f" dropped) in {archived.seconds:.1f} s"
        f" ({archived.rows / max(archived.seconds, 1e-9):,.0f} rows/s); Parquet: {cold}",
        f"a year of 1,000 pools with GECKO_HOT_MONTHS={RECOMMENDED_HOT_MONTHS}"
        f" ({RECOMMENDED_HOT_MONTHS + 1} of 12 months in PostgreSQL, the rest in Parquet):"
        f" {year_gb:.1f} GB (goal ≤ {GOAL_YEAR_GB} GB):"
        f" {verdict(year_gb, GOAL_YEAR_GB)}",
        "a year on disk (GB), all in PostgreSQL / with the archive at that setting: "
        + "; ".join(
            f"{pools:,} pools {all_hot * pools / 1000:,.1f} / {year_gb * pools / 1000:,.1f}"
            for pools in (100, 1000, 10_000)
        ),
    ]


def report(fill: Fill, measured: dict[str, Size], reads: dict[str, list[float]]) -> list[str]:
    seconds = fill.candle_seconds + fill.trade_seconds
    lines = [
        f"load: {fill.candles:,} candles ({len(fill.pools):,} pools × 7 timeframes ×"
        f" {fill.days:.1f} days) in {fill.candle_seconds:.1f} s"
        f" ({fill.candles / max(fill.candle_seconds, 1e-9):,.0f} rows/s) + {fill.trades:,} trades"
        f" in {fill.trade_seconds:.1f} s ({fill.trades / max(fill.trade_seconds, 1e-9):,.0f}"
        f" rows/s); load took {seconds:.1f} s (COPY, rows made in Python)",
        "",
        *size_lines(measured),
    ]
    candle_b = measured["candles"].per_row(measured["candles"].total)
    trade_b = measured["trades"].per_row(measured["trades"].total)
    year_gb = (YEAR_CANDLES * candle_b + YEAR_TRADES * trade_b) / 1e9
    reads_p95 = {k: p95(v) for k, v in reads.items()}
    runs = len(reads["chart"])
    lines += [
        "",
        f"candles on disk: {candle_b:.0f} B/row all-in (goal ≤ {GOAL_CANDLE_BYTES}):"
        f" {verdict(candle_b, GOAL_CANDLE_BYTES)}",
        f"trades on disk: {trade_b:.0f} B/row all-in (goal ≤ {GOAL_TRADE_BYTES}):"
        f" {verdict(trade_b, GOAL_TRADE_BYTES)}",
        f"a year of 1,000 pools all in PostgreSQL: {YEAR_CANDLES / 1e6:.0f}M candles ×"
        f" {candle_b:.0f} B + {YEAR_TRADES / 1e6:.0f}M trades × {trade_b:.0f} B = {year_gb:.0f} GB",
        f"chart query (one pool, one timeframe, last 1,000) p95 {reads_p95['chart_db']:.1f} ms"
        f" in the database over {runs} (goal ≤ {GOAL_CHART_MS} ms):"
        f" {verdict(reads_p95['chart_db'], GOAL_CHART_MS)}",
        f"  (chart_data in full, trade markers and gaps included: p95 {reads_p95['chart']:.1f} ms)",
        f"one pool's 30 days of 1m p95 {reads_p95['month_db']:.1f} ms in the database over"
        f" {runs} (goal ≤ {GOAL_MONTH_MS} ms): {verdict(reads_p95['month_db'], GOAL_MONTH_MS)}",
        f"  (fetched into Python through the ORM: p95 {reads_p95['month']:.1f} ms)",
        f"/api/v1/candles/ (DRF test client, token user, first page of 500) p95"
        f" {reads_p95['api']:.1f} ms over {runs} (goal ≤ {GOAL_API_MS} ms):"
        f" {verdict(reads_p95['api'], GOAL_API_MS)}",
        f"admin changelists of candles and trades (pages 1 to 51, as a staff user) p95"
        f" {reads_p95['admin']:.1f} ms over {runs} (goal ≤ {GOAL_API_MS} ms):"
        f" {verdict(reads_p95['admin'], GOAL_API_MS)}",
    ]
    if fill.candles < JUDGED_CANDLES or fill.trades < JUDGED_TRADES:
        lines.append(
            f"(a quick look: the goals are judged at ≥ {JUDGED_CANDLES / 1e6:.0f}M candles and"
            f" ≥ {JUDGED_TRADES / 1e6:.0f}M trades)"
        )
    return lines


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a number above 0")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candles", type=positive, default=2_000_000)
    parser.add_argument("--trades", type=positive, default=300_000)
    parser.add_argument("--runs", type=positive, default=50, help="reads timed per query")
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="skip timing make backup and make restore (~1 min a GB of database)",
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="load (and vacuum) the store, then stop: a later --reuse run measures it",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the load a --load-only run of the same sizes left, if it is still there",
    )
    parser.add_argument(
        "--jobs", type=positive, default=2, help="processes that load the store (default: 2)"
    )
    parser.add_argument(
        "--no-tick", action="store_true", help="skip the planner tick at 20,000 pools (~2 min)"
    )
    parser.add_argument(
        "--no-export",
        action="store_true",
        help="skip export_qlib at 1,000 pools × a year, hot and archived (~9 min)",
    )
    args = parser.parse_args()
    from bench._database import configure, migrated

    migrated(configure("bench_gecko_storage", redis_db=9))
    asked = (args.candles, args.trades)
    loaded = recorded(asked) if args.reuse else None
    if loaded is None:
        print(f"loading {args.candles:,} candles and {args.trades:,} trades …", flush=True)  # noqa: T201
        loaded = fill(*asked, jobs=args.jobs)
        settle()
        record(loaded, asked)
    else:
        say(f"measuring the {loaded.candles:,} candles and {loaded.trades:,} trades loaded before")
    if args.load_only:
        return 0
    collected = sizes()
    reads = latencies(loaded, args.runs)
    reindex()  # what the daily maintenance does to every month that has ended
    measured = sizes()
    # Each figure as soon as it is known: the judged run takes an hour and more.
    say(*report(loaded, measured, reads))
    written = storage_write.measure(storage_write.when_loaded(_days(loaded.days)[0]))
    say(written.line(verdict), "")
    say("as collected, before the maintenance packs the ended months (not judged):")
    say(*size_lines(collected))
    say(*archive_lines(measured, archive_fullest_month()))
    if not args.no_tick:
        quiesce()
        say(storage_relays.planner_tick_line(ROOT))
    if not args.no_export:
        quiesce()
        say(storage_relays.export_line(ROOT, verdict))
    if not args.no_backup:
        quiesce()
        say(*backup_lines())
    return 0


def quiesce() -> None:
    """Flush what the steps before wrote (PostgreSQL's dirty buffers, then the kernel's dirty
    pages) before a timed step: the archive and the reindex leave gigabytes to write back, and
    a step timed while they drain measures the disk's backlog."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    os.sync()


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)  # noqa: T201


if __name__ == "__main__":
    sys.exit(main())
