"""Check beat from the workers: a beat that stopped cannot schedule its own alert check.

A worker bootstep on workers that consume ``default`` runs the beat check every
``GECKO_ALERT_WATCHDOG_SECONDS`` on the worker's timer. Incidents are shared, so several
workers still send one alert.
"""

from __future__ import annotations

import logging

from celery import bootsteps
from django.conf import settings
from django.db import connection

logger = logging.getLogger("alerts")


def watch_beat() -> None:
    from .conditions import beat_stopped
    from .engine import evaluate

    try:
        evaluate([beat_stopped])
    except Exception:  # noqa: BLE001 — the watchdog must never take the worker down
        logger.exception("beat watchdog check failed")
    finally:
        # The timer runs in the worker's parent process: no connection may outlive the call
        # into a later fork of a pool process.
        if not connection.in_atomic_block:
            connection.close()


class BeatWatchdog(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:
        self.tref = None
        super().__init__(worker, **kwargs)

    def start(self, worker) -> None:
        queues = worker.app.amqp.queues.consume_from or {}
        if "default" not in queues:
            return
        self.tref = worker.timer.call_repeatedly(settings.GECKO_ALERT_WATCHDOG_SECONDS, watch_beat)

    def stop(self, worker) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
