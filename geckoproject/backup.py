"""Back up and restore the database with pg_dump / pg_restore in custom format.

Why a module around the tools: the connection comes from Django's settings (one source of
truth, ``DATABASE_URL``), the password travels in ``PGPASSWORD`` rather than on a command
line other users can read, and a dump is written under a temporary name first, so a backup
cut short never looks like a complete one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


def backup(path: Path | None = None, db: dict[str, Any] | None = None) -> Path:
    """Dump the database (custom format, compressed) to ``path``; returns the path."""
    db = db or settings.DATABASES["default"]
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    args, env = _libpq(db)
    try:
        _run(["pg_dump", "--format=custom", *args, "--file", str(partial), db["NAME"]], env)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def restore(path: Path, db: dict[str, Any] | None = None) -> None:
    """Replace the database's objects with the dump's, in one transaction: a failed restore
    leaves the database as it was.

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
        subprocess.Popen(load, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as into,  # noqa: S603
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
