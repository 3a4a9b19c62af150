"""Create the default schedules, config row and target DEXes; idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from collectors.schedules import seed


class Command(BaseCommand):
    help = "Create default PeriodicTasks, CollectorConfig and target DEXes that do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--network", help="Network slug (default: GECKO_NETWORK)")

    def handle(self, *args, network=None, **options):
        created = seed(network=network)
        self.stdout.write(f"Done! Created {len(created)}: {', '.join(created) or 'nothing new'}")
