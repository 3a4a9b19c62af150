"""The project's configuration: migrations in step with models, deploy checks, bad settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")
    }
    clean.update({"GECKO_DOTENV": "", "DJANGO_SETTINGS_MODULE": "geckoproject.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True
    )


@pytest.mark.django_db
def test_models_and_migrations_are_in_step():
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_deploy_check_passes_with_debug_unset_and_a_real_secret():
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="x" * 64 + "Yz9!")
    assert result.returncode == 0, result.stderr + result.stdout


def test_deploy_check_passes_when_going_live_over_a_development_env(tmp_path):
    """Going live as docs/configuration.md says: DEBUG=0, a real key and host, over the `.env` that
    `make run` wrote (DEBUG=1); the environment wins and every deploy warning is off."""
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"DEBUG=1\nSECRET_KEY={secrets.token_urlsafe(50)}\n")
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="gecko.example.com",
        GECKO_DOTENV=str(dotenv),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_a_missing_secret_key_fails_at_start():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("env", "check_id"),
    [
        ({"DATABASE_URL": "sqlite:////tmp/gecko.db"}, "geckoproject.E001"),
        ({"GECKO_API_URL": "ftp://example.com/api/v2"}, "geckoproject.E002"),
        ({"GECKO_API_URL": "https://api.geckoterminal.com/"}, "geckoproject.E003"),
        ({"GECKO_RATE_LIMIT_PER_MIN": "0"}, "geckoproject.E004"),
        ({"GECKO_RATE_LIMIT_BURST": "0"}, "geckoproject.E005"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "geckoproject.E006"),
        ({"GECKO_API_PLAN": "enterprise"}, "geckoproject.E007"),
        ({"GECKO_API_PLAN": "demo", "GECKO_API_KEY": ""}, "geckoproject.E008"),
        (
            {"GECKO_API_PLAN": "demo", "GECKO_API_KEY": "k", "GECKO_API_URL": "https://x/api/v2"},
            "geckoproject.E003",
        ),
    ],
)
def test_bad_configuration_is_rejected_with_a_stable_id(env, check_id):
    result = manage("check", DEBUG="1", **env)
    assert result.returncode != 0
    assert check_id in result.stderr
    assert "HINT" in result.stderr


def test_alert_mail_server_comes_from_the_environment():
    """docs/operations.md promises e-mail alerts through an SMTP server the operator names:
    EMAIL_URL and DEFAULT_FROM_EMAIL reach Django's mail settings, password included."""
    shown = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, "
        "s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
    )
    result = manage(
        "shell",
        "-c",
        shown,
        DEBUG="1",
        EMAIL_URL="smtp+tls://alerts:p%40ss@mail.example.com:587",
        DEFAULT_FROM_EMAIL="gecko@example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "mail.example.com", "587", "alerts", "p@ss", "True", "gecko@example.com"
    ]  # fmt: skip
