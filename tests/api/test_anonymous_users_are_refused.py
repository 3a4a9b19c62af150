"""Every API path, the schema and the docs refuse anonymous callers and serve logged-in ones."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.marketdata.factories import pool

pytestmark = pytest.mark.django_db

LISTS = ["pools", "tokens", "candles", "trades", "gaps", "runs"]
PATHS = [f"/api/v1/{name}/" for name in LISTS] + ["/api/v1/", "/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("path", [*PATHS, "/api/v1/pools/1/"])
def test_an_anonymous_caller_is_refused(path):
    pool()
    response = APIClient().get(path)
    assert response.status_code in (401, 403)
    assert "results" not in response.content.decode()


def test_an_anonymous_caller_is_told_to_send_a_token():
    response = APIClient().get("/api/v1/pools/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/pools/").status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_a_token_opens_every_path(api, path):
    assert api.get(path).status_code == 200


def test_an_admin_login_session_opens_the_api_and_the_docs(api_user):
    client = APIClient()
    client.force_login(api_user)
    assert client.get("/api/v1/candles/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower(), "the docs must load their assets locally"


def test_drf_create_token_makes_a_working_token(api_user):
    from django.core.management import call_command

    call_command("drf_create_token", api_user.username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=api_user).key}")
    assert client.get("/api/v1/runs/").status_code == 200


def test_an_inactive_users_token_is_refused(api, api_user):
    get_user_model().objects.filter(pk=api_user.pk).update(is_active=False)
    assert api.get("/api/v1/pools/").status_code == 401
