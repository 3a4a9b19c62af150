"""Where an alert goes: always an ERROR log line; a webhook and e-mail when configured.

A channel that fails is logged and skipped: one broken webhook must not silence the e-mail
(or the next alert). Webhook: POST JSON to ``ALERT_WEBHOOK_URL`` with a short timeout.
E-mail: ``send_mail`` to ``ALERT_EMAILS`` through Django's mail settings (EMAIL_*).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import httpx
from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger("alerts")

WEBHOOK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Alert:
    event: str  # "firing" or "resolved"
    key: str
    title: str
    detail: str
    first_seen_at: str
    resolved_at: str | None = None

    @property
    def subject(self) -> str:
        word = "ALERT" if self.event == "firing" else "RESOLVED"
        return f"[geckoproject] {word}: {self.title}"


def send(alert: Alert) -> None:
    if alert.event == "firing":
        logger.error("%s\n%s", alert.subject, alert.detail)
    else:
        logger.error("%s (since %s)", alert.subject, alert.first_seen_at)
    if settings.ALERT_WEBHOOK_URL:
        _webhook(alert)
    if settings.ALERT_EMAILS:
        _email(alert)


def _webhook(alert: Alert) -> None:
    try:
        response = httpx.post(
            settings.ALERT_WEBHOOK_URL,
            json={"text": alert.subject, **asdict(alert)},
            timeout=WEBHOOK_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error("alert webhook failed (%s): %s", type(exc).__name__, alert.subject)


def _email(alert: Alert) -> None:
    body = f"{alert.title}\n\nfirst seen {alert.first_seen_at}\n\n{alert.detail}"
    try:
        send_mail(alert.subject, body, None, settings.ALERT_EMAILS)
    except Exception as exc:  # noqa: BLE001 — any SMTP failure: log, keep the other channels
        logger.error("alert e-mail failed (%s): %s", type(exc).__name__, alert.subject)
