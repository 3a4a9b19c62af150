"""Real Celery processes (worker, beat) on the test database, broker and simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from collectors.models import CollectionRun

from .marks import must_be_slow

ROOT = Path(__file__).resolve().parent.parent


def _env(api_url: str, **env: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
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


@contextmanager
def celery_process(
    *args: str, api_url: str, log: Path | None = None, **env: str
) -> Iterator[subprocess.Popen]:
    """Run ``celery -A geckoproject ARGS`` on the test database until the block ends.

    ``log``: append the process's stdout and stderr to this file (for a test to scan)."""
    must_be_slow(f"Celery {args[0]}")  # tests/marks.py marks the tests that call this slow
    output = open(log, "ab") if log is not None else None  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "celery", "-A", "geckoproject", *args],
        cwd=ROOT,
        env=_env(api_url, **env),
        stdout=output,
        stderr=output,
    )
    if args[0] == "worker":
        _workers.append(process)
    try:
        yield process
    except BaseException:
        _explain_failure(process, args[0], log)
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output is not None:
            output.close()
        if process in _workers:
            _workers.remove(process)


_workers: list[subprocess.Popen] = []
_explained: set[Path] = set()
_explained_pids: set[int] = set()
LOG_TAIL = 12_000


def _explain_failure(process: subprocess.Popen, role: str, log: Path | None) -> None:
    """A test failed inside the block: have live workers print every thread's stack (Celery's
    SIGUSR1 handler) and beat its own (faulthandler, on SIGABRT), then print the log's tail,
    so a stall seen once in CI can be read."""
    if process.poll() is not None:
        sys.stderr.write(f"celery {role} had exited with code {process.poll()}\n")
    elif role == "beat":
        process.send_signal(signal.SIGABRT)  # faulthandler prints beat's stacks as it dies
        time.sleep(0.5)
    live = [w for w in _workers if w.poll() is None and w.pid not in _explained_pids]
    for worker in live:
        worker.send_signal(signal.SIGUSR1)
        _explained_pids.add(worker.pid)
    if live:
        time.sleep(1.5)
    if log is None or log in _explained or not log.exists():
        return
    _explained.add(log)
    tail = log.read_text(errors="replace")[-LOG_TAIL:]
    sys.stderr.write(f"--- last {LOG_TAIL} characters of {log} ---\n{tail}\n")


def celery_worker(
    api_url: str,
    *,
    queues: str = "default,api",
    pool: str = "threads",
    concurrency: int = 4,
    hostname: str | None = None,
    log: Path | None = None,
    **env: str,
):
    """A worker on both queues (threads pool by default): a real consumer of the test broker."""
    name = ("--hostname", hostname) if hostname else ()
    return celery_process(
        "worker", "-Q", queues, "--pool", pool, "--concurrency", str(concurrency), *name,
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        api_url=api_url, log=log, **env,
    )  # fmt: skip


def prefork_worker(api_url: str, **env: str):
    """A worker with one prefork child: each task runs in a process of its own, which a test
    can kill apart from the worker, and one at a time."""
    return celery_worker(api_url, pool="prefork", concurrency=1, **env)


def celery_beat(api_url: str, tmp_path: Path, log: Path | None = None, **env: str):
    """Beat with the DatabaseScheduler, looking at the database every second."""
    return celery_process(
        "beat", "--max-interval", "1", "--loglevel", "WARNING",
        "--pidfile", str(tmp_path / "beat.pid"), "--schedule", str(tmp_path / "beat-schedule"),
        api_url=api_url, log=log, **env,
    )  # fmt: skip


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a prefork worker's pool children)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


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


def drained(
    redis_client,
    timeout: float,
    *,
    looks: int = 3,
    pause: float = 1.0,
    statuses: tuple[str, ...] = ("running",),
) -> None:
    """Wait until both queues are empty and no run is in ``statuses``, ``looks`` looks in a
    row (a retry sits in a worker for its countdown, off the queues)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < looks:
        busy = (
            redis_client.llen("api")
            or redis_client.llen("default")
            or CollectionRun.objects.filter(status__in=statuses).exists()
        )
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            open_runs = CollectionRun.objects.filter(status__in=statuses)
            rows = list(open_runs.values_list("task", "status", "correlation_id", "detail"))
            queued = {q: redis_client.llen(q) for q in ("api", "default")}
            raise AssertionError(f"work still running after {timeout}s: queued {queued}, {rows}")
        time.sleep(pause)


def schedule_planner(every: int, first: datetime | None = None) -> PeriodicTask:
    """Beat's "plan collection" every ``every`` seconds, each tick's tasks expiring with it,
    due from ``first`` (default: now)."""
    return PeriodicTask.objects.create(
        name="plan collection",
        task="collectors.tasks.plan_collection",
        interval=IntervalSchedule.objects.create(every=every, period=IntervalSchedule.SECONDS),
        expire_seconds=every,
        start_time=first or timezone.now() - timedelta(seconds=1),
    )
