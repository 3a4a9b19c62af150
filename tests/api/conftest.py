"""API test helpers: a user, its token, and clients authenticated either way."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api_user(db):
    return get_user_model().objects.create_user("analyst", password="s3cret-analyst-pw")


@pytest.fixture
def api(api_user) -> APIClient:
    """A client sending ``Authorization: Token …``, as scripts do."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=api_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def all_results(client: APIClient, url: str, **params) -> list[dict]:
    """Follow ``next`` links from the first page to the last; every row, in page order."""
    rows: list[dict] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        response = client.get(body["next"])
