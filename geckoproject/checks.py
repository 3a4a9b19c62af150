"""System checks that reject a configuration the collectors cannot run on.

Ids are stable (geckoproject.E00x) so operators can search for them.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.database)
def check_database_is_postgresql(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return [
            Error(
                f"DATABASE_URL uses {engine}; geckoproject needs PostgreSQL.",
                hint="Concurrent workers lock SQLite and lose data. Set DATABASE_URL=postgres://…",
                id="geckoproject.E001",
            )
        ]
    return []


@register()
def check_gecko_settings(app_configs, **kwargs):
    errors = []
    api = urlparse(settings.GECKO_API_URL)
    if api.scheme not in ("http", "https") or not api.netloc:
        errors.append(
            Error(
                f"GECKO_API_URL={settings.GECKO_API_URL!r} is not an http(s) URL.",
                hint="e.g. https://api.geckoterminal.com/api/v2 or http://127.0.0.1:8765/api/v2",
                id="geckoproject.E002",
            )
        )
    if not api.path.rstrip("/").endswith("/api/v2"):
        errors.append(
            Error(
                f"GECKO_API_URL={settings.GECKO_API_URL!r} does not end in /api/v2.",
                hint="Paths are appended to this base, e.g. networks/solana/dexes.",
                id="geckoproject.E003",
            )
        )
    if settings.GECKO_RATE_LIMIT_PER_MIN <= 0:
        errors.append(
            Error(
                "GECKO_RATE_LIMIT_PER_MIN must be positive.",
                hint="The public API allows 30 calls per minute per IP.",
                id="geckoproject.E004",
            )
        )
    if settings.GECKO_RATE_LIMIT_BURST < 1:
        errors.append(
            Error(
                "GECKO_RATE_LIMIT_BURST must be at least 1.",
                hint="A small burst (1–5) keeps the fleet inside the per-minute limit.",
                id="geckoproject.E005",
            )
        )
    redis = urlparse(settings.REDIS_URL)
    if redis.scheme not in ("redis", "rediss", "unix"):
        errors.append(
            Error(
                f"REDIS_URL={settings.REDIS_URL!r} is not a redis:// URL.",
                hint="e.g. redis://127.0.0.1:6379/0",
                id="geckoproject.E006",
            )
        )
    return errors
