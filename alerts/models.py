"""An incident: a condition that went bad, from first sight to recovery.

Kept in the database so "one alert per incident" survives restarts: a check that finds the
same condition again finds its open incident and stays quiet.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Incident(models.Model):
    key = models.CharField(max_length=200, help_text="Which condition, e.g. failing:<task>")
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the alert went out (held conditions wait first)"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="uq_incident_open_key"
            )
        ]
        indexes = [models.Index(fields=["-first_seen_at"], name="ix_incident_first_seen")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
