"""Private PostgreSQL and Redis servers that a test may stop and start (issue 11).

The machine's shared servers must never be stopped, so restart tests get their own: a
PostgreSQL cluster initdb'd into a temp dir (run as the ``postgres`` user when we are root:
PostgreSQL refuses root) and a redis-server, each on a free port, trust auth, localhost only.
Every server started is stopped and its temp dir removed at the fixture's end, or at exit
(atexit) if the process dies first; a failed test leaves nothing behind.

Redis runs with ``--appendonly yes`` by default, as docker-compose.yml runs it in production;
``appendonly=False`` (and no RDB snapshots) gives a Redis that forgets everything on restart.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from django.db import connections

from .marks import must_be_slow
from .ports import free_port
from .waiting import wait_until

_PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
_live: set[PrivateServer] = set()


class PrivateServer:
    def __init__(self) -> None:
        must_be_slow(f"a private server ({type(self).__name__})")  # tests/marks.py marks them
        self.dir = Path(tempfile.mkdtemp(prefix=f"gecko-{type(self).__name__.lower()}-"))
        self.port = free_port()
        _live.add(self)

    def stop(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            _live.discard(self)


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of its own: ``start``, ``stop`` (fast mode), ``restart``."""

    def __init__(self) -> None:
        super().__init__()
        self.bin = _PG_BIN[-1].parent
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._as_owner(
            "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"
        )

    def _as_owner(self, tool: str, *args: object) -> None:
        runuser = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*runuser, str(self.bin / tool), *map(str, args)],
            check=True,
            capture_output=True,
            cwd=self.dir,
        )

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c full_page_writes=off"
        )
        self._as_owner("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-o", options,
                       "-l", self.dir / "server.log")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_owner("pg_ctl", "stop", "-w", "-t", "60", "-D", self.data, "-m", mode)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a test's constant name, not input


class PrivateRedis(PrivateServer):
    """A redis-server of its own. ``appendonly`` as in production (docker-compose.yml)."""

    def __init__(self, appendonly: bool = True) -> None:
        super().__init__()
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes" if self.appendonly else "no", "--save", "",
             "--logfile", self.dir / "redis.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_until(answers, 30, "private redis-server answers")
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis's own shutdown (the AOF is flushed, as ``docker stop`` does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.cleanup()


def _need_postgres() -> None:
    if not _PG_BIN:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    _need_postgres()
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def private_redis(request) -> Iterator[PrivateRedis]:
    """Appendonly unless parametrized ``indirect`` with False (a Redis that forgets)."""
    server = PrivateRedis(appendonly=getattr(request, "param", True))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def migrate(database_url: str) -> None:
    """``manage.py migrate`` against ``database_url``, as a deploy runs it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "GECKO_DOTENV": ""}
    env["DATABASE_URL"] = database_url
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def django_database(server: PrivatePostgres, name: str) -> Iterator[None]:
    """Point this process's default connection at ``name`` on ``server`` for the block.

    The ORM (and tests.celery_worker, which hands the workers this connection's database)
    then follow the private cluster; the test database's settings are restored afterwards."""
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    conn.close()
    conn.settings_dict.update(NAME=name, HOST="127.0.0.1", PORT=str(server.port), USER="postgres")
    conn.settings_dict["PASSWORD"] = ""
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)


class Stack:
    """A private PostgreSQL and Redis, migrated, with the env that points a worker at them."""

    def __init__(self, postgres: PrivatePostgres, redis_server: PrivateRedis, dbname: str):
        self.postgres, self.redis, self.dbname = postgres, redis_server, dbname
        url = redis_server.url()
        self.env = {"REDIS_URL": url, "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url())


@pytest.fixture
def private_stack(private_postgres, private_redis, django_db_blocker) -> Iterator[Stack]:
    """Both private servers, the database migrated, and this process's ORM pointed at it."""
    name = "gecko_private"
    private_postgres.create_database(name)
    migrate(private_postgres.url(name))
    with django_db_blocker.unblock(), django_database(private_postgres, name):
        yield Stack(private_postgres, private_redis, name)
