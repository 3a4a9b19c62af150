"""Admin for market data. Collected rows are read-only: the API is their source of truth.

Nor are they deleted here: "Delete selected pools" took their candles and trades with them, a
click from a list. No admin action or page deletes collected data (History start rows excepted:
deleting one only makes the next backfill ask the API again). Lists fit a 1,400 px screen with
the navigation sidebar open: long values are shortened, with the whole value on hover.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from geckoproject.admin_defaults import DatabaseDefaultsAdmin

from . import chart, trade_layout
from .display import EMPTY, age, compact, short_address, utc
from .models import (
    ArchivedMonth,
    CandleCoverage,
    CandleRow,
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
from .timeframes import ALL_TIMEFRAMES


def compact_column(field: str, description: str | None = None):
    """A list column showing ``field`` with a few significant digits (the detail page has all)."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(self, obj):
        return compact(getattr(obj, field))

    column.__name__ = f"{field}_compact"
    return column


def utc_column(field: str, description: str | None = None):
    """A list column showing an aware time in UTC to the second."""

    @admin.display(description=f"{description or field.replace('_', ' ')} (UTC)", ordering=field)
    def column(self, obj):
        return utc(getattr(obj, field))

    column.__name__ = f"{field}_utc"
    return column


def pool_label(pool: Pool) -> str:
    """A pool's name, or its shortened address."""
    return pool.name or short_address(pool.address)


def address_column(field: str, description: str | None = None):
    """A list column showing an address shortened, the whole of it on hover."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(self, obj):
        address = getattr(obj, field)
        if not address:
            return EMPTY
        return format_html('<span title="{}">{}</span>', address, short_address(address))

    column.__name__ = f"{field}_short"
    return column


class CollectedAdmin(admin.ModelAdmin):
    """Shows collected data without letting an operator edit or delete it by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BigTableAdmin(CollectedAdmin):
    """For tables of millions of rows: no full count, no facet counts, a cheap paginator."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100


@admin.register(Network)
class NetworkAdmin(DatabaseDefaultsAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")


@admin.register(Dex)
class DexAdmin(DatabaseDefaultsAdmin):
    list_display = ("slug", "name", "network", "is_target", "last_seen_at")
    list_filter = ("network", "is_target")
    list_editable = ("is_target",)
    search_fields = ("slug", "name")
    readonly_fields = ("last_seen_at", "created_at")
    list_select_related = ("network",)


class PoolColumnMixin:
    """The pool as its name (shortened address when unnamed), and the timeframe as its code."""

    @admin.display(description="pool", ordering="pool__name")
    def pool_name(self, obj):
        return pool_label(obj.pool)

    @admin.display(description="tf", ordering="timeframe")
    def tf(self, obj):
        return obj.timeframe


@admin.register(Token)
class TokenAdmin(CollectedAdmin):
    list_display = ("symbol", "name", "address_short", "network", "price", "first_seen")
    list_filter = ("network",)
    search_fields = ("=address", "symbol", "name")
    list_select_related = ("network",)

    address_short = address_column("address")
    price = compact_column("price_usd", "price USD")
    first_seen = utc_column("first_seen_at", "first seen")


@admin.register(Pool)
class PoolAdmin(CollectedAdmin):
    """The pool page carries a candlestick chart and the pool's coverage (see chart.py).

    Actions that need the collectors (backfill, collect now) are added by collectors.admin:
    marketdata imports nothing of the collectors.
    """

    list_display = (
        "name",
        "address_short",
        "dex",
        "base_symbol",
        "reserve",
        "volume_h24",
        "last_seen",
    )
    list_filter = ("network", "dex")
    search_fields = ("=address", "name", "base_token__symbol", "=base_token__address")
    list_select_related = ("dex", "base_token")
    raw_id_fields = ("dex", "base_token", "quote_token")
    show_full_result_count = False

    address_short = address_column("address")
    reserve = compact_column("reserve_in_usd", "reserve USD")
    volume_h24 = compact_column("volume_usd_h24", "volume 24h USD")
    last_seen = utc_column("last_seen_at", "last seen")

    @admin.display(description="base token", ordering="base_token__symbol")
    def base_symbol(self, obj):
        return obj.base_token.symbol if obj.base_token else EMPTY

    def get_urls(self):
        view = self.admin_site.admin_view(self.chart_data_view)
        return [
            path("<int:object_id>/chart-data/", view, name="marketdata_pool_chart_data"),
            *super().get_urls(),
        ]

    def chart_data_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """JSON for the chart: ``?timeframe=1h&n=300`` (login and view permission required)."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "permission denied"}, status=403)
        if not Pool.objects.filter(pk=object_id).exists():
            return JsonResponse({"error": "no such pool"}, status=404)
        timeframe = request.GET.get("timeframe", "1h")
        try:
            n = int(request.GET.get("n", chart.DEFAULT_CANDLES))
            data = chart.chart_data(object_id, timeframe, n)
        except ValueError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(data)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pool = self.get_object(request, object_id)
        if pool is not None:
            extra_context = {**(extra_context or {}), **self.pool_context(pool)}
        return super().change_view(request, object_id, form_url, extra_context)

    def pool_context(self, pool: Pool) -> dict:
        summary = chart.pool_summary(pool.pk)
        with_candles = [row.timeframe for row in summary if row.newest_candle]
        default = "1h" if "1h" in with_candles else (with_candles or ["1h"])[0]
        query = f"?pool__id__exact={pool.pk}"
        return {
            "chart_data_url": reverse("admin:marketdata_pool_chart_data", args=[pool.pk]),
            "chart_timeframes": ALL_TIMEFRAMES,
            "chart_timeframe": default,
            "chart_n": chart.DEFAULT_CANDLES,
            "chart_max": chart.MAX_CANDLES,
            "pool_summary": [
                {
                    "timeframe": row.timeframe,
                    "covered_from": utc(row.covered_from),
                    "covered_to": utc(row.covered_to),
                    "covered": _covered_share(row),
                    "open_gaps": row.open_gaps,
                    "newest": utc(row.newest_candle),
                    "age": age(row.newest_age_seconds),
                }
                for row in summary
            ],
            "open_gaps": sum(row.open_gaps for row in summary) + chart.open_trade_gaps(pool.pk),
            "open_trade_gaps": chart.open_trade_gaps(pool.pk),
            "links": {
                "candles": reverse("admin:marketdata_candlerow_changelist") + query,
                "trades": reverse("admin:marketdata_trade_changelist") + query,
                "gaps": reverse("admin:marketdata_gap_changelist") + query,
            },
        }


def _covered_share(row: chart.TimeframeSummary) -> str:
    """How much of [first covered, last covered) the coverage holds (100% = no hole)."""
    if row.covered_from is None or row.covered_to is None:
        return EMPTY
    span = (row.covered_to - row.covered_from).total_seconds()
    return f"{row.covered_seconds / span:.1%}" if span > 0 else EMPTY


@admin.register(PoolSnapshot)
class PoolSnapshotAdmin(PoolColumnMixin, BigTableAdmin):
    list_display = ("taken", "pool_name", "reserve", "volume_h24", "price")
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    date_hierarchy = None

    taken = utc_column("taken_at", "taken")
    reserve = compact_column("reserve_in_usd", "reserve USD")
    volume_h24 = compact_column("volume_usd_h24", "volume 24h USD")
    price = compact_column("base_token_price_usd", "price USD")


@admin.register(CandleRow)
class CandleAdmin(PoolColumnMixin, BigTableAdmin):
    """Bars newest first within a pool and timeframe: the order of the table's key read
    backwards, so a page is an index scan, never a sort of every bar."""

    list_display = (
        "open_time",
        "pool_name",
        "tf",
        "open_",
        "high_",
        "low_",
        "close_",
        "volume",
        "final",
    )
    list_filter = ("timeframe", "is_final")
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)
    ordering = ("-pool_id", "-timeframe", "-ts")

    open_time = utc_column("ts", "open time")
    open_ = compact_column("open")
    high_ = compact_column("high")
    low_ = compact_column("low")
    close_ = compact_column("close")
    volume = compact_column("volume_usd", "volume USD")

    @admin.display(description="final", boolean=True, ordering="is_final")
    def final(self, obj):
        return obj.is_final

    def get_object(self, request, object_id, from_field=None):
        """The bar of a key ``pool:timeframe:epoch``, found by the table's key."""
        try:
            pool, timeframe, epoch = object_id.split(":")
            moment = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            return None
        found = self.get_queryset(request).filter(pool_id=pool, timeframe=timeframe, ts=moment)
        return found.first() if pool.isdigit() else None


TRADE_FIELDS = ("trade_id", "pool", *trade_layout.TRADE_FIELDS[1:])


@admin.register(Trade)
class TradeAdmin(PoolColumnMixin, BigTableAdmin):
    """Trades are stored lean (marketdata.trade_layout): the page shows the API's strings, and
    the search takes a trade id, a tx hash or a pool address as the API writes them. Newest
    first within a pool: the unique key read backwards, so a page is an index scan at any size
    (ordering by time alone sorted every trade: 0.3 s at 300,000)."""

    list_display = ("time", "pool_name", "side", "volume", "price", "short_tx")
    list_filter = ("side",)
    search_fields = ("=pool__address",)
    search_help_text = "A trade id, a tx hash or a pool address"
    list_select_related = ("pool__network", "pool__base_token", "pool__quote_token")
    ordering = ("-pool_id", "-block_timestamp", "-event_index", "-tx_key")
    fields = readonly_fields = TRADE_FIELDS

    time = utc_column("block_timestamp", "time")
    volume = compact_column("volume_usd", "volume USD")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        by_pool, duplicates = super().get_search_results(request, queryset, term)
        return by_pool | queryset.filter(trade_layout.matching(term)), duplicates

    @admin.display(description="price USD")
    def price(self, obj):
        side_price = obj.price_to_in_usd if obj.side == Trade.Side.BUY else obj.price_from_in_usd
        return compact(side_price)

    @admin.display(description="tx")
    def short_tx(self, obj):
        return f"{obj.tx_hash[:10]}…"


@admin.register(ArchivedMonth)
class ArchivedMonthAdmin(CollectedAdmin):
    """Months moved to Parquet by marketdata.archive: where each is, and how many rows."""

    list_display = ("table", "month", "rows", "path", "archived_at")
    list_filter = ("table",)


@admin.register(Gap)
class GapAdmin(PoolColumnMixin, admin.ModelAdmin):
    """Gaps are found by the scan and the collectors, never typed in: no add page. Nor deleted:
    a gap is the flag on a hole, and without it a loss would go unflagged."""

    list_display = (
        "pool_name",
        "tf",
        "span",
        "status",
        "attempts",
        "reason",
        "detected",
        "next_attempt",
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
        "misses",
        "next_attempt_at",
        "last_answer",
        "same_answers",
    )
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    detected = utc_column("detected_at", "detected")
    next_attempt = utc_column("next_attempt_at", "next try")

    @admin.display(description="from → to (UTC)", ordering="start")
    def span(self, obj):
        return f"{utc(obj.start)} → {utc(obj.end)}"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CandleCoverage)
class CandleCoverageAdmin(PoolColumnMixin, BigTableAdmin):
    list_display = ("pool_name", "tf", "start_utc", "end_utc")
    list_filter = ("timeframe",)
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)

    start_utc = utc_column("start")
    end_utc = utc_column("end")


@admin.register(HistoryStart)
class HistoryStartAdmin(PoolColumnMixin, CollectedAdmin):
    """Read-only; delete a row to have the next backfill ask the API again (a new plan)."""

    list_display = ("pool_name", "tf", "starts", "found")
    list_filter = ("timeframe",)
    search_fields = ("=pool__address",)
    raw_id_fields = ("pool",)
    list_select_related = ("pool",)

    starts = utc_column("starts_at", "starts")
    found = utc_column("found_at", "found")

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)
