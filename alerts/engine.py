"""Turn findings into incidents: one alert when a condition starts, one when it ends.

Every evaluation runs under one advisory lock, so the beat task and the workers' watchdog
never open the same incident twice. A finding with a ``hold`` opens its incident at once but
alerts only once it has held that long; one that clears before then resolves silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .channels import Alert, send
from .conditions import CHECKS, Finding
from .models import Incident

logger = logging.getLogger("alerts")

# pg_advisory_xact_lock key: "alerts" as an integer.
_LOCK = 0x616C65727473


@dataclass
class Outcome:
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.fired)} fired, {len(self.resolved)} resolved" + (
            f", checks failed: {', '.join(self.failed_checks)}" if self.failed_checks else ""
        )


Check = Callable[[datetime], list[Finding]]


def evaluate(checks: Iterable[Check] = CHECKS, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    outcome = Outcome()
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check(now))
        except Exception:  # noqa: BLE001 — one broken check must not stop the others
            logger.exception("alert check %s failed", check.__name__)
            outcome.failed_checks.append(check.__name__)
    outgoing: list[Alert] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        for finding in findings:
            _apply(finding, now, outgoing, outcome)
    for alert in outgoing:
        send(alert)
    return outcome


def _apply(finding: Finding, now: datetime, outgoing: list[Alert], outcome: Outcome) -> None:
    incident = Incident.objects.filter(key=finding.key, resolved_at__isnull=True).first()
    if not finding.active:
        if incident is None:
            return
        incident.resolved_at = now
        incident.save(update_fields=["resolved_at"])
        if incident.notified_at is not None:
            outgoing.append(_alert("resolved", incident))
            outcome.resolved.append(finding.key)
        return
    if incident is None:
        incident = Incident.objects.create(
            key=finding.key,
            title=finding.title,
            detail=finding.detail,
            first_seen_at=now,
            last_seen_at=now,
        )
    incident.last_seen_at = now
    incident.title, incident.detail = finding.title, finding.detail
    due = incident.notified_at is None and (now - incident.first_seen_at).total_seconds() >= (
        finding.hold
    )
    if due:
        incident.notified_at = now
        outgoing.append(_alert("firing", incident))
        outcome.fired.append(finding.key)
    incident.save()


def _alert(event: str, incident: Incident) -> Alert:
    return Alert(
        event=event,
        key=incident.key,
        title=incident.title,
        detail=incident.detail,
        first_seen_at=incident.first_seen_at.isoformat(),
        resolved_at=incident.resolved_at.isoformat() if incident.resolved_at else None,
    )
