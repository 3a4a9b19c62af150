"""One planning tick: snapshot → units → budget → selection → enqueue, and the announcement
when the service level changes. Celery's ``plan_collection`` task and ``collect plan`` call this.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from collectors.fleet import inflight
from collectors.fleet.locks import redis_client
from collectors.models import CollectorConfig
from collectors.planner import credit, demand, limits, snapshot
from collectors.planner.budget import TickBudget, tick_budget
from collectors.planner.plan import Report, Selection, report, select

logger = logging.getLogger(__name__)

CARRY_KEY = "gecko:plan:carry"
STATE_KEY = "gecko:plan:degradation"
# A queued unit expires after two ticks; its in-flight key outlives the message by this margin.
INFLIGHT_MARGIN = 30


@dataclass
class TickResult:
    budget: TickBudget
    selection: Selection
    report: Report
    queued: int  # units sent to the api queue
    announcement: str | None  # set when the service level changed at this tick
    limits: limits.Limits
    send_error: str | None = None  # a send failed: what, and that the unsent units were released


def build_units(config: CollectorConfig, snap: snapshot.Snapshot) -> list[demand.Unit]:
    units = demand.pool_units(snap.pools, snapshot.targets(config), snap.now)
    details = demand.details_unit(snap.details_pending)
    if details is not None:
        units.append(details)
    units.extend(demand.token_info_units(snap.tokens_without_info))
    units.extend(demand.pool_details_units(snap.stale_details))
    return units


def tick(
    config: CollectorConfig,
    *,
    send: Callable[[demand.Unit, float], None] | None,
    now: datetime | None = None,
) -> TickResult:
    """Plan one tick. ``send(unit, expires_seconds)`` enqueues a unit; None is a dry run that
    changes nothing (``collect plan``, the admin page).

    The cyclic garbage collector is paused meanwhile: the tick allocates some 200,000 objects
    at 20,000 pools, none in a cycle, and the collections they set off took a third of it. The
    objects are freed as it returns, before the collector is back."""
    if not gc.isenabled():
        return _tick(config, send, now)
    gc.disable()
    try:
        return _tick(config, send, now)
    finally:
        gc.enable()


def _tick(
    config: CollectorConfig,
    send: Callable[[demand.Unit, float], None] | None,
    now: datetime | None,
) -> TickResult:
    now = now or timezone.now()
    client = redis_client()
    snap = snapshot.load(config, now)
    units = build_units(config, snap)
    busy = inflight.read(client)
    plan_limits = limits.current()
    carry = float(client.get(CARRY_KEY) or 0.0)
    budget = tick_budget(
        plan_limits,
        reserve_share=config.reserve_share,
        tick_seconds=config.plan_tick_seconds,
        in_flight=busy.calls,
        carry=carry,
        now=now,
    )
    selection = select(units, budget.capacity, busy.units, largest=budget.largest)
    summary = report(units, snap.pools_per_tier, budget.plannable_per_min)
    if send is None:
        return TickResult(budget, selection, summary, 0, None, plan_limits)
    credit.remember_need(summary.need_per_min, client)  # the backfill guard's live need

    expires = 2.0 * config.plan_tick_seconds
    costs = {u.key: u.cost for u in selection.chosen}
    claimed = set(inflight.claim(costs.items(), expires + INFLIGHT_MARGIN, client))
    to_send = [u for u in selection.chosen if u.key in claimed]
    queued = spent = 0
    error = None
    for index, unit in enumerate(to_send):
        try:
            send(unit, expires)
        except Exception as exc:
            # The broker is likely gone for the rest too: stop, and free every unsent claim at
            # once, or those units would wait out their TTL and shrink the next ticks' capacity.
            unsent = to_send[index:]
            inflight.release([u.key for u in unsent], client)
            error = (
                f"could not send the {ordinal(index + 1)} of {len(to_send)} units ({unit.key}): "
                f"{type(exc).__name__}: {exc}; the {len(unsent)} unsent units were released"
            )
            logger.error("planning tick: %s", error)
            break
        queued += 1
        spent += unit.cost
    # Negative after a unit bigger than any tick: the ticks after it pay it back (budget).
    client.set(CARRY_KEY, f"{budget.carry - spent:.6f}", ex=24 * 3600)
    return TickResult(
        budget, selection, summary, queued, announce(summary, client), plan_limits, error
    )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def announce(summary: Report, client) -> str | None:
    """Log once per change of service level (not once per tick); returns the message then."""
    state = ";".join(f"{tier}={level}" for tier, level in summary.degradation())
    previous = client.getset(STATE_KEY, state)
    if previous is not None and previous.decode() == state:
        return None
    if previous is None and not summary.degraded:
        return None
    if summary.degraded:
        message = (
            f"collection degraded: demand {summary.need_per_min:.1f} calls/min exceeds the "
            f"budget {summary.plannable_per_min:.1f}/min; "
            + ", ".join(f"{t.tier} {t.served_share:.0%} served" for t in summary.tiers if t.pools)
            + " (served in order: each tier's trades at risk then candles, watchlist first; "
            "then metadata)"
        )
        logger.warning(message)
    else:
        message = (
            f"collection back within budget: demand {summary.need_per_min:.1f} calls/min, "
            f"budget {summary.plannable_per_min:.1f}/min"
        )
        logger.info(message)
    return message
