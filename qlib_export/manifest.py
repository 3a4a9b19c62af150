"""What an export directory says about itself: ``export.json`` and ``symbols.csv``.

``export.json`` records the request, the calendar, and per symbol its first and last bar and
the digest of every bar exported for it (source.Digest). ``--incremental`` compares those
digests with the database to find the symbols whose history changed since, and rewrites them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geckoproject.csv_cells import neutralise

from . import binwriter, tabular
from .calendar import Calendar, format_epoch, parse_naive_utc, qlib_freq
from .source import Digest, PoolInfo
from .symbols import qlib_name, symbol_for

MANIFEST = "export.json"
MAPPING = "symbols.csv"
MAPPING_COLUMNS = (
    "symbol",
    "network",
    "pool_address",
    "pool_name",
    "dex",
    "base_token",
    "base_token_address",
    "quote_token",
    "quote_token_address",
)
SYMBOL_SCHEME = "lower-case address _ base-32 mask of upper-case positions (qlib_export.symbols)"


@dataclass(frozen=True)
class SymbolState:
    """One exported symbol: its first and last bar (epoch) and the digest of its bars."""

    first: int
    last: int
    digest: Digest


@dataclass(frozen=True)
class Contents:
    """What one frequency directory holds, as ``export.json`` records it."""

    fmt: str
    timeframe: str
    network: str
    include_open: bool
    start: datetime | None
    end: datetime | None
    calendar: Calendar | None
    states: dict[str, SymbolState] | None  # bin exports only
    rows: int


def mapping_row(pool: PoolInfo, network: str) -> dict[str, str]:
    """One ``symbols.csv`` row; names come from the API, so each cell is made formula-safe."""
    row = {
        "symbol": qlib_name(symbol_for(pool.address)),
        "network": network,
        "pool_address": pool.address,
        "pool_name": pool.name,
        "dex": pool.dex,
        "base_token": pool.base_token,
        "base_token_address": pool.base_token_address,
        "quote_token": pool.quote_token,
        "quote_token_address": pool.quote_token_address,
    }
    return {column: neutralise(text) for column, text in row.items()}


def write_mapping(root: Path, rows: list[dict[str, str]]) -> None:
    """``symbols.csv`` with ``rows`` in the order given, replaced atomically."""
    partial = root / (MAPPING + ".partial")
    with partial.open("w", newline="") as handle:
        # RFC 4180's CRLF: the writer then quotes a cell holding a bare CR, which would
        # otherwise end the row early for readers (a forged row from an API-supplied name).
        writer = csv.DictWriter(handle, MAPPING_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(root / MAPPING)


def read_mapping(root: Path) -> dict[str, dict[str, str]]:
    """``symbols.csv`` rows by lower-case symbol."""
    with (root / MAPPING).open(newline="") as handle:
        # A symbol never starts with a formula character (symbols.symbol_for), but be exact.
        return {row["symbol"].removeprefix("'").lower(): row for row in csv.DictReader(handle)}


def write(root: Path, contents: Contents) -> None:
    freq = qlib_freq(contents.timeframe)
    manifest = {
        "format": contents.fmt,
        "timeframe": contents.timeframe,
        "freq": freq,
        "network": contents.network,
        "fields": list(binwriter.FIELDS if contents.fmt == "bin" else tabular.CSV_COLUMNS[1:-1]),
        "include_open_candle": contents.include_open,
        "start": contents.start.isoformat() if contents.start else None,
        "end": contents.end.isoformat() if contents.end else None,
        "symbols": SYMBOL_SCHEME,
        "timestamps": "bar open time, naive UTC",
    }
    if contents.calendar is not None:
        calendar = contents.calendar
        manifest |= {
            "calendar_start": format_epoch(calendar.start, freq),
            "calendar_end": format_epoch(calendar.end, freq),
            "calendar_length": calendar.length,
        }
    manifest["rows"] = contents.rows
    if contents.states is not None:
        manifest["instruments"] = {
            symbol: {
                "first": format_epoch(state.first, freq),
                "last": format_epoch(state.last, freq),
                "rows": state.digest.rows,
                "digest": str(state.digest.total),
            }
            for symbol, state in sorted(contents.states.items())
        }
    manifest["exported_at"] = now()
    binwriter.write_text(root / MANIFEST, [json.dumps(manifest, indent=2)])


def read(root: Path, step: int) -> Contents:
    """``export.json`` back; raises OSError, ValueError or KeyError when it is not whole."""
    manifest = json.loads((root / MANIFEST).read_text())
    calendar = None
    if "calendar_start" in manifest:
        calendar = Calendar(
            parse_naive_utc(manifest["calendar_start"]), step, int(manifest["calendar_length"])
        )
    states = None
    if "instruments" in manifest:
        states = {
            symbol: SymbolState(
                parse_naive_utc(state["first"]),
                parse_naive_utc(state["last"]),
                Digest(int(state["rows"]), int(state["digest"])),
            )
            for symbol, state in manifest["instruments"].items()
        }
    return Contents(
        fmt=manifest["format"],
        timeframe=manifest["timeframe"],
        network=manifest["network"],
        include_open=bool(manifest.get("include_open_candle")),
        start=_moment(manifest.get("start")),
        end=_moment(manifest.get("end")),
        calendar=calendar,
        states=states,
        rows=int(manifest.get("rows", 0)),
    )


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")
