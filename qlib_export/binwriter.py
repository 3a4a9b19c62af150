"""QLib's provider layout for one frequency, written directly (no ``dump_bin.py``).

    calendars/<freq>.txt            one naive-UTC timestamp a line (calendar.py)
    instruments/all.txt             SYMBOL<TAB>first<TAB>last, one line per symbol
    features/<symbol>/<field>.<freq>.bin

A ``.bin`` file is little-endian float32: element 0 is the calendar slot of the symbol's first
bar, then one value per slot up to its last bar. A slot inside that span with no bar (a quiet
interval: nobody traded) is NaN in every field, never a neighbour's value. float32 is QLib's
format: prices keep about 7 significant digits and volumes above 2^24 lose integer precision.

Fields: ``open high low close volume`` (volume is the pool's traded value in USD, as
GeckoTerminal reports it), ``factor`` = 1.0 on every bar (tokens have no splits: prices are
unadjusted), and ``vwap`` = (high + low + close) / 3, the typical price, standing in for a volume-
weighted price that DEX candles do not carry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calendar import Calendar, format_epoch, utc_text
from .source import Bars

FIELDS = ("open", "high", "low", "close", "volume", "factor", "vwap")
_F4 = np.dtype("<f4")


@dataclass
class Span:
    """A symbol's first and last calendar slot."""

    first: int
    last: int


def field_values(bars: Bars) -> dict[str, np.ndarray]:
    """Every exported field of these bars, in float64 until the single cast to float32."""
    return {
        "open": bars.open,
        "high": bars.high,
        "low": bars.low,
        "close": bars.close,
        "volume": bars.volume,
        "factor": np.ones(len(bars)),
        "vwap": (bars.high + bars.low + bars.close) / 3.0,
    }


def feature_dir(root: Path, symbol: str) -> Path:
    return root / "features" / symbol.lower()


def write_symbol(
    root: Path,
    symbol: str,
    freq: str,
    calendar: Calendar,
    chunks: Iterable[Bars],
    *,
    append_to: Span | None = None,
) -> tuple[Span | None, int]:
    """Write (or, with ``append_to``, extend) one symbol's bins; returns its span and bar count.

    Appending never touches a byte of the existing history: each file is cut back to the length
    ``append_to`` implies (a run interrupted after appending leaves more), even when no bar is
    new, and values go after it, NaN-padded from the old last slot to the first new bar.
    Returns ``(None, 0)`` when a new symbol has no bars. Raises ValueError naming the symbol
    on a bar off the calendar's grid or outside it.
    """
    directory = feature_dir(root, symbol)
    paths = {name: directory / f"{name}.{freq}.bin" for name in FIELDS}
    files = {}
    span = append_to
    if append_to is not None:
        files = _open_for_append(paths, append_to)
    rows = 0
    try:
        for bars in chunks:
            if not len(bars):
                continue
            try:
                slots = calendar.index(bars.ts)
            except ValueError as exc:
                raise ValueError(f"{symbol}: {exc}") from exc
            _check_inside(symbol, freq, calendar, slots)
            if span is None:
                span = Span(int(slots[0]), int(slots[0]) - 1)
                directory.mkdir(parents=True, exist_ok=True)
                for name, path in paths.items():
                    files[name] = path.open("wb")
                    files[name].write(np.array([span.first], dtype=_F4).tobytes())
            if slots[0] <= span.last:
                raise ValueError(f"{symbol}: bar at slot {slots[0]} is not after {span.last}")
            positions = slots - (span.last + 1)
            for name, values in field_values(bars).items():
                block = np.full(int(positions[-1]) + 1, np.nan, dtype=_F4)
                block[positions] = values
                files[name].write(block.tobytes())
            span.last = int(slots[-1])
            rows += len(bars)
    finally:
        for handle in files.values():
            handle.close()
    return span, rows


def set_first_slot(root: Path, symbol: str, freq: str, first: int) -> None:
    """Rewrite element 0 of each of the symbol's bins: where it starts on a moved calendar."""
    for name in FIELDS:
        with (feature_dir(root, symbol) / f"{name}.{freq}.bin").open("r+b") as handle:
            handle.write(np.array([first], dtype=_F4).tobytes())


def _check_inside(symbol: str, freq: str, calendar: Calendar, slots: np.ndarray) -> None:
    """Refuse a bar outside the calendar: its bins would disagree with it (a negative start
    index, or more values than the calendar has slots), and QLib would read shifted data."""
    if slots[0] >= 0 and slots[-1] < calendar.length:
        return
    where, slot = ("before", int(slots[0])) if slots[0] < 0 else ("after", int(slots[-1]))
    raise ValueError(
        f"{symbol}: bar at {utc_text(calendar.start + slot * calendar.step)} lies {where} the "
        f"{freq} calendar ({utc_text(calendar.start)} to {utc_text(calendar.end)}); "
        f"refusing to write {FIELDS[0]}.{freq}.bin and the other fields"
    )


def _open_for_append(paths: dict[str, Path], span: Span) -> dict:
    size = (span.last - span.first + 2) * _F4.itemsize
    files = {}
    for name, path in paths.items():
        handle = path.open("r+b") if path.exists() else None
        if handle is None or os.fstat(handle.fileno()).st_size < size:
            raise ValueError(f"{path} is shorter than export.json says; re-export in full")
        handle.truncate(size)
        handle.seek(size)
        files[name] = handle
    return files


def instruments_lines(spans: dict[str, Span], calendar: Calendar, freq: str) -> list[str]:
    """``all.txt`` lines, sorted by symbol: upper-case name, first and last bar in QLib format."""
    return [
        "\t".join(
            (
                symbol.upper(),
                format_epoch(calendar.start + span.first * calendar.step, freq),
                format_epoch(calendar.start + span.last * calendar.step, freq),
            )
        )
        for symbol, span in sorted(spans.items())
    ]


def write_text(path: Path, lines: Iterable[str]) -> None:
    """Replace a text file atomically (write beside it, then rename over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="\n") as handle:
        for line in lines:
            handle.write(line + "\n")
    os.replace(partial, path)
