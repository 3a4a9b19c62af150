"""What ``backfill_ohlcv`` prints: the plan, a progress bar or a line per unit, the totals."""

from __future__ import annotations

from django.conf import settings
from rich.progress import BarColumn, TextColumn

from collectors.planner.credit import BackfillCredit, backfill_credit
from collectors.services import backfill
from collectors.services.backfill_run import GapPlan, GapResult, Totals
from geckoproject.progress import CommandProgress
from marketdata.models import Gap


def duration(seconds: float) -> str:
    """``1h 02m``, ``3m 20s``, ``12s``: how long at a glance."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def plan_lines(plan: backfill.Plan, credit: BackfillCredit | None = None) -> list[str]:
    """The plan: pools × timeframes, pages and calls, the time at the backfill lane's rate, and
    on a keyed plan how much of the month's credit it may use."""
    rate = backfill.backfill_rate_per_min()
    since = f"{plan.since:%Y-%m-%d %H:%M}" if plan.since else "the API's first candle"
    complete = len(plan.units) - len(plan.todo)
    pages = plan.pages
    full = settings.GECKO_RATE_LIMIT_PER_MIN
    share = settings.GECKO_RATE_LIMIT_LIVE_SHARE
    credit = credit or backfill_credit()
    lines = [
        f"Plan: {plan.pool_count} pools × {len(plan.timeframes)} timeframes "
        f"({' '.join(plan.timeframes)}), {since} → {plan.until:%Y-%m-%d %H:%M} UTC",
        f"  {len(plan.todo)} (pool × timeframe) to fetch, {complete} already complete; "
        f"~{pages:,} pages = ~{pages:,} API calls (at most)",
        f"  at {rate:g} calls/min on the backfill lane ({full:g}/min, {share:.0%} kept for "
        f"live): about {duration(pages / rate * 60)}",
        f"  {credit.describe()}",
    ]
    if credit.allowance is not None and credit.allowance < pages:
        lines.append(
            f"  The monthly credit covers at most {credit.allowance:,} of these calls: the "
            "backfill stops there and says so (run it again next month)."
        )
    return lines


class Progress:
    """Pages, candles and an ETA from the backfill lane's rate on a bar (geckoproject.progress),
    and a line per finished (pool × timeframe)."""

    def __init__(self, stdout, pages: int, units: int, *, enabled: bool) -> None:
        self.rate = backfill.backfill_rate_per_min() / 60.0
        self.total = max(1, pages)
        self.units = units
        self.finished = 0
        self.done = 0
        self.unit_base = 0
        self.unit_pages = 0
        self.candles = 0
        self.output = CommandProgress(
            stdout,
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} pages"),
            TextColumn("{task.fields[candles]:,} candles"),
            TextColumn("ETA {task.fields[eta]}"),
            enabled=enabled,
        )
        self._bar = self.output.bar
        self._task = self._bar.add_task("backfill", total=self.total, candles=0, eta="?")

    def __enter__(self) -> Progress:
        self.output.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.output.__exit__(*exc)

    def _show(self, description: str | None = None) -> None:
        eta = duration((self.total - self.done) / self.rate)
        fields = {"candles": self.candles, "eta": eta}
        if description:
            fields["description"] = description
        self._bar.update(self._task, completed=self.done, **fields)

    def start_unit(self, unit: backfill.Unit) -> None:
        self.unit_base = self.done
        self.unit_pages = unit.pages
        self._show(f"{unit.address[:8]}… {unit.timeframe}")

    def page(self, candles: int) -> None:
        self.candles += candles
        self.done = min(self.done + 1, self.unit_base + self.unit_pages)
        self._show()

    def end_unit(self, unit: backfill.Unit, report: backfill.UnitReport) -> None:
        self._finish(unit, outcome(report))

    def unit_failed(self, unit: backfill.Unit, error: Exception) -> None:
        self._finish(unit, f"failed: {error}")

    def _finish(self, unit: backfill.Unit, outcome: str) -> None:
        """A walk may end early (history starts, quiet intervals): its estimate is spent."""
        self.done = self.unit_base + unit.pages
        self.finished += 1
        self._show()
        self.output.unit_done(
            f"  {self.finished}/{self.units} {unit.address} {unit.timeframe}: {outcome}"
        )


def outcome(report: backfill.UnitReport) -> str:
    """One finished (pool × timeframe), as its line says it."""
    if report.busy:
        return "skipped (another backfill holds it)"
    text = f"{report.pages} pages, {report.written:,} candles written"
    return text + ("; stopped" if report.stopped else "")


def signal_note(name: str) -> str:
    """What a run says when SIGINT or SIGTERM asks it to stop."""
    return f"{name}: finishing the current page…"


def units_summary(
    plan: backfill.Plan, totals: Totals, seconds: float, unfillable: list[backfill.Unit], why: str
) -> str:
    """The line a run of (pool × timeframe) units ends with, also its run's detail."""
    line = (
        f"Backfilled {plan.pool_count} pools × {len(plan.timeframes)} timeframes: "
        f"{totals.written:,} candles written, {totals.calls} API calls, {seconds:.1f} s"
    )
    if totals.busy:
        line += f"; {totals.busy} skipped (another backfill holds them)"
    if unfillable:
        first = unfillable[0]
        line += (
            f"; unfillable: {len(unfillable)} (pool × timeframe) start after the range, "
            f"e.g. {first.address} {first.timeframe}: {why}"
        )
    else:
        line += "; unfillable: none"
    if totals.failed:
        line += f"; failed: {len(totals.failed)} ({totals.failed[0]})"
    return line


def credit_stop_line(totals: Totals) -> str:
    return totals.credit_stop[0].upper() + totals.credit_stop[1:]


def units_left_line(left: list[backfill.Unit], totals: Totals) -> str:
    """A stopped run: what is left and how long it takes at the backfill lane's rate."""
    pages = totals.pages_left + sum(u.pages for u in left[1:])
    rate = backfill.backfill_rate_per_min()
    return (
        f"Stopped: {len(left)} (pool × timeframe) left, about {pages} pages "
        f"({duration(pages / rate * 60)} at {rate:g} calls/min). "
        "Run the same command again to resume."
    )


# --- gaps ------------------------------------------------------------------------------------


def gap_plan_line(plan: GapPlan) -> str:
    pages = plan.pages
    rate = backfill.backfill_rate_per_min()
    return (
        f"Plan: {len(plan.gaps)} open candle gaps, ~{pages} pages = ~{pages} API calls; "
        f"at {rate:g} calls/min on the backfill lane: about {duration(pages / rate * 60)}"
    )


def gap_line(index: int, count: int, gap: Gap, result: GapResult) -> str:
    """One gap walked in this process: which, and how it ended."""
    if result.state == "skipped":
        text = "skipped (already queued or running elsewhere)"
    elif result.error is not None:
        text = f"failed: {result.error}"
    else:
        text = "done" if result.report is None else outcome(result.report)
    return (
        f"  {index}/{count} gap {gap.pk} {gap.pool.address} {gap.timeframe} "
        f"{gap.start:%Y-%m-%d %H:%M} → {gap.end:%Y-%m-%d %H:%M}: {text}"
    )


def gaps_summary(
    counts: dict[str, int], states: dict[str, int], totals: Totals, seconds: float
) -> str:
    """The line a run of gaps ends with, also its run's detail."""
    return (
        f"Gaps: {counts['done']} backfilled, {counts['skipped']} already queued or running "
        f"elsewhere; now {states['filled']} filled, {states['open']} open, "
        f"{states['unfillable']} unfillable; "
        f"{totals.written:,} candles written, {totals.calls} API calls, {seconds:.1f} s"
    )


def gaps_left_line(count: int, counts: dict[str, int]) -> str:
    left = count - counts["done"] - counts["skipped"]
    return f"Stopped: {left} gaps left. Run the same command again."
