"""Admin for collector configuration, run history and the API door's shared state."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from marketdata.admin import GapAdmin
from marketdata.models import Gap
from marketdata.paginators import EstimatedCountPaginator

from . import inflight, tasks
from .breaker import CircuitBreaker
from .models import CollectionRun, CollectorConfig, TradeCursor
from .planner import service as planner
from .planner.text import render
from .ratelimit import RateLimiter
from .services import gaps


@admin.register(CollectorConfig)
class CollectorConfigAdmin(admin.ModelAdmin):
    list_display = (
        "network",
        "timeframes",
        "min_trade_usd",
        "top_pool_pages",
        "reserve_share",
        "top_pools_collected",
        "watchlist_csv",
        "updated_at",
    )
    readonly_fields = ("budget_plan", "api_door", "updated_at")

    @admin.display(description="timeframes")
    def timeframes(self, obj):
        return ", ".join(obj.ohlcv_timeframes)

    @admin.display(description="Budget plan (demand against the API budget, as collect plan)")
    def budget_plan(self, obj):
        if obj is None or obj.pk is None:
            return "shown once the configuration is saved"
        return format_html("<pre>{}</pre>", render(planner.tick(obj, send=None)))

    @admin.display(description="API door (shared by every worker)")
    def api_door(self, obj):
        bucket = RateLimiter().status()
        breaker = CircuitBreaker().state()
        return (
            f"bucket: {bucket.tokens:.1f}/{bucket.burst:.0f} tokens, "
            f"{bucket.rate_per_min:g}/min, "
            f"cooldown {bucket.cooldown_remaining:.0f}s; circuit breaker: {breaker.state}, "
            f"{breaker.failures} consecutive failures, retry in {breaker.retry_in:.0f}s"
        )


@admin.register(CollectionRun)
class CollectionRunAdmin(admin.ModelAdmin):
    list_display = (
        "task",
        "status",
        "started_at",
        "finished_at",
        "items_written",
        "api_calls",
        "short_detail",
    )
    list_filter = ("status", "task")
    search_fields = ("task", "detail")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="detail")
    def short_detail(self, obj):
        return obj.detail.splitlines()[0][:120] if obj.detail else ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TradeCursor)
class TradeCursorAdmin(admin.ModelAdmin):
    list_display = ("pool", "last_planned_at", "last_collected_at", "last_full_page_at")
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    search_fields = ("=pool__address",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GapBackfillAdmin(GapAdmin):
    """marketdata's Gap admin plus the action that needs the collectors (imports run this way)."""

    actions = ["reopen_and_backfill"]

    @admin.action(description="Re-open selected candle gaps and queue their backfill")
    def reopen_and_backfill(self, request, queryset):
        reopened = gaps.reopen_gaps(queryset)
        queued = [pk for pk in reopened if inflight.claim(gaps.GAP_BACKFILL, pk)]
        for gap_id in queued:
            tasks.backfill_gap.delay(gap_id=gap_id)
        self.message_user(
            request,
            f"Re-opened {len(reopened)} candle gaps; queued {len(queued)} backfills "
            f"({len(reopened) - len(queued)} were already queued or running).",
        )


admin.site.unregister(Gap)
admin.site.register(Gap, GapBackfillAdmin)
