"""Collected market data cannot be deleted from the admin, by a list action or a delete page,
not even by a superuser: "Delete selected pools" took the pools' candles and trades with it.
Gaps are found by the collectors, never typed in or deleted: no add page, no delete."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from marketdata.models import (
    Candle,
    CandleCoverage,
    CandleRow,
    Gap,
    HistoryStart,
    Pool,
    PoolSnapshot,
    Token,
    Trade,
)
from tests.admin_rows import one_of_everything  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_of_everything")]

# A gap is the flag on a hole: deleting one turned a flagged loss into an unflagged one.
COLLECTED = (Pool, CandleRow, Trade, Token, PoolSnapshot, CandleCoverage, Gap)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def offered(page) -> set[str]:
    """The actions a changelist offers (none: no action form)."""
    form = page.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.parametrize("model", COLLECTED, ids=lambda m: m._meta.label)
def test_a_superuser_is_offered_no_delete_and_cannot_post_one(admin_client, model):
    rows = model.objects.count()
    obj = model.objects.first()

    changelist = admin_client.get(url(model, "changelist"))
    action = admin_client.post(
        url(model, "changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"},
    )
    delete_page = admin_client.post(url(model, "delete", obj.pk), {"post": "yes"})

    assert "delete_selected" not in offered(changelist)
    assert b"delete_selected" not in changelist.content
    assert action.status_code in (200, 302) and delete_page.status_code == 403
    assert model.objects.count() == rows
    assert Candle.objects.exists() and Trade.objects.exists()


def test_the_pool_list_keeps_its_collector_actions(admin_client):
    page = admin_client.get(url(Pool, "changelist"))
    assert offered(page) == {"backfill_selected", "collect_now"}


def test_a_history_start_can_still_be_deleted(admin_client):
    """Deleting one only makes the next backfill ask the API where history starts."""
    start = HistoryStart.objects.get()
    admin_client.post(url(HistoryStart, "delete", start.pk), {"post": "yes"})
    assert not HistoryStart.objects.exists()
    assert Candle.objects.exists()


def test_gaps_have_no_add_button_or_page(admin_client):
    page = admin_client.get(url(Gap, "changelist"))
    assert page.status_code == 200
    assert url(Gap, "add") not in page.content.decode()
    assert admin_client.get(url(Gap, "add")).status_code == 403
    assert not admin.site._registry[Gap].has_add_permission(page.wsgi_request)
