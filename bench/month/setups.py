"""The set-ups the simulated month is run at, and the goals each must meet."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings

# Virtual time starts at a fixed instant, so two runs of a set-up are the same run. A month
# that starts on the 1st keeps a monthly credit to one month.
START = datetime(2026, 11, 1, tzinfo=UTC)
SIM_HOST = "http://simulator.bench"
URLS = {"public": f"{SIM_HOST}/api/v2", "demo": f"{SIM_HOST}/api/v3/onchain"}
URLS["pro"] = URLS["demo"]
BENCH_KEY = "bench-key"
# The goals of the issue: a set-up is run in at most this wall time on 2 cores.
WALL_GOAL_SECONDS = 600.0
FLAGGED_RATIO_GOAL = 1.1
# The simulator's default world, and how much larger than a watchlist a larger world is built.
DEFAULT_WORLD_POOLS = 290
WORLD_MARGIN = 1.2


@dataclass(frozen=True)
class Setup:
    """One run: ``pools`` watchlist pools on ``plan`` for ``days`` simulated days.

    ``backfill_days``: at the start, every pool's timeframes are backfilled that far back
    (``manage.py backfill_ohlcv --days N --async``), on the backfill lane beside live work.
    """

    name: str
    plan: str  # public | demo | pro
    pools: int
    days: float
    rate_per_min: float
    monthly_credit: int = 0
    backfill_days: int = 0
    seed: int = 42

    @property
    def world_pools(self) -> int:
        """Pools in the simulator's world: today's 290, or a fifth more than the watchlist so
        the seeded sample still leaves some out. The driver and the audit build the same one."""
        return max(DEFAULT_WORLD_POOLS, math.ceil(WORLD_MARGIN * self.pools))

    @property
    def keyed(self) -> bool:
        return self.plan != "public"

    def settings(self) -> dict:
        """The deployment settings this set-up runs with."""
        return {
            "GECKO_API_PLAN": self.plan,
            "GECKO_API_KEY": BENCH_KEY if self.keyed else "",
            "GECKO_API_URL": URLS[self.plan],
            "GECKO_RATE_LIMIT_PER_MIN": self.rate_per_min,
            "GECKO_MONTHLY_CREDIT": self.monthly_credit,
            # The deployment's depth follows its plan, as GECKO_API_PLAN's defaults set it.
            "GECKO_HISTORY_DAYS": settings.GECKO_API_PLANS[self.plan]["history_days"],
        }

    def shorter(self, *, days: float | None = None, pools: int | None = None) -> Setup:
        return replace(
            self,
            name=f"{self.name} (short)",
            days=self.days if days is None else days,
            pools=self.pools if pools is None else pools,
        )


SETUPS = {
    "free": Setup("free tier, 1,000 pools", "public", 1_000, 30.0, 25.0),
    "demo": Setup("demo, 100 pools", "demo", 100, 30.0, 25.0, monthly_credit=10_000),
    "pro": Setup(
        "pro 500/min, 50 pools, 6-month backfill",
        "pro",
        50,
        30.0,
        500.0,
        monthly_credit=500_000,
        backfill_days=180,
    ),
}
