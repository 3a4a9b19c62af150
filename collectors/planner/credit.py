"""The monthly credit between live collection and backfills.

Live collection is paced by the planner to last the month. A backfill is paced only by the
bucket's backfill lane, so on a keyed plan it could spend the month's credit in hours, after
which every call is refused and trades are lost. So every backfill page first asks here: the
calls left this month less live collection's need to the month's end (the planner's demand,
remembered at each tick) is what backfills may spend; at 0 they stop and say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from collectors.fleet.locks import redis_client
from collectors.models import CollectorConfig
from collectors.planner import limits
from collectors.planner.budget import Limits, backfill_allowance, live_reserve

NEED_KEY = "gecko:plan:need-per-min"
# The planner writes its demand every tick; a value older than this is computed afresh.
NEED_TTL = 600


def remember_need(need_per_min: float, client=None) -> None:
    (client or redis_client()).set(NEED_KEY, f"{need_per_min:.6f}", ex=NEED_TTL)


def live_need_per_min(config: CollectorConfig) -> float:
    """Live collection's demand in calls a minute: the planner's last figure, or a dry-run
    plan when it has not run lately (then kept as if it had)."""
    raw = redis_client().get(NEED_KEY)
    if raw is not None:
        return float(raw)
    from collectors.planner.service import (
        tick,  # the service plans with this module's guard in reach
    )

    need = tick(config, send=None).report.need_per_min
    remember_need(need)
    return need


@dataclass(frozen=True)
class BackfillCredit:
    """What backfills may spend this month; ``allowance`` None: the plan has no monthly cap."""

    limits: Limits
    allowance: int | None
    live_need_per_min: float = 0.0
    live_reserve: float = 0.0

    @property
    def exhausted(self) -> bool:
        return self.allowance is not None and self.allowance < 1

    def describe(self) -> str:
        if self.allowance is None:
            return "no monthly credit on this plan: backfills are paced by the rate only"
        left = self.limits.remaining_this_month
        return (
            f"monthly credit {self.limits.monthly_credit:,} calls: "
            f"{'?' if left is None else f'{left:,}'} left this month; live collection needs "
            f"~{self.live_reserve:,.0f} to the month's end ({self.live_need_per_min:.2f}/min), "
            f"so backfill may use {self.allowance:,} calls"
        )

    def stop_reason(self) -> str:
        return (
            "stopped: the monthly credit left is live collection's "
            f"({self.describe()}); run again next month, or when live collection needs less"
        )


def backfill_credit(
    config: CollectorConfig | None = None,
    now: datetime | None = None,
    *,
    need_per_min: float | None = None,
) -> BackfillCredit:
    """What backfills may spend now; ``need_per_min``: live collection's demand when the caller
    has just planned it."""
    now = now or datetime.now(tz=UTC)
    plan = limits.current()
    if not plan.monthly_credit:
        return BackfillCredit(plan, None)
    # Read, not created: the backfill command's dry run writes nothing.
    network = settings.GECKO_NETWORK
    config = config or (
        CollectorConfig.objects.filter(network=network).first() or CollectorConfig(network=network)
    )
    need = live_need_per_min(config) if need_per_min is None else need_per_min
    reserve = config.reserve_share
    return BackfillCredit(
        plan,
        backfill_allowance(plan, live_need_per_min=need, reserve_share=reserve, now=now),
        need,
        live_reserve(plan, live_need_per_min=need, reserve_share=reserve, now=now),
    )
