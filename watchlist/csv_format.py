"""Parse a watchlist CSV: one pool per row, bad rows reported one by one, good rows kept.

The format is the one operators already keep (see fixtures/watchlist.csv):
``tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress`` where ``poolAddress`` is the pool
(the API's pool id) and ``networkAddress`` — despite its name — is the base token's address.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from .models import ADDRESS_RE

REQUIRED_COLUMNS = ("tokenSymbol", "tokenName", "chain", "dex", "poolAddress", "networkAddress")

# The file's chain codes → the API's network ids. A new chain is a line here.
CHAINS = {"sol": "solana", "solana": "solana"}


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    line: int
    network: str
    pool_address: str
    token_address: str
    symbol: str
    name: str
    dex: str


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedWatchlist:
    rows: list[WatchlistRow]
    errors: list[RowError]
    sha256: str
    # Pool addresses named by bad rows: the sync keeps those entries rather than drop them.
    named_by_bad_rows: frozenset[str] = frozenset()
    # The last row is bad and the file has no final newline: likely caught mid-write.
    cut_short: bool = False


class WatchlistFormatError(ValueError):
    """The file as a whole cannot be read (no header, missing columns, not text)."""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_watchlist(data: bytes) -> ParsedWatchlist:
    """Parse CSV bytes. Raises WatchlistFormatError only when no row could be trusted."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WatchlistFormatError(f"not UTF-8 text ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if len(header) == 1 and ";" in header[0]:
        raise WatchlistFormatError(
            "fields are separated by ';'; expected ',' (export the sheet as comma-separated CSV)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise WatchlistFormatError(
            f"missing column(s) {', '.join(missing)}; expected header {','.join(REQUIRED_COLUMNS)}"
        )
    reader.fieldnames = header
    rows: list[WatchlistRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    named: set[str] = set()
    last_bad = False
    for record in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in record.items() if k is not None):
            continue
        row, error = _parse_row(line, record, len(header))
        last_bad = error is not None
        if error:
            errors.append(error)
            named.add((record.get("poolAddress") or "").strip())
            continue
        key = (row.network, row.pool_address)
        if key in seen:
            errors.append(RowError(line, f"pool {row.pool_address} repeats line {seen[key]}"))
            continue
        seen[key] = line
        rows.append(row)
    cut_short = last_bad and not text.endswith(("\n", "\r"))
    if cut_short:
        errors.append(
            RowError(reader.line_num, "file ends mid-row (half-written?): no entry is deactivated")
        )
    return ParsedWatchlist(
        rows=rows,
        errors=errors,
        sha256=content_hash(data),
        named_by_bad_rows=frozenset(named - {""}),
        cut_short=cut_short,
    )


def _parse_row(
    line: int, record: dict, columns: int
) -> tuple[WatchlistRow | None, RowError | None]:
    if record.get(None):
        return None, RowError(line, f"{columns + len(record[None])} fields, expected {columns}")
    present = [k for k in record if k is not None and record[k] is not None]
    if len(present) < len(record):
        return None, RowError(line, f"{len(present)} fields, expected {len(record)}")
    values = {k: (record.get(k) or "").strip() for k in REQUIRED_COLUMNS}
    chain = values["chain"]
    network = CHAINS.get(chain.lower())
    if network is None:
        return None, RowError(line, f"unknown chain {chain!r} (known: {', '.join(sorted(CHAINS))})")
    pool, token = values["poolAddress"], values["networkAddress"]
    if not pool:
        return None, RowError(line, "poolAddress is empty")
    if not ADDRESS_RE.fullmatch(pool):
        return None, RowError(line, f"poolAddress {pool!r} is not a base58 address of 32–44 chars")
    if token and not ADDRESS_RE.fullmatch(token):
        return None, RowError(
            line, f"networkAddress (token) {token!r} is not a base58 address of 32–44 chars"
        )
    if token == pool:
        return None, RowError(line, "networkAddress (the token) equals poolAddress (the pool)")
    row = WatchlistRow(
        line=line,
        network=network,
        pool_address=pool,
        token_address=token,
        symbol=values["tokenSymbol"],
        name=values["tokenName"],
        dex=values["dex"],
    )
    return row, None
