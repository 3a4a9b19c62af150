"""Create the default schedules, config row and target DEXes; idempotent."""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from collectors.schedules import seed

# GeckoTerminal network ids: "solana", "polygon_pos", "zksync-era"...
NETWORK_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class Command(BaseCommand):
    help = "Create default PeriodicTasks, CollectorConfig and target DEXes that do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--network", help="Network slug (default: GECKO_NETWORK)")

    def handle(self, *args, network=None, **options):
        if network is not None and not NETWORK_ID.fullmatch(network):
            raise CommandError(
                f"--network {network!r} is not a network id (lower-case, e.g. solana)"
            )
        created = seed(network=network)
        self.stdout.write(f"Done! Created {len(created)}: {', '.join(created) or 'nothing new'}")
