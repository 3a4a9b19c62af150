"""Admin for the watchlist: operators add, deactivate and reactivate pools here."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from .models import WatchlistEntry, WatchlistFile


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "pool_address",
        "token_address",
        "dex",
        "network",
        "active",
        "source",
        "added_at",
        "removed_at",
    )
    list_filter = ("active", "network", "dex", "source")
    search_fields = ("=pool_address", "=token_address", "symbol", "name")
    raw_id_fields = ("pool",)
    readonly_fields = ("pool", "added_at", "removed_at", "details_checked_at", "updated_at")
    list_select_related = ("pool",)
    actions = ("deactivate", "reactivate")

    @admin.action(description="Stop collecting (history is kept)")
    def deactivate(self, request, queryset):
        count = queryset.filter(active=True).update(active=False, removed_at=timezone.now())
        self.message_user(request, f"Deactivated {count} entries; their history is kept.")

    @admin.action(description="Resume collecting")
    def reactivate(self, request, queryset):
        count = queryset.filter(active=False).update(active=True, removed_at=None)
        self.message_user(request, f"Reactivated {count} entries.")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = WatchlistEntry.Source.ADMIN
        if change and "active" in form.changed_data:
            obj.removed_at = None if obj.active else timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(WatchlistFile)
class WatchlistFileAdmin(admin.ModelAdmin):
    list_display = ("path", "sha256", "rows", "synced_at")
    readonly_fields = ("path", "sha256", "rows", "synced_at", "errors")

    def has_add_permission(self, request):
        return False
