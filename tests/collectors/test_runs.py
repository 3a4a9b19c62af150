"""CollectionRun rows record every run's outcome, and runs of dead workers get closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collectors.models import CollectionRun
from collectors.runs import close_abandoned_runs, track_run

pytestmark = pytest.mark.django_db


def test_a_successful_run_records_its_tally():
    with track_run("collectors.tasks.fetch_trades", {"pool_id": 7}) as tally:
        tally.items_written, tally.api_calls, tally.detail = 12, 1, "12 trades"

    run = CollectionRun.objects.get()
    assert (run.status, run.items_written, run.api_calls, run.detail) == ("ok", 12, 1, "12 trades")
    assert run.arguments == {"pool_id": 7} and run.finished_at >= run.started_at


def test_a_failed_run_records_the_error_and_reraises():
    with pytest.raises(RuntimeError), track_run("collectors.tasks.fetch_ohlcv", {}) as tally:
        tally.api_calls = 3
        raise RuntimeError("simulated failure")

    run = CollectionRun.objects.get()
    assert run.status == "failed" and run.api_calls == 3
    assert run.detail.startswith("RuntimeError: simulated failure")


def test_runs_left_running_by_a_dead_worker_are_closed():
    stale = CollectionRun.objects.create(task="t", status="running")
    CollectionRun.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(hours=2))
    fresh = CollectionRun.objects.create(task="t", status="running")

    assert close_abandoned_runs(timedelta(hours=1)) == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("failed", "running")
    assert "abandoned" in stale.detail


def test_a_discarded_run_leaves_no_row():
    with track_run("collectors.tasks.fetch_ohlcv", {"pool_id": 1}) as tally:
        tally.status, tally.discard = "waiting", True
    assert not CollectionRun.objects.exists()
