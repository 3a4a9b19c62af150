"""``manage.py archive_months``: move months past the hot ones to Parquet (marketdata.archive)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from marketdata import archive, partitions
from marketdata.models import ArchivedMonth


class Command(BaseCommand):
    help = (
        "Write the months that ended more than --hot-months months ago to Parquet under"
        " GECKO_ARCHIVE_DIR, verify each file against its partition, then drop the partition."
        " The daily 'maintain partitions' task does the same with GECKO_HOT_MONTHS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hot-months",
            type=int,
            default=None,
            help="Months kept in PostgreSQL besides the current one (default: GECKO_HOT_MONTHS;"
            " 0 archives nothing)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be archived; change nothing"
        )
        parser.add_argument(
            "--list", dest="show", action="store_true", help="List the months archived so far"
        )

    def handle(self, *args, hot_months=None, dry_run=False, show=False, **options):
        hot = settings.GECKO_HOT_MONTHS if hot_months is None else hot_months
        if hot < 0:
            raise CommandError(f"--hot-months {hot}: must be 0 (keep all) or more")
        if show:
            for month in ArchivedMonth.objects.all():
                self.stdout.write(f"{month}  {month.path}")
            return
        self.stdout.write(f"archive: {settings.GECKO_ARCHIVE_DIR}; hot months: {hot or 'all'}")
        if hot == 0:
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
