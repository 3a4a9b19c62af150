"""``manage.py archive_months``: move months past the hot ones to Parquet (marketdata.archive)."""

from __future__ import annotations

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from marketdata import archive, partitions
from marketdata.models import ArchivedMonth

ALL = "all"


def hot_months(text: str) -> int | str:
    """``--hot-months``: a count of ended months, 0 or more, or ``all``."""
    if text.strip().lower() == ALL:
        return ALL
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text}: give 0 or more months, or 'all'")
    return int(text)


class Command(BaseCommand):
    help = (
        "Write the months that ended more than --hot-months months ago to Parquet under"
        " GECKO_ARCHIVE_DIR, verify each file against its partition, then drop the partition."
        " The daily 'maintain partitions' task does the same with GECKO_HOT_MONTHS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hot-months",
            type=hot_months,
            default=None,
            help="Ended months kept in PostgreSQL besides the current one: 0 or more, or 'all'"
            " (default: GECKO_HOT_MONTHS)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be archived; change nothing"
        )
        parser.add_argument(
            "--list", dest="show", action="store_true", help="List the months archived so far"
        )

    def handle(self, *args, hot_months=None, dry_run=False, show=False, **options):
        hot = settings.GECKO_HOT_MONTHS if hot_months is None else hot_months
        hot = None if hot == ALL else hot
        if show:
            for month in ArchivedMonth.objects.all():
                self.stdout.write(f"{month}  {month.path}")
            return
        kept = "all" if hot is None else f"{hot} besides the current one"
        self.stdout.write(f"archive: {settings.GECKO_ARCHIVE_DIR}; hot months: {kept}")
        if hot is None:
            self.stdout.write("nothing to do: every month stays in PostgreSQL")
            return
        first_hot = archive.cold_months(timezone.now(), hot)
        if dry_run:
            for table in partitions.PARTITIONED:
                for name in partitions.partitions(table):
                    if partitions.month_of(name) < first_hot:
                        self.stdout.write(f"would archive {name}")
            return
        for month in archive.archive_cold(timezone.now(), hot):
            self.stdout.write(f"archived {month} to {month.path}")
