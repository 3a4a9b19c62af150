"""Admin for collector configuration, run history and the API door's shared state.

Also what the admin needs of the collectors elsewhere: the operations overview on the index
page, and the actions on pools and gaps that queue collector tasks. marketdata's admin imports
nothing of the collectors (collectors → watchlist → marketdata), so those actions are added
here, by subclassing marketdata's ModelAdmin and registering the subclass in its place.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from collectors import tasks
from collectors.fleet import inflight
from collectors.gecko.breaker import CircuitBreaker
from collectors.gecko.ratelimit import RateLimiter
from collectors.management.backfill_output import plan_lines
from collectors.models import CollectionRun, CollectorConfig, TradeCursor
from collectors.planner import service as planner
from collectors.planner.demand import unit_key
from collectors.planner.text import render
from collectors.runs import columns as run_columns
from collectors.services import backfill, gaps
from marketdata.admin import GapAdmin, PoolAdmin, pool_label, utc_column
from marketdata.models import Gap, Pool
from marketdata.paginators import EstimatedCountPaginator

admin.site.index_template = "admin/collectors/index.html"


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
    readonly_fields = ("network", "budget_plan", "api_door", "updated_at")
    # One settings page, grouped by what an operator is deciding (tests check every field is here).
    fieldsets = (
        (
            "What to collect",
            {
                "fields": (
                    "network",
                    "ohlcv_timeframes",
                    "include_empty_intervals",
                    "min_trade_usd",
                    "watchlist_csv",
                )
            },
        ),
        (
            "Budget planner: how fresh, and what the API budget is spent on",
            {
                "fields": (
                    "freshness_minutes",
                    "reserve_share",
                    "plan_tick_seconds",
                    "top_pools_collected",
                    "top_pools_collected_size",
                    "budget_plan",
                )
            },
        ),
        (
            "Sizes of one fetch or scan",
            {
                "fields": (
                    "top_pool_pages",
                    "ohlcv_pages_per_fetch",
                    "backfill_tasks_per_run",
                    "trade_budget_per_cycle",
                )
            },
        ),
        ("Shared state (read-only)", {"fields": ("api_door", "updated_at")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """One settings page: the list of one row is skipped (the row is made on first use)."""
        config = CollectorConfig.current()
        return HttpResponseRedirect(
            reverse("admin:collectors_collectorconfig_change", args=[config.pk])
        )

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
    """Columns from run_columns: each row fits a 1,400 px screen, long texts on hover."""

    list_display = (
        "task_name",
        "status_word",
        "started",
        "rows",
        "calls",
        "short_detail",
    )
    list_filter = ("status", "task")
    search_fields = ("task", "detail", "worker")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        run_columns.label_units(changelist.result_list)
        return changelist

    @admin.display(description="task (for)", ordering="task")
    def task_name(self, obj):
        return run_columns.task_cell(obj)

    @admin.display(description="status", ordering="status")
    def status_word(self, obj):
        return run_columns.status_cell(obj)

    @admin.display(description="started (UTC)", ordering="started_at")
    def started(self, obj):
        return run_columns.started_cell(obj)

    @admin.display(description="rows", ordering="items_written")
    def rows(self, obj):
        return f"{obj.items_written:,}"

    @admin.display(description="API calls", ordering="api_calls")
    def calls(self, obj):
        return run_columns.calls_cell(obj)

    @admin.display(description="detail")
    def short_detail(self, obj):
        return run_columns.detail_cell(obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TradeCursor)
class TradeCursorAdmin(admin.ModelAdmin):
    list_display = ("pool_name", "last_planned", "last_collected", "last_full_page")
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    search_fields = ("=pool__address",)
    last_planned = utc_column("last_planned_at", "last planned")
    last_collected = utc_column("last_collected_at", "last collected")
    last_full_page = utc_column("last_full_page_at", "last full page")

    @admin.display(description="pool", ordering="pool__name")
    def pool_name(self, obj):
        return pool_label(obj.pool)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GapBackfillAdmin(GapAdmin):
    """marketdata's Gap admin plus the action that needs the collectors (imports run this way)."""

    actions = ["reopen_and_backfill"]

    @admin.action(
        description="Re-open selected candle gaps and queue their backfill", permissions=["change"]
    )
    def reopen_and_backfill(self, request, queryset):
        reopened = gaps.reopen_gaps(queryset)
        queued = [pk for pk in reopened if gaps.claim_gap(pk)]
        for gap_id in queued:
            tasks.backfill_gap.delay(gap_id=gap_id)
        self.message_user(
            request,
            f"Re-opened {len(reopened)} candle gaps; queued {len(queued)} backfills "
            f"({len(reopened) - len(queued)} were already queued or running).",
        )


admin.site.unregister(Gap)
admin.site.register(Gap, GapBackfillAdmin)


BACKFILL_DAYS = (7, 30, 90, 180)


class PoolCollectAdmin(PoolAdmin):
    """marketdata's Pool admin plus the actions that queue collector tasks."""

    actions = ["backfill_selected", "collect_now"]

    def has_collect_permission(self, request):
        """Queuing fetches spends the API budget: it takes the right to change pools, although
        their rows stay read-only here (the API is their source of truth)."""
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(
        description="Backfill selected pools (shows the plan first)", permissions=["collect"]
    )
    def backfill_selected(self, request, queryset):
        """First call: the plan (pools × timeframes, pages, calls, time at the backfill lane's
        rate). Confirmed: one backfill_ohlcv task per (pool, timeframe), as ``--async`` does."""
        config = CollectorConfig.current()
        try:
            days = int(request.POST.get("days", 180))
        except ValueError:
            days = 180
        days = days if days in BACKFILL_DAYS else 180
        until = timezone.now()
        since = until - timedelta(days=days)
        pool_ids = sorted(queryset.values_list("pk", flat=True))
        plan = backfill.plan_backfill(pool_ids, config.ohlcv_timeframes, since=since, until=until)
        if request.POST.get("confirm") == "yes":
            for unit in plan.todo:
                tasks.backfill_ohlcv.delay(
                    pool_id=unit.pool_id,
                    timeframe=unit.timeframe,
                    since=since.isoformat(),
                    until=until.isoformat(),
                )
            self.message_user(
                request,
                f"Queued {len(plan.todo)} backfill tasks (~{plan.pages:,} API calls) on the api "
                "queue's backfill lane; live collection keeps its share.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Backfill selected pools",
            "opts": self.model._meta,
            "pools": queryset.order_by("name"),
            "plan_lines": plan_lines(plan),
            "todo": len(plan.todo),
            "days": days,
            "day_choices": BACKFILL_DAYS,
            "selected": pool_ids,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/collectors/backfill_confirm.html", context)

    @admin.action(
        description="Collect now (latest candles of every timeframe, and trades)",
        permissions=["collect"],
    )
    def collect_now(self, request, queryset):
        """Queue the pools' live fetches now. They are claimed in flight as the planner's own
        units are, so the planner does not queue them again meanwhile, and a unit already
        queued or running (by the planner or an earlier click) is not queued twice."""
        config = CollectorConfig.current()
        expires = 2.0 * config.plan_tick_seconds
        sends = {}
        for pool_id in queryset.values_list("pk", flat=True):
            for timeframe in config.ohlcv_timeframes:
                kwargs = {"pool_id": pool_id, "timeframe": timeframe}
                sends[unit_key("ohlcv", pool_id, timeframe)] = (tasks.fetch_ohlcv, kwargs)
            sends[unit_key("trades", pool_id)] = (tasks.fetch_trades, {"pool_id": pool_id})
        claimed = inflight.claim(((unit, 1) for unit in sends), expires + planner.INFLIGHT_MARGIN)
        for unit in claimed:
            task, kwargs = sends[unit]
            task.apply_async(kwargs=kwargs, expires=expires)
        self.message_user(
            request,
            f"Queued {len(claimed)} live fetches on the api queue "
            f"({len(sends) - len(claimed)} were already queued or running).",
        )


admin.site.unregister(Pool)
admin.site.register(Pool, PoolCollectAdmin)
