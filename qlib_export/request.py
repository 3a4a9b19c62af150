"""What an export is asked to do, what it reports, and how it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class ExportError(Exception):
    """A request that cannot be carried out; nothing was written."""


class Progress:
    """Told how many pools a timeframe has, when each is done and when the timeframe is
    written; the command draws a bar or writes a line."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass

    def timeframe_written(self, result: TimeframeResult) -> None:
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
    rewritten: int = 0  # --incremental: symbols whose exported history had changed
