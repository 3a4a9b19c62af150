"""A backfill run by ``manage.py backfill_ohlcv`` in its own process, not by Celery tasks.

A shell run has no worker to hand a wait or a stop to: its walk waits out the shared bucket
itself, stops after the page in hand when the shell sends SIGINT or SIGTERM, and carries on
past a (pool, timeframe) or gap that failed, so one bad pool never costs the rest of a long
run. Which gaps a run takes, and what is left after it, are decided here too; what the run
prints is collectors.management.backfill_output's, and queueing tasks (``--async``) the
command's own.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

from django.db import transaction

from collectors.gecko.client import GeckoClient
from collectors.gecko.errors import GeckoError, MustWait
from collectors.models import CollectorConfig
from collectors.services import backfill, gaps
from marketdata.coverage import Span
from marketdata.models import Gap, Pool

# The command's logger: a failed unit's line reads as it did when the command ran it itself.
logger = logging.getLogger("collectors.management.commands.backfill_ohlcv")


@dataclass
class Totals:
    """What a run did, for its summary: added to as each unit ends, ``calls`` at the end."""

    started: float
    pages: int = 0
    candles: int = 0
    written: int = 0
    calls: int = 0
    busy: int = 0
    pages_left: int = 0
    failed: list[str] = field(default_factory=list)
    credit_stop: str | None = None

    def add(self, report: backfill.UnitReport) -> None:
        self.pages += report.pages
        self.candles += report.candles
        self.written += report.written
        self.busy += int(report.busy)
        self.credit_stop = report.credit_stop or self.credit_stop


class StopRequest:
    """A walk's ``stop``: true once SIGINT or SIGTERM came; the first one is announced."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.requested = False
        self.announce = announce

    def __call__(self) -> bool:
        return self.requested

    def on_signal(self, signum: int, frame: object) -> None:
        if not self.requested:
            self.announce(signal.Signals(signum).name)
        self.requested = True


@contextmanager
def inline_walk(
    client: GeckoClient, *, include_empty: bool, announce: Callable[[str], None]
) -> Iterator[tuple[backfill.Walk, Totals]]:
    """A walk on ``client`` (the backfill lane) that waits out the bucket and stops after the
    current page on SIGINT/SIGTERM (``announce`` hears the signal's name); the signal handlers
    are restored, the client closed and its calls counted after."""
    stop = StopRequest(announce)
    previous = {s: signal.signal(s, stop.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    totals = Totals(started=time.monotonic())
    walk = backfill.Walk(
        client, include_empty=include_empty, stop=stop, wait=backfill.sleep_unless(stop)
    )
    try:
        yield walk, totals
    finally:
        totals.calls = client.stats.calls
        client.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- (pool × timeframe) units ----------------------------------------------------------------


class UnitWatcher(Protocol):
    def start_unit(self, unit: backfill.Unit) -> None: ...

    def end_unit(self, unit: backfill.Unit, report: backfill.UnitReport) -> None: ...

    def unit_failed(self, unit: backfill.Unit, error: GeckoError) -> None: ...


def backfill_units(
    walk: backfill.Walk, plan: backfill.Plan, totals: Totals, watcher: UnitWatcher
) -> list[backfill.Unit]:
    """Walk the plan's units in turn until done or stopped; the units left, the one stopped in
    first (``totals.pages_left``: its pages still to walk)."""
    for index, unit in enumerate(plan.todo):
        if walk.stop():
            totals.pages_left = unit.pages
            return plan.todo[index:]
        watcher.start_unit(unit)
        try:
            report = backfill.backfill_unit(
                walk, unit.pool_id, unit.timeframe, since=plan.since, until=plan.until
            )
        except GeckoError as exc:
            # One bad (pool, timeframe) never aborts the batch; its pages so far stay.
            logger.exception("backfill %s %s failed", unit.address, unit.timeframe)
            totals.failed.append(f"{unit.address} {unit.timeframe}: {exc}")
            watcher.unit_failed(unit, exc)
            continue
        totals.add(report)
        watcher.end_unit(unit, report)
        if report.stopped:
            totals.pages_left = report.pages_left
            return plan.todo[index:]
    return []


def unfillable_after(plan: backfill.Plan) -> tuple[list[backfill.Unit], str]:
    """The plan's (pool × timeframe) whose history starts after its range, planned again after
    the run (which learnt where histories start), and why the first of them is."""
    after = backfill.plan_backfill(
        sorted({u.pool_id for u in plan.units}),
        plan.timeframes,
        since=plan.since,
        until=plan.until,
    )
    unfillable = after.unfillable
    if not unfillable:
        return [], ""
    pools = dict(Pool.objects.filter(pk__in={u.pool_id for u in unfillable}).in_bulk())
    first = unfillable[0]
    return unfillable, backfill.unfillable_reason(pools[first.pool_id], first.history_start)


# --- gaps ------------------------------------------------------------------------------------


@dataclass
class GapPlan:
    gaps: list[Gap]

    @property
    def pages(self) -> int:
        return sum(backfill.pages_for(Span(g.start, g.end), g.timeframe) for g in self.gaps)


def plan_gaps(
    config: CollectorConfig,
    pool_ids: list[int] | None,
    timeframes: list[str] | None,
    *,
    dry_run: bool,
) -> GapPlan:
    """Scan for gaps now, then the open candle gaps of these pools and timeframes (None: all),
    the first found first. The periodic scan runs every 15 min: scanning now plans a hole
    since then too. A dry run scans in a transaction it rolls back: the plan is current,
    nothing written."""
    scanned = list(dict.fromkeys([*config.ohlcv_timeframes, *(timeframes or [])]))
    with transaction.atomic() if dry_run else nullcontext():
        gaps.scan_gaps(config.network, scanned)
        chosen = Gap.objects.filter(status=Gap.Status.OPEN).exclude(timeframe=Gap.TRADES)
        if pool_ids is not None:
            chosen = chosen.filter(pool_id__in=pool_ids)
        if timeframes:
            chosen = chosen.filter(timeframe__in=timeframes)
        plan = GapPlan(list(chosen.select_related("pool").order_by("detected_at", "pk")))
        if dry_run:
            transaction.set_rollback(True)
    return plan


def claim_gaps(plan: GapPlan) -> list[int]:
    """The plan's gaps the caller may queue: those not queued or running already."""
    return [g.pk for g in plan.gaps if gaps.claim_gap(g.pk)]


@dataclass
class GapResult:
    """One gap's walk: ``done`` (its report, None if the gap was gone), ``skipped`` (held
    elsewhere) or ``failed``."""

    state: str
    report: backfill.UnitReport | None = None
    error: GeckoError | None = None


def backfill_one_gap(walk: backfill.Walk, totals: Totals, gap: Gap) -> GapResult:
    if not gaps.claim_gap(gap.pk):
        return GapResult("skipped")
    try:
        report = backfill.backfill_gap(walk, gap.pk)
    except MustWait:  # another backfill holds its pool: that one covers the range
        return GapResult("skipped")
    except GeckoError as exc:
        logger.exception("backfill of gap %s failed", gap.pk)
        totals.failed.append(f"gap {gap.pk}: {exc}")
        return GapResult("failed", error=exc)
    finally:
        gaps.release_gap(gap.pk)
    if report is not None:
        totals.add(report)
    return GapResult("done", report)


def backfill_gaps(
    walk: backfill.Walk,
    totals: Totals,
    plan: GapPlan,
    on_gap: Callable[[int, Gap, GapResult], None],
) -> dict[str, int]:
    """Walk the plan's gaps in turn until done or stopped; ``on_gap`` hears of each (its
    number from 1). How many were done, skipped and failed."""
    counts = {"done": 0, "skipped": 0, "failed": 0}
    for index, gap in enumerate(plan.gaps, 1):
        if walk.stop():
            break
        result = backfill_one_gap(walk, totals, gap)
        counts[result.state] += 1
        on_gap(index, gap, result)
    return counts


def gap_states(plan: GapPlan) -> dict[str, int]:
    """How many of the plan's gaps are now in each state (open, filled, unfillable...)."""
    states = dict.fromkeys(Gap.Status.values, 0)
    for status in Gap.objects.filter(pk__in=[g.pk for g in plan.gaps]).values_list(
        "status", flat=True
    ):
        states[status] += 1
    return states
