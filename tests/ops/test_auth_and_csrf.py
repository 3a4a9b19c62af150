"""The admin, the API and Flower need a login; CSRF protection is on.

The API's own refusal of anonymous callers is tests/api/test_anonymous_users_are_refused.py;
here: CSRF on the admin, and Flower started exactly as the Procfile starts it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.ports import first_answer, free_port, server

ROOT = Path(__file__).resolve().parents[2]


def test_csrf_middleware_is_installed():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


@pytest.mark.django_db
def test_an_admin_post_without_a_csrf_token_is_refused():
    get_user_model().objects.create_superuser("boss", password="pw-for-this-test-only")
    client = Client(enforce_csrf_checks=True)

    login = client.post("/admin/login/", {"username": "boss", "password": "pw-for-this-test-only"})
    assert login.status_code == 403

    client.force_login(get_user_model().objects.get(username="boss"))
    change = client.post("/admin/auth/user/add/", {"username": "x"})
    assert change.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/api/v1/pools/", "/admin/alerts/incident/"])
def test_anonymous_requests_are_refused(client, path):
    response = client.get(path)
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in Procfile")


def flower_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_USER", "ADMIN_PASSWORD")}
    return (
        env
        | {"DEBUG": "1", "GECKO_DOTENV": "", "DJANGO_SETTINGS_MODULE": "geckoproject.settings"}
        | extra
    )


@pytest.mark.parametrize("missing", ["ADMIN_USER", "ADMIN_PASSWORD"])
def test_the_procfile_flower_refuses_to_start_without_credentials(missing):
    env = flower_env(
        ADMIN_USER="ops", ADMIN_PASSWORD="flower-pw-for-tests", FLOWER_PORT=str(free_port())
    )
    del env[missing]
    flower = ["sh", "-c", procfile_command("flower")]
    with server(
        flower, env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            _, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("flower started without credentials")
    assert process.returncode != 0 and missing in stderr


def test_the_procfile_flower_requires_its_login():
    port = free_port()
    env = flower_env(ADMIN_USER="ops", ADMIN_PASSWORD="flower-pw-for-tests", FLOWER_PORT=str(port))
    flower = ["sh", "-c", f"exec {procfile_command('flower')}"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with server(flower, env, **quiet) as process:
        url = f"http://127.0.0.1:{port}/"
        anonymous = first_answer(lambda: httpx.get(url, timeout=2), process, 60, "flower")
        assert anonymous.status_code == 401
        assert httpx.get(url, auth=("ops", "wrong"), timeout=5).status_code == 401
        assert httpx.get(url, auth=("", ""), timeout=5).status_code == 401
        assert httpx.get(url, auth=("ops", "flower-pw-for-tests"), timeout=5).status_code == 200


def test_compose_flower_demands_a_password():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"--basic-auth=\$\{FLOWER_USER[^}]*\}:\$\{FLOWER_PASSWORD:\?", compose)
