"""System checks that reject a configuration the collectors cannot run on.

Ids are stable (geckoproject.E00x) so operators can search for them.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


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
    suffix = "/api/v2" if settings.GECKO_API_PLAN == "public" else "/api/v3/onchain"
    if not api.path.rstrip("/").endswith(suffix):
        errors.append(
            Error(
                f"GECKO_API_URL={settings.GECKO_API_URL!r} does not end in {suffix} "
                f"(GECKO_API_PLAN={settings.GECKO_API_PLAN}).",
                hint="Paths are appended to this base, e.g. networks/solana/dexes.",
                id="geckoproject.E003",
            )
        )
    errors.extend(_plan_errors())
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


def _plan_errors() -> list:
    plans = ", ".join(settings.GECKO_API_PLANS)
    if settings.GECKO_API_PLAN not in settings.GECKO_API_PLANS:
        return [
            Error(
                f"GECKO_API_PLAN={settings.GECKO_API_PLAN!r} is not a known plan.",
                hint=f"Use one of {plans}.",
                id="geckoproject.E007",
            )
        ]
    if settings.GECKO_API_PLAN != "public" and not settings.GECKO_API_KEY:
        return [
            Error(
                f"GECKO_API_PLAN={settings.GECKO_API_PLAN} needs GECKO_API_KEY.",
                hint="CoinGecko's keyed plans refuse requests without the key header.",
                id="geckoproject.E008",
            )
        ]
    if settings.GECKO_API_PLAN == "public" and settings.GECKO_API_KEY:
        return [
            Warning(
                "GECKO_API_KEY is set but GECKO_API_PLAN=public: the key is not sent.",
                hint="Set GECKO_API_PLAN=demo or pro to use the key.",
                id="geckoproject.W001",
            )
        ]
    return []


@register()
def check_gap_backoff(app_configs, **kwargs):
    """Gap backoff (collectors.services.gaps.note_answer): no wait or no count would let gaps
    the API never fills take every backfill slot again, or give every gap up at once."""
    errors = []
    base, cap = settings.GECKO_GAP_RETRY_BASE_SECONDS, settings.GECKO_GAP_RETRY_MAX_SECONDS
    if not 0 < base <= cap:
        errors.append(
            Error(
                f"GECKO_GAP_RETRY_BASE_SECONDS={base:g} must be positive and at most "
                f"GECKO_GAP_RETRY_MAX_SECONDS={cap:g}.",
                hint="e.g. 900 (one gap scan) and 86400 (a day).",
                id="geckoproject.E020",
            )
        )
    if settings.GECKO_GAP_SAME_ANSWERS < 1:
        errors.append(
            Error(
                f"GECKO_GAP_SAME_ANSWERS={settings.GECKO_GAP_SAME_ANSWERS} must be at least 1.",
                hint="How many identical answers make a gap unfillable; e.g. 3.",
                id="geckoproject.E021",
            )
        )
    return errors
