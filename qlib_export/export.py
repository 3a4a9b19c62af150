"""One export run: check the request, read the selection pool by pool, write, swap into place.

Each timeframe gets its own directory ``<out>/<freq>/`` (QLib's ``instruments/all.txt`` carries
no frequency, so two frequencies cannot share one), holding the data, ``symbols.csv`` (symbol →
pool) and ``export.json`` (what was exported, read back by ``--incremental``).

A full export is written into a hidden directory beside its target and renamed into place at
the end, so a failed run leaves the previous export as it was. ``--incremental`` (bin only)
appends in place, in an order that keeps the previous export readable at every step: bins,
then the calendar, then ``instruments/all.txt``, which is what QLib and the next increment trust.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from geckoproject.csv_cells import neutralise

from . import binwriter, source, tabular
from .calendar import Calendar, format_epoch, parse_naive_utc, qlib_freq, step_seconds
from .source import PoolInfo, Window
from .symbols import qlib_name, symbol_for

FORMATS = ("bin", "csv", "parquet")
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


class ExportError(Exception):
    """A request that cannot be carried out; nothing was written."""


class Progress:
    """Told how many pools a timeframe has and when each is done; the command draws a bar."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass


@dataclass(frozen=True)
class Request:
    out: Path
    network: str
    pool_ids: list[int]
    timeframes: list[str]
    fmt: str = "bin"
    start: datetime | None = None
    end: datetime | None = None
    include_open: bool = False
    incremental: bool = False
    force: bool = False


@dataclass
class TimeframeResult:
    freq: str
    instruments: int
    rows: int
    calendar_length: int | None = None


@dataclass
class Summary:
    out: Path
    fmt: str
    results: list[TimeframeResult] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        symbols = max((r.instruments for r in self.results), default=0)
        rows = sum(r.rows for r in self.results)
        calendars = ", ".join(
            f"{r.freq}={r.calendar_length:,}" for r in self.results if r.calendar_length
        )
        calendar = f", calendar {calendars}" if calendars else ""
        return (
            f"Exported {self.fmt} to {self.out}: {symbols:,} instruments, {rows:,} rows"
            f"{calendar}, {self.seconds:.1f} s"
        )


def run(request: Request, progress: Progress | None = None) -> Summary:
    """Carry out ``request``; raises ExportError (before writing anything) when it cannot.

    All of its reads share one snapshot (source.snapshot), so collection running beside it
    never makes the spans and the bars disagree.
    """
    started = time.monotonic()
    with source.snapshot():
        summary = _run(request, progress or Progress())
    summary.seconds = time.monotonic() - started
    return summary


def _run(request: Request, progress: Progress) -> Summary:
    if request.incremental and request.fmt != "bin":
        raise ExportError("--incremental extends a bin export; csv and parquet are rewritten whole")
    if request.incremental and request.include_open:
        raise ExportError(
            "--incremental cannot take --include-open-candle: the open bar would be frozen "
            "into history before its interval closes"
        )
    if request.start and request.end and request.start >= request.end:
        raise ExportError(f"--start {request.start:%Y-%m-%d %H:%M} is not before --end")
    network = source.network(request.network)
    if network is None:
        raise ExportError(f"unknown network {request.network!r}")
    pools = {p.id: p for p in source.pool_infos(request.pool_ids)}
    try:
        symbols = {pool_id: symbol_for(p.address) for pool_id, p in pools.items()}
    except ValueError as exc:
        raise ExportError(str(exc)) from exc

    windows = {tf: _window(request, tf) for tf in request.timeframes}
    if request.incremental:
        targets = {tf: _previous(request, tf) for tf in request.timeframes}
    else:
        _check_out(request.out, force=request.force)
        spans = {tf: source.spans(list(pools), windows[tf]) for tf in request.timeframes}
        empty = [tf for tf, found in spans.items() if not found]
        if empty:
            raise ExportError(
                f"no {'' if request.include_open else 'final '}candles to export for timeframe "
                f"{', '.join(empty)} in the selection ({len(pools)} pools{_range(request)})"
            )
        _prepare_out(request.out)

    summary = Summary(out=request.out, fmt=request.fmt)
    staged: list[tuple[Path, Path]] = []
    try:
        for tf in request.timeframes:
            freq = qlib_freq(tf)
            if request.incremental:
                result = _extend_bin(
                    targets[tf], freq, windows[tf], pools, symbols, request.network, progress
                )
            else:
                staging = Path(tempfile.mkdtemp(dir=request.out, prefix=f".{freq}.partial-"))
                staging.chmod(_directory_mode())  # mkdtemp's 0700 would hide it from others
                staged.append((staging, request.out / freq))
                result = _write_full(staging, request, tf, spans[tf], pools, symbols, progress)
            summary.results.append(result)
        # Every timeframe is written before any replaces its previous export.
        for staging, target in staged:
            _swap_in(staging, target)
    except OSError as exc:
        raise ExportError(f"writing to {request.out} failed: {exc}") from exc
    finally:
        for staging, _ in staged:
            shutil.rmtree(staging, ignore_errors=True)
    return summary


def _directory_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _window(request: Request, timeframe: str) -> Window:
    return Window(timeframe, request.start, request.end, request.include_open)


def _range(request: Request) -> str:
    parts = []
    if request.start:
        parts.append(f"from {request.start.isoformat()}")
    if request.end:
        parts.append(f"before {request.end.isoformat()}")
    return (", " + " ".join(parts)) if parts else ""


def _check_out(out: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"--out {out} is not empty; pass --force to replace what it holds")


def _prepare_out(out: Path) -> None:
    """Create ``out`` and prove it writable, before any data is read."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ExportError(f"cannot write to --out {out}: {exc.strerror or exc}") from exc


# -- full export ------------------------------------------------------------------------------


def _write_full(
    staging: Path,
    request: Request,
    timeframe: str,
    spans: dict[int, tuple[int, int]],
    pools: dict[int, PoolInfo],
    symbols: dict[int, str],
    progress: Progress,
) -> TimeframeResult:
    freq = qlib_freq(timeframe)
    window = _window(request, timeframe)
    exported = sorted(spans, key=lambda pool_id: symbols[pool_id])
    progress.start(freq, len(exported))
    rows = 0
    calendar = None
    if request.fmt == "bin":
        calendar, rows = _write_bin(staging, freq, window, exported, spans, symbols, progress)
    elif request.fmt == "csv":
        with closing(source.stream_pools(exported, window)) as stream:
            for pool_id, chunks in stream:
                path = staging / "csv" / f"{symbols[pool_id]}.csv"
                rows += tabular.write_csv(path, qlib_name(symbols[pool_id]), freq, chunks)
                progress.advance()
    else:
        sink = tabular.ParquetSink(staging / tabular.PARQUET_FILE)
        try:
            with closing(source.stream_pools(exported, window)) as stream:
                for pool_id, chunks in stream:
                    name = qlib_name(symbols[pool_id])
                    rows += sink.write(name, pools[pool_id].address, chunks)
                    progress.advance()
        finally:
            sink.close()
    _write_mapping(staging, [pools[p] for p in exported], request.network)
    _write_manifest(staging, request, timeframe, calendar, rows)
    return TimeframeResult(freq, len(exported), rows, calendar.length if calendar else None)


def _write_bin(
    root: Path,
    freq: str,
    window: Window,
    exported: list[int],
    spans: dict[int, tuple[int, int]],
    symbols: dict[int, str],
    progress: Progress,
) -> tuple[Calendar, int]:
    step = step_seconds(window.timeframe)
    first = min(first for first, _ in spans.values())
    last = max(last for _, last in spans.values())
    try:
        calendar = Calendar.spanning(first, last, step)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    written: dict[str, binwriter.Span] = {}
    rows = 0
    with closing(source.stream_pools(exported, window)) as stream:
        for pool_id, chunks in stream:
            symbol = symbols[pool_id]
            try:
                span, count = binwriter.write_symbol(root, symbol, freq, calendar, chunks)
            except ValueError as exc:
                raise ExportError(f"pool {symbol}: {exc}") from exc
            if span is not None:
                written[symbol] = span
            rows += count
            progress.advance()
    binwriter.write_text(root / "calendars" / f"{freq}.txt", calendar.lines(freq))
    binwriter.write_text(
        root / "instruments" / "all.txt", binwriter.instruments_lines(written, calendar, freq)
    )
    return calendar, rows


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` where ``target`` is; the old one stays whole until the rename."""
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    target.rename(retired / target.name)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


# -- incremental ------------------------------------------------------------------------------


@dataclass
class _Previous:
    root: Path
    manifest: dict
    calendar: Calendar
    spans: dict[str, binwriter.Span]
    mapping: dict[str, dict[str, str]]


def _previous(request: Request, timeframe: str) -> _Previous:
    """The export ``--incremental`` extends, checked against the request."""
    freq = qlib_freq(timeframe)
    root = request.out / freq
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ExportError(
            f"--incremental: no previous export at {root} ({exc}); run a full export first"
        ) from exc
    try:
        return _read_previous(root, manifest, request, timeframe)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ExportError(f"--incremental: {root} is not a complete export: {exc}") from exc


def _read_previous(root: Path, manifest: dict, request: Request, timeframe: str) -> _Previous:
    freq = qlib_freq(timeframe)
    expected = {"format": "bin", "freq": freq, "network": request.network}
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise ExportError(
                f"--incremental: {root} holds {key}={manifest.get(key)!r}, not {value!r}"
            )
    if manifest.get("include_open_candle"):
        raise ExportError(f"--incremental: {root} holds open candles; re-export it in full")
    lines = (root / "calendars" / f"{freq}.txt").read_text().splitlines()
    calendar = Calendar.spanning(
        parse_naive_utc(lines[0]), parse_naive_utc(lines[-1]), step_seconds(timeframe)
    )
    if calendar.length != len(lines):
        raise ExportError(f"--incremental: {root} calendar is not the complete {freq} grid")
    mapping = {}
    with (root / MAPPING).open(newline="") as handle:
        for row in csv.DictReader(handle):
            mapping[row["symbol"].removeprefix("'").lower()] = row  # see _mapping_row
    spans = {}
    with (root / "instruments" / "all.txt").open() as handle:
        for line in handle:
            name, first, last = line.rstrip("\n").split("\t")
            spans[name.lower()] = binwriter.Span(
                calendar.index_of(parse_naive_utc(first)), calendar.index_of(parse_naive_utc(last))
            )
    return _Previous(root, manifest, calendar, spans, mapping)


def _extend_bin(
    previous: _Previous,
    freq: str,
    window: Window,
    pools: dict[int, PoolInfo],
    symbols: dict[int, str],
    network: str,
    progress: Progress,
) -> TimeframeResult:
    calendar = previous.calendar
    # Bars at or before a symbol's last exported bar (or before the calendar) are history.
    after = {
        pool_id: (
            calendar.start + previous.spans[symbol].last * calendar.step
            if symbol in previous.spans
            else calendar.start - 1
        )
        for pool_id, symbol in symbols.items()
    }
    last = calendar.end
    for pool_id in pools:
        found = source.spans([pool_id], window, after=after[pool_id])
        if found:
            last = max(last, found[pool_id][1])
    try:
        calendar = calendar.extended_to(last)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    spans = dict(previous.spans)
    new_pools = []
    rows = 0
    ordered = sorted(pools, key=lambda pool_id: symbols[pool_id])
    progress.start(freq, len(ordered))
    with closing(source.stream_pools(ordered, window, after=after)) as stream:
        for pool_id, chunks in stream:
            symbol = symbols[pool_id]
            try:
                span, count = binwriter.write_symbol(
                    previous.root, symbol, freq, calendar, chunks, append_to=spans.get(symbol)
                )
            except ValueError as exc:
                raise ExportError(f"pool {symbol}: {exc}") from exc
            if span is not None:
                if symbol not in spans:
                    new_pools.append(pools[pool_id])
                spans[symbol] = span
            rows += count
            progress.advance()
    root = previous.root
    if calendar.length > previous.calendar.length:
        binwriter.write_text(root / "calendars" / f"{freq}.txt", calendar.lines(freq))
    binwriter.write_text(
        root / "instruments" / "all.txt", binwriter.instruments_lines(spans, calendar, freq)
    )
    if new_pools:
        rows_by_symbol = dict(previous.mapping)
        for pool in new_pools:
            rows_by_symbol[symbol_for(pool.address)] = _mapping_row(pool, network)
        _write_mapping_rows(root, [rows_by_symbol[s] for s in sorted(rows_by_symbol)])
    manifest = dict(previous.manifest)
    manifest.update(_calendar_fields(calendar, freq), updated_at=_now())
    manifest["rows"] = manifest.get("rows", 0) + rows
    binwriter.write_text(root / MANIFEST, [json.dumps(manifest, indent=2)])
    return TimeframeResult(freq, len(spans), rows, calendar.length)


# -- mapping and manifest ---------------------------------------------------------------------


def _mapping_row(pool: PoolInfo, network: str) -> dict[str, str]:
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


def _write_mapping(root: Path, pools: list[PoolInfo], network: str) -> None:
    _write_mapping_rows(root, [_mapping_row(pool, network) for pool in pools])


def _write_mapping_rows(root: Path, rows: list[dict[str, str]]) -> None:
    partial = root / (MAPPING + ".partial")
    with partial.open("w", newline="") as handle:
        # RFC 4180's CRLF: the writer then quotes a cell holding a bare CR, which would
        # otherwise end the row early for readers (a forged row from an API-supplied name).
        writer = csv.DictWriter(handle, MAPPING_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(root / MAPPING)


def _calendar_fields(calendar: Calendar | None, freq: str) -> dict:
    if calendar is None:
        return {}
    return {
        "calendar_start": format_epoch(calendar.start, freq),
        "calendar_end": format_epoch(calendar.end, freq),
        "calendar_length": calendar.length,
    }


def _write_manifest(
    root: Path, request: Request, timeframe: str, calendar: Calendar | None, rows: int
) -> None:
    manifest = {
        "format": request.fmt,
        "timeframe": timeframe,
        "freq": qlib_freq(timeframe),
        "network": request.network,
        "fields": list(binwriter.FIELDS if request.fmt == "bin" else tabular.CSV_COLUMNS[1:-1]),
        "include_open_candle": request.include_open,
        "start": request.start.isoformat() if request.start else None,
        "end": request.end.isoformat() if request.end else None,
        "symbols": SYMBOL_SCHEME,
        "timestamps": "bar open time, naive UTC",
        **_calendar_fields(calendar, qlib_freq(timeframe)),
        "rows": rows,
        "exported_at": _now(),
    }
    binwriter.write_text(root / MANIFEST, [json.dumps(manifest, indent=2)])


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")
