from __future__ import annotations

from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"
