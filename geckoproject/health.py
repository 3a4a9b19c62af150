"""``/healthz``: is this deployment able to collect? JSON, 200 or 503, never a hang.

Critical checks (a failure answers 503, so a load balancer or orchestrator acts):
- ``database``: ``SELECT 1`` on the default connection (connect timeout: DB_CONNECT_TIMEOUT).
- ``redis``: ``PING`` on REDIS_URL (the token bucket, the breaker and the locks live there).
- ``broker``: a connection to CELERY_BROKER_URL (what workers and beat talk through).

Warnings (reported with ``ok: false`` and ``status: "degraded"``, still 200: web serves fine
without them, and restarting web would not fix them):
- ``beat``: the age of beat's last tick. Beat runs ``geckoproject.beat.HeartbeatScheduler``,
  which stamps Redis server time on every scheduler tick (at least every few seconds, whether
  or not a task was due), so the age measures beat itself, not the schedules. Stale past
  HEALTH_BEAT_MAX_AGE seconds.
- ``api``: GeckoTerminal reachability, as the collectors see it, without spending a call: the
  shared circuit breaker's state and the age of the newest run that made API calls and
  succeeded. Cached in Redis for HEALTH_API_CACHE_SECONDS, so frequent probes cost one cheap
  query a minute.

Each check has a timeout of about HEALTH_TIMEOUT seconds. The answer is public, so a failed
check shows only the exception's class; its message (hosts, users) goes to the log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from .redis_clock import beat_tick_age

logger = logging.getLogger(__name__)

API_CACHE_KEY = "gecko:health:api"


@dataclass
class Check:
    ok: bool
    detail: Any


def _redis() -> redis.Redis:
    timeout = settings.HEALTH_TIMEOUT
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Check(True, "SELECT 1")


def check_redis() -> Check:
    client = _redis()
    try:
        client.ping()
    finally:
        client.close()
    return Check(True, "PONG")


def check_broker() -> Check:
    timeout = settings.HEALTH_TIMEOUT
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=timeout,
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    ) as conn:
        # Connecting opens a channel, which for Redis is a PING: the broker really answered.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return Check(True, "connected")


def check_beat() -> Check:
    client = _redis()
    try:
        age = beat_tick_age(client)
    finally:
        client.close()
    if age is None:
        return Check(False, "beat has not ticked (or not within the key's lifetime)")
    ok = age <= settings.HEALTH_BEAT_MAX_AGE
    return Check(ok, {"last_tick_age_s": age, "max_age_s": settings.HEALTH_BEAT_MAX_AGE})


def check_api() -> Check:
    client = _redis()
    try:
        cached = client.get(API_CACHE_KEY)
        if cached is not None:
            ok, detail = json.loads(cached)
            return Check(ok, {**detail, "cached": True})
        ok, detail = _api_reachability(client)
        client.set(API_CACHE_KEY, json.dumps([ok, detail]), ex=settings.HEALTH_API_CACHE_SECONDS)
    finally:
        client.close()
    return Check(ok, {**detail, "cached": False})


def _api_reachability(client: redis.Redis) -> tuple[bool, dict]:
    from collectors.gecko.breaker import CLOSED, CircuitBreaker
    from collectors.models import CollectionRun

    breaker = CircuitBreaker(client=client).state()
    newest = (
        CollectionRun.objects.filter(status=CollectionRun.Status.OK, api_calls__gt=0)
        .order_by("-id")
        .values_list("finished_at", flat=True)
        .first()
    )
    age = None if newest is None else int((timezone.now() - newest).total_seconds())
    fresh = age is not None and age <= settings.HEALTH_API_MAX_AGE
    detail = {
        "breaker": breaker.state,
        "last_success_age_s": age,
        "max_age_s": settings.HEALTH_API_MAX_AGE,
    }
    return breaker.state == CLOSED and fresh, detail


CRITICAL: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
}
WARNINGS: dict[str, Callable[[], Check]] = {"beat": check_beat, "api": check_api}


def run_checks() -> tuple[str, dict[str, dict]]:
    """Every check's result; the status is fail / degraded / ok."""
    results: dict[str, dict] = {}
    for critical, checks in ((True, CRITICAL), (False, WARNINGS)):
        for name, check in checks.items():
            started = time.monotonic()
            try:
                outcome = check()
            except Exception as exc:  # a failed check is an answer, not a 500
                logger.warning("health check %s failed: %s", name, exc)
                outcome = Check(False, type(exc).__name__)
            results[name] = {
                "ok": outcome.ok,
                "critical": critical,
                "detail": outcome.detail,
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
    if not all(r["ok"] for r in results.values() if r["critical"]):
        return "fail", results
    if not all(r["ok"] for r in results.values()):
        return "degraded", results
    return "ok", results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Unauthenticated, for load balancers: 200 unless a critical check failed."""
    status, checks = run_checks()
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if status == "fail" else 200
    )
