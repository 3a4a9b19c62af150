"""The collector config is one settings page: no list, no "Add", every setting on it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from collectors.models import CollectorConfig

pytestmark = pytest.mark.django_db


def test_the_list_goes_straight_to_the_one_settings_page(admin_client, redis_client):
    response = admin_client.get(reverse("admin:collectors_collectorconfig_changelist"))

    config = CollectorConfig.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:collectors_collectorconfig_change", args=[config.pk]
    )


def test_there_is_no_add_or_delete(admin_client, redis_client):
    config = CollectorConfig.current()
    page = admin_client.get(reverse("admin:collectors_collectorconfig_change", args=[config.pk]))

    html = page.content.decode()
    assert reverse("admin:collectors_collectorconfig_add") not in html
    assert "deletelink" not in html
    assert admin_client.get(reverse("admin:collectors_collectorconfig_add")).status_code == 403


def test_every_setting_is_on_the_page():
    model_admin = admin.site._registry[CollectorConfig]
    shown = {f for _, options in model_admin.fieldsets for f in options["fields"]}
    editable = {f.name for f in CollectorConfig._meta.concrete_fields if f.editable}

    assert editable - {"id"} <= shown


def test_saving_the_page_changes_the_setting_and_comes_back_to_it(admin_client, redis_client):
    config = CollectorConfig.current()
    url = reverse("admin:collectors_collectorconfig_change", args=[config.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(min_trade_usd="250", ohlcv_timeframes="1m,1h")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (None, False)}

    response = admin_client.post(url, data, follow=True)

    config.refresh_from_db()
    assert str(config.min_trade_usd) == "250.00" and config.ohlcv_timeframes == ["1m", "1h"]
    assert response.redirect_chain[-1][0] == url
