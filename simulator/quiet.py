"""Quiet spells: weeks in which a pool makes no trade, so it has neither candles nor trades.

A pool quiet for longer than one OHLCV call spans (six months back from ``before_timestamp``)
answers ``[]`` in the middle of its history: what a client must not take for the history's
start. Spells come from the world's seed (``world.quiet_spells``) and from the control plane
(``POST /__sim__/quiet``).
"""

from __future__ import annotations

from .spans import SpanBook
from .world import World


class QuietBook(SpanBook):
    """Per-pool ``[start, end)`` ranges (epoch seconds) without a trade; the seeded spells are
    part of the world, so ``clear`` keeps them."""

    def __init__(self, world: World) -> None:
        super().__init__("quiet spell", world.quiet_spells)
