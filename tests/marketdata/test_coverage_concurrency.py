"""sync_gaps against a concurrent coverage writer (a backfill), on two real connections.

The writer holds the (pool, timeframe) coverage lock and the gap rows while it changes the
coverage; sync_gaps runs meanwhile in another thread. It must work from the coverage as it
is once the writer commits, never from what it read before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, transaction

from marketdata import coverage
from marketdata.coverage import record_coverage, sync_gaps
from marketdata.models import Gap

from .factories import T0, pool

pytestmark = pytest.mark.django_db(transaction=True)
H = timedelta(hours=1)


def waiting_on_a_lock() -> bool:
    """Does another backend of this database wait on a lock (advisory or row)?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else cached for the transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> %s",
            [connection.connection.info.backend_pid],
        )
        return cursor.fetchone()[0] > 0


def sync_while_writing(pool_id: int, timeframe: str, write: Callable[[], None]) -> dict:
    """Run sync_gaps in a thread while a writer in this thread holds the coverage lock and the
    gap rows; ``write`` changes the coverage once sync_gaps is blocked, then the writer commits."""
    outcome: dict = {}

    def sync() -> None:
        try:
            outcome["gaps"] = sync_gaps(pool_id, timeframe)
        except Exception as exc:  # noqa: BLE001  (the test reports what sync_gaps raised)
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=sync)
    with transaction.atomic():
        coverage._lock(pool_id, timeframe)
        list(Gap.objects.select_for_update().filter(pool_id=pool_id, timeframe=timeframe))
        thread.start()
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock():
            assert thread.is_alive(), f"sync_gaps did not wait for the writer: {outcome}"
            assert time.monotonic() < deadline, "sync_gaps never blocked"
            time.sleep(0.02)
        write()
    thread.join(timeout=10)
    assert not thread.is_alive()
    return outcome


def pool_with_a_gap():
    """A pool with 1m coverage 0h..1h and 2h..3h, the gap between them open."""
    p = pool()
    record_coverage(p.pk, "1m", T0, T0 + H)
    record_coverage(p.pk, "1m", T0 + 2 * H, T0 + 3 * H)
    sync_gaps(p.pk, "1m")
    return p


def test_a_gap_the_writer_filled_is_not_reopened_by_a_concurrent_sync():
    p = pool_with_a_gap()

    def backfill() -> None:
        record_coverage(p.pk, "1m", T0 + H, T0 + 2 * H)
        sync_gaps(p.pk, "1m")

    outcome = sync_while_writing(p.pk, "1m", backfill)

    assert "error" not in outcome, outcome
    gap = Gap.objects.get()
    assert gap.status == Gap.Status.FILLED, "reopened from coverage read before the backfill"
    assert outcome["gaps"] == []


def test_a_gap_the_writer_opened_is_reported_by_a_concurrent_sync():
    p = pool_with_a_gap()

    def fetch() -> None:
        record_coverage(p.pk, "1m", T0 + 4 * H, T0 + 5 * H)  # a new hole at 3h..4h
        sync_gaps(p.pk, "1m")

    outcome = sync_while_writing(p.pk, "1m", fetch)

    assert "error" not in outcome, outcome
    assert Gap.objects.get(start=T0 + 3 * H).status == Gap.Status.OPEN
    assert sorted(g.start for g in outcome["gaps"]) == [T0 + H, T0 + 3 * H]


def test_a_concurrent_sync_does_not_create_the_same_gap_twice():
    p = pool_with_a_gap()
    record_coverage(p.pk, "1m", T0 + 4 * H, T0 + 5 * H)  # a hole no gap row names yet

    outcome = sync_while_writing(p.pk, "1m", lambda: sync_gaps(p.pk, "1m"))

    assert "error" not in outcome, outcome
    assert Gap.objects.filter(status=Gap.Status.OPEN).count() == 2
    assert sorted(g.start for g in outcome["gaps"]) == [T0 + H, T0 + 3 * H]
