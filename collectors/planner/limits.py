"""The API plan's limits as the planner sees them: settings, refined on pro by GET /key.

A paid key's own figures (rate, monthly credit, calls left this month) are cached in Redis by
``refresh_key_figures``; the planner reads the cache and never calls the API itself.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings

from collectors.fleet.locks import redis_client
from collectors.gecko.credit import MonthlyCalls
from collectors.planner.budget import Limits

logger = logging.getLogger(__name__)

KEY_FIGURES = "gecko:plan:key-figures"
KEY_FIGURES_TTL = 6 * 3600
# The plan's published rate is an upper bound: keep the same margin as the public default.
RATE_MARGIN = 0.9
# Our own count of this month's calls when the figures were read: what was sent since is
# taken off the API's remaining count.
COUNTED = "counted_calls"
KEY_FIELDS = (
    "rate_limit_request_per_minute",
    "monthly_call_credit",
    "current_remaining_monthly_calls",
)


def current() -> Limits:
    """Rate and monthly credit for budgeting: the bucket's rate, the plan's credit, and on pro
    the /key answer when one is cached (never above the bucket's own rate).

    What is left this month is the API's own count less the calls sent since it was read, or,
    without one, the credit less the calls this fleet counted (collectors.gecko.credit): a
    backfill's spending then slows live collection's pace instead of exhausting the month."""
    rate = float(settings.GECKO_RATE_LIMIT_PER_MIN)
    credit = settings.GECKO_MONTHLY_CREDIT or None
    figures = cached_key_figures() if settings.GECKO_API_PLAN == "pro" else None
    if not figures:
        if not credit:
            return Limits(rate_per_min=rate)
        left = max(0, credit - MonthlyCalls(redis_client()).spent())
        return Limits(rate_per_min=rate, monthly_credit=credit, remaining_this_month=left)
    key_rate = figures.get("rate_limit_request_per_minute")
    if key_rate:
        rate = min(rate, float(key_rate) * RATE_MARGIN)
    remaining = figures.get("current_remaining_monthly_calls")
    if remaining is not None and COUNTED in figures:
        since = MonthlyCalls(redis_client()).spent() - figures[COUNTED]
        remaining = max(0, remaining - max(0, since))
    return Limits(
        rate_per_min=rate,
        monthly_credit=figures.get("monthly_call_credit") or credit,
        remaining_this_month=remaining,
    )


def cached_key_figures() -> dict | None:
    raw = redis_client().get(KEY_FIGURES)
    return json.loads(raw) if raw else None


def store_key_figures(figures: dict) -> None:
    clean = {k: int(figures[k]) for k in KEY_FIELDS if isinstance(figures.get(k), int | float)}
    clean[COUNTED] = MonthlyCalls(redis_client()).spent()
    redis_client().set(KEY_FIGURES, json.dumps(clean), ex=KEY_FIGURES_TTL)
