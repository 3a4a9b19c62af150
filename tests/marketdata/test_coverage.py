"""Coverage ranges merge; holes between them become gaps; covered holes become filled gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketdata.coverage import covered_spans, record_coverage, sync_gaps
from marketdata.models import Gap

from .factories import T0, pool

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def test_overlapping_and_touching_ranges_merge_into_one():
    p = pool()
    record_coverage(p.pk, "1h", T0, T0 + 3 * H)
    record_coverage(p.pk, "1h", T0 + 3 * H, T0 + 5 * H)
    record_coverage(p.pk, "1h", T0 + H, T0 + 2 * H)

    spans = covered_spans(p.pk, "1h")

    assert [(s.start, s.end) for s in spans] == [(T0, T0 + 5 * H)]


def test_timeframes_are_covered_separately():
    p = pool()
    record_coverage(p.pk, "1h", T0, T0 + H)
    assert covered_spans(p.pk, "4h") == []


def test_a_hole_between_covered_ranges_is_an_open_gap():
    p = pool()
    record_coverage(p.pk, "1m", T0, T0 + H)
    record_coverage(p.pk, "1m", T0 + 3 * H, T0 + 4 * H)

    gaps = sync_gaps(p.pk, "1m")

    assert [(g.start, g.end, g.status) for g in gaps] == [(T0 + H, T0 + 3 * H, "open")]


def test_history_before_the_first_range_and_after_the_last_is_not_a_gap():
    p = pool()
    record_coverage(p.pk, "1m", T0 + H, T0 + 2 * H)
    assert sync_gaps(p.pk, "1m") == []


def test_covering_a_hole_marks_its_gap_filled():
    p = pool()
    record_coverage(p.pk, "1m", T0, T0 + H)
    record_coverage(p.pk, "1m", T0 + 3 * H, T0 + 4 * H)
    sync_gaps(p.pk, "1m")

    record_coverage(p.pk, "1m", T0 + H, T0 + 3 * H)

    assert sync_gaps(p.pk, "1m") == []
    gap = Gap.objects.get()
    assert gap.status == "filled" and gap.resolved_at is not None


def test_a_partly_filled_gap_shrinks():
    p = pool()
    record_coverage(p.pk, "1m", T0, T0 + H)
    record_coverage(p.pk, "1m", T0 + 3 * H, T0 + 4 * H)
    sync_gaps(p.pk, "1m")

    record_coverage(p.pk, "1m", T0 + 2 * H, T0 + 3 * H)
    gaps = sync_gaps(p.pk, "1m")

    assert [(g.start, g.end) for g in gaps] == [(T0 + H, T0 + 2 * H)]


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError, match="must end after it starts"):
        record_coverage(pool().pk, "1m", T0, T0)
