"""The Celery app. All configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, task_revoked

from alerts.watchdog import BeatWatchdog
from collectors.fleet.ticks import stamp_beat_send
from geckoproject.logs import bind_task, unbind_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geckoproject.settings")


def close_discarded_run(**signal: object) -> None:
    """collectors.runs.tracking.close_discarded_run, imported late: it needs the models."""
    from collectors.runs.tracking import close_discarded_run as close

    close(**signal)


app = Celery("geckoproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Beat's messages carry their send time: planners run once per tick (collectors.fleet.ticks).
before_task_publish.connect(stamp_beat_send, weak=False)
# Every log line of a task run carries its task id as the correlation id (geckoproject.logs).
task_prerun.connect(bind_task, weak=False)
task_postrun.connect(unbind_task, weak=False)
# A retry dropped unrun (it came after its expiry) closes the run that waited for it.
task_revoked.connect(close_discarded_run, weak=False)
# Workers on "default" check that beat still ticks (alerts.watchdog).
app.steps["worker"].add(BeatWatchdog)
