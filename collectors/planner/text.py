"""The plan in words: demand against budget per tier, and the pools that lag (CLI and admin)."""

from __future__ import annotations

from django.conf import settings

from collectors.planner.credit import backfill_credit
from collectors.planner.service import TickResult
from marketdata.models import Pool


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"


def render(result: TickResult, *, worst: int = 10) -> str:
    budget, summary, limits = result.budget, result.report, result.limits
    credit = f", {limits.monthly_credit:,} calls a month" if limits.monthly_credit else ""
    bound = " (the monthly credit sets the pace)" if budget.monthly_bound else ""
    lines = [
        f"API plan {settings.GECKO_API_PLAN}: {limits.rate_per_min:g} calls/min{credit}; "
        f"sustained {budget.sustained_per_min:.2f}/min{bound}; after the reserve "
        f"{budget.plannable_per_min:.2f}/min for the planner",
        f"in flight: {budget.in_flight} calls; this tick could queue {budget.capacity} calls "
        f"({len(result.selection.chosen)} units ready, {result.selection.waiting_due} due units "
        "would wait)",
    ]
    if limits.monthly_credit:
        lines.append(f"backfills: {backfill_credit(need_per_min=summary.need_per_min).describe()}")
    lines += [
        "",
        f"{'tier':<10} {'pools':>6} {'need/min':>9} {'budget/min':>11} {'headroom':>9}  lagging",
    ]
    for tier in summary.tiers:
        late = tier.lagging
        worst_lag = f" (worst {duration(late[0][1])} behind)" if late else ""
        lines.append(
            f"{tier.tier:<10} {tier.pools:>6} {tier.need_per_min:>9.2f} "
            f"{tier.budget_per_min:>11.2f} {tier.headroom_per_min:>+9.2f}  "
            f"{len(late)} pools{worst_lag}"
        )
    total_pools = sum(t.pools for t in summary.tiers)
    headroom = summary.plannable_per_min - summary.need_per_min
    lines.append(
        f"{'total':<10} {total_pools:>6} {summary.need_per_min:>9.2f} "
        f"{summary.plannable_per_min:>11.2f} {headroom:>+9.2f}"
    )
    lines.append("")
    if summary.degraded:
        lines.append(
            "OVER BUDGET: served in order (each tier's trades at risk then candles, watchlist "
            "first; then metadata); "
            + ", ".join(f"{t.tier} {t.served_share:.0%} served" for t in summary.tiers if t.pools)
        )
    else:
        lines.append("Within budget: every tier's freshness targets can be met.")
    late = sorted(
        ((seconds, tier.tier, pool) for tier in summary.tiers for pool, seconds in tier.lagging),
        reverse=True,
    )[:worst]
    if late:
        names = dict(Pool.objects.filter(pk__in=[p for _, _, p in late]).values_list("pk", "name"))
        lines.append(f"Lagging pools, worst {len(late)} (behind their loss point or target):")
        lines.extend(
            f"  {tier:<10} pool {pool:<8} {names.get(pool, '?'):<28} {duration(seconds)} behind"
            for seconds, tier, pool in late
        )
    return "\n".join(lines)
