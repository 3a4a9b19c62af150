from __future__ import annotations

from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """The GeckoTerminal stand-in; registered so ``manage.py gecko_simulator`` is found."""

    name = "simulator"
