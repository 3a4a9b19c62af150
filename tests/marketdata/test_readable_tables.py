"""Admin lists people can read: compact numbers, UTC to the second, "10,000+" for a capped count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.urls import reverse

from marketdata.display import age, compact, utc
from marketdata.models import Candle, CandleRow
from marketdata.paginators import COUNT_CAP
from marketdata.store import upsert_candles
from tests.marketdata.factories import candle_rows, pool


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234567.8, "1.235M"),
        (Decimal("532.712044209470242119280771152461839182058804794342390432"), "532.7"),
        (0.000012345678, "1.235e-05"),
        (12345, "12.35K"),
        (-4500.2, "-4.5K"),
        (Decimal("2.5e9"), "2.5B"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_compact_keeps_four_significant_digits(value, shown):
    assert compact(value) == shown


def test_times_are_shown_in_utc_with_seconds():
    moment = datetime(2026, 11, 30, 21, 5, 7, tzinfo=timezone(timedelta(hours=2)))
    assert utc(moment) == "2026-11-30 19:05:07"
    assert utc(None) == "—"


def test_ages_read_at_a_glance():
    assert [age(s) for s in (42, 420, 3 * 3600 + 300, 50 * 3600)] == [
        "42s",
        "7m",
        "3h 05m",
        "2d 02h",
    ]


@pytest.mark.django_db
def test_candle_list_shows_compact_values_and_utc_times(admin_client):
    p = pool(name="BONK / SOL")
    row = candle_rows(p.pk, 1, timeframe="1h")[0]
    row.update(close=0.000012345678901234, volume_usd=1234567.891)
    upsert_candles([row])

    response = admin_client.get(reverse("admin:marketdata_candlerow_changelist"))
    html = response.content.decode()

    assert "1.235e-05" in html and "1.235M" in html
    assert "2025-08-20 00:00:00" in html
    assert "0.000012345678901234" not in html
    assert Candle.objects.count() == 1
    key = CandleRow.objects.get().key
    detail = admin_client.get(reverse("admin:marketdata_candlerow_change", args=[key]))
    assert "0.000012345678901234" in detail.content.decode()
    assert (
        admin_client.get(reverse("admin:marketdata_candlerow_change", args=["1:1m:x"])).status_code
        == 302
    )  # no such bar: back to the list, saying so
    old_list = admin_client.get("/admin/marketdata/candle/?timeframe=1m")
    assert old_list.status_code == 301
    assert old_list["Location"] == "/admin/marketdata/candlerow/?timeframe=1m"


@pytest.mark.django_db
def test_a_capped_count_reads_10000_plus_not_an_exact_number(admin_client):
    p = pool()
    upsert_candles(candle_rows(p.pk, COUNT_CAP + 50, timeframe="1m"))

    response = admin_client.get(
        reverse("admin:marketdata_candlerow_changelist"), {"timeframe": "1m", "q": p.address}
    )
    html = response.content.decode()

    assert "10,000+ candles" in html
    assert "10,000+ results" in html
    assert str(COUNT_CAP + 1) not in html


@pytest.mark.django_db
def test_a_small_count_is_exact(admin_client):
    p = pool()
    upsert_candles(candle_rows(p.pk, 3, timeframe="1m"))

    html = admin_client.get(reverse("admin:marketdata_candlerow_changelist"), {"timeframe": "1m"})
    assert "3 candles" in html.content.decode()


def test_utc_is_utc():
    assert utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "key"),
    [("admin:marketdata_candlerow_changelist", "key"), ("admin:marketdata_trade_changelist", "id")],
)
def test_big_lists_are_ordered_by_their_unique_key_alone(admin_client, url, key):
    """Ordered by the pool's column (not the pool, which Django reads as "its ordering") the
    list's order is the unique key's, so the admin adds no tiebreaker: one by the candle's text
    key sorted each pool's bars, 230 ms a page at 50M candles."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(reverse(url)).status_code == 200

    listed = [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]]
    assert listed and all('pool_id" DESC' in q for q in listed)
    assert not any(f'"{key}" DESC' in q.split("ORDER BY")[-1] for q in listed), listed
