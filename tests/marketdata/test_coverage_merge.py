"""record_coverage merges in one statement, including a range that starts where one starts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketdata.coverage import Span, covered_spans, record_coverage

from .factories import T0, pool

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def test_a_range_with_the_same_start_replaces_its_row_merged():
    p = pool()
    record_coverage(p.pk, "1m", T0, T0 + H)

    merged = record_coverage(p.pk, "1m", T0, T0 + 3 * H)

    assert merged == Span(T0, T0 + 3 * H)
    assert covered_spans(p.pk, "1m") == [merged]


def test_a_page_below_extends_the_range_down_and_a_far_one_stays_apart():
    p = pool()
    record_coverage(p.pk, "1m", T0 + 2 * H, T0 + 3 * H)
    record_coverage(p.pk, "1m", T0 + H, T0 + 2 * H)
    record_coverage(p.pk, "1m", T0 - 5 * H, T0 - 4 * H)

    assert covered_spans(p.pk, "1m") == [Span(T0 - 5 * H, T0 - 4 * H), Span(T0 + H, T0 + 3 * H)]
    assert record_coverage(p.pk, "1m", T0 - 4 * H, T0 + H) == Span(T0 - 5 * H, T0 + 3 * H)
    assert len(covered_spans(p.pk, "1m")) == 1
