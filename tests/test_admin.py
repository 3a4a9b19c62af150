"""Every admin changelist and change page loads for staff and is closed to anonymous users."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from marketdata.models import Candle, CandleRow
from tests.admin_rows import one_of_everything  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_of_everything")]


def registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_and_change_page_load_for_staff(admin_client, model):
    # The collector config's list is one settings page: it redirects there.
    assert admin_client.get(admin_url(model, "changelist"), follow=True).status_code == 200
    obj = model.objects.first()
    assert obj is not None, f"fixture made no {model._meta.label}"
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_anonymous_user_is_sent_to_login(client, model):
    for url in (
        admin_url(model, "changelist"),
        admin_url(model, "change", model.objects.first().pk),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_big_table_changelist_filters_and_searches(admin_client):
    url = admin_url(CandleRow, "changelist")
    address = Candle.objects.get().pool.address
    response = admin_client.get(url, {"timeframe": "1h", "q": address})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
