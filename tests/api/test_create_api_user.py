"""``manage.py create_api_user NAME``: one command from nothing to a working token."""

from __future__ import annotations

import io
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def create_api_user(name: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_user", name, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_new_name_gets_a_user_and_a_token_that_opens_the_api():
    out, err = create_api_user("analyst")

    token = out.strip()
    assert len(token) == 40 and "\n" not in token, "stdout is the token alone: TOKEN=$(…)"
    assert "Created API user 'analyst'" in err
    user = get_user_model().objects.get(username="analyst")
    assert not user.is_staff and not user.is_superuser and not user.has_usable_password()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/pools/").status_code == 200


def test_run_again_it_prints_the_same_token_and_creates_nothing():
    first, _ = create_api_user("analyst")
    again, err = create_api_user("analyst")

    assert again == first
    assert "exists" in err
    assert get_user_model().objects.filter(username="analyst").count() == 1


def test_an_existing_user_keeps_its_password_and_gets_a_token():
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_user("admin2", password=password)

    out, _ = create_api_user("admin2")

    user.refresh_from_db()
    assert user.check_password(password)
    assert user.auth_token.key == out.strip()
