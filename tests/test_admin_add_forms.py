"""Add forms of models whose defaults live in the database: the database fills its own times
(no ``DatabaseDefault object`` on the page, no empty required "Created at")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketdata.models import Dex, Network

pytestmark = pytest.mark.django_db


def test_a_network_is_added_with_its_slug_alone(admin_client):
    page = admin_client.get(reverse("admin:marketdata_network_add"))
    response = admin_client.post(reverse("admin:marketdata_network_add"), {"slug": "base"})

    assert "DatabaseDefault" not in page.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Network.objects.get(slug="base").created_at is not None


def test_a_dex_is_added_with_its_slug_and_network(admin_client):
    network = Network.objects.create(slug="solana")
    page = admin_client.get(reverse("admin:marketdata_dex_add"))
    response = admin_client.post(
        reverse("admin:marketdata_dex_add"), {"slug": "orca", "network": network.pk}
    )

    assert "DatabaseDefault" not in page.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Dex.objects.get(slug="orca").created_at is not None
