"""Export candles to QLib's on-disk format (or CSV / Parquet); see docs/qlib-export.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geckoproject.progress import bar_wanted, say
from marketdata.timeframes import ALL_TIMEFRAMES
from qlib_export import export, source
from qlib_export.calendar import QLIB_FREQ
from qlib_export.export_output import Output, plan_line

# QLib's frequency names, accepted as aliases: QLib users write `--timeframe 60min`.
FROM_QLIB = {freq: timeframe for timeframe, freq in QLIB_FREQ.items()}
NAMES = f"{' '.join(ALL_TIMEFRAMES)} or QLib's names {' '.join(FROM_QLIB)}"


class Command(BaseCommand):
    help = (
        "Write candles as QLib's provider layout (calendars/, instruments/, features/*.bin), one "
        "directory per timeframe under --out, or as CSV / Parquet."
    )
    # It only reads the database; the collectors' configuration checks do not concern it and
    # would add a second to every run.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="export directory")
        parser.add_argument(
            "--timeframe",
            nargs="+",
            default=["1d", "1h"],
            metavar="TF",
            help=f"one or more of {NAMES} (default: 1d 1h)",
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--pools", nargs="+", metavar="ADDRESS", help="these pool addresses")
        which.add_argument(
            "--watchlist", action="store_true", help="the active watchlist's pools (default)"
        )
        which.add_argument("--all", action="store_true", help="every pool of the network")
        parser.add_argument("--network", default=settings.GECKO_NETWORK)
        parser.add_argument("--start", help="first bar open time, ISO-8601 (UTC if no offset)")
        parser.add_argument("--end", help="bars opening before this, ISO-8601 (UTC if no offset)")
        parser.add_argument("--format", choices=export.FORMATS, default="bin", dest="fmt")
        parser.add_argument(
            "--incremental", action="store_true", help="extend a previous bin export in place"
        )
        parser.add_argument("--force", action="store_true", help="export into a non-empty --out")
        parser.add_argument(
            "--include-open-candle",
            action="store_true",
            help="also the newest bar whose interval is still open",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        timeframes = list(dict.fromkeys(FROM_QLIB.get(tf, tf) for tf in options["timeframe"]))
        unknown = [tf for tf in timeframes if tf not in ALL_TIMEFRAMES]
        if unknown:
            raise CommandError(f"unknown timeframe {', '.join(unknown)}; use {NAMES}")
        request = export.Request(
            out=options["out"],
            network=options["network"],
            pool_ids=self._pool_ids(options),
            timeframes=timeframes,
            fmt=options["fmt"],
            start=_moment(options["start"], "--start"),
            end=_moment(options["end"], "--end"),
            include_open=options["include_open_candle"],
            incremental=options["incremental"],
            force=options["force"],
        )
        verbose = options["verbosity"] > 0
        if verbose:
            say(self.stdout, plan_line(request))
        output = Output(self.stdout, len(timeframes), enabled=bar_wanted(options), lines=verbose)
        try:
            with output:
                summary = export.run(request, output)
        except export.ExportError as exc:
            raise CommandError(str(exc)) from exc
        if verbose:
            self.stdout.write(summary.line())

    def _pool_ids(self, options) -> list[int]:
        network = source.network(options["network"])
        if network is None:
            raise CommandError(f"unknown network {options['network']!r}")
        if options["pools"]:
            ids, unknown = source.pools_by_address(network, options["pools"])
            if unknown:
                raise CommandError(
                    f"unknown pool(s) on {network.slug}: {', '.join(unknown)} "
                    "(addresses are case-sensitive)"
                )
            return ids
        if options["all"]:
            ids = source.all_pool_ids(network)
            if not ids:
                raise CommandError(f"no pools on {network.slug}")
            return ids
        ids = source.watchlist_pool_ids(network)
        if not ids:
            raise CommandError(
                f"the {network.slug} watchlist has no active pool with details yet; "
                "pass --pools or --all"
            )
        return ids


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option} {text!r} is not an ISO-8601 date or time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
