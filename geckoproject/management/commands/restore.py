"""``manage.py restore FILE --yes``: replace the configured database with a backup."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geckoproject.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a pg_dump custom-format backup into the configured database (replaces it)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a dump written by `manage.py backup`")
        parser.add_argument(
            "--yes", action="store_true", help="confirm: the database's data is replaced"
        )

    def handle(self, *args, file: Path, yes: bool, **options):
        name = settings.DATABASES["default"]["NAME"]
        if not yes:
            raise CommandError(
                f"restoring {file} replaces every table of database {name!r}; "
                "stop the workers and beat, then run again with --yes (make: CONFIRM=yes)"
            )
        try:
            restore(file)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Done! Restored {file} into {name!r}")
