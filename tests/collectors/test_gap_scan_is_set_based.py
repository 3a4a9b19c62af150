"""The periodic gap scan finds the out-of-sync (pool, timeframe) pairs in one query.

Calling sync_gaps on every active pool x timeframe (a transaction, a lock and several queries
each) took 401 s of a 475 s replay; only pairs where sync_gaps would change a row need it.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from collectors.services.gaps import scan_gaps
from marketdata.coverage import holes, record_coverage, sync_gaps
from marketdata.gap_scan import out_of_sync
from marketdata.models import CandleCoverage, Gap
from marketdata.timeframes import Timeframe
from tests.marketdata.factories import T0
from tests.marketdata.factories import pool as make_pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
TIMEFRAMES = [tf.value for tf in Timeframe]


def watched_pools(count: int) -> list[int]:
    ids = []
    for i in range(count):
        pool = make_pool(address=f"pool{i:04d}")
        WatchlistEntry.objects.create(pool_address=pool.address, pool=pool)
        ids.append(pool.pk)
    return ids


def snapshot() -> dict:
    """Every Gap row as sync_gaps could change it, keyed by (pool, timeframe)."""
    rows: dict = {}
    for g in Gap.objects.order_by("pk"):
        rows.setdefault((g.pool_id, g.timeframe), []).append(
            (g.pk, g.start, g.end, g.status, g.resolved_at)
        )
    return rows


def gap(pool_id, tf, start, end, status=Gap.Status.OPEN, **extra) -> Gap:
    return Gap.objects.create(
        pool_id=pool_id, timeframe=tf, start=start, end=end, status=status, **extra
    )


def varied_situations(ids: list[int]) -> None:
    """One situation per pool (timeframe 1m), synced first where the situation needs it."""
    in_sync, new_hole, merged, moved, unfillable, trimmed, uncovered, *rest = ids
    filled_reopened, trimmed_already, moved_unfillable, trades_only, after_last = rest
    for pk in ids:
        record_coverage(pk, "1m", T0, T0 + H)
    # A hole already recorded as an open gap: nothing to do.
    record_coverage(in_sync, "1m", T0 + 2 * H, T0 + 3 * H)
    sync_gaps(in_sync, "1m")
    # A new hole, no gap row yet.
    record_coverage(new_hole, "1m", T0 + 2 * H, T0 + 3 * H)
    # A hole whose gap is open, then coverage merged over it.
    record_coverage(merged, "1m", T0 + 2 * H, T0 + 3 * H)
    sync_gaps(merged, "1m")
    record_coverage(merged, "1m", T0 + H, T0 + 2 * H)
    # A hole whose end moved: coverage filled its later half.
    record_coverage(moved, "1m", T0 + 3 * H, T0 + 4 * H)
    sync_gaps(moved, "1m")
    record_coverage(moved, "1m", T0 + 2 * H, T0 + 3 * H)
    # An unfillable gap on a current hole stays as it is, even with another end.
    record_coverage(unfillable, "1m", T0 + 2 * H, T0 + 3 * H)
    gap(unfillable, "1m", T0 + H, T0 + 2 * H, Gap.Status.UNFILLABLE)
    record_coverage(moved_unfillable, "1m", T0 + 3 * H, T0 + 4 * H)
    gap(moved_unfillable, "1m", T0 + H, T0 + 2 * H, Gap.Status.UNFILLABLE)
    # A failed backfill's gap before the first covered range, reaching into it: trimmed.
    gap(trimmed, "1m", T0 - 2 * H, T0 + H / 2)
    # ... and one already ending at the first covered range: left open as it is.
    gap(trimmed_already, "1m", T0 - 2 * H, T0)
    # A filled gap on a current hole is opened again.
    record_coverage(filled_reopened, "1m", T0 + 2 * H, T0 + 3 * H)
    gap(filled_reopened, "1m", T0 + H, T0 + 2 * H, Gap.Status.FILLED)
    # No coverage at all for 5m: its open gap is left alone.
    gap(uncovered, "5m", T0, T0 + H)
    # A trades gap is not a candle gap: never a reason to sync.
    gap(trades_only, Gap.TRADES, T0 + 2 * H, T0 + 3 * H)
    # An open gap after every covered range (a rejected newest candle): left open.
    gap(after_last, "1m", T0 + H, T0 + 2 * H)


def test_out_of_sync_is_exactly_where_sync_gaps_changes_rows():
    ids = watched_pools(12)
    varied_situations(ids)
    pairs = [(pk, tf) for pk in ids for tf in ("1m", "5m")]

    found = out_of_sync(ids, ["1m", "5m"])

    changed = set()
    for pk, tf in pairs:
        before = snapshot()
        sync_gaps(pk, tf)
        if snapshot() != before:
            changed.add((pk, tf))
    _in_sync, new_hole, merged, moved, _unf, trimmed, _unc, filled_reopened, *_ = ids
    assert changed == {
        (new_hole, "1m"),
        (merged, "1m"),
        (moved, "1m"),
        (trimmed, "1m"),
        (filled_reopened, "1m"),
    }, "the situations do what this test says they do"
    assert found == changed
    assert out_of_sync(ids, ["1m", "5m"]) == set()
    assert Gap.objects.get(pool_id=ids[6], timeframe="5m").status == Gap.Status.OPEN
    assert Gap.objects.get(pool_id=ids[11]).status == Gap.Status.OPEN


@pytest.mark.parametrize("seed", range(4))
def test_out_of_sync_agrees_with_sync_gaps_on_random_rows(seed):
    """Random coverage and gap rows, some synced and then covered further."""
    rng = random.Random(seed)
    ids = watched_pools(20)
    for pk in ids:
        for tf in ("1m", "5m"):
            for _ in range(rng.randint(0, 4)):
                start = T0 + rng.randint(0, 12) * H
                record_coverage(pk, tf, start, start + rng.randint(1, 3) * H)
            if rng.random() < 0.5:
                sync_gaps(pk, tf)
            starts = [hole.start for hole in holes(pk, tf)] + [T0 + rng.randint(-3, 12) * H]
            for start in rng.sample(starts, rng.randint(0, len(starts))):
                if not Gap.objects.filter(pool_id=pk, timeframe=tf, start=start).exists():
                    status = rng.choice(list(Gap.Status))
                    gap(pk, tf, start, start + rng.randint(1, 3) * H, status)
            if rng.random() < 0.5:
                start = T0 + rng.randint(0, 12) * H
                record_coverage(pk, tf, start, start + H)

    found = out_of_sync(ids, ["1m", "5m"])

    changed = set()
    for pk in ids:
        for tf in ("1m", "5m"):
            before = snapshot()
            sync_gaps(pk, tf)
            if snapshot() != before:
                changed.add((pk, tf))
    assert found == changed
    assert out_of_sync(ids, ["1m", "5m"]) == set()


def test_scan_gaps_syncs_the_changed_pairs_and_counts_open_gaps():
    ids = watched_pools(12)
    varied_situations(ids)

    open_count = scan_gaps("solana", ["1m", "5m"])

    assert out_of_sync(ids, ["1m", "5m"]) == set()
    assert open_count == sum(len(sync_gaps(pk, tf)) for pk in ids for tf in ("1m", "5m"))
    assert (
        open_count
        == Gap.objects.filter(status=Gap.Status.OPEN).exclude(timeframe=Gap.TRADES).count()
    )


def test_a_scan_with_nothing_to_change_makes_a_handful_of_queries():
    ids = watched_pools(30)
    for pk in ids:
        for tf in TIMEFRAMES:
            record_coverage(pk, tf, T0, T0 + H)
            record_coverage(pk, tf, T0 + 2 * H, T0 + 3 * H)
    assert scan_gaps("solana", TIMEFRAMES) == 30 * 7
    assert CandleCoverage.objects.count() == 30 * 7 * 2

    with CaptureQueriesContext(connection) as queries:
        assert scan_gaps("solana", TIMEFRAMES) == 30 * 7

    assert len(queries) <= 5, f"{len(queries)} queries"
