"""The seven candle timeframes GeckoTerminal serves, and their lengths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import models


class Timeframe(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    H12 = "12h", "12 hours"
    D1 = "1d", "1 day"

    @property
    def seconds(self) -> int:
        return TIMEFRAME_SECONDS[self.value]

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def floor(self, moment: datetime) -> datetime:
        """The open time of the candle that contains ``moment`` (epoch-aligned, UTC)."""
        epoch = int(moment.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.seconds, tz=UTC)


TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "4h": 14400,
    "12h": 43200,
    "1d": 86400,
}

ALL_TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_SECONDS)
