"""Which API a process talks to: one short, readable identity per base URL.

The shared breaker and token bucket are kept per target (their Redis keys end in
``@<target>``), so a command pointed at another API, say from a shell that missed the
checkout's .env, never opens the fleet's breaker nor spends its tokens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def target_id(base_url: str | None = None) -> str:
    """``host:port/path`` of ``base_url`` (default: settings.GECKO_API_URL), normalised so
    spellings of one URL (case, default port, trailing slash) share one breaker and bucket."""
    url = urlsplit((base_url or settings.GECKO_API_URL).strip())
    port = url.port or DEFAULT_PORTS.get(url.scheme.lower(), 0)
    return f"{(url.hostname or '').lower()}:{port}{url.path.rstrip('/')}"
