"""The Celery app. All configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish

from collectors.ticks import stamp_beat_send

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geckoproject.settings")

app = Celery("geckoproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Beat's messages carry their send time: planners run once per tick (collectors.ticks).
before_task_publish.connect(stamp_beat_send, weak=False)
