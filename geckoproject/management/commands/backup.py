"""``manage.py backup``: pg_dump the configured database (see geckoproject.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geckoproject.backup import BackupError, backup


class Command(BaseCommand):
    help = "Dump the database in pg_dump custom format to backups/geckoproject-<UTC>.dump."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, help="dump file (default: backups/...dump)")

    def handle(self, *args, out: Path | None = None, **options):
        try:
            path = backup(out)
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Done! Backup written to {path} ({path.stat().st_size:,} bytes)")
