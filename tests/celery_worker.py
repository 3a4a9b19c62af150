"""A real Celery worker, in a subprocess, on the test database, broker and simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

from collectors.models import CollectionRun

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def celery_worker(api_url: str, *, queues: str = "default,api", **env: str) -> Iterator[None]:
    """Run ``celery worker`` against the current test database until the block ends."""
    db = connection.settings_dict
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "GECKO_DOTENV": "",
        "DATABASE_URL": "postgres://{}@{}:{}/{}".format(
            db["USER"], db["HOST"] or "127.0.0.1", db["PORT"] or 5432, db["NAME"]
        ),
        "REDIS_URL": settings.REDIS_URL,
        "GECKO_API_URL": api_url,
        "GECKO_RATE_LIMIT_PER_MIN": "6000",
        "GECKO_RATE_LIMIT_BURST": "50",
        **env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "geckoproject",
            "worker",
            "-Q",
            queues,
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_runs(task: str, count: int, since: datetime, timeout: float = 120) -> list:
    """Wait until ``count`` runs of ``task`` started after ``since`` have finished."""
    deadline = time.monotonic() + timeout
    while True:
        runs = list(
            CollectionRun.objects.filter(task=task, started_at__gte=since).exclude(status="running")
        )
        if len(runs) >= count:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(runs)} of {count} {task} runs finished in {timeout}s")
        time.sleep(0.2)
