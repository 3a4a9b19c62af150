"""``manage.py gecko_simulator``: serve the GeckoTerminal v2 simulator until SIGINT/SIGTERM."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from simulator import Simulator, serve_until_signal


class Command(BaseCommand):
    help = "Serve a deterministic GeckoTerminal API v2 simulator under /api/v2/."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--rate-per-min",
            type=int,
            default=30,
            help="per-client-IP limit per sliding 60 s; 0 disables it",
        )
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=0.0,
            help="share of API requests that get a random fault (0..1)",
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--epoch",
            type=int,
            default=None,
            help="pin pool ages to this epoch second (default: start of this hour)",
        )

    def handle(self, *args: object, **options: object) -> None:
        simulator = Simulator(
            seed=options["seed"],
            rate_per_min=options["rate_per_min"],
            fault_rate=options["fault_rate"],
            epoch=options["epoch"],
        )
        serve_until_signal(simulator, options["host"], options["port"])
