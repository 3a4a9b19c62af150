"""Calls sent to the API this UTC month, by every process: the monthly credit's own count.

Keyed plans allow a number of calls a month, and every request counts, a refused one included.
The one door to the API (collectors.gecko.client) counts each request it sends here, in Redis,
so the planner and the backfill guard see what the whole fleet has spent. On pro the API's own
count (GET /key) is preferred when cached; this count fills in between and on demo, which has
no such endpoint. A Redis that loses its data loses the count: it restarts from zero.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from django.conf import settings

KEY_PREFIX = "gecko:credit:calls:"
# Outlives its month, so the count is there to the last minute whatever the clock skew.
KEY_TTL = 40 * 86_400


class MonthlyCalls:
    def __init__(self, client: redis.Redis | None = None) -> None:
        self.client = client or redis.Redis.from_url(settings.REDIS_URL)

    @staticmethod
    def key(now: datetime) -> str:
        return f"{KEY_PREFIX}{now.astimezone(UTC):%Y-%m}"

    def count(self, calls: int = 1, now: datetime | None = None) -> None:
        key = self.key(now or datetime.now(tz=UTC))
        pipe = self.client.pipeline(transaction=False)
        pipe.incrby(key, calls)
        pipe.expire(key, KEY_TTL)
        pipe.execute()

    def spent(self, now: datetime | None = None) -> int:
        return int(self.client.get(self.key(now or datetime.now(tz=UTC))) or 0)
