"""The pool page: its chart's JSON (candles, volume, trade markers, open gaps) and coverage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from marketdata.models import Candle, CandleCoverage, Gap
from marketdata.store import upsert_candles
from tests.marketdata.factories import T0, candle_rows, pool, trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def charted():
    """A pool with ten 1h candles, three trades in two bars and an open gap in the middle."""
    p = pool(name="BONK / SOL")
    upsert_candles(candle_rows(p.pk, 10, timeframe="1h", step=3600))
    CandleCoverage.objects.create(pool=p, timeframe="1h", start=T0, end=T0 + timedelta(hours=10))
    trade(p, "t1", block_timestamp=T0 + timedelta(minutes=5), side="buy", volume_usd="100")
    trade(p, "t2", block_timestamp=T0 + timedelta(minutes=50), side="buy", volume_usd="50")
    trade(p, "t3", block_timestamp=T0 + timedelta(hours=2, minutes=1), side="sell", volume_usd="7")
    Gap.objects.create(
        pool=p, timeframe="1h", start=T0 + timedelta(hours=4), end=T0 + timedelta(hours=6)
    )
    Gap.objects.create(
        pool=p,
        timeframe="1h",
        start=T0 + timedelta(hours=7),
        end=T0 + timedelta(hours=8),
        status=Gap.Status.FILLED,
    )
    return p


def chart_url(p) -> str:
    return reverse("admin:marketdata_pool_chart_data", args=[p.pk])


def test_chart_data_gives_the_last_n_candles_oldest_first(admin_client, charted):
    data = admin_client.get(chart_url(charted), {"timeframe": "1h", "n": 3}).json()

    times = [c["time"] for c in data["candles"]]
    newest = int((T0 + timedelta(hours=9)).timestamp())
    assert times == [newest - 7200, newest - 3600, newest]
    assert data["candles"][-1]["volume"] == 90.0


def test_trades_are_one_marker_per_bar_and_side_with_count_and_volume(admin_client, charted):
    data = admin_client.get(chart_url(charted), {"timeframe": "1h", "n": 10}).json()

    t0 = int(T0.timestamp())
    assert data["trades"] == [
        {"time": t0, "side": "buy", "trades": 2, "volume_usd": 150.0},
        {"time": t0 + 7200, "side": "sell", "trades": 1, "volume_usd": 7.0},
    ]


def test_only_open_gaps_in_the_window_are_shaded(admin_client, charted):
    data = admin_client.get(chart_url(charted), {"timeframe": "1h", "n": 10}).json()

    t0 = int(T0.timestamp())
    assert data["gaps"] == [{"start": t0 + 4 * 3600, "end": t0 + 6 * 3600}]
    short = admin_client.get(chart_url(charted), {"timeframe": "1h", "n": 2}).json()
    assert short["gaps"] == [] and short["trades"] == []


def test_an_unknown_timeframe_is_a_400_and_an_unknown_pool_a_404(admin_client, charted):
    assert admin_client.get(chart_url(charted), {"timeframe": "2h"}).status_code == 400
    missing = reverse("admin:marketdata_pool_chart_data", args=[charted.pk + 1000])
    assert admin_client.get(missing).status_code == 404


def test_chart_data_needs_a_login(client, charted):
    response = client.get(chart_url(charted))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_pool_page_has_the_chart_coverage_and_links(admin_client, charted):
    response = admin_client.get(reverse("admin:marketdata_pool_change", args=[charted.pk]))
    html = response.content.decode()

    assert 'id="pool-chart"' in html
    assert "marketdata/vendor/lightweight-charts.standalone.production.js" in html
    row = next(r for r in response.context["pool_summary"] if r["timeframe"] == "1h")
    assert row["covered"] == "100.0%"
    assert row["open_gaps"] == 1
    assert row["newest"] == "2025-08-20 09:00:00"
    assert response.context["chart_timeframe"] == "1h"
    for name in ("candlerow", "trade", "gap"):
        link = reverse(f"admin:marketdata_{name}_changelist") + f"?pool__id__exact={charted.pk}"
        assert link.replace("&", "&amp;") in html
        assert admin_client.get(link).status_code == 200


def test_the_candles_link_lists_only_that_pools_candles(admin_client, charted):
    other = pool("So11111111111111111111111111111111111111112")
    upsert_candles(candle_rows(other.pk, 4, timeframe="1h", step=3600))
    url = reverse("admin:marketdata_candlerow_changelist")

    response = admin_client.get(url, {"pool__id__exact": charted.pk})

    assert response.context["cl"].result_count == Candle.objects.filter(pool=charted).count()
