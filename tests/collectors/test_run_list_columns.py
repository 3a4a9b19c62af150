"""The Collection runs list says what each run was for, in short words, long texts on hover."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from collectors.models import CollectionRun
from marketdata.models import Gap
from tests.marketdata.factories import T0, pool

pytestmark = pytest.mark.django_db
WAITING = CollectionRun.Status.WAITING


def rows(admin_client) -> list[str]:
    page = admin_client.get(reverse("admin:collectors_collectionrun_changelist"))
    assert page.status_code == 200
    body = page.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [html.unescape(row) for row in body.split("</tr>")[:-1]]


def test_a_fetch_ohlcv_row_names_its_pool_and_timeframe(admin_client):
    bonk = pool(name="BONK / SOL")
    CollectionRun.objects.create(
        task="collectors.tasks.fetch_ohlcv", arguments={"pool_id": bonk.pk, "timeframe": "1m"}
    )
    [row] = rows(admin_client)
    assert "fetch<wbr>_<wbr>ohlcv" in row or "fetch_<wbr>ohlcv" in row
    assert "BONK / SOL 1m" in row


def test_a_gap_backfill_row_names_the_gaps_pool_and_timeframe(admin_client):
    unnamed = pool()
    gap = Gap.objects.create(pool=unnamed, timeframe="15m", start=T0, end=T0.replace(hour=2))
    CollectionRun.objects.create(task="collectors.tasks.backfill_gap", arguments={"gap_id": gap.pk})
    [row] = rows(admin_client)
    assert "7bqJG2…L3NP 15m" in row


def test_the_waiting_status_is_one_word_with_its_meaning_on_hover(admin_client):
    run = CollectionRun.objects.create(
        task="collectors.tasks.fetch_trades",
        status=WAITING,
        detail="circuit open; retry in 59.0s\n" + "failed API call: HTTP 503 " * 40,
        errors=7,
        throttled=2,
        worker="api@gecko-worker-api-7f9c6d5b8-x2k4q.eu-central-1.compute.internal",
    )
    [row] = rows(admin_client)
    status = row.split('class="field-status_word">')[1].split("</td>")[0]
    assert ">waiting</span>" in status
    assert f'title="{CollectionRun.Status.WAITING.label}"' in status
    assert "7 failed, 2 throttled" in row
    assert "api@<wbr>gecko-work…</span>" in row
    assert 'title="api@gecko-worker-api-7f9c6d5b8-x2k4q.eu-central-1.compute.internal"' in row
    detail = row.split('class="field-short_detail">')[1].split("</td>")[0]
    shown = detail.split(">", 1)[1].split("<", 1)[0]
    assert len(shown) <= 90 and shown.endswith("…")
    assert f'title="{run.detail}"' in detail, "the whole detail on hover"
