"""Cold months leave PostgreSQL for Parquet, verified first, and stay readable.

A month of candles or trades (one partition, marketdata.partitions) is written to
``GECKO_ARCHIVE_DIR/<candles|trades>/<YYYY-MM>.parquet`` (zstd), read back and checked against
the partition (same row count, same blake2b over every column as written), and only then detached
and dropped, in the transaction that records it as an ArchivedMonth. A run killed anywhere
leaves either the partition, or the verified file and its record: it is simply run again.

What the API sent stays exact: candle values are the doubles stored; a trade gives back the
API's strings (``read_rows``: hashes and addresses as sent, money as the decimal text sent, "1.0"
stays "1.0"), and its id as the parts that rebuild it (``trade_id_of``; the id repeats the tx
hash, which would cost a third of the file), or whole where they do not. Coverage
(marketdata.coverage) is never archived, so an archived month is never "missing" and no
backfill fetches it again.

Encodings (standard ones: pandas, polars and DuckDB read the files; bench/storage.py measured
57 -> 38 B a candle and 213 -> 180 B a trade):

- a candle's ``open`` is null where it is the bar before's ``close`` to the bit (same pool and
  timeframe, the row before in the file): the API opens a bar at the last one's close, so a
  fifth of the doubles need not be stored. ``read_rows`` and qlib_export.cold fill it back; in
  SQL it is ``coalesce(open, lag(close) OVER (PARTITION BY pool_id, timeframe ORDER BY ts))``;
- doubles BYTE_STREAM_SPLIT, not dictionary: their low mantissa bytes are noise, but apart from
  them the sign, exponent and top bytes, alike from bar to bar, compress;
- ``ts``, ``block_timestamp``, ``block_number``, ``id_ts`` DELTA_BINARY_PACKED: sorted by pool
  and time, each is a small step from the row before;
- a trade's hash and sender as the bytes they encode (marketdata.trade_codec, the database's
  ``tx`` and ``tx_from``): base58 text costs zstd more than the bytes. The hash PLAIN, as it
  never repeats; the sender's dictionary may hold a row group's senders (``DICTIONARY_BYTES``),
  past pyarrow's 1 MB, where it would fall back to plain for the rest of the row group;
- money as ``<name>_digits``, the decimal's digits as one big-endian two's complement integer,
  and ``<name>_scale``, the digits after the point ("1.0": 10 and 1): as text zstd kept a digit
  in 4.2 bits, as an integer it takes 3.3 (log2 10, the floor for random digits), lengths apart
  (DELTA_LENGTH_BYTE_ARRAY). Not ``decimal(76, 0)``: polars refuses a precision past 38 and
  DuckDB reads it as a double. A value the pair would not give back exactly (NaN, a scale past
  an int8) is kept in ``<name>_text``. In Python the text is ``format(Decimal(f"{mantissa}e-
  {scale}"), "f")``, ``mantissa = int.from_bytes(digits, "big", signed=True)``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from psycopg import sql

from . import archive_candles, partitions
from .archive_digest import BatchDigest
from .models import ArchivedMonth, Pool, Trade
from .trade_codec import decode_address
from .trade_layout import MONEY, PoolTokens, addresses_of, pools_of

logger = logging.getLogger(__name__)
BATCH = 100_000
LOCK_TIMEOUT_MS = 5_000
UTC_US = pa.timestamp("us", tz="UTC")
OPEN_DOC = "Null: the close of the row before (same pool_id and timeframe), bit for bit"
SCHEMAS = {
    "marketdata_candle": pa.schema(
        [
            ("pool_id", pa.int64()),
            ("pool_address", pa.string()),
            ("timeframe", pa.string()),
            ("ts", UTC_US),
            pa.field("open", pa.float64(), metadata={"doc": OPEN_DOC}),
            ("high", pa.float64()),
            ("low", pa.float64()),
            ("close", pa.float64()),
            ("volume_usd", pa.float64()),
            ("is_final", pa.bool_()),
        ]
    ),
    "marketdata_trade": pa.schema(
        [
            ("pool_id", pa.int64()),
            ("pool_address", pa.string()),
            ("network", pa.string()),
            ("event_index", pa.int64()),
            ("id_ts", pa.int64()),
            ("kept_trade_id", pa.string()),
            ("block_number", pa.int64()),
            ("block_timestamp", UTC_US),
            ("tx_hash", pa.string()),
            ("tx_from_address", pa.string()),
            ("side", pa.string()),
            ("from_token_address", pa.string()),
            ("to_token_address", pa.string()),
            *[(name, pa.string()) for name in MONEY],
        ]
    ),
}
FOLDERS = {"marketdata_candle": "candles", "marketdata_trade": "trades"}
# Trade columns a file keeps in a compact form (see the module's docstring); SCHEMAS above are
# the rows as read and checked, FILE_SCHEMAS what the file holds.
ADDRESSES = {"tx_hash": "tx", "tx_from_address": "tx_from"}  # and their Trade fields
ENCODED = "encoded"  # a trade row's key: its addresses as the database holds them
MAX_SCALE = 127  # an int8
# A decimal's text as unpack_decimal writes it (no "+", no leading zero, a point only between
# digits) unless it is a negative zero, whose sign the integer loses.
PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
MAX_DIGITS = 1_000  # well below Python's int <-> str limit (4,300 digits)
DIGITS_DOC = (
    "The decimal's digits as a big-endian two's complement integer: the value is it / 10 **"
    " <name>_scale. Null: the value is <name>_text (null too: no value)"
)


def _file_fields(field: pa.Field) -> list[pa.Field]:
    if field.name in ADDRESSES:
        return [pa.field(field.name, pa.binary())]
    if field.name in MONEY:
        return [
            pa.field(f"{field.name}_digits", pa.binary(), metadata={"doc": DIGITS_DOC}),
            pa.field(f"{field.name}_scale", pa.int8()),
            pa.field(f"{field.name}_text", pa.string()),
        ]
    return [field]


FILE_SCHEMAS = {
    "marketdata_candle": SCHEMAS["marketdata_candle"],
    "marketdata_trade": pa.schema(
        [f for field in SCHEMAS["marketdata_trade"] for f in _file_fields(field)]
    ),
}
DICTIONARY_BYTES = 8 << 20  # a row group's distinct senders (33 bytes each)
DELTA, SPLIT = "DELTA_BINARY_PACKED", "BYTE_STREAM_SPLIT"
# Columns not named here are dictionary-encoded (pyarrow's default).
ENCODINGS = {
    "marketdata_candle": {
        "ts": DELTA,
        **{name: SPLIT for name in ("open", "high", "low", "close", "volume_usd")},
    },
    "marketdata_trade": {
        "block_timestamp": DELTA,
        "block_number": DELTA,
        "id_ts": DELTA,
        "tx_hash": "PLAIN",
        **{f"{name}_digits": "DELTA_LENGTH_BYTE_ARRAY" for name in MONEY},
    },
}


class ArchiveError(RuntimeError):
    """The file did not verify against the partition; nothing was dropped."""


@dataclass(frozen=True)
class Written:
    rows: int
    checksum: str


def cold_months(now: datetime, hot_months: int) -> datetime:
    """The first month kept hot: months before it ended more than ``hot_months`` months ago."""
    month = partitions.month_start(now)
    for _ in range(hot_months):
        month = month.replace(
            year=month.year - (month.month == 1), month=(month.month - 2) % 12 + 1
        )
    return month


def path_for(table: str, month: datetime, directory: Path | None = None) -> Path:
    base = Path(directory or settings.GECKO_ARCHIVE_DIR)
    return base / FOLDERS[table] / f"{month:%Y-%m}.parquet"


def pack_decimal(text: str) -> tuple[bytes, int] | None:
    """(digits, scale) of a decimal's text (``"1.0"``: 10 and 1), or None for a text they would
    not give back exactly (``NaN``, ``-0.0``, a scale past an int8, MAX_DIGITS digits)."""
    negative = text.startswith("-")
    whole, _, fraction = text.removeprefix("-").partition(".")
    digits = whole + fraction
    fits = len(fraction) <= MAX_SCALE and len(digits) <= MAX_DIGITS
    if not (fits and digits.isascii() and digits.isdigit()):
        return None
    number = -int(digits) if negative else int(digits)
    packed = number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True)
    if PLAIN_DECIMAL.fullmatch(text) and (number or not negative):
        return packed, len(fraction)  # gives the text back: no need to try
    return (packed, len(fraction)) if unpack_decimal(packed, len(fraction)) == text else None


def unpack_decimal(packed: bytes, scale: int) -> str:
    number = int.from_bytes(packed, "big", signed=True)
    digits = str(abs(number))
    if scale:
        digits = digits.rjust(scale + 1, "0")
        digits = f"{digits[:-scale]}.{digits[-scale:]}"
    return "-" + digits if number < 0 else digits


def _to_file(table: str, row: dict) -> dict:
    """A row as its file keeps it (FILE_SCHEMAS)."""
    if table != "marketdata_trade":
        return row
    out = dict(row)
    out.update(out.pop(ENCODED))  # the database's own bytes: no second encoding
    for name in MONEY:
        text = out.pop(name)
        packed = None if text is None else pack_decimal(text)
        out[f"{name}_digits"], out[f"{name}_scale"] = packed or (None, None)
        out[f"{name}_text"] = text if packed is None else None
    return out


def _from_file(table: str, row: dict) -> dict:
    """The row ``_to_file`` was given."""
    if table != "marketdata_trade":
        return row
    for name in ADDRESSES:
        row[name] = None if row[name] is None else decode_address(row[name])
    for name in MONEY:
        packed, scale = row.pop(f"{name}_digits"), row.pop(f"{name}_scale")
        text = row.pop(f"{name}_text")
        row[name] = text if packed is None else unpack_decimal(packed, scale)
    return row


TRADE_COLUMNS = (
    "pool_id",
    "event_index",
    "id_lag",
    "kept_trade_id",
    "block_number",
    "block_timestamp",
    "tx",
    "tx_from",
    "side",
    "from_token",
    "to_token",
    *MONEY,
)


def _trade_rows(month: datetime) -> Iterator[dict]:
    """The month's trades as the archive keeps them (SCHEMAS, but a trade's hash and sender
    as the database's bytes, under ENCODED), in key order."""
    trades = (
        Trade.objects.filter(
            block_timestamp__gte=month, block_timestamp__lt=partitions.next_month(month)
        )
        .order_by("pool_id", "block_timestamp", "event_index", "tx_key")
        # Money as PostgreSQL's text of the numeric: the digits and scale stored, no Decimal.
        .annotate(**{f"{name}_sent": Cast(name, TextField()) for name in MONEY})
        .values_list(*TRADE_COLUMNS[: -len(MONEY)], *(f"{name}_sent" for name in MONEY))
    )
    pools: dict[int, tuple[str, PoolTokens]] = {}
    for values in trades.iterator(chunk_size=BATCH // 10):
        trade = dict(zip(TRADE_COLUMNS, values, strict=True))
        pool_id = trade["pool_id"]
        if pool_id not in pools:
            address = Pool.objects.values_list("address", flat=True).get(pk=pool_id)
            pools[pool_id] = (address, pools_of([pool_id])[pool_id])
        address, tokens = pools[pool_id]
        kept = trade["kept_trade_id"] is not None
        row = {
            "pool_id": pool_id,
            "pool_address": address,
            "network": tokens.network,
            "event_index": None if kept else trade["event_index"],
            "id_ts": None if kept else int(trade["block_timestamp"].timestamp()) + trade["id_lag"],
            **{k: trade[k] for k in ("kept_trade_id", "block_number", "block_timestamp", "side")},
        }
        row["from_token_address"], row["to_token_address"] = addresses_of(
            trade["from_token"], trade["to_token"], trade["side"], tokens
        )
        row.update((name, trade[name]) for name in MONEY)
        row[ENCODED] = {name: bytes(trade[field]) for name, field in ADDRESSES.items()}
        yield row


def _batches(rows: Iterable[dict]) -> Iterator[list[dict]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def write_month(table: str, month: datetime, path: Path) -> Written:
    """Write the month to ``path`` (via a partial name); its row count and checksum."""
    schema, encodings = FILE_SCHEMAS[table], ENCODINGS[table]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(
        partial,
        schema,
        compression="zstd",
        compression_level=9,
        use_dictionary=[name for name in schema.names if name not in encodings],
        column_encoding=encodings,
        dictionary_pagesize_limit=DICTIONARY_BYTES,
    ) as writer:
        if table == "marketdata_candle":
            try:
                count, checksum = archive_candles.write(month, writer, BATCH)
            except archive_candles.CandleFileError as error:
                raise ArchiveError(f"{table} {month:%Y-%m}: {error}") from None
        else:
            digest = BatchDigest(schema)
            for batch in _batches(_trade_rows(month)):
                rows = [_to_file(table, row) for row in batch]
                record_batch = pa.RecordBatch.from_pylist(rows, schema=schema)
                digest.update(record_batch)
                writer.write_batch(record_batch)
            count, checksum = digest.rows, digest.hexdigest()
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    partial.replace(path)
    return Written(count, checksum)


def read_rows(table: str, path: Path) -> Iterator[dict]:
    """The rows of an archive file as written (SCHEMAS: a trade's strings as the API sent them,
    a candle's open filled back)."""
    batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH)
    if table == "marketdata_candle":
        batches = _with_opens(batches, path)
    for batch in batches:
        yield from (_from_file(table, row) for row in batch.to_pylist())


def _with_opens(batches: Iterable[pa.RecordBatch], path: Path) -> Iterator[pa.RecordBatch]:
    """Candle batches of a file, in file order, their opens filled back."""
    series = archive_candles.Series()
    for batch in batches:
        try:
            yield archive_candles.with_opens(batch, series)
        except archive_candles.CandleFileError as error:
            raise ArchiveError(f"{path}: {error}") from None


def read_back(table: str, path: Path) -> Written:
    """What :func:`write_month` returned, recomputed from the file."""
    if table == "marketdata_candle":
        try:
            return Written(*archive_candles.read_back(path, BATCH))
        except archive_candles.CandleFileError as error:
            raise ArchiveError(str(error)) from None
    file = pq.ParquetFile(path)
    digest = BatchDigest(file.schema_arrow)
    for batch in file.iter_batches(batch_size=BATCH):
        digest.update(batch)
    return Written(digest.rows, digest.hexdigest())


def _exists(partition: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition])
        return cursor.fetchone()[0]


def _count(partition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(partition)))
        return cursor.fetchone()[0]


def archive_month(table: str, month: datetime, directory: Path | None = None) -> ArchivedMonth:
    """Archive one month of ``table``: write, verify, then record and drop in one transaction
    (a month archived already is left as it is)."""
    partition = partitions.partition_name(table, month)
    path = path_for(table, month, directory)
    done = ArchivedMonth.objects.filter(table=table, month=date(month.year, month.month, 1))
    if not _exists(partition):
        return done.get()
    if done.exists():
        raise ArchiveError(
            f"{partition}: the month is archived already ({done.get().path}); writing it again"
            " would replace that file with the partition's rows alone. Its late rows belong"
            " in the default partition (marketdata.partitions.archived)"
        )
    written = write_month(table, month, path)
    held, back = _count(partition), read_back(table, path)
    if written.rows != held or back != written:
        raise ArchiveError(
            f"{path}: wrote {written.rows} rows of {held} in {partition}, read back {back.rows}"
            f" (checksum {'same' if back.checksum == written.checksum else 'differs'});"
            " the partition is kept"
        )
    with transaction.atomic(), connection.cursor() as cursor:
        # The detach takes the table's ACCESS EXCLUSIVE lock: waiting behind a long export
        # (which holds ACCESS SHARE) would queue every collector's write behind it. Give up
        # instead; the file stays verified and the next run tries again.
        cursor.execute("SET LOCAL lock_timeout = %s", [f"{LOCK_TIMEOUT_MS}ms"])
        record, _ = ArchivedMonth.objects.update_or_create(
            table=table,
            month=date(month.year, month.month, 1),
            defaults={"path": str(path), "rows": written.rows, "checksum": written.checksum},
        )
        ids = {"t": sql.Identifier(table), "p": sql.Identifier(partition)}
        # Deferred foreign-key checks of rows written in this same transaction (a caller's)
        # would forbid the drop: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql.SQL("ALTER TABLE {t} DETACH PARTITION {p}").format(**ids))
        cursor.execute(sql.SQL("DROP TABLE {p}").format(**ids))
    logger.info("archived %s: %s rows to %s", partition, f"{written.rows:,}", path)
    return record


def cold_partitions(now: datetime, hot_months: int | None) -> list[tuple[str, datetime]]:
    """(table, month) of every month partition older than the hot months (none for None:
    every month stays hot; 0 keeps the current month alone)."""
    if hot_months is None:
        return []
    first_hot = cold_months(now, hot_months)
    return [
        (table, partitions.month_of(name))
        for table in partitions.PARTITIONED
        for name in partitions.partitions(table)
        if partitions.month_of(name) < first_hot
    ]


def archive_cold(now: datetime, hot_months: int | None, directory: Path | None = None) -> list:
    """Archive every month partition older than the hot months (none when ``hot_months`` is
    None)."""
    return [
        archive_month(table, month, directory) for table, month in cold_partitions(now, hot_months)
    ]


def archived_months(table: str) -> dict[date, ArchivedMonth]:
    return {a.month: a for a in ArchivedMonth.objects.filter(table=table)}


def archived_between(table: str, start: datetime | None, end: datetime | None) -> list[str]:
    """The archived months (``YYYY-MM``) of ``table`` meeting [start, end) (None: unbounded):
    what a reader of the database alone does not see."""
    months = ArchivedMonth.objects.filter(table=table).order_by("month")
    out = []
    for month in months.values_list("month", flat=True):
        first = datetime(month.year, month.month, 1, tzinfo=UTC)
        if (end is None or first < end) and (start is None or partitions.next_month(first) > start):
            out.append(f"{month:%Y-%m}")
    return out


def trade_id_of(row: dict) -> str:
    """The API's trade id of an archived trade row (in SQL: ``coalesce(kept_trade_id, network
    || '_' || block_number || '_' || tx_hash || '_' || event_index || '_' || id_ts)``)."""
    if row["kept_trade_id"] is not None:
        return row["kept_trade_id"]
    return "_".join(
        str(row[k]) for k in ("network", "block_number", "tx_hash", "event_index", "id_ts")
    )


@dataclass(frozen=True)
class ArchivedBars:
    """Bars read from archived months (oldest first) and the months whose file is missing."""

    bars: list[tuple]
    missing: list[str]


def last_archived_bars(pool_id: int, timeframe: str, before: datetime | None, n: int):
    """The last ``n`` bars of (pool, timeframe) before ``before`` (None: the newest) from the
    archived months, newest month first, as ``(ts, open, high, low, close, volume_usd)``. A
    month's file is read for that pool and timeframe alone (the file is sorted by pool, so
    row-group statistics skip the rest), opens filled back."""
    import pyarrow.dataset as ds

    bars, missing = [], []
    months = ArchivedMonth.objects.filter(table="marketdata_candle").order_by("-month")
    for record in months:
        if len(bars) >= n:
            break
        if before is not None and datetime(*record.month.timetuple()[:3], tzinfo=UTC) >= before:
            continue
        path = Path(record.path)
        if not path.is_file():
            missing.append(f"{record.month:%Y-%m}")
            continue
        wanted = (ds.field("pool_id") == pool_id) & (ds.field("timeframe") == timeframe)
        table = ds.dataset(path, format="parquet").to_table(filter=wanted)
        month = [
            (r["ts"], r["open"], r["high"], r["low"], r["close"], r["volume_usd"])
            for batch in _with_opens(table.to_batches(), path)
            for r in batch.to_pylist()
            if before is None or r["ts"] < before
        ]
        bars = month[-(n - len(bars)) :] + bars if month else bars
    return ArchivedBars(bars, sorted(missing))
