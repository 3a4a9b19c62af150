"""Time ranges dropped from a pool's candle history, so collectors' gap handling can be tested."""

from __future__ import annotations

from .spans import SpanBook


class HoleBook(SpanBook):
    """Per-pool ``[start, end)`` ranges (epoch seconds) whose minutes produce no candles."""

    def __init__(self) -> None:
        super().__init__("hole")
