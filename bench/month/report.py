"""The loss table and the goals, each MET or NOT MET, as bench/replay.py prints them."""

from __future__ import annotations

from dataclasses import dataclass

from .audit import Losses
from .driver import Run
from .setups import FLAGGED_RATIO_GOAL, WALL_GOAL_SECONDS


@dataclass(frozen=True)
class Goal:
    name: str
    met: bool
    figure: str

    def line(self) -> str:
        return f"  {'MET    ' if self.met else 'NOT MET'}  {self.name}: {self.figure}"


def goals(run: Run, losses: Losses, *, full_length: bool) -> list[Goal]:
    """The issue's goals. ``full_length``: the set-up ran its 30 days at full size (only then
    is the wall-time goal judged)."""
    minimum = losses.trades_minimum
    flagged = losses.trades_lost_flagged
    ratio_ok = flagged <= FLAGGED_RATIO_GOAL * minimum
    ratio = f"{flagged / minimum:.2f}x" if minimum else ("0" if not flagged else "inf")
    out = [
        Goal(
            "0 unflagged losses",
            losses.trades_lost_unflagged == 0 and losses.candles_missing_no_gap == 0,
            f"{losses.trades_lost_unflagged:,} trades, {losses.candles_missing_no_gap:,} candles",
        ),
        Goal("0 wrong history starts", losses.wrong_history_starts == 0,
             f"{losses.wrong_history_starts} of {losses.history_starts}"),
        Goal("0 stuck", not losses.stuck, f"{len(losses.stuck)} runs or units"),
        Goal(
            f"flagged trade loss <= {FLAGGED_RATIO_GOAL}x the unavoidable minimum",
            ratio_ok,
            f"{flagged:,} flagged vs minimum {minimum:,} ({ratio})",
        ),
    ]  # fmt: skip
    if full_length:
        out.append(
            Goal(
                f"runs in <= {WALL_GOAL_SECONDS / 60:.0f} min wall",
                run.wall_seconds <= WALL_GOAL_SECONDS,
                f"{run.wall_seconds:.0f} s",
            )
        )
    return out


def render(run: Run, losses: Losses, *, full_length: bool) -> str:
    setup = run.setup
    calls = ", ".join(f"{k} {v:,}" for k, v in sorted(run.calls.items()))
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in run.phases.most_common())
    per_day = run.wall_seconds / setup.days
    errors = ", ".join(f"{k} {v:,}" for k, v in sorted(run.errors.items())) or "none"
    lines = [
        f"== {setup.name}: {setup.pools} pools, {setup.days:g} simulated days, plan {setup.plan} "
        f"({setup.rate_per_min:g}/min"
        + (f", {setup.monthly_credit:,} a month" if setup.monthly_credit else "")
        + ")",
        f"{run.ticks:,} planner ticks in {run.wall_seconds:.0f} s wall; calls: {calls}; "
        f"errors: {errors}",
        f"wall by phase: {phases}; {per_day:.0f} s wall a simulated day "
        f"(30 days at this size: ~{per_day * 30 / 60:.0f} min)",
        "",
        f"  {'loss by cause':<44} {'count':>12}",
        f"  {'trades made (audited windows)':<44} {losses.trades_made:>12,}",
        f"  {'trades stored':<44} {losses.trades_stored:>12,}",
        f"  {'trades lost, flagged (trades gap)':<44} {losses.trades_lost_flagged:>12,}",
        f"  {'  unavoidable minimum at this budget':<44} {losses.trades_minimum:>12,}",
        f"  {'trades lost, unflagged':<44} {losses.trades_lost_unflagged:>12,}",
        f"  {'candles served in collected spans':<44} {losses.candles_served:>12,}",
        f"  {'candles missing, with a gap':<44} {losses.candles_missing_gap:>12,}",
        f"  {'candles missing, without a gap':<44} {losses.candles_missing_no_gap:>12,}",
        f"  {'candles stored, never served':<44} {losses.candles_never_served:>12,}",
        f"  {'wrong history starts':<44} {losses.wrong_history_starts:>12,}",
        f"  {'runs or units stuck':<44} {len(losses.stuck):>12,}",
        f"  {'gaps awaiting backfill credit (flagged)':<44} {losses.gaps_awaiting_credit:>12,}",
        "",
        "Goals:",
        *(g.line() for g in goals(run, losses, full_length=full_length)),
    ]
    if losses.examples:
        lines += ["", "Unflagged losses and wrong starts, the first few:"]
        lines += [f"  {e}" for e in losses.examples]
    if losses.stuck:
        lines += ["", f"Stuck, the first {min(10, len(losses.stuck))}:"]
        lines += [f"  {s}" for s in losses.stuck[:10]]
    return "\n".join(lines)
