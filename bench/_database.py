"""A bench's own database and Redis, never the project's own nor a local .env: the database is
created on first use, migrated in this process or by the bench's children."""

from __future__ import annotations

import os
from urllib.parse import urlsplit


def environment(database: str, redis_db: int) -> dict[str, str]:
    """The settings that point Django at a bench's database and Redis db (``BENCH_DATABASE_URL``
    and ``BENCH_REDIS_URL`` override them)."""
    return {
        "DJANGO_SETTINGS_MODULE": "geckoproject.settings",
        "GECKO_DOTENV": "",
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{redis_db}"),
    }


def configure(database: str, redis_db: int, *, log_level: str = "WARNING") -> str:
    """Point this process, and the children it starts, at the bench's :func:`environment`
    before Django starts; the database's URL."""
    os.environ.update(environment(database, redis_db))
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", log_level)
    return os.environ["DATABASE_URL"]


def create_if_missing(url: str, *, durable: bool = True) -> None:
    """Create the database ``url`` names unless it exists. ``durable=False``: its commits skip
    the WAL flush (~5 ms each), for a store that need not survive a crash."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if not durable:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit TO off").format(
                    sql.Identifier(name)
                )
            )


def migrated(url: str, *, durable: bool = True) -> None:
    """The database ``url`` names, created if missing, with Django set up on it and migrated."""
    create_if_missing(url, durable=durable)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
