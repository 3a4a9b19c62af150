"""Pool admin actions: "backfill selected" shows the plan, then queues; "collect now" queues."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from collectors.models import CollectorConfig
from tests.marketdata.factories import pool

pytestmark = pytest.mark.django_db

POOLS = (
    "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP",
    "4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",
)


@pytest.fixture
def pools():
    config = CollectorConfig.current()
    config.ohlcv_timeframes = ["1h", "1d"]
    config.save()
    return [pool(address, name=f"P{i}") for i, address in enumerate(POOLS)]


def queued(redis_client, queue: str = "api") -> list[tuple[str, dict]]:
    messages = [json.loads(m) for m in redis_client.lrange(queue, 0, -1)]
    return [
        (m["headers"]["task"].rsplit(".", 1)[-1], json.loads(base64.b64decode(m["body"]))[1])
        for m in messages
    ]


def post_action(admin_client, action: str, ids: list[int], follow: bool = False, **extra):
    return admin_client.post(
        reverse("admin:marketdata_pool_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: ids, **extra},
        follow=follow,
    )


def test_backfill_selected_shows_the_plan_and_queues_nothing_yet(admin_client, pools, redis_client):
    response = post_action(admin_client, "backfill_selected", [p.pk for p in pools], days=30)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Plan: 2 pools × 2 timeframes (1h 1d)" in html
    assert "4 (pool × timeframe) to fetch" in html
    assert "calls/min on the backfill lane" in html
    assert "Queue 4 backfill tasks" in html
    assert redis_client.llen("api") == 0


def test_confirming_the_backfill_queues_one_task_per_pool_and_timeframe(
    admin_client, pools, redis_client
):
    response = post_action(
        admin_client, "backfill_selected", [p.pk for p in pools], days=30, confirm="yes"
    )

    assert response.status_code == 302
    tasks = queued(redis_client)
    assert sorted((name, kw["pool_id"], kw["timeframe"]) for name, kw in tasks) == sorted(
        ("backfill_ohlcv", p.pk, tf) for p in pools for tf in ("1h", "1d")
    )


def test_collect_now_queues_every_timeframe_and_the_trades_of_each_pool(
    admin_client, pools, redis_client
):
    post_action(admin_client, "collect_now", [pools[0].pk])

    tasks = sorted((name, kw.get("timeframe", "")) for name, kw in queued(redis_client))
    assert tasks == [("fetch_ohlcv", "1d"), ("fetch_ohlcv", "1h"), ("fetch_trades", "")]


def test_collect_now_does_not_queue_what_is_already_in_flight(admin_client, pools, redis_client):
    post_action(admin_client, "collect_now", [pools[0].pk])
    response = post_action(admin_client, "collect_now", [pools[0].pk], follow=True)

    assert len(queued(redis_client)) == 3
    assert "Queued 0 live fetches" in response.content.decode()
    assert "3 were already queued or running" in response.content.decode()
