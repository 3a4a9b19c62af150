"""QLib frequency names and the export's calendar: a complete UTC grid, one slot per bar interval.

QLib accepts only ``<n>min`` and ``day`` style names (it has no hour unit: ``1h`` raises and
``1d`` silently loads nothing), so every project timeframe maps to exactly one canonical name,
which is also the calendar file's name and the ``.bin`` suffix.

The calendar is every interval from the first exported bar to the last, not the union of the
bars' timestamps as QLib's ``dump_bin.py`` makes it: a quiet hour in which no pool traded is still
an hour, so ``Ref($close, 1)`` always means one interval ago. Slot ``i`` is
``start + i * step``; a bar's position is arithmetic, never a search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from marketdata.timeframes import TIMEFRAME_SECONDS

QLIB_FREQ: dict[str, str] = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "1h": "60min",
    "4h": "240min",
    "12h": "720min",
    "1d": "day",
}
DAY_FORMAT = "%Y-%m-%d"
INTRADAY_FORMAT = "%Y-%m-%d %H:%M:%S"


def qlib_freq(timeframe: str) -> str:
    return QLIB_FREQ[timeframe]


def step_seconds(timeframe: str) -> int:
    return TIMEFRAME_SECONDS[timeframe]


def ts_format(freq: str) -> str:
    """QLib's own calendar formats: date only for ``day``, seconds otherwise (naive UTC)."""
    return DAY_FORMAT if freq == "day" else INTRADAY_FORMAT


def format_epoch(epoch: int, freq: str) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime(ts_format(freq))


def utc_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime(INTRADAY_FORMAT) + " UTC"


def parse_naive_utc(text: str) -> int:
    """Epoch seconds of a calendar or instruments timestamp (naive, meaning UTC)."""
    fmt = DAY_FORMAT if len(text) == 10 else INTRADAY_FORMAT
    return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Calendar:
    """``length`` consecutive slots of ``step`` seconds starting at epoch ``start``."""

    start: int
    step: int
    length: int

    @classmethod
    def spanning(cls, first: int, last: int, step: int) -> Calendar:
        for epoch in (first, last):
            if (epoch - first) % step:
                raise ValueError(f"{utc_text(epoch)} is not on the {step} s grid")
        return cls(first, step, (last - first) // step + 1)

    @property
    def end(self) -> int:
        return self.start + (self.length - 1) * self.step

    def index(self, epochs: np.ndarray) -> np.ndarray:
        """Slot of each epoch; raises on a timestamp off the grid (never rounds it)."""
        offset = epochs - self.start
        if (offset % self.step).any():
            bad = int(epochs[(offset % self.step) != 0][0])
            raise ValueError(f"bar at {utc_text(bad)} is not on the {self.step} s grid")
        return offset // self.step

    def index_of(self, epoch: int) -> int:
        return int(self.index(np.array([epoch], dtype=np.int64))[0])

    def extended_to(self, last: int) -> Calendar:
        return self if last <= self.end else Calendar.spanning(self.start, last, self.step)

    def lines(self, freq: str, first_slot: int = 0) -> list[str]:
        """The calendar file's lines from ``first_slot`` on, in QLib's format for ``freq``."""
        epochs = self.start + np.arange(first_slot, self.length, dtype=np.int64) * self.step
        text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
        if freq == "day":
            return [t[:10] for t in text]
        return [t.replace("T", " ") for t in text]
