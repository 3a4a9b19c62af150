"""One export run: check the request, read the selection pool by pool, write, swap into place.

Each timeframe gets its own directory ``<out>/<freq>/`` (QLib's ``instruments/all.txt`` carries
no frequency, so two frequencies cannot share one), holding the data, ``symbols.csv`` (symbol →
pool) and ``export.json`` (what was exported, per symbol, read back by ``--incremental``).

A full export is written into a hidden directory beside its target and renamed into place at
the end, so a failed run leaves the previous export as it was. ``--incremental`` (bin only)
brings a previous export up to date (incremental.py).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from . import binwriter, incremental, manifest, source, staging, tabular
from .calendar import Calendar, qlib_freq, step_seconds
from .manifest import SymbolState
from .request import ExportError, Progress, Request, TimeframeResult
from .source import PoolInfo, Window
from .symbols import qlib_name, symbol_for

__all__ = ["FORMATS", "ExportError", "Progress", "Request", "Summary", "run"]

FORMATS = ("bin", "csv", "parquet")


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
        rewritten = sum(r.rewritten for r in self.results)
        changed = f", {rewritten:,} symbols rewritten (history changed)" if rewritten else ""
        return (
            f"Exported {self.fmt} to {self.out}: {symbols:,} instruments, {rows:,} rows"
            f"{calendar}{changed}, {self.seconds:.1f} s"
        )


def run(request: Request, progress: Progress | None = None) -> Summary:
    """Carry out ``request``; raises ExportError (before writing anything) when it cannot.

    All of its reads share one snapshot (source.snapshot), so collection running beside it
    never makes the spans and the bars disagree.
    """
    started = time.monotonic()
    with source.snapshot(request.pool_ids):
        summary = _run(request, progress or Progress())
    summary.seconds = time.monotonic() - started
    return summary


def _run(request: Request, progress: Progress) -> Summary:
    if request.incremental:
        incremental.check(request)
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

    if request.incremental:
        targets = {tf: incremental.previous(request, tf) for tf in request.timeframes}
    else:
        _check_out(request.out, force=request.force)
        windows = {tf: _window(request, tf) for tf in request.timeframes}
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
            if request.incremental:
                result = incremental.extend(request, targets[tf], pools, symbols, progress)
            else:
                directory = staging.stage(request.out, qlib_freq(tf))
                staged.append((directory, request.out / qlib_freq(tf)))
                result = _write_full(directory, request, tf, spans[tf], pools, symbols, progress)
            summary.results.append(result)
            progress.timeframe_written(result)
        # Every timeframe is written before any replaces its previous export.
        for directory, target in staged:
            staging.swap_in(directory, target)
    except OSError as exc:
        raise ExportError(f"writing to {request.out} failed: {exc}") from exc
    finally:
        for directory, _ in staged:
            shutil.rmtree(directory, ignore_errors=True)
    return summary


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


def _write_full(
    root: Path,
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
    calendar = states = None
    if request.fmt == "bin":
        calendar, states = _write_bin(root, freq, window, exported, spans, symbols, progress)
        rows = sum(state.digest.rows for state in states.values())
    elif request.fmt == "csv":
        with closing(source.stream_pools(exported, window)) as stream:
            for pool_id, chunks in stream:
                path = root / "csv" / f"{symbols[pool_id]}.csv"
                rows += tabular.write_csv(path, qlib_name(symbols[pool_id]), freq, chunks)
                progress.advance()
    else:
        sink = tabular.ParquetSink(root / tabular.PARQUET_FILE)
        try:
            with closing(source.stream_pools(exported, window)) as stream:
                for pool_id, chunks in stream:
                    name = qlib_name(symbols[pool_id])
                    rows += sink.write(name, pools[pool_id].address, chunks)
                    progress.advance()
        finally:
            sink.close()
    manifest.write_mapping(
        root, [manifest.mapping_row(pools[p], request.network) for p in exported]
    )
    contents = manifest.Contents(
        fmt=request.fmt,
        timeframe=timeframe,
        network=request.network,
        include_open=request.include_open,
        start=request.start,
        end=request.end,
        calendar=calendar,
        states=states,
        rows=rows,
    )
    manifest.write(root, contents)
    return TimeframeResult(freq, len(exported), rows, calendar.length if calendar else None)


def _write_bin(
    root: Path,
    freq: str,
    window: Window,
    exported: list[int],
    spans: dict[int, tuple[int, int]],
    symbols: dict[int, str],
    progress: Progress,
) -> tuple[Calendar, dict[str, SymbolState]]:
    """The bins, calendar and instruments; returns the calendar and each symbol's state."""
    step = step_seconds(window.timeframe)
    first = min(first for first, _ in spans.values())
    last = max(last for _, last in spans.values())
    try:
        calendar = Calendar.spanning(first, last, step)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    digests = source.digests(exported, window)
    written: dict[str, binwriter.Span] = {}
    states: dict[str, SymbolState] = {}
    with closing(source.stream_pools(exported, window)) as stream:
        for pool_id, chunks in stream:
            symbol = symbols[pool_id]
            try:
                span, count = binwriter.write_symbol(root, symbol, freq, calendar, chunks)
            except ValueError as exc:
                raise ExportError(str(exc)) from exc  # it names the symbol
            if count != digests[pool_id].rows:
                raise ExportError(
                    f"pool {symbol}: {count} bars read but {digests[pool_id].rows} counted in "
                    "the same snapshot"
                )
            if span is not None:
                written[symbol] = span
                states[symbol] = SymbolState(
                    calendar.start + span.first * step,
                    calendar.start + span.last * step,
                    digests[pool_id],
                )
            progress.advance()
    binwriter.write_text(root / "calendars" / f"{freq}.txt", calendar.lines(freq))
    binwriter.write_text(
        root / "instruments" / "all.txt", binwriter.instruments_lines(written, calendar, freq)
    )
    return calendar, states
