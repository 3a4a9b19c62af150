"""Admin for market data. Collected rows are read-only: the API is their source of truth."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    Candle,
    CandleCoverage,
    Dex,
    Gap,
    HistoryStart,
    Network,
    Pool,
    PoolSnapshot,
    Token,
    Trade,
)
from .paginators import EstimatedCountPaginator


class CollectedAdmin(admin.ModelAdmin):
    """Shows collected data without letting an operator edit it by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BigTableAdmin(CollectedAdmin):
    """For tables of millions of rows: no full count, no facet counts, a cheap paginator."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")


@admin.register(Dex)
class DexAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "network", "is_target", "last_seen_at")
    list_filter = ("network", "is_target")
    list_editable = ("is_target",)
    search_fields = ("slug", "name")
    readonly_fields = ("last_seen_at", "created_at")
    list_select_related = ("network",)


@admin.register(Token)
class TokenAdmin(CollectedAdmin):
    list_display = (
        "symbol",
        "name",
        "address",
        "network",
        "decimals",
        "price_usd",
        "first_seen_at",
    )
    list_filter = ("network",)
    search_fields = ("=address", "symbol", "name")
    list_select_related = ("network",)


@admin.register(Pool)
class PoolAdmin(CollectedAdmin):
    list_display = (
        "name",
        "address",
        "dex",
        "base_token",
        "reserve_in_usd",
        "volume_usd_h24",
        "pool_created_at",
        "last_seen_at",
    )
    list_filter = ("network", "dex")
    search_fields = ("=address", "name", "base_token__symbol", "=base_token__address")
    list_select_related = ("dex", "base_token")
    raw_id_fields = ("dex", "base_token", "quote_token")
    show_full_result_count = False


@admin.register(PoolSnapshot)
class PoolSnapshotAdmin(BigTableAdmin):
    list_display = ("pool", "taken_at", "reserve_in_usd", "volume_usd_h24", "base_token_price_usd")
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    date_hierarchy = None


@admin.register(Candle)
class CandleAdmin(BigTableAdmin):
    list_display = (
        "pool",
        "timeframe",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume_usd",
        "is_final",
    )
    list_filter = ("timeframe", "is_final")
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    ordering = ("-ts",)


@admin.register(Trade)
class TradeAdmin(BigTableAdmin):
    list_display = ("block_timestamp", "pool", "side", "volume_usd", "from_token_amount", "tx_hash")
    list_filter = ("side",)
    search_fields = ("=trade_id", "=tx_hash", "=pool__address")
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    ordering = ("-block_timestamp",)


@admin.register(Gap)
class GapAdmin(admin.ModelAdmin):
    list_display = (
        "pool",
        "timeframe",
        "start",
        "end",
        "status",
        "attempts",
        "reason",
        "detected_at",
    )
    list_filter = ("status", "timeframe")
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    readonly_fields = (
        "pool",
        "timeframe",
        "start",
        "end",
        "attempts",
        "detected_at",
        "resolved_at",
    )
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(CandleCoverage)
class CandleCoverageAdmin(BigTableAdmin):
    list_display = ("pool", "timeframe", "start", "end")
    list_filter = ("timeframe",)
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)


@admin.register(HistoryStart)
class HistoryStartAdmin(CollectedAdmin):
    """Read-only; delete a row to have the next backfill ask the API again (a new plan)."""

    list_display = ("pool", "timeframe", "starts_at", "found_at")
    list_filter = ("timeframe",)
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
