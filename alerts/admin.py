from __future__ import annotations

from django.contrib import admin

from .models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("title", "first_seen_at", "notified_at", "resolved_at")
    list_filter = ("resolved_at",)
    search_fields = ("key", "title")
    readonly_fields = [f.name for f in Incident._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
