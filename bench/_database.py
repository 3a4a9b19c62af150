"""A bench's own database: created on first use, migrated in this process or by the bench's
children (never the project's own database)."""

from __future__ import annotations

from urllib.parse import urlsplit


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
