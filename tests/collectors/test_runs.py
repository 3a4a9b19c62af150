"""CollectionRun rows record every run's outcome, and runs of dead workers get closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.functions import Now
from django.utils import timezone

from collectors.models import CollectionRun
from collectors.runs.tracking import close_abandoned_runs, track_run

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


@pytest.fixture
def host_clock_behind(monkeypatch):
    """This process as a worker host whose clock is ten minutes behind the database's."""
    behind = timezone.now() - timedelta(minutes=10)
    monkeypatch.setattr(timezone, "now", lambda: behind)


def test_a_run_on_a_host_with_a_skewed_clock_keeps_start_and_finish_on_one_clock(
    host_clock_behind,
):
    """started_at is the database's clock: finished_at must be too, or "took" goes negative."""
    with track_run("collectors.tasks.fetch_trades", {"pool_id": 7}):
        pass
    run = CollectionRun.objects.get()
    assert run.started_at <= run.finished_at < run.started_at + timedelta(minutes=1)


def test_a_host_with_a_skewed_clock_closes_only_abandoned_runs(host_clock_behind):
    stale = CollectionRun.objects.create(task="t", status="running")
    CollectionRun.objects.filter(pk=stale.pk).update(
        started_at=Now() - timedelta(hours=1, minutes=5)
    )
    fresh = CollectionRun.objects.create(task="t", status="running")

    assert close_abandoned_runs(timedelta(hours=1)) == 1
    stale.refresh_from_db()
    assert stale.status == "failed" and stale.finished_at >= stale.started_at
    assert CollectionRun.objects.get(pk=fresh.pk).status == "running"
