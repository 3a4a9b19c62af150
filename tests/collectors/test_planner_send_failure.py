"""A tick whose sends fail part way (the broker refuses the connection): what it sent stays in
flight, what it could not send is released at once and planned by the next tick, and the run
says so."""

from __future__ import annotations

import pytest
from celery import current_app

from collectors import tasks
from collectors.fleet import inflight
from collectors.models import CollectionRun, CollectorConfig
from collectors.planner import service as planner
from collectors.tasks import planning
from tests.marketdata.factories import pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
# Nothing listens here: a send through it fails the way a broker outage does.
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def config(redis_client, settings):
    settings.GECKO_RATE_LIMIT_PER_MIN = 100
    config = CollectorConfig.current()
    config.reserve_share = 0.0
    config.save()
    for i in range(3):
        address = f"{'F' * 31}{i}"
        WatchlistEntry.objects.create(pool_address=address, pool=pool(address))
    return config


def broker_lost_after(sent: int):
    """A send through the real broker for the first ``sent`` units, then through one that
    refuses the connection."""
    calls = []

    def send(unit, expires):
        calls.append(unit.key)
        if len(calls) <= sent:
            return tasks._send(unit, expires)
        with current_app.connection_for_write(DEAD_BROKER, connect_timeout=1) as dead:
            tasks.SENDERS[unit.kind].apply_async(
                kwargs=unit.kwargs, expires=expires, connection=dead, retry=False
            )

    return send, calls


def test_units_not_sent_are_released_and_the_tick_says_so(config, redis_client):
    send, calls = broker_lost_after(2)

    result = planner.tick(config, send=send)

    sent = calls[:2]
    assert len(result.selection.chosen) > 3, "the tick meant to send more than it could"
    assert result.queued == 2 and redis_client.llen("api") == 2
    assert inflight.read().units == frozenset(sent), "only what was sent is in flight"
    assert result.send_error and "3rd of" in result.send_error

    again = planner.tick(config, send=tasks._send)

    retried = {u.key for u in again.selection.chosen}
    assert calls[2] in retried and not retried & set(sent)
    assert again.queued == len(again.selection.chosen)


def test_the_planning_run_is_failed_with_the_reason(config, redis_client, monkeypatch):
    send, _ = broker_lost_after(1)
    # Where plan_collection looks its sender up; the package's re-export stays the real one.
    monkeypatch.setattr(planning, "_send", send)

    tasks.plan_collection.apply()

    run = CollectionRun.objects.get(task="collectors.tasks.plan_collection")
    assert run.status == CollectionRun.Status.FAILED
    assert "could not send" in run.detail and "released" in run.detail
