"""``manage.py audit``: check the stored history against itself; exit 1 on an inconsistency."""

from __future__ import annotations

import json
from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from rich.console import Console
from rich.table import Table

from marketdata.audit import AuditReport, SeriesHealth, run_audit
from marketdata.display import EMPTY, utc
from marketdata.models import Gap, Pool
from marketdata.timeframes import ALL_TIMEFRAMES

HELP = """Audit the stored history against itself (no API call, no ground truth).

Per pool x timeframe: coverage from first to last, holes without a gap row, candles outside
coverage, unfillable gaps with their reasons; per pool, trade windows flagged as possibly lost.

A hole is a stretch between the series' first and last known coverage or candle that no
coverage range proves (an API answer held it whole: a missing candle there is a quiet interval)
and no open or unfillable gap row flags. A candle outside coverage lies in no covered range and
no such gap; the newest candle at or after the end of coverage is the live edge and exempt.
Either is an inconsistency and the exit status is 1 (2 for bad options). A live fetch can leave
a hole until the next gap scan (`manage.py collect gaps`) records it: audit after a scan.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(
            prog_name, subcommand, formatter_class=RawDescriptionHelpFormatter, **kwargs
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--pool", nargs="+", metavar="POOL", help="only these pools (address or database id)"
        )
        parser.add_argument(
            "--timeframe",
            nargs="+",
            metavar="TF",
            help=f"only these timeframes ({' '.join(ALL_TIMEFRAMES)} {Gap.TRADES})",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--problems", action="store_true", help="list only the series with something flagged"
        )

    def handle(self, *args, **options):
        pool_ids = self._pools(options["pool"])
        try:
            report = run_audit(pool_ids=pool_ids, timeframes=options["timeframe"])
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), cls=DjangoJSONEncoder, indent=1))
        else:
            self._print(report, problems_only=options["problems"])
        if not report.ok:
            raise CommandError(report.summary(), returncode=1)
        if not options["json"]:
            self.stdout.write(report.summary())

    def _pools(self, given: list[str] | None) -> list[int] | None:
        """Database ids of the pools named by address or id; a clear error for any unknown."""
        if not given:
            return None
        given = list(dict.fromkeys(given))
        by_address = dict(Pool.objects.filter(address__in=given).values_list("address", "pk"))
        ids = {int(g) for g in given if g.isdigit() and g not in by_address}
        by_id = set(Pool.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [
            g for g in given if g not in by_address and not (g.isdigit() and int(g) in by_id)
        ]
        if unknown:
            raise CommandError(f"no such pool: {', '.join(unknown)}", returncode=2)
        return sorted(set(by_address.values()) | by_id)

    def _print(self, report: AuditReport, *, problems_only: bool) -> None:
        console = Console(file=self.stdout, width=220)  # addresses are 44 characters
        rows = [
            s
            for s in report.series
            if not problems_only or s.inconsistent or s.unfillable_gaps or s.open_gaps
        ]
        table = Table(title="Candle series (times UTC)", title_justify="left")
        for name in COLUMNS:
            table.add_column(name, justify="left" if name in LEFT else "right", no_wrap=True)
        for s in rows:
            table.add_row(*_series_cells(s), style="bold red" if s.inconsistent else None)
        console.print(table)
        for s in report.inconsistent:
            self.stdout.write(_problem_lines(s))
        for s in (s for s in rows if s.unfillable_gaps):
            reasons = "; ".join(s.unfillable_reasons)
            self.stdout.write(f"{s.pool} {s.timeframe}: {s.unfillable_gaps} unfillable: {reasons}")
        if report.trades:
            trades = Table(title="Trade windows flagged as possibly lost", title_justify="left")
            for name in ("pool", "windows", "open", "hours", "from", "to"):
                trades.add_column(name, no_wrap=True)
            for t in report.trades:
                trades.add_row(
                    t.pool,
                    str(t.windows),
                    str(t.open_windows),
                    f"{t.seconds / 3600:.2f}",
                    utc(t.first_start),
                    utc(t.last_end),
                )
            console.print(trades)
            for t in report.trades:
                self.stdout.write(f"{t.pool} trades: {'; '.join(t.reasons)}")


COLUMNS = ("pool", "tf", "history from", "candles", "covered from", "covered to", "share")
COLUMNS += ("holes", "hole h")
COLUMNS += ("outside", "open gaps", "unfillable")
LEFT = {"pool", "tf", "history from", "covered from", "covered to"}


def _series_cells(s: SeriesHealth) -> list[str]:
    span = (s.covered_to - s.covered_from).total_seconds() if s.coverage_ranges else 0
    return [
        s.pool,
        s.timeframe,
        utc(s.history_start),
        f"{s.candles:,}",
        utc(s.covered_from),
        utc(s.covered_to),
        f"{s.covered_seconds / span:.1%}" if span else EMPTY,
        str(s.holes),
        f"{s.hole_seconds / 3600:.2f}",
        str(s.candles_outside),
        str(s.open_gaps),
        str(s.unfillable_gaps),
    ]


def _problem_lines(s: SeriesHealth) -> str:
    """What is wrong with one series, spelled out: the first holes, the stray candles."""
    lines = [f"{s.pool} {s.timeframe}: INCONSISTENT"]
    if s.holes:
        listed = ", ".join(f"{utc(a)} → {utc(b)}" for a, b in s.first_holes)
        more = f" (first {len(s.first_holes)})" if s.holes > len(s.first_holes) else ""
        lines.append(f"  {s.holes} holes without a gap row{more}: {listed}")
    if s.candles_outside:
        lines.append(
            f"  {s.candles_outside} candles outside coverage, "
            f"{utc(s.first_outside)} … {utc(s.last_outside)}"
        )
    return "\n".join(lines)
