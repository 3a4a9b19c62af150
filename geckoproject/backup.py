"""Back up and restore the database with pg_dump / pg_restore in custom format.

Why a module around the tools: the connection comes from Django's settings (one source of
truth, ``DATABASE_URL``), the password travels in ``PGPASSWORD`` rather than on a command
line other users can read, and a dump is written under a temporary name first, so a backup
cut short never looks like a complete one. The Parquet archive of months no longer in the
database is saved beside the dump and put back with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from marketdata.partitions import PARTITIONED

BACKUP_DIR = Path(settings.BASE_DIR) / "backups"


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed; the message carries its stderr."""


def _libpq(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection options and environment for the libpq tools, from a DATABASES entry."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    # The program is ours (pg_dump, pg_restore); no shell, arguments passed as a list.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} exited {done.returncode}: {done.stderr.strip()}")


def default_path(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return BACKUP_DIR / f"geckoproject-{stamp}.dump"


def archive_path(dump: Path) -> Path:
    """The archive's files travel beside their dump: ``x.dump`` and ``x.archive.tar``."""
    return dump.with_suffix(".archive.tar")


def backup(
    path: Path | None = None, db: dict[str, Any] | None = None, archive: Path | None = None
) -> Path:
    """Dump the database (custom format, compressed) to ``path``, and the Parquet archive
    (marketdata.archive: months no longer in the database) beside it; returns the dump."""
    db = db or settings.DATABASES["default"]
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    args, env = _libpq(db)
    try:
        _run(["pg_dump", "--format=custom", *args, "--file", str(partial), db["NAME"]], env)
        _tar_archive(Path(archive or settings.GECKO_ARCHIVE_DIR), archive_path(path))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _tar_archive(directory: Path, target: Path) -> None:
    """The archive's Parquet files (already compressed) in one tar, written under a partial
    name; nothing when there is no archive."""
    files = sorted(directory.rglob("*.parquet")) if directory.is_dir() else []
    if not files:
        target.unlink(missing_ok=True)
        return
    partial = target.with_name(target.name + ".partial")
    try:
        with tarfile.open(partial, "w") as tar:
            for file in files:
                tar.add(file, arcname=str(file.relative_to(directory)))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _untar_archive(source: Path, directory: Path) -> int:
    """Put the backup's archive files back (those of the same months are replaced)."""
    if not source.is_file():
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(directory, members=members, filter="data")
    return len(members)


def restore(path: Path, db: dict[str, Any] | None = None, archive: Path | None = None) -> None:
    """Replace the database's objects with the dump's, in one transaction: a failed restore
    leaves the database as it was. The archive's files saved beside the dump are put back
    afterwards (their months' records are in the dump).

    pg_restore's own ``--clean`` cannot drop a monthly partition's copy of its table's key
    (marketdata.partitions), so the partitioned tables are dropped whole first, in the same
    transaction: pg_restore writes the restore as SQL, which psql runs behind that drop."""
    db = db or settings.DATABASES["default"]
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    args, env = _libpq(db)
    dump = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--file", "-", str(path)]
    load = [
        "psql",
        *args,
        "--dbname",
        db["NAME"],
        "--no-psqlrc",
        "--quiet",
        "--single-transaction",
        "--set",
        "ON_ERROR_STOP=1",
        "--file",
        "-",
    ]
    drop = f"DROP TABLE IF EXISTS {', '.join(PARTITIONED)} CASCADE;\n".encode()
    # The programs are ours (pg_restore, psql); no shell, arguments passed as lists.
    with (
        subprocess.Popen(dump, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as out,  # noqa: S603
        subprocess.Popen(  # noqa: S603
            load, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ) as into,
    ):
        try:
            into.stdin.write(drop)
            shutil.copyfileobj(out.stdout, into.stdin, length=1 << 20)
            into.stdin.close()
        except BrokenPipeError:
            out.kill()  # psql stopped early: its own error says why
        dump_error, load_error = out.stderr.read(), into.stderr.read()
    if out.returncode != 0:
        raise BackupError(f"pg_restore exited {out.returncode}: {dump_error.decode().strip()}")
    if into.returncode != 0:
        raise BackupError(f"psql exited {into.returncode}: {load_error.decode().strip()}")
    _untar_archive(archive_path(path), Path(archive or settings.GECKO_ARCHIVE_DIR))
