"""The project package as an app, so its system checks run with every manage.py command."""

from __future__ import annotations

from django.apps import AppConfig


class GeckoprojectConfig(AppConfig):
    name = "geckoproject"
    verbose_name = "geckoproject"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
