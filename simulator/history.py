"""How far back one OHLCV call reaches: the plan's history depth, the span of one call, and
what ``limit`` counts.

The API's rules (reference API.md, "History depth" and "Plans"): keyless and demo keys serve
about six months back from now; paid keys serve back to September 2021, but one call spans at
most six months back from ``before_timestamp`` (past that it answers ``[]``), so a client pages
back. Whether ``limit`` counts the candles returned or the intervals looked at when empty
intervals are skipped is not documented, so both readings are offered:

* ``"intervals"`` (the default): a call looks at the ``limit`` intervals ending at
  ``before_timestamp`` and returns those that traded, so a quiet pool's page is short although
  older candles exist. ``include_empty_intervals=true`` fills exactly those intervals, and the
  API's own default of 100 reads as "the last 100 periods of the chart": the likelier design.
* ``"candles"``: a call returns the ``limit`` newest candles within its span, however far back
  they lie.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86400
# At most this far back from before_timestamp (or now) per call, on every plan.
CALL_SPAN_SECONDS = 183 * DAY
# Keyless and demo: about six months back from now.
PUBLIC_DEPTH_SECONDS = 183 * DAY
# Paid plans (Analyst and up): from September 2021 (2021-09-01T00:00:00Z).
PAID_HISTORY_FROM = 1_630_454_400
LIMIT_COUNTS = ("intervals", "candles")


@dataclass(frozen=True)
class HistoryRules:
    paid: bool = False
    limit_counts: str = "intervals"

    def __post_init__(self) -> None:
        if self.limit_counts not in LIMIT_COUNTS:
            raise ValueError(
                f"limit_counts {self.limit_counts!r}; expected one of {', '.join(LIMIT_COUNTS)}"
            )

    @property
    def counts_intervals(self) -> bool:
        return self.limit_counts == "intervals"

    def floor(self, now: int, upper: int) -> int:
        """The oldest second a call reaching back from ``upper`` may show candles of."""
        depth = PAID_HISTORY_FROM if self.paid else now - PUBLIC_DEPTH_SECONDS
        return max(depth, upper - CALL_SPAN_SECONDS)

    def describe(self) -> dict:
        return {
            "history": "paid: from 2021-09-01" if self.paid else "public: 183 days back",
            "call_span_days": CALL_SPAN_SECONDS // DAY,
            "limit_counts": self.limit_counts,
        }
