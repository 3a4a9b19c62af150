from __future__ import annotations

from django.apps import AppConfig


class QlibExportConfig(AppConfig):
    name = "qlib_export"
