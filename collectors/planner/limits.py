"""The API plan's limits as the planner sees them: settings, refined on pro by GET /key.

A paid key's own figures (rate, monthly credit, calls left this month) are cached in Redis by
``refresh_key_figures``; the planner reads the cache and never calls the API itself.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings

from ..locks import redis_client
from .budget import Limits

logger = logging.getLogger(__name__)

KEY_FIGURES = "gecko:plan:key-figures"
KEY_FIGURES_TTL = 6 * 3600
# The plan's published rate is an upper bound: keep the same margin as the public default.
RATE_MARGIN = 0.9
KEY_FIELDS = (
    "rate_limit_request_per_minute",
    "monthly_call_credit",
    "current_remaining_monthly_calls",
)


def current() -> Limits:
    """Rate and monthly credit for budgeting: the bucket's rate, the plan's credit, and on pro
    the /key answer when one is cached (never above the bucket's own rate)."""
    rate = float(settings.GECKO_RATE_LIMIT_PER_MIN)
    credit = settings.GECKO_MONTHLY_CREDIT or None
    figures = cached_key_figures() if settings.GECKO_API_PLAN == "pro" else None
    if not figures:
        return Limits(rate_per_min=rate, monthly_credit=credit)
    key_rate = figures.get("rate_limit_request_per_minute")
    if key_rate:
        rate = min(rate, float(key_rate) * RATE_MARGIN)
    return Limits(
        rate_per_min=rate,
        monthly_credit=figures.get("monthly_call_credit") or credit,
        remaining_this_month=figures.get("current_remaining_monthly_calls"),
    )


def cached_key_figures() -> dict | None:
    raw = redis_client().get(KEY_FIGURES)
    return json.loads(raw) if raw else None


def store_key_figures(figures: dict) -> None:
    clean = {k: int(figures[k]) for k in KEY_FIELDS if isinstance(figures.get(k), int | float)}
    redis_client().set(KEY_FIGURES, json.dumps(clean), ex=KEY_FIGURES_TTL)
