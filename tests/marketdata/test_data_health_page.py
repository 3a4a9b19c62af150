"""The admin's Data health page: the audit's findings for staff who may view gaps; nobody else."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from marketdata.models import Gap

from .factories import T0
from .test_audit import H, consistent  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db
URL = "/admin/data-health/"


def staff(client, *permissions: str):
    user = get_user_model().objects.create_user("ops", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client.force_login(user)
    return client


def test_the_url_is_named():
    assert reverse("data-health") == URL


def test_staff_with_view_gap_see_each_finding(client, consistent):  # noqa: F811
    Gap.objects.all().delete()
    Gap.objects.create(pool=consistent, timeframe=Gap.TRADES, start=T0, end=T0 + H, reason="lost")

    page = staff(client, "view_gap").get(URL)

    assert page.status_code == 200
    html = page.content.decode()
    assert "INCONSISTENT in 1 series; 1 holes without a gap, 4 candles outside coverage" in html
    assert 'class="errornote"' in html and 'class="inconsistent"' in html
    assert "Holes without a gap row: 2025-08-20 20:00:00 → 2025-08-21 06:00:00." in html
    assert "Candles outside coverage: 2025-08-20 20:00:00 … 2025-08-20 23:00:00." in html
    assert reverse("admin:marketdata_pool_change", args=[consistent.pk]) in html
    trades = html.split('id="data-health-trades"')[1]
    assert consistent.address in trades and "lost" in trades and "1.00" in trades


def test_a_consistent_store_reads_consistent_and_all_lists_every_series(client, consistent):  # noqa: F811
    logged_in = staff(client, "view_gap")

    html = logged_in.get(URL, {"timeframe": "1h"}).content.decode()
    daily = logged_in.get(URL, {"all": "1", "timeframe": "1d"}).content.decode()

    assert 'class="success"' in html and "1 series audited: consistent" in html
    assert consistent.address in html, "its open gap is listed"
    assert "0 series audited" in daily and "Nothing to show" in daily
    assert logged_in.get(URL, {"timeframe": "2h"}).status_code == 400


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_logged_in_user_who_is_not_staff_is_sent_to_the_login(client):
    client.force_login(get_user_model().objects.create_user("visitor"))

    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_view_permission_are_refused(client):
    assert staff(client, "view_candle").get(URL).status_code == 403


def test_the_admin_index_links_to_it_for_those_who_may_see_it(client, redis_client):
    assert URL in staff(client, "view_gap").get("/admin/").content.decode()
    client.logout()
    get_user_model().objects.create_user("other", is_staff=True)
    client.force_login(get_user_model().objects.get(username="other"))
    assert URL not in client.get("/admin/").content.decode()
