"""HTTP replies: JSON bodies with the headers GeckoTerminal sends, and its error documents."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

JSON_TYPE = "application/json; charset=utf-8"
CACHE_OK = "max-age=30,public,must-revalidate,s-maxage=60"
RATE_LIMITED = {"errors": [{"status": "429", "title": "Rate Limited"}]}
COINGECKO_429 = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit "
        "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher "
        "rate limits.",
    }
}
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def error_body(status: int, title: str, detail: str | None = None) -> dict:
    err: dict = {"status": str(status), "title": title}
    if detail:
        err["detail"] = detail
    return {"errors": [err]}


class ApiError(Exception):
    """Raised by handlers; rendered as a JSON:API error document."""

    def __init__(self, status: int, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.body = error_body(status, title, detail)


@dataclass
class Reply:
    status: int
    body: dict | list | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    request_id: str | None = None  # set on an answer the CDN kept: its first request's id

    def encode(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    def status_line(self) -> str:
        return f"{self.status} {REASONS.get(self.status, 'Unknown')}"


def api_headers(
    reply: Reply, payload: bytes, request_id: str, runtime: float
) -> list[tuple[str, str]]:
    """The header set of a real answer (minus Cloudflare's), plus any reply-specific ones."""
    headers = [
        ("Content-Type", JSON_TYPE),
        ("Content-Length", str(len(payload))),
        ("Cache-Control", CACHE_OK if reply.status == 200 else "no-cache"),
        ("Vary", "Accept-Encoding,Accept,Origin"),
        ("X-Request-Id", request_id),
        ("X-Runtime", f"{runtime:.6f}"),
    ]
    if reply.status == 200:
        headers.append(("ETag", f'W/"{hashlib.md5(payload, usedforsecurity=False).hexdigest()}"'))
    return headers + reply.headers
