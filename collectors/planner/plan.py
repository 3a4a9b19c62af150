"""Order units by risk of loss, take what the tick's budget serves, and report demand per tier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from collectors.planner.demand import TIERS, Priority, Unit

TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}
GROUP_SPAN = 8  # more than any priority: a group number orders as rank's first two fields
SCORE = attrgetter("score")


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
    # ``rank`` groups units by (tier, priority) before their score: a tick's capacity is a few
    # dozen calls of some 100,000 candidates at 20,000 pools, so each group is sorted only if
    # room is left when its turn comes (sorting them all took 0.3 s a tick). A descending sort
    # keeps ties in input order, as the sort by ``rank`` did.
    groups: dict[int, list[Unit]] = {}
    due = 0
    cheapest = capacity + 1  # the least a candidate costs (when any costs no more than room)
    for unit in units:
        priority = unit.priority
        if priority < 0 or unit.key in busy:
            continue
        if priority <= Priority.FRESHNESS:
            group = TIER_RANK[unit.tier] * GROUP_SPAN + priority
            due += 1
        else:
            group = (len(TIERS) + priority) * GROUP_SPAN
            due += priority < Priority.EARLY
        if unit.cost < cheapest:
            cheapest = unit.cost
        groups.setdefault(group, []).append(unit)
    least = cheapest if largest is None else min(cheapest, largest)  # no smaller unit fits
    chosen: list[Unit] = []
    spent = 0
    room = capacity
    for group in sorted(groups):
        if room < least:
            break
        members = groups[group]
        members.sort(key=SCORE, reverse=True)
        for unit in members:
            fits = unit.cost if largest is None else min(unit.cost, largest)
            if fits <= room:
                chosen.append(unit)
                spent += unit.cost
                room -= fits
                if room < least:
                    break
    waiting = due - sum(u.priority < Priority.EARLY for u in chosen)
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
    need = dict.fromkeys(TIERS, 0.0)  # summed in unit order, as plain floats: 160,000 units
    for unit in units:
        need[unit.tier] += unit.need_per_min
        if unit.lag > 0 and unit.pool_id is not None:
            previous = lag.get(unit.pool_id, (unit.tier, 0.0))[1]
            lag[unit.pool_id] = (unit.tier, max(previous, unit.lag))
    left = plannable_per_min
    for tier in tiers.values():
        tier.need_per_min = need[tier.tier]
        tier.budget_per_min = max(0.0, left)
        left -= tier.need_per_min
        late = [(pool, seconds) for pool, (name, seconds) in lag.items() if name == tier.tier]
        late.sort(key=lambda item: -item[1])
        tier.lagging = late
    return Report(plannable_per_min=plannable_per_min, tiers=list(tiers.values()))
