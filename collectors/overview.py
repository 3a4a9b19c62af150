"""The operations overview on the admin index: what every collector did, the API door's state,
demand against budget, the queues. Read-only: one aggregate query over CollectionRun, a dry
run of the budget planner (as `collect plan` and the config page do), a few Redis reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from collectors.gecko.breaker import BreakerState, CircuitBreaker
from collectors.gecko.ratelimit import BucketStatus, RateLimiter
from collectors.models import CollectionRun, CollectorConfig
from collectors.planner import service as planner
from collectors.planner.plan import TierReport

QUEUES = ("default", "api")
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class CollectorRow:
    task: str
    last_started: datetime | None
    last_status: str
    runs: int
    items: int
    api_calls: int
    errors: int
    warnings: int

    @property
    def name(self) -> str:
        return self.task.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Demand:
    """The planner's view: calls per minute the collection needs against what it may spend."""

    need_per_min: float
    budget_per_min: float  # after the reserve for backfill and retries
    sustained_per_min: float
    in_flight: int
    degraded: bool
    tiers: list[TierReport]


@dataclass(frozen=True)
class Overview:
    collectors: list[CollectorRow]
    bucket: BucketStatus | None
    calls_last_minute: dict[str, int]
    breaker: BreakerState | None
    queues: dict[str, int | None]
    flower_url: str
    demand: Demand | None = None
    redis_error: str = ""


def collector_rows(now: datetime | None = None) -> list[CollectorRow]:
    """Per task: its last run and status, and the last 24 h's runs, items, calls and errors."""
    since = (now or timezone.now()) - WINDOW
    last = CollectionRun.objects.filter(task=OuterRef("task")).order_by("-started_at")
    totals = (
        CollectionRun.objects.values("task")
        .annotate(
            last_started=Max("started_at"),
            last_status=Subquery(last.values("status")[:1]),
            runs=Count("pk", filter=Q(started_at__gte=since)),
            items=Sum("items_written", filter=Q(started_at__gte=since), default=0),
            api_calls=Sum("api_calls", filter=Q(started_at__gte=since), default=0),
            errors=Count("pk", filter=Q(started_at__gte=since, status=CollectionRun.Status.FAILED)),
            warnings=Count(
                "pk", filter=Q(started_at__gte=since, status=CollectionRun.Status.WARNING)
            ),
        )
        .order_by("task")
    )
    return [CollectorRow(**row) for row in totals]


def queue_lengths(client: redis.Redis) -> dict[str, int | None]:
    """Messages waiting in each Celery queue (the broker keeps a queue as a Redis list)."""
    pipe = client.pipeline()
    for queue in QUEUES:
        pipe.llen(queue)
    return dict(zip(QUEUES, pipe.execute(), strict=True))


def demand() -> Demand:
    """A dry run of the planner's next tick: it queues nothing and changes nothing."""
    result = planner.tick(CollectorConfig.current(), send=None)
    return Demand(
        need_per_min=result.report.need_per_min,
        budget_per_min=result.budget.plannable_per_min,
        sustained_per_min=result.budget.sustained_per_min,
        in_flight=result.budget.in_flight,
        degraded=result.report.degraded,
        tiers=[t for t in result.report.tiers if t.pools or t.need_per_min],
    )


def load() -> Overview:
    """Everything the overview shows; a Redis outage leaves the database part visible."""
    rows = collector_rows()
    try:
        limiter = RateLimiter()
        bucket = limiter.status()
        calls = limiter.calls_last_minute()
        breaker = CircuitBreaker().state()
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        queues = queue_lengths(broker)
        plan = demand()
    except redis.RedisError as exc:
        return Overview(
            rows, None, {}, None, dict.fromkeys(QUEUES), settings.FLOWER_URL, redis_error=str(exc)
        )
    return Overview(rows, bucket, calls, breaker, queues, settings.FLOWER_URL, plan)
