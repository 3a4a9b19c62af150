"""``export_qlib --incremental``: bring a bin export up to date; it then holds exactly what a
full export of the same selection would.

Each selected symbol already exported is checked against the database: the digest of its bars
up to its last exported bar (source.digests) against the one ``export.json`` recorded. If they
match, only newer bars are appended. If not (a range backfilled, a bar revised, bars older than
its first), the symbol is rewritten whole. New pools are written whole. Symbols exported before
and not selected now stay as they are (a full export of the selection would drop them).
The check costs one aggregate over each selected symbol's exported history, inside PostgreSQL
(about 0.7 s per million bars; archived months are hashed alike in numpy, pghash): no
change-tracking column is needed, and none can be missed.

When the calendar must start earlier (a pool with bars older than it) or later, every symbol's
start slot moves: the export is then copied beside itself, changed there and renamed into
place. Otherwise it is changed in place, in an order that keeps it readable at every step:
bins, then the calendar, ``instruments/all.txt``, ``symbols.csv``, and last ``export.json``,
which is what the next increment trusts (an interrupted run is simply done again).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from . import binwriter, manifest, source, staging
from .calendar import Calendar, qlib_freq, step_seconds
from .manifest import SymbolState
from .request import ExportError, Progress, Request, TimeframeResult
from .source import Bars, PoolInfo, Window


@dataclass
class Previous:
    """The export being extended, as its ``export.json`` and ``symbols.csv`` describe it."""

    root: Path
    contents: manifest.Contents
    calendar: Calendar
    states: dict[str, SymbolState]
    mapping: dict[str, dict[str, str]]

    @property
    def freq(self) -> str:
        return qlib_freq(self.contents.timeframe)

    @property
    def window(self) -> Window:
        """The bars it was exported from: its timeframe between its ``--start`` and ``--end``."""
        return Window(self.contents.timeframe, self.contents.start, self.contents.end)


def check(request: Request) -> None:
    """Refuse what an incremental export cannot do, before anything is read."""
    if request.fmt != "bin":
        raise ExportError("--incremental extends a bin export; csv and parquet are rewritten whole")
    if request.include_open:
        raise ExportError(
            "--incremental cannot take --include-open-candle: the open bar would be frozen "
            "into history before its interval closes"
        )


def previous(request: Request, timeframe: str) -> Previous:
    """The export ``--incremental`` extends, checked against the request."""
    freq = qlib_freq(timeframe)
    root = request.out / freq
    if not (root / manifest.MANIFEST).is_file():
        raise ExportError(
            f"--incremental: no previous export at {root}; run a full export first: "
            f"{_full_command(request, timeframe)}"
        )
    try:
        contents = manifest.read(root, step_seconds(timeframe))
        mapping = manifest.read_mapping(root)
    except (OSError, ValueError, KeyError) as exc:
        raise ExportError(f"--incremental: {root} is not a complete export: {exc!r}") from exc
    expected = {"fmt": "bin", "timeframe": timeframe, "network": request.network}
    for key, value in expected.items():
        if getattr(contents, key) != value:
            raise ExportError(
                f"--incremental: {root} holds {key}={getattr(contents, key)!r}, not {value!r}"
            )
    if contents.include_open:
        raise ExportError(f"--incremental: {root} holds open candles; re-export it in full")
    for option, given, held in (
        ("--start", request.start, contents.start),
        ("--end", request.end, contents.end),
    ):
        if given is not None and given != held:
            raise ExportError(
                f"--incremental: {root} was exported with {option} "
                f"{held.isoformat() if held else '(none)'}; an increment keeps it. To change "
                f"it, run a full export: {_full_command(request, timeframe)}"
            )
    if contents.states is None or contents.calendar is None:
        raise ExportError(
            f"--incremental: {root} records no per-symbol state (an export made before "
            f"increments could find changed history); run a full export once: "
            f"{_full_command(request, timeframe)}"
        )
    unmapped = sorted(contents.states.keys() - mapping.keys())
    if unmapped:
        raise ExportError(
            f"--incremental: {root}/{manifest.MAPPING} lacks {', '.join(unmapped)}; "
            f"run a full export: {_full_command(request, timeframe)}"
        )
    return Previous(root, contents, contents.calendar, contents.states, mapping)


def extend(
    request: Request,
    prev: Previous,
    pools: dict[int, PoolInfo],
    symbols: dict[int, str],
    progress: Progress,
) -> TimeframeResult:
    window = prev.window
    selected = sorted(pools, key=lambda pool_id: symbols[pool_id])

    known = {p: prev.states[symbols[p]] for p in selected if symbols[p] in prev.states}
    now = source.digests(list(known), window, upto={p: s.last for p, s in known.items()})
    appended = {p: state for p, state in known.items() if now[p] == state.digest}
    whole = [p for p in selected if p not in appended]  # changed history, or new

    tails = {p: source.spans([p], window, after=s.last).get(p) for p, s in appended.items()}
    bounds = {s: (st.first, st.last) for s, st in prev.states.items()}
    for pool_id in whole:
        bounds.pop(symbols[pool_id], None)
    bounds |= {
        symbols[p]: (s.first, tails[p][1] if tails[p] else s.last) for p, s in appended.items()
    }
    bounds |= {symbols[p]: span for p, span in source.spans(whole, window).items()}
    if not bounds:
        raise ExportError(f"--incremental: no final candles left to export for {window.timeframe}")
    try:
        calendar = Calendar.spanning(
            min(first for first, _ in bounds.values()),
            max(last for _, last in bounds.values()),
            prev.calendar.step,
        )
    except ValueError as exc:
        raise ExportError(str(exc)) from exc

    moved = calendar.start != prev.calendar.start
    root = staging.stage(request.out, prev.freq) if moved else prev.root
    try:
        if moved:
            shutil.copytree(prev.root, root, dirs_exist_ok=True)
        result = _write(root, request, prev, calendar, selected, appended, pools, symbols, progress)
        if moved:
            staging.swap_in(root, prev.root)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    finally:
        if moved:
            shutil.rmtree(root, ignore_errors=True)
    return result


def _write(
    root: Path,
    request: Request,
    prev: Previous,
    calendar: Calendar,
    selected: list[int],
    appended: dict[int, SymbolState],
    pools: dict[int, PoolInfo],
    symbols: dict[int, str],
    progress: Progress,
) -> TimeframeResult:
    freq, window = prev.freq, prev.window
    for scratch in root.glob(".rewrite-*"):  # left by a killed run
        shutil.rmtree(scratch, ignore_errors=True)
    whole = [p for p in selected if p not in appended]
    rewritten = {symbols[p] for p in whole} & prev.states.keys()
    states = {s: st for s, st in prev.states.items() if s not in rewritten}
    spans = {
        s: binwriter.Span(calendar.index_of(st.first), calendar.index_of(st.last))
        for s, st in states.items()
    }
    if calendar.start != prev.calendar.start:
        for symbol, span in spans.items():
            binwriter.set_first_slot(root, symbol, freq, span.first)
    for symbol in states.keys() - {symbols[p] for p in selected}:  # kept as they are
        binwriter.write_symbol(root, symbol, freq, calendar, [], append_to=spans[symbol])

    after = {p: state.last for p, state in appended.items()}
    news = source.digests(list(appended), window, after=after) | source.digests(whole, window)
    rows = 0
    progress.start(freq, len(selected))
    with closing(source.stream_pools(selected, window, after=after)) as stream:
        for pool_id, chunks in stream:
            symbol = symbols[pool_id]
            if pool_id in appended:
                span, count = binwriter.write_symbol(
                    root, symbol, freq, calendar, chunks, append_to=spans[symbol]
                )
            else:
                span, count = _rewrite(root, symbol, freq, calendar, chunks)
            if span is not None:
                spans[symbol] = span
                digest = news[pool_id]
                if pool_id in appended:
                    digest = appended[pool_id].digest + digest
                states[symbol] = SymbolState(
                    calendar.start + span.first * calendar.step,
                    calendar.start + span.last * calendar.step,
                    digest,
                )
            rows += count
            progress.advance()

    binwriter.write_text(root / "calendars" / f"{freq}.txt", calendar.lines(freq))
    binwriter.write_text(
        root / "instruments" / "all.txt", binwriter.instruments_lines(spans, calendar, freq)
    )
    by_symbol = {symbols[p]: p for p in selected}
    manifest.write_mapping(
        root,
        [
            manifest.mapping_row(pools[by_symbol[s]], request.network)
            if s in by_symbol
            else prev.mapping[s]
            for s in sorted(spans)
        ],
    )
    manifest.write(
        root,
        manifest.Contents(
            fmt="bin",
            timeframe=window.timeframe,
            network=request.network,
            include_open=False,
            start=prev.contents.start,
            end=prev.contents.end,
            calendar=calendar,
            states=states,
            rows=sum(state.digest.rows for state in states.values()),
        ),
    )
    return TimeframeResult(freq, len(spans), rows, calendar.length, rewritten=len(rewritten))


def _rewrite(
    root: Path, symbol: str, freq: str, calendar: Calendar, chunks: Iterable[Bars]
) -> tuple[binwriter.Span | None, int]:
    """Write a symbol whole beside its bins, then rename each over the old one."""
    scratch = root / f".rewrite-{symbol}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        span, count = binwriter.write_symbol(scratch, symbol, freq, calendar, chunks)
        target = binwriter.feature_dir(root, symbol)
        if span is None:
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for path in binwriter.feature_dir(scratch, symbol).iterdir():
                path.replace(target / path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return span, count


def _full_command(request: Request, timeframe: str) -> str:
    return f"manage.py export_qlib --out {request.out} --timeframe {timeframe} --force"
