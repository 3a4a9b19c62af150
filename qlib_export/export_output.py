"""What ``export_qlib`` prints: the plan before any candle is read, a bar per timeframe's
pools on a terminal (geckoproject.progress), and a line per timeframe as it is written."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn

from geckoproject.progress import CommandProgress

from . import export
from .request import TimeframeResult


class Output(export.Progress):
    """A bar per timeframe's pools on a terminal; a line per timeframe written."""

    def __init__(self, stdout, count: int, *, enabled: bool, lines: bool) -> None:
        self.count = count
        self.lines = lines
        self.written = 0
        self.output = CommandProgress(
            stdout,
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            enabled=enabled,
            transient=True,
        )
        self._task = None

    def __enter__(self) -> Output:
        self.output.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.output.__exit__(*exc_info)

    def start(self, label: str, total: int) -> None:
        self._task = self.output.bar.add_task(f"{label} pools", total=total)

    def advance(self) -> None:
        self.output.bar.advance(self._task)

    def timeframe_written(self, result: TimeframeResult) -> None:
        self.written += 1
        if self.lines:
            self.output.unit_done(
                f"  {self.written}/{self.count} {result.freq}: {result.instruments:,} instruments, "
                f"{result.rows:,} rows"
            )


def plan_line(request: export.Request) -> str:
    """What the export will do, written before it reads any candle."""
    what = "extend" if request.incremental else "export"
    span = "".join(
        f" {word} {moment:%Y-%m-%d %H:%M}"
        for word, moment in (("from", request.start), ("before", request.end))
        if moment
    )
    return (
        f"Plan: {request.fmt} {what} of {len(request.pool_ids)} pools × "
        f"{len(request.timeframes)} timeframes ({' '.join(request.timeframes)}){span} "
        f"to {request.out}"
    )
