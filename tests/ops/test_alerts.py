"""Alerts: one per incident (not per run), another on recovery, through every channel.

Real PostgreSQL and Redis; the webhook is a tiny HTTP server on 127.0.0.1; e-mail is
Django's locmem outbox (the test mail backend).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from alerts import conditions
from alerts.engine import evaluate
from alerts.models import Incident
from alerts.tasks import check_alerts
from alerts.watchdog import BeatWatchdog, watch_beat
from collectors.gecko.breaker import CircuitBreaker
from collectors.models import CollectionRun, CollectorConfig
from collectors.planner.service import STATE_KEY
from collectors.schedules import seed
from geckoproject.beat import record_beat_tick
from geckoproject.celery import app
from geckoproject.redis_clock import BEAT_TICK_KEY
from marketdata import store
from tests.marketdata import factories
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db

TASK = "collectors.tasks.plan_trades"


@pytest.fixture(autouse=True)
def channels(settings, redis_client):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_WEBHOOK_URL = ""
    settings.GECKO_ALERT_FAILED_RUNS = 3
    record_beat_tick(redis_client)  # beat alive unless a test says otherwise
    return settings


@pytest.fixture
def webhook(settings):
    """A local HTTP server that records every POSTed JSON body."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    yield received
    server.shutdown()
    server.server_close()


def run(status: str, task: str = TASK, detail: str = "") -> None:
    CollectionRun.objects.create(
        task=task, status=status, detail=detail, finished_at=timezone.now()
    )


def alert_lines(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "alerts" and r.levelno == logging.ERROR
    ]


def test_n_failed_runs_in_a_row_alert_once_and_recovery_alerts_once(caplog, webhook):
    caplog.set_level(logging.INFO)
    run("ok")
    run("failed", detail="ServerError: ohlcv: HTTP 500")
    run("failed", detail="ServerError: ohlcv: HTTP 500")
    assert evaluate([conditions.failing_tasks]).fired == []

    run("failed", detail="ServerError: ohlcv: HTTP 503\ntraceback...")
    assert evaluate([conditions.failing_tasks]).fired == [f"failing:{TASK}"]
    run("failed")
    assert evaluate([conditions.failing_tasks]).fired == [], "one alert per incident"

    [line] = alert_lines(caplog)
    assert f"ALERT: {TASK} failed 3 runs in a row" in line and "HTTP 503" in line
    [sent] = mail.outbox
    assert sent.to == ["ops@example.com"] and "ALERT" in sent.subject and TASK in sent.subject
    [hook] = webhook
    assert (
        hook["event"] == "firing"
        and hook["key"] == f"failing:{TASK}"
        and "HTTP 503" in hook["detail"]
    )

    run("ok")
    assert evaluate([conditions.failing_tasks]).resolved == [f"failing:{TASK}"]
    assert evaluate([conditions.failing_tasks]).resolved == []
    assert [h["event"] for h in webhook] == ["firing", "resolved"]
    assert len(mail.outbox) == 2 and "RESOLVED" in mail.outbox[1].subject
    assert "RESOLVED" in alert_lines(caplog)[-1]
    incident = Incident.objects.get()
    assert incident.notified_at and incident.resolved_at


def test_waiting_and_running_runs_neither_break_nor_extend_a_streak():
    for _ in range(3):
        run("failed")
        run("waiting")
    run("running")
    assert evaluate([conditions.failing_tasks]).fired == [f"failing:{TASK}"]


def test_the_incident_survives_a_restart_of_the_checker():
    for _ in range(3):
        run("failed")
    evaluate([conditions.failing_tasks])
    # A new process knows only the database: the open incident keeps it quiet.
    assert evaluate([conditions.failing_tasks]).fired == []
    assert len(mail.outbox) == 1


def test_a_breaker_open_longer_than_the_hold_alerts(settings, redis_client):
    settings.GECKO_ALERT_BREAKER_OPEN_SECONDS = 600
    breaker = CircuitBreaker(failures=1, cooloff=3600)
    breaker.record_failure()
    now = timezone.now()

    assert evaluate([conditions.breaker_open], now).fired == []
    assert evaluate([conditions.breaker_open], now + timedelta(seconds=599)).fired == []
    assert evaluate([conditions.breaker_open], now + timedelta(seconds=601)).fired == ["breaker"]
    assert "breaker is open" in mail.outbox[0].subject

    breaker.reset()
    assert evaluate([conditions.breaker_open]).resolved == ["breaker"]


def test_a_breaker_that_closes_within_the_hold_stays_silent(settings, redis_client):
    settings.GECKO_ALERT_BREAKER_OPEN_SECONDS = 600
    breaker = CircuitBreaker(failures=1, cooloff=3600)
    breaker.record_failure()
    evaluate([conditions.breaker_open])
    breaker.reset()

    outcome = evaluate([conditions.breaker_open])

    assert outcome.fired == outcome.resolved == [] and mail.outbox == []
    assert Incident.objects.get().resolved_at is not None


def test_beat_not_ticking_alerts_and_recovers(settings, redis_client):
    settings.GECKO_ALERT_BEAT_STALE_SECONDS = 300
    server_now = redis_client.time()[0]
    redis_client.set(BEAT_TICK_KEY, server_now - 301)

    assert evaluate([conditions.beat_stopped]).fired == ["beat"]
    assert "beat is not ticking (last tick 301 s ago" in mail.outbox[0].subject

    record_beat_tick(redis_client)
    assert evaluate([conditions.beat_stopped]).resolved == ["beat"]


def test_the_workers_watchdog_alerts_when_beat_never_ticked(redis_client):
    redis_client.delete(BEAT_TICK_KEY)

    watch_beat()

    assert Incident.objects.get(key="beat").notified_at is not None
    assert "never in the last day" in mail.outbox[0].subject
    assert BeatWatchdog in app.steps["worker"]


def test_a_watchlist_pool_without_fresh_candles_alerts(settings):
    settings.GECKO_ALERT_CANDLE_STALE_SECONDS = 3600
    config = CollectorConfig.current()
    config.ohlcv_timeframes = ["1m"]
    config.save()
    pool = factories.pool()
    WatchlistEntry.objects.create(network="solana", pool_address=pool.address, pool=pool)
    old = timezone.now() - timedelta(hours=4)  # past 1m's 2 h target and the 1 h grace
    row = factories.candle_rows(pool.pk, 1)[0] | {"ts": old.replace(second=0, microsecond=0)}
    store.upsert_candles([row])

    assert evaluate([conditions.stale_candles]).fired == ["stale-candles"]
    assert pool.address in mail.outbox[0].body and "1m: newest" in mail.outbox[0].body

    fresh = row | {"ts": timezone.now().replace(second=0, microsecond=0)}
    store.upsert_candles([fresh])
    assert evaluate([conditions.stale_candles]).resolved == ["stale-candles"]


def test_a_pool_just_added_to_the_watchlist_is_not_stale_before_its_first_fetch(settings):
    """make run's first minute: the demo watchlist has no candles yet, which is no alert; a
    pool that joined longer ago than the limit and still has none is."""
    settings.GECKO_ALERT_CANDLE_STALE_SECONDS = 3600
    config = CollectorConfig.current()
    config.ohlcv_timeframes = ["1m"]
    config.save()
    pool = factories.pool()
    entry = WatchlistEntry.objects.create(network="solana", pool_address=pool.address, pool=pool)

    assert evaluate([conditions.stale_candles]).fired == []

    WatchlistEntry.objects.filter(pk=entry.pk).update(
        added_at=timezone.now() - timedelta(hours=4)  # past 1m's 2 h target and the 1 h grace
    )
    assert evaluate([conditions.stale_candles]).fired == ["stale-candles"]
    assert f"{pool.address} 1m: newest none" in mail.outbox[0].body


def test_a_failing_webhook_does_not_silence_the_email(settings, caplog):
    settings.ALERT_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    for _ in range(3):
        run("failed")

    evaluate([conditions.failing_tasks])

    assert len(mail.outbox) == 1
    assert any("alert webhook failed" in line for line in alert_lines(caplog))


def test_a_broken_check_is_reported_and_the_others_still_run():
    def broken(now):
        raise RuntimeError("boom")

    for _ in range(3):
        run("failed")
    outcome = evaluate([broken, conditions.failing_tasks])

    assert outcome.failed_checks == ["broken"] and outcome.fired == [f"failing:{TASK}"]


def test_a_planner_short_for_an_hour_alerts(settings, redis_client):
    settings.GECKO_ALERT_PLANNER_SHORT_SECONDS = 3600
    redis_client.set(STATE_KEY, "watchlist=full;top=partial")
    now = timezone.now()

    assert evaluate([conditions.planner_short], now).fired == []
    assert evaluate([conditions.planner_short], now + timedelta(minutes=59)).fired == []
    later = now + timedelta(minutes=61)
    assert evaluate([conditions.planner_short], later).fired == ["planner-short"]
    assert "top partial" in mail.outbox[0].body

    redis_client.set(STATE_KEY, "watchlist=full;top=full")
    assert evaluate([conditions.planner_short], later).resolved == ["planner-short"]


def test_a_planner_short_for_less_than_the_hold_stays_silent(settings, redis_client):
    redis_client.set(STATE_KEY, "watchlist=partial;top=none")
    evaluate([conditions.planner_short])
    redis_client.delete(STATE_KEY)

    outcome = evaluate([conditions.planner_short])

    assert outcome.fired == outcome.resolved == [] and mail.outbox == []


def test_the_check_task_records_its_run_and_is_seeded_once(redis_client):
    result = check_alerts.apply()

    assert result.successful()
    last = CollectionRun.objects.get(task="alerts.tasks.check_alerts")
    assert last.status == "ok" and "fired" in last.detail
    seed()
    seed()
    task = PeriodicTask.objects.get(name="check alerts")
    assert task.task == "alerts.tasks.check_alerts" and task.interval.every == 60
    assert app.amqp.router.route({}, task.task)["queue"].name == "default"
