"""The periodic alert check (queue "default", seeded by collectors.schedules)."""

from __future__ import annotations

from celery import shared_task

from collectors.runs.tracking import track_run

from .engine import evaluate


@shared_task(bind=True)
def check_alerts(self):
    with track_run(self.name, {}, worker=self.request.hostname) as tally:
        tally.detail = evaluate().summary()
    return tally.detail
