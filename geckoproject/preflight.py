"""Pre-flight for `make run` / `make test`: are PostgreSQL and Redis there? Create the database.

Runs before Django is configured, so a new user gets one clear sentence instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg
import redis
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/geckoproject"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

HOW_TO_START = {
    "postgres": (
        "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        " (or `docker compose up -d postgres`), or set DATABASE_URL"
    ),
    "redis": (
        "start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''"
        " (or `docker compose up -d redis`), or set REDIS_URL"
    ),
}


def fail(message: str) -> None:
    sys.stderr.write(f"preflight: {message}\n")
    sys.exit(1)


def check_postgres(url: str, database_name: str) -> None:
    parsed = urlparse(url)
    admin_url = parsed._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database_name]
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name)))
                sys.stdout.write(f"preflight: created database {database_name}\n")
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        fail(
            f"PostgreSQL at {parsed.hostname}:{parsed.port or 5432} is not reachable "
            f"({first_line}); {HOW_TO_START['postgres']}"
        )


def check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        fail(f"Redis at {url} is not reachable ({exc}); {HOW_TO_START['redis']}")


def main() -> None:
    dotenv = os.environ.get("GECKO_DOTENV", str(BASE_DIR / ".env"))
    if dotenv and Path(dotenv).is_file():
        environ.Env.read_env(dotenv, overwrite=False)
    db_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not db_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        fail(f"DATABASE_URL={db_url!r} is not PostgreSQL; geckoproject needs PostgreSQL")
    name = urlparse(db_url).path.lstrip("/") or "geckoproject"
    check_postgres(db_url, name)
    check_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS))


if __name__ == "__main__":
    main()
