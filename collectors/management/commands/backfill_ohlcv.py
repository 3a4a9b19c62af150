"""``manage.py backfill_ohlcv``: all the history the API keeps, resumable, on the backfill lane.

Thin: options are checked here (a bad one writes nothing), the work is
collectors.services.backfill. Inline runs wait for tokens from the shared bucket's backfill
lane, so live collection keeps its share; ``--async`` queues one task per (pool, timeframe).
The first line names the API target; the command's own calls are one CollectionRun
``command:backfill_ohlcv``, and a target it cannot reach ends it at once (issue 16).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from collectors import tasks
from collectors.command_runs import command_run
from collectors.gecko.errors import GeckoError, MustWait, NotFound, Unreachable
from collectors.management.backfill_output import (
    Progress,
    Totals,
    duration,
    outcome,
    plan_lines,
)
from collectors.models import CollectorConfig
from collectors.services import backfill, gaps
from geckoproject.progress import bar_wanted, say
from marketdata.coverage import Span
from marketdata.models import Gap, Pool
from marketdata.timeframes import ALL_TIMEFRAMES
from watchlist.models import WatchlistEntry

logger = logging.getLogger(__name__)
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
            # The periodic scan runs every 15 min: scan now, so a hole since then is planned too.
            # A dry run scans in a transaction it rolls back: the plan is current, nothing written.
            scanned = list(dict.fromkeys([*config.ohlcv_timeframes, *timeframes]))
            chosen = (pool_ids if explicit else None, timeframes if options["timeframe"] else None)
            if options["dry_run"]:
                with transaction.atomic():
                    gaps.scan_gaps(network, scanned)
                    self._gaps(*chosen, options)
                    transaction.set_rollback(True)
                return None
            gaps.scan_gaps(network, scanned)
            return self._gaps(*chosen, options)
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

    def _stopping(self) -> bool:
        return self.stop_requested

    def _on_signal(self, signum: int, frame: object) -> None:
        if not self.stop_requested:
            text = f"{signal.Signals(signum).name}: finishing the current page…"
            if self.progress is not None:
                self.progress.output.note(text, self.stderr)
            else:
                self.stderr.write(text)
        self.stop_requested = True

    @contextmanager
    def _walking(self) -> Iterator[tuple[backfill.Walk, Totals]]:
        """A walk on the backfill lane that waits out the bucket and stops after the current
        page on SIGINT/SIGTERM; the signal handlers are restored and the calls counted after."""
        self.stop_requested = False
        self.progress: Progress | None = None
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        totals = Totals(started=time.monotonic())
        client = self.run.client(lane="backfill", max_wait=1.0)
        walk = backfill.Walk(
            client,
            include_empty=self.include_empty,
            stop=self._stopping,
            wait=backfill.sleep_unless(self._stopping),
        )
        try:
            yield walk, totals
        finally:
            totals.calls = client.stats.calls
            client.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _inline(self, plan: backfill.Plan) -> None:
        left: list[backfill.Unit] = []
        with (
            self._walking() as (walk, totals),
            Progress(
                self.stdout, plan.pages, len(plan.todo), enabled=self.show_progress
            ) as progress,
        ):
            walk.on_page = progress.page
            self.progress = progress
            for index, unit in enumerate(plan.todo):
                if self.stop_requested:
                    left = plan.todo[index:]
                    totals.pages_left = unit.pages
                    break
                progress.start_unit(unit)
                try:
                    report = backfill.backfill_unit(
                        walk, unit.pool_id, unit.timeframe, since=plan.since, until=plan.until
                    )
                except GeckoError as exc:
                    # One bad (pool, timeframe) never aborts the batch; its pages so far stay.
                    logger.exception("backfill %s %s failed", unit.address, unit.timeframe)
                    totals.failed.append(f"{unit.address} {unit.timeframe}: {exc}")
                    progress.end_unit(unit, f"failed: {exc}")
                    continue
                totals.add(report)
                progress.end_unit(unit, outcome(report))
                if report.stopped:
                    left = plan.todo[index:]
                    totals.pages_left = report.pages_left
                    break
        self._summary(plan, totals, left)

    def _summary(self, plan: backfill.Plan, totals: Totals, left: list[backfill.Unit]) -> None:
        seconds = time.monotonic() - totals.started
        line = (
            f"Backfilled {plan.pool_count} pools × {len(plan.timeframes)} timeframes: "
            f"{totals.written:,} candles written, {totals.calls} API calls, {seconds:.1f} s"
        )
        if totals.busy:
            line += f"; {totals.busy} skipped (another backfill holds them)"
        after = backfill.plan_backfill(
            sorted({u.pool_id for u in plan.units}),
            plan.timeframes,
            since=plan.since,
            until=plan.until,
        )
        unfillable = after.unfillable
        if unfillable:
            pools = dict(Pool.objects.filter(pk__in={u.pool_id for u in unfillable}).in_bulk())
            first = unfillable[0]
            reason = backfill.unfillable_reason(pools[first.pool_id], first.history_start)
            line += (
                f"; unfillable: {len(unfillable)} (pool × timeframe) start after the range, "
                f"e.g. {first.address} {first.timeframe}: {reason}"
            )
        else:
            line += "; unfillable: none"
        if totals.failed:
            line += f"; failed: {len(totals.failed)} ({totals.failed[0]})"
        self.stdout.write(line)
        self.run.items_written, self.run.detail = totals.written, line
        if totals.credit_stop:
            self.stdout.write(totals.credit_stop[0].upper() + totals.credit_stop[1:])
        if left:
            pages = totals.pages_left + sum(u.pages for u in left[1:])
            rate = backfill.backfill_rate_per_min()
            self.stdout.write(
                f"Stopped: {len(left)} (pool × timeframe) left, about {pages} pages "
                f"({duration(pages / rate * 60)} at {rate:g} calls/min). "
                "Run the same command again to resume."
            )
        self._fail_if(totals)

    # --- gaps -----------------------------------------------------------------------------

    def _gaps(self, pool_ids: list[int] | None, timeframes: list[str] | None, options) -> None:
        chosen = Gap.objects.filter(status=Gap.Status.OPEN).exclude(timeframe=Gap.TRADES)
        if pool_ids is not None:
            chosen = chosen.filter(pool_id__in=pool_ids)
        if timeframes:
            chosen = chosen.filter(timeframe__in=timeframes)
        chosen = list(chosen.select_related("pool").order_by("detected_at", "pk"))
        pages = sum(backfill.pages_for(Span(g.start, g.end), g.timeframe) for g in chosen)
        rate = backfill.backfill_rate_per_min()
        say(
            self.stdout,
            f"Plan: {len(chosen)} open candle gaps, ~{pages} pages = ~{pages} API calls; "
            f"at {rate:g} calls/min on the backfill lane: about {duration(pages / rate * 60)}",
        )
        if options["dry_run"] or not chosen:
            return
        if options["run_async"]:
            queued = [g.pk for g in chosen if gaps.claim_gap(g.pk)]
            for gap_id in queued:
                tasks.backfill_gap.delay(gap_id=gap_id)
            self.stdout.write(
                f"Queued {len(queued)} gap backfills on the api queue; "
                f"{len(chosen) - len(queued)} were already queued or running."
            )
            return
        self._inline_gaps(chosen)

    def _inline_gaps(self, chosen: list[Gap]) -> None:
        counts = {"done": 0, "skipped": 0, "failed": 0}
        with self._walking() as (walk, totals):
            for index, gap in enumerate(chosen, 1):
                if self.stop_requested:
                    break
                state, text = self._gap(walk, totals, gap)
                counts[state] += 1
                say(
                    self.stdout,
                    f"  {index}/{len(chosen)} gap {gap.pk} {gap.pool.address} {gap.timeframe} "
                    f"{gap.start:%Y-%m-%d %H:%M} → {gap.end:%Y-%m-%d %H:%M}: {text}",
                )
        done, skipped = counts["done"], counts["skipped"]
        states = dict.fromkeys(Gap.Status.values, 0)
        for status in Gap.objects.filter(pk__in=[g.pk for g in chosen]).values_list(
            "status", flat=True
        ):
            states[status] += 1
        line = (
            f"Gaps: {done} backfilled, {skipped} already queued or running elsewhere; now "
            f"{states['filled']} filled, {states['open']} open, {states['unfillable']} unfillable; "
            f"{totals.written:,} candles written, {totals.calls} API calls, "
            f"{time.monotonic() - totals.started:.1f} s"
        )
        self.stdout.write(line)
        self.run.items_written, self.run.detail = totals.written, line
        if self.stop_requested:
            self.stdout.write(
                f"Stopped: {len(chosen) - done - skipped} gaps left. Run the same command again."
            )
        self._fail_if(totals)

    def _gap(self, walk: backfill.Walk, totals: Totals, gap: Gap) -> tuple[str, str]:
        """Backfill one gap: done, skipped (held elsewhere) or failed, and its line."""
        busy = "skipped (already queued or running elsewhere)"
        if not gaps.claim_gap(gap.pk):
            return "skipped", busy
        try:
            report = backfill.backfill_gap(walk, gap.pk)
        except MustWait:  # another backfill holds its pool: that one covers the range
            return "skipped", busy
        except GeckoError as exc:
            logger.exception("backfill of gap %s failed", gap.pk)
            totals.failed.append(f"gap {gap.pk}: {exc}")
            return "failed", f"failed: {exc}"
        finally:
            gaps.release_gap(gap.pk)
        if report is None:
            return "done", "done"
        totals.add(report)
        return "done", outcome(report)

    def _fail_if(self, totals: Totals) -> None:
        if totals.failed:
            raise CommandError(f"{len(totals.failed)} failed:\n" + "\n".join(totals.failed[:20]))
