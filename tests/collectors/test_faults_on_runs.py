"""Faults a run met leave their trace on its CollectionRun row, even when retries hid them:
a run that succeeded after three 500s must not look like a clean run."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collectors import tasks
from collectors.models import CollectionRun
from tests.marketdata.factories import pool as make_pool

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim_settings(simulator, settings, redis_client):
    settings.GECKO_API_URL = simulator.base_url
    settings.GECKO_RETRY_BACKOFF = 0.01
    settings.GECKO_RETRY_BACKOFF_MAX = 0.05
    settings.GECKO_RATE_LIMIT_COOLDOWN_FLOOR = 0.2
    return simulator


def a_pool(sim):
    return make_pool(address=sim.world()["pools"]["pumpswap"][0]["address"])


def test_a_run_that_succeeded_after_faults_counts_them_and_names_the_last(sim_settings):
    pool = a_pool(sim_settings)
    sim_settings.add_fault("500", count=2, path_contains="/trades")
    sim_settings.add_fault("throttle_200", count=1, path_contains="/trades")
    sim_settings.add_fault("truncated", count=1, path_contains="/trades")

    tasks.fetch_trades.apply(kwargs={"pool_id": pool.pk}).get()

    run = CollectionRun.objects.get()
    assert (run.status, run.api_calls, run.errors, run.throttled) == ("ok", 5, 4, 1)
    assert "4 failed API calls (1 throttled)" in run.detail
    assert "HTTP 500" in run.detail and "API error" in run.detail
    assert "connection failed" in run.detail, "the truncated answer, last"


def test_a_clean_run_records_no_errors(sim_settings):
    pool = a_pool(sim_settings)
    tasks.fetch_trades.apply(kwargs={"pool_id": pool.pk}).get()
    run = CollectionRun.objects.get()
    assert (run.status, run.errors, run.throttled) == ("ok", 0, 0)
    assert "failed API call" not in run.detail


def test_a_non_transient_error_still_fails_the_run(sim_settings):
    pool = make_pool(address="UnknownPoo1111111111111111111111111111111111")
    result = tasks.fetch_trades.apply(kwargs={"pool_id": pool.pk})
    assert result.failed()
    run = CollectionRun.objects.get()
    assert run.status == "failed" and run.detail.startswith("NotFound")
    assert run.errors == 1


def test_the_admin_list_and_the_api_show_errors_and_throttles(admin_client):
    CollectionRun.objects.create(task="collectors.tasks.fetch_trades", errors=3, throttled=1)
    page = admin_client.get(reverse("admin:collectors_collectionrun_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "3 failed, 1 throttled" in text
    row = admin_client.get("/api/v1/runs/").json()["results"][0]
    assert (row["errors"], row["throttled"]) == (3, 1)
