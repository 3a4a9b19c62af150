"""``manage.py gecko_simulator``: serve the GeckoTerminal v2 simulator until SIGINT/SIGTERM."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator import LIMIT_COUNTS, PLANS, Simulator, serve_until_signal


class Command(BaseCommand):
    help = "Serve a deterministic GeckoTerminal API simulator under /api/v2/ and /api/v3/onchain/."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--rate-per-min",
            type=int,
            default=None,
            help="limit per sliding 60 s (per client IP, or per key when keyed); 0 disables it; "
            "default: the plan's (30 keyless)",
        )
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=0.0,
            help="share of API requests that get a random fault (0..1)",
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--pools",
            type=int,
            default=None,
            help="pools in the world: above the default 290, every DEX's count is scaled up "
            "(quiet months and odd pools with them) to at least this many; default: 290",
        )
        parser.add_argument(
            "--epoch",
            type=int,
            default=None,
            help="pin pool ages to this epoch second (default: start of this hour)",
        )
        parser.add_argument(
            "--clock-speed",
            type=float,
            default=1.0,
            help="simulated seconds per real second (e.g. 60: an hour of market a minute)",
        )
        parser.add_argument(
            "--api-key",
            default=None,
            help="require this key in the plan's header (x-cg-demo-api-key / x-cg-pro-api-key)",
        )
        parser.add_argument("--plan", choices=sorted(PLANS), default="demo")
        parser.add_argument(
            "--monthly-credit",
            type=int,
            default=None,
            help="calls per month with a key (default: the plan's)",
        )
        parser.add_argument(
            "--limit-counts",
            choices=LIMIT_COUNTS,
            default="intervals",
            help="what an OHLCV limit counts when empty intervals are skipped (undocumented): "
            "the intervals looked at (default) or the candles returned",
        )

        parser.add_argument(
            "--cache-seconds",
            type=float,
            default=60.0,
            help="serve an answer again for the same URL for this many simulated seconds, like "
            "the API's CDN (s-maxage=60); 0 turns it off",
        )
        parser.add_argument(
            "--network",
            default="solana",
            help="the network id the world is served under (e.g. polygon_pos, to test ids "
            "containing _)",
        )

    def handle(self, *args: object, **options: object) -> None:
        _check(options)
        simulator = Simulator(
            seed=options["seed"],
            rate_per_min=options["rate_per_min"],
            fault_rate=options["fault_rate"],
            epoch=options["epoch"],
            clock_speed=options["clock_speed"],
            api_key=options["api_key"],
            plan=options["plan"],
            monthly_credit=options["monthly_credit"],
            limit_counts=options["limit_counts"],
            cache_seconds=options["cache_seconds"],
            network=options["network"],
            pools=options["pools"],
        )
        serve_until_signal(simulator, options["host"], options["port"])


def _check(options: dict) -> None:
    """Refuse a value the simulator would misread, before it starts serving."""
    if options["clock_speed"] <= 0:
        raise CommandError("--clock-speed must be > 0")
    if not 0 <= options["fault_rate"] <= 1:
        raise CommandError(f"--fault-rate {options['fault_rate']}: give a share between 0 and 1")
    if options["rate_per_min"] is not None and options["rate_per_min"] < 0:
        raise CommandError(f"--rate-per-min {options['rate_per_min']}: give 0 (no limit) or more")
    if options["monthly_credit"] is not None and options["monthly_credit"] < 0:
        raise CommandError(f"--monthly-credit {options['monthly_credit']}: give 0 or more")
    if options["cache_seconds"] < 0:
        raise CommandError(f"--cache-seconds {options['cache_seconds']}: give 0 (no cache) or more")
    if not 0 <= options["port"] <= 65535:
        raise CommandError(f"--port {options['port']}: give a TCP port, 0..65535")
    if options["pools"] is not None and options["pools"] < 1:
        raise CommandError(f"--pools {options['pools']}: give 1 or more")
    if options["epoch"] is not None and options["epoch"] < 0:
        raise CommandError(f"--epoch {options['epoch']}: give epoch seconds, 0 or more")
