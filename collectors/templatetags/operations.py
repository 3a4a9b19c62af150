"""``{% operations_overview %}``: the overview block on the admin index (collectors.overview)."""

from __future__ import annotations

from django import template
from django.urls import reverse

from collectors import overview
from marketdata.display import age, utc

register = template.Library()


@register.inclusion_tag("admin/collectors/overview.html")
def operations_overview() -> dict:
    data = overview.load()
    runs_url = reverse("admin:collectors_collectionrun_changelist")
    rows = [
        {
            "name": row.name,
            "last_run": utc(row.last_started),
            "status": row.last_status,
            "runs": row.runs,
            "items": row.items,
            "api_calls": row.api_calls,
            "errors": row.errors,
            "warnings": row.warnings,
            "url": f"{runs_url}?task={row.task}",
        }
        for row in data.collectors
    ]
    bucket = data.bucket
    return {
        "rows": rows,
        "bucket": bucket,
        "cooldown": age(bucket.cooldown_remaining) if bucket else "",
        "calls": data.calls_last_minute,
        "calls_total": sum(data.calls_last_minute.values()),
        "breaker": data.breaker,
        "queues": data.queues,
        "flower_url": data.flower_url,
        "redis_error": data.redis_error,
        "runs_url": runs_url,
        "demand": data.demand,
        "config_url": reverse("admin:collectors_collectorconfig_changelist"),
    }
