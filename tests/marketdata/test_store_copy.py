"""upsert_candles copies a page into an empty range and still upserts what was stored."""

from __future__ import annotations

import pytest

from marketdata import store
from marketdata.models import Candle
from marketdata.upsert import UpsertResult

from .factories import candle_rows, pool

pytestmark = pytest.mark.django_db


def test_a_page_into_an_empty_range_is_copied_and_its_boundary_candle_upserted():
    p = pool()
    rows = candle_rows(p.pk, 2000)
    newer, older = rows[1000:], rows[:1001]  # walking back: the boundary candle comes twice
    older[-1] = {**older[-1], "close": 99.0}

    first = store.upsert_candles(newer)
    second = store.upsert_candles(older)

    assert first == UpsertResult(inserted=1000)
    assert second == UpsertResult(inserted=1000, updated=1)
    assert Candle.objects.filter(pool=p).count() == 2000
    assert Candle.objects.get(pool=p, ts=older[-1]["ts"]).close == 99.0


def test_a_range_already_stored_is_upserted_and_reports_no_change():
    p = pool()
    rows = candle_rows(p.pk, 500)
    store.upsert_candles(rows)

    again = store.upsert_candles(rows)

    assert again == UpsertResult(unchanged=500)
    assert Candle.objects.filter(pool=p).count() == 500
