"""/healthz: 503 when a critical service is down, 200 again when it is back; warnings for a
stale beat or an unreachable API; public, fast, and never showing a secret.

Redis is a private ``redis-server`` started by the test (the machine's Redis is shared): the
health check is pointed at it by settings, it is killed, then started again on the same port.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from django.test import override_settings
from django.utils import timezone

from collectors.gecko.breaker import CircuitBreaker
from collectors.models import CollectionRun
from geckoproject.beat import record_beat_tick
from geckoproject.health import API_CACHE_KEY
from geckoproject.redis_clock import BEAT_TICK_KEY
from tests.ports import free_port

pytestmark = pytest.mark.django_db


@contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen]:
    """A throw-away redis-server on ``port``, stopped (SIGKILL) when the block ends."""
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield process
    finally:
        client.close()
        process.kill()
        process.wait()


@pytest.mark.slow  # a redis-server of its own (tests/marks.py puts it in the servers' group)
def test_healthz_returns_503_when_redis_is_down_and_200_when_it_is_back(client):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url, HEALTH_TIMEOUT=1.0):
        with private_redis(port):
            record_beat_tick(redis.Redis(port=port))
            up = client.get("/healthz")
            assert up.status_code == 200, up.json()
            assert all(up.json()["checks"][c]["ok"] for c in ("database", "redis", "broker"))

        started = time.monotonic()
        down = client.get("/healthz")
        assert down.status_code == 503
        body = down.json()
        assert body["status"] == "fail"
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert time.monotonic() - started < 10, "a dead Redis must not hang the probe"

        with private_redis(port):
            back = client.get("/healthz")
            assert back.status_code == 200, back.json()
            assert back.json()["checks"]["redis"]["ok"] is True


def test_healthz_shows_no_credentials(client):
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url, HEALTH_TIMEOUT=0.5):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert b"hunter2" not in response.content and b"redis://" not in response.content


def test_a_stale_or_missing_beat_is_a_warning_not_a_failure(client, redis_client):
    missing = client.get("/healthz")
    assert missing.status_code == 200
    assert missing.json()["status"] == "degraded"
    beat = missing.json()["checks"]["beat"]
    assert (beat["ok"], beat["critical"]) == (False, False)

    record_beat_tick(redis_client)
    assert client.get("/healthz").json()["checks"]["beat"]["ok"] is True

    redis_client.set(BEAT_TICK_KEY, redis_client.time()[0] - 600)
    stale = client.get("/healthz").json()["checks"]["beat"]
    assert stale["ok"] is False and stale["detail"]["last_tick_age_s"] >= 600


def test_api_reachability_follows_the_breaker_and_is_cached(client, redis_client):
    CollectionRun.objects.create(task="t", status="ok", api_calls=3, finished_at=timezone.now())
    record_beat_tick(redis_client)
    first = client.get("/healthz").json()
    assert first["status"] == "ok", first
    assert first["checks"]["api"]["detail"]["cached"] is False

    CircuitBreaker(failures=1).record_failure()
    cached = client.get("/healthz").json()["checks"]["api"]
    assert cached["ok"] is True and cached["detail"]["cached"] is True

    redis_client.delete(API_CACHE_KEY)
    fresh = client.get("/healthz").json()
    assert fresh["checks"]["api"]["ok"] is False
    assert fresh["checks"]["api"]["detail"]["breaker"] == "open"
    assert fresh["status"] == "degraded"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_running_beat_keeps_its_heartbeat_fresh(redis_client, tmp_path):
    from tests.celery_worker import celery_beat

    with celery_beat("http://127.0.0.1:9/api/v2", tmp_path):
        deadline = time.monotonic() + 60
        while not redis_client.exists(BEAT_TICK_KEY):
            assert time.monotonic() < deadline, "beat never stamped a tick"
            time.sleep(0.2)
        first = int(redis_client.get(BEAT_TICK_KEY))
        time.sleep(2.5)
        assert int(redis_client.get(BEAT_TICK_KEY)) > first, "beat ticks keep stamping"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_plain_http_probe_is_not_redirected_to_https(client):
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/admin/").status_code == 301
