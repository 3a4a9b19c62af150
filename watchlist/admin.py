"""Admin for the watchlist: operators add, deactivate and reactivate pools here.

Once an entry is linked to its Pool, its address and network are read-only: editing them
would keep collecting the linked pool under a new name. Another pool is a new entry.
"""

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
    linked_fields = ("network", "pool_address")
    linked_note = (
        "This entry collects the pool it is linked to, so its network and pool address are "
        "fixed. To collect another pool, add a new entry (and deactivate this one)."
    )

    @admin.action(description="Stop collecting (history is kept)")
    def deactivate(self, request, queryset):
        count = queryset.filter(active=True).update(active=False, removed_at=timezone.now())
        self.message_user(request, f"Deactivated {count} entries; their history is kept.")

    @admin.action(description="Resume collecting")
    def reactivate(self, request, queryset):
        count = queryset.filter(active=False).update(active=True, removed_at=None)
        self.message_user(request, f"Reactivated {count} entries.")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.linked_fields) if obj and obj.pool_id else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj and obj.pool_id:
            (name, options), *rest = fieldsets
            fieldsets = [(name, {**options, "description": self.linked_note}), *rest]
        return fieldsets

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = WatchlistEntry.Source.ADMIN
        if change and "active" in form.changed_data:
            obj.removed_at = None if obj.active else timezone.now()
        if change and set(self.linked_fields) & set(form.changed_data):
            # Not linked yet (a typo the API did not know): look the new address up at once.
            obj.details_checked_at = None
        super().save_model(request, obj, form, change)


@admin.register(WatchlistFile)
class WatchlistFileAdmin(admin.ModelAdmin):
    list_display = ("path", "sha256", "rows", "synced_at")
    readonly_fields = ("path", "sha256", "rows", "synced_at", "errors")

    def has_add_permission(self, request):
        return False
