"""``/`` is not a debug 404: it sends people to the admin."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_root_url_redirects_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
