"""``manage.py backfill_ohlcv``: all the history the API keeps, resumable, on the backfill lane.

Thin: options are checked here (a bad one writes nothing), what it prints is
collectors.management.backfill_output's, the work is collectors.services.backfill (a run in
this process: collectors.services.backfill_run). Inline runs wait for tokens from the shared
bucket's backfill lane, so live collection keeps its share; ``--async`` queues one task per
(pool, timeframe). The first line names the API target; the command's own calls are one
CollectionRun ``command:backfill_ohlcv``, and a target it cannot reach ends it at once
(issue 16).
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from collectors import tasks
from collectors.gecko.errors import NotFound, Unreachable
from collectors.management.backfill_output import (
    Progress,
    credit_stop_line,
    gap_line,
    gap_plan_line,
    gaps_left_line,
    gaps_summary,
    plan_lines,
    signal_note,
    units_left_line,
    units_summary,
)
from collectors.models import CollectorConfig
from collectors.runs.commands import command_run
from collectors.services import backfill, backfill_run
from geckoproject.progress import bar_wanted, say
from marketdata.models import Pool
from marketdata.timeframes import ALL_TIMEFRAMES
from watchlist.models import WatchlistEntry

# The options a run's row keeps, to tell one command run from another in the admin.
RECORDED = "pool watchlist all timeframe gaps days since until full_history".split()


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{option} {value!r} is not an ISO date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Backfill OHLCV history from the API into the database, resumably."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--pool", nargs="+", metavar="ADDRESS", help="these pools")
        which.add_argument("--watchlist", action="store_true", help="active watchlist (default)")
        which.add_argument("--all", action="store_true", help="every pool in the database")
        parser.add_argument(
            "--timeframe", nargs="+", metavar="TF", help="default: the collector config's"
        )
        span = parser.add_mutually_exclusive_group()
        span.add_argument(
            "--days",
            type=int,
            help="the last N days (default: GECKO_HISTORY_DAYS, the plan's depth)",
        )
        span.add_argument("--since", metavar="ISO", help="from this UTC date/time")
        span.add_argument(
            "--full-history", action="store_true", help="until the API says there is no more"
        )
        parser.add_argument("--until", metavar="ISO", help="to this UTC date/time (with --since)")
        parser.add_argument(
            "--gaps",
            action="store_true",
            help="scan for candle gaps now, then fill every open one",
        )
        parser.add_argument("--async", action="store_true", dest="run_async", help="queue tasks")
        parser.add_argument("--dry-run", action="store_true", help="print the plan only")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    # --- options --------------------------------------------------------------------------

    def _range(self, options, now: datetime) -> tuple[datetime | None, datetime]:
        if options["until"] and not options["since"]:
            raise CommandError("--until needs --since")
        if options["since"]:
            since = _moment(options["since"], "--since")
            until = _moment(options["until"], "--until") if options["until"] else now
            if until > now or since > now:
                raise CommandError(
                    f"the range reaches into the future (now is {now:%Y-%m-%d %H:%M} UTC)"
                )
            if since >= until:
                raise CommandError(
                    f"--since {since:%Y-%m-%d %H:%M} is not before {until:%Y-%m-%d %H:%M}"
                )
            return since, until
        if options["full_history"]:
            return None, now
        days = settings.GECKO_HISTORY_DAYS if options["days"] is None else options["days"]
        if days < 1:
            raise CommandError(f"--days {days}: give at least 1 day")
        try:
            return now - timedelta(days=days), now
        except OverflowError:
            raise CommandError(f"--days {days}: reaches before year 1") from None

    def _timeframes(self, given: list[str] | None, config: CollectorConfig) -> list[str]:
        if not given:
            return list(config.ohlcv_timeframes)
        unknown = [tf for tf in given if tf not in ALL_TIMEFRAMES]
        if unknown:
            raise CommandError(
                f"unknown timeframe {', '.join(unknown)}; valid: {' '.join(ALL_TIMEFRAMES)}"
            )
        return list(dict.fromkeys(given))

    def _pools(self, options, config: CollectorConfig) -> list[int]:
        network = config.network
        if options["all"]:
            return list(Pool.objects.filter(network__slug=network).values_list("pk", flat=True))
        if not options["pool"]:
            return WatchlistEntry.objects.collected_pool_ids(network)
        addresses = list(dict.fromkeys(options["pool"]))
        known = dict(
            Pool.objects.filter(network__slug=network, address__in=addresses).values_list(
                "address", "pk"
            )
        )
        missing = [a for a in addresses if a not in known]
        if missing:
            raise CommandError(self._unknown(missing, network))
        return [known[a] for a in addresses]

    def _unknown(self, addresses: list[str], network: str) -> str:
        """Say whether each unknown pool is unknown to the API too (one call each)."""
        lines = []
        with self.run.client(network=network, lane="live", max_wait=None) as client:
            for address in addresses:
                try:
                    client.pool(address)
                except NotFound:
                    lines.append(f"pool {address}: unknown to the API ({network})")
                else:
                    lines.append(
                        f"pool {address}: unknown to the database (the API knows it): add it "
                        "to the watchlist and run `manage.py collect watchlist` first"
                    )
        return "\n".join(lines)

    # --- run ------------------------------------------------------------------------------

    def handle(self, *args, **options):
        say(self.stdout, f"API: {settings.GECKO_API_URL}")
        arguments = {k: options[k] for k in RECORDED if options.get(k)}
        try:
            with command_run("backfill_ohlcv", arguments) as self.run:
                self._handle(options)
        except Unreachable as exc:
            raise CommandError(str(exc)) from None

    def _handle(self, options) -> None:
        now = datetime.now(tz=UTC)
        # Read, not get_or_create: a dry run or a bad option writes nothing.
        network = settings.GECKO_NETWORK
        config = CollectorConfig.objects.filter(network=network).first() or CollectorConfig(
            network=network
        )
        if options["gaps"] and (options["days"] or options["since"] or options["full_history"]):
            raise CommandError(
                "--gaps fills the open gaps: give no --days, --since or --full-history"
            )
        timeframes = self._timeframes(options["timeframe"], config)
        since, until = self._range(options, now)
        explicit = bool(options["pool"] or options["all"] or options["watchlist"])
        pool_ids = self._pools(options, config)
        self.show_progress = bar_wanted(options) and not options["run_async"]
        self.include_empty = config.include_empty_intervals
        if options["gaps"]:
            gap_plan = backfill_run.plan_gaps(
                config,
                pool_ids if explicit else None,
                timeframes if options["timeframe"] else None,
                dry_run=options["dry_run"],
            )
            return self._gaps(gap_plan, options)
        plan = backfill.plan_backfill(pool_ids, timeframes, since=since, until=until)
        for line in plan_lines(plan):
            say(self.stdout, line)
        if not plan.todo:
            self.stdout.write(
                "Nothing to fetch: the range is covered, or older than the API keeps."
            )
            return
        if options["dry_run"]:
            return
        if options["run_async"]:
            for unit in plan.todo:
                tasks.backfill_ohlcv.delay(
                    pool_id=unit.pool_id,
                    timeframe=unit.timeframe,
                    since=since.isoformat() if since else None,
                    until=until.isoformat(),
                )
            self.stdout.write(
                f"Queued {len(plan.todo)} backfill tasks (one per pool × timeframe) on the "
                "api queue; each takes tokens from the backfill lane."
            )
            return
        self._inline(plan)

    def _announce(self, signal_name: str) -> None:
        text = signal_note(signal_name)
        if self.progress is not None:
            self.progress.output.note(text, self.stderr)
        else:
            self.stderr.write(text)

    def _walking(self) -> AbstractContextManager[tuple[backfill.Walk, backfill_run.Totals]]:
        """The walk of a run in this process (backfill_run.inline_walk): SIGINT/SIGTERM is
        announced above the bar if there is one."""
        self.progress: Progress | None = None
        client = self.run.client(lane="backfill", max_wait=1.0)
        return backfill_run.inline_walk(
            client, include_empty=self.include_empty, announce=self._announce
        )

    def _inline(self, plan: backfill.Plan) -> None:
        with (
            self._walking() as (walk, totals),
            Progress(
                self.stdout, plan.pages, len(plan.todo), enabled=self.show_progress
            ) as progress,
        ):
            walk.on_page = progress.page
            self.progress = progress
            left = backfill_run.backfill_units(walk, plan, totals, progress)
        seconds = time.monotonic() - totals.started
        unfillable, why = backfill_run.unfillable_after(plan)
        line = units_summary(plan, totals, seconds, unfillable, why)
        self.stdout.write(line)
        self.run.items_written, self.run.detail = totals.written, line
        if totals.credit_stop:
            self.stdout.write(credit_stop_line(totals))
        if left:
            self.stdout.write(units_left_line(left, totals))
        self._fail_if(totals)

    # --- gaps -----------------------------------------------------------------------------

    def _gaps(self, plan: backfill_run.GapPlan, options) -> None:
        say(self.stdout, gap_plan_line(plan))
        if options["dry_run"] or not plan.gaps:
            return
        if options["run_async"]:
            queued = backfill_run.claim_gaps(plan)
            for gap_id in queued:
                tasks.backfill_gap.delay(gap_id=gap_id)
            self.stdout.write(
                f"Queued {len(queued)} gap backfills on the api queue; "
                f"{len(plan.gaps) - len(queued)} were already queued or running."
            )
            return
        count = len(plan.gaps)
        with self._walking() as (walk, totals):
            counts = backfill_run.backfill_gaps(
                walk,
                totals,
                plan,
                lambda index, gap, result: say(self.stdout, gap_line(index, count, gap, result)),
            )
        states = backfill_run.gap_states(plan)
        line = gaps_summary(counts, states, totals, time.monotonic() - totals.started)
        self.stdout.write(line)
        self.run.items_written, self.run.detail = totals.written, line
        if walk.stop():
            self.stdout.write(gaps_left_line(count, counts))
        self._fail_if(totals)

    def _fail_if(self, totals: backfill_run.Totals) -> None:
        if totals.failed:
            raise CommandError(f"{len(totals.failed)} failed:\n" + "\n".join(totals.failed[:20]))
