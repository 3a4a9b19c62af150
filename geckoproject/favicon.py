"""``/favicon.ico``: browsers ask for it on every page; answer with the icon, not a 404.

Served from the app's static file directly (no login, cached a day), so it works with or
without collectstatic and whatever the static URL."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ICON = Path(__file__).resolve().parent / "static" / "favicon.ico"


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request):
    return HttpResponse(ICON.read_bytes(), content_type="image/x-icon")
