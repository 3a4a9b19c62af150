"""Order units by risk of loss, take what the tick's budget serves, and report demand per tier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .demand import TIERS, Priority, Unit

TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}


def rank(unit: Unit) -> tuple[int, int, float]:
    """Sort key: a tier's due work (trades at risk, then candle deficits) before the next
    tier's, since lower tiers live on leftover budget; then metadata; then early refreshes,
    where the tier weight in the score still favours the watchlist."""
    if unit.priority <= Priority.FRESHNESS:
        return (TIER_RANK[unit.tier], unit.priority, -unit.score)
    return (len(TIERS) + unit.priority, 0, -unit.score)


@dataclass(frozen=True)
class Selection:
    chosen: list[Unit]
    spent: int  # calls the chosen units cost
    waiting_due: int  # due units left for a later tick (the deficit, in units)


def select(
    units: Iterable[Unit],
    capacity: int,
    busy: frozenset[str] | set[str],
    *,
    largest: int | None = None,
) -> Selection:
    """The units to enqueue now, in ``rank`` order; never more calls than ``capacity``, never a
    unit already in flight.

    A unit too big for what is left is skipped, not waited for: a cheaper one behind it may fit.
    A unit costing more than ``largest`` (the most any tick may queue: on the demo plan, one
    call) would be skipped every tick, so it counts as ``largest`` here and is queued whole when
    its turn comes with a full tick's capacity; ``spent`` is its real cost, and the budget's
    carry goes negative until later ticks have paid for it.
    """
    candidates = sorted(
        (u for u in units if u.priority >= 0 and u.key not in busy),
        key=rank,
    )
    chosen: list[Unit] = []
    spent = 0
    room = capacity
    waiting = 0
    for unit in candidates:
        fits = unit.cost if largest is None else min(unit.cost, largest)
        if fits <= room:
            chosen.append(unit)
            spent += unit.cost
            room -= fits
        elif unit.priority < Priority.EARLY:
            waiting += 1
    return Selection(chosen=chosen, spent=spent, waiting_due=waiting)


@dataclass
class TierReport:
    tier: str
    pools: int = 0
    need_per_min: float = 0.0
    budget_per_min: float = 0.0  # what is left for this tier after the tiers before it
    lagging: list[tuple[int, float]] = field(default_factory=list)  # (pool, seconds), worst first

    @property
    def headroom_per_min(self) -> float:
        return self.budget_per_min - self.need_per_min

    @property
    def served_share(self) -> float:
        return 1.0 if self.need_per_min <= 0 else min(1.0, self.budget_per_min / self.need_per_min)


@dataclass
class Report:
    plannable_per_min: float
    tiers: list[TierReport]

    @property
    def need_per_min(self) -> float:
        return sum(t.need_per_min for t in self.tiers)

    def degradation(self) -> tuple[tuple[str, str], ...]:
        """A coarse state that changes only when a tier's service level does, not every tick."""
        levels = []
        for tier in self.tiers:
            share = tier.served_share
            level = "full" if share >= 1 else "partial" if share > 0 else "none"
            levels.append((tier.tier, level))
        return tuple(levels)

    @property
    def degraded(self) -> bool:
        return any(level != "full" for _, level in self.degradation())


def report(
    units: Sequence[Unit], pools_per_tier: dict[str, int], plannable_per_min: float
) -> Report:
    """Demand against budget per tier, in priority order (the watchlist is served first)."""
    tiers = {name: TierReport(name, pools=pools_per_tier.get(name, 0)) for name in TIERS}
    lag: dict[int, tuple[str, float]] = {}
    for unit in units:
        tier = tiers[unit.tier]
        tier.need_per_min += unit.need_per_min
        if unit.lag > 0 and unit.pool_id is not None:
            previous = lag.get(unit.pool_id, (unit.tier, 0.0))[1]
            lag[unit.pool_id] = (unit.tier, max(previous, unit.lag))
    left = plannable_per_min
    for tier in tiers.values():
        tier.budget_per_min = max(0.0, left)
        left -= tier.need_per_min
        late = [(pool, seconds) for pool, (name, seconds) in lag.items() if name == tier.tier]
        late.sort(key=lambda item: -item[1])
        tier.lagging = late
    return Report(plannable_per_min=plannable_per_min, tiers=list(tiers.values()))
