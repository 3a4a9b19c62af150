"""Admin for the watchlist: operators add, deactivate and reactivate pools here.

Once an entry is linked to its Pool, its address and network are read-only: editing them
would keep collecting the linked pool under a new name. Another pool is a new entry.

The add form asks only for what an operator knows: the pool's address is enough (the source
is "admin", the time the database's); until the pool's details arrive, the entry is listed by
its short address.

A CSV upload is previewed (added, reactivated, updated, deactivated, rejected with each row's
reason) before it is applied; applied, it acts as a sync of that file would.
"""

from __future__ import annotations

import base64

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from geckoproject.admin_defaults import DatabaseDefaultsAdmin
from marketdata.admin import address_column, utc_column
from marketdata.display import short_address

from .csv_format import WatchlistFormatError, content_hash
from .models import WatchlistEntry, WatchlistFile
from .sync import apply_watchlist, preview_watchlist

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
SESSION_KEY = "watchlist_upload"


class UploadForm(forms.Form):
    csv_file = forms.FileField(
        label="Watchlist CSV",
        help_text="Header tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress",
    )


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(DatabaseDefaultsAdmin):
    list_display = (
        "label",
        "token_short",
        "dex",
        "network",
        "active",
        "source",
        "added",
        "removed",
    )
    list_filter = ("active", "network", "dex", "source")
    search_fields = ("=pool_address", "=token_address", "symbol", "name")
    raw_id_fields = ("pool",)
    readonly_fields = ("pool", "added_at", "removed_at", "details_checked_at", "updated_at")
    list_select_related = ("pool",)
    actions = ("deactivate", "reactivate")
    linked_fields = ("network", "pool_address")
    add_fields = ("pool_address", "network", "token_address", "symbol", "name", "dex", "active")
    token_short = address_column("token_address", "token address")
    added = utc_column("added_at", "added")
    removed = utc_column("removed_at", "removed")
    linked_note = (
        "This entry collects the pool it is linked to, so its network and pool address are "
        "fixed. To collect another pool, add a new entry (and deactivate this one)."
    )

    @admin.display(description="pool", ordering="symbol")
    def label(self, obj):
        """The symbol over the short pool address; the address alone until details arrive."""
        address = format_html(
            '<span title="{}">{}</span>', obj.pool_address, short_address(obj.pool_address)
        )
        return format_html("{}<br>{}", obj.symbol, address) if obj.symbol else address

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_urls(self):
        view = self.admin_site.admin_view(self.upload_view)
        return [
            path("upload-csv/", view, name="watchlist_watchlistentry_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview (nothing written; the file waits in the session) → apply."""
        if not self.has_change_permission(request) or not self.has_add_permission(request):
            return HttpResponse("permission denied", status=403)
        changelist = reverse("admin:watchlist_watchlistentry_changelist")
        form = UploadForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a watchlist CSV",
            "opts": self.model._meta,
            "changelist_url": changelist,
        }
        if request.method == "POST" and "apply" in request.POST:
            stored = request.session.get(SESSION_KEY)
            if not stored or stored["sha256"] != request.POST.get("sha256"):
                messages.error(request, "The previewed file is gone; upload it again.")
                return HttpResponseRedirect(request.path)
            report = apply_watchlist(base64.b64decode(stored["data"]), stored["name"])
            del request.session[SESSION_KEY]
            level = messages.WARNING if report.errors else messages.SUCCESS
            messages.add_message(request, level, f"Applied {report.summary()}")
            return HttpResponseRedirect(changelist)
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["csv_file"]
                if upload.size > MAX_UPLOAD_BYTES:
                    form.add_error("csv_file", f"Larger than {MAX_UPLOAD_BYTES:,} bytes.")
                else:
                    data = upload.read()
                    try:
                        report = preview_watchlist(data, upload.name)
                    except WatchlistFormatError as exc:
                        form.add_error("csv_file", f"Cannot read this file: {exc}")
                    else:
                        digest = content_hash(data)
                        request.session[SESSION_KEY] = {
                            "name": upload.name,
                            "sha256": digest,
                            "data": base64.b64encode(data).decode(),
                        }
                        context.update(report=report, sha256=digest)
        context["form"] = form
        return TemplateResponse(request, "admin/watchlist/watchlistentry/upload.html", context)

    @admin.action(
        description="Deactivate selected (stop collecting; history is kept)",
        permissions=["change"],
    )
    def deactivate(self, request, queryset):
        count = queryset.filter(active=True).update(active=False, removed_at=timezone.now())
        self.message_user(request, f"Deactivated {count} entries; their history is kept.")

    @admin.action(description="Activate selected (resume collecting)", permissions=["change"])
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
    list_display = ("path", "short_sha256", "rows", "synced")
    synced = utc_column("synced_at", "synced")
    readonly_fields = ("path", "sha256", "rows", "synced_at", "errors")

    @admin.display(description="sha256")
    def short_sha256(self, obj):
        return obj.sha256[:12]

    def has_add_permission(self, request):
        return False
