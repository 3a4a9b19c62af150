"""What ``backfill_ohlcv`` prints: the plan, a progress bar or a line per unit, the totals."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from rich.progress import BarColumn, TextColumn

from collectors.planner.credit import BackfillCredit, backfill_credit
from collectors.services import backfill
from geckoproject.progress import CommandProgress


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


@dataclass
class Totals:
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

    def end_unit(self, unit: backfill.Unit, outcome: str) -> None:
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
