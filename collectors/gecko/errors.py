"""Every failure of a GeckoTerminal call, as one hierarchy rooted at :class:`GeckoError`.

Why: callers (Celery tasks, the client) must tell "retry later" from "our parser or the API
changed" without string matching, and every message must name the endpoint it came from.
``retryable`` says which failures are worth retrying.
"""

from __future__ import annotations

from typing import Any

BODY_PATH = "<body>"


class GeckoError(Exception):
    """Base of every GeckoTerminal failure; ``endpoint`` names the call that failed."""

    retryable: bool = False

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint

    def __reduce__(self) -> tuple:
        """Rebuild from ``args`` and attributes, not by calling ``__init__``: the subclasses'
        keyword-only arguments would make pickle (hence Celery's result store) fail."""
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[GeckoError], args: tuple, state: dict[str, Any]) -> GeckoError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class PayloadError(GeckoError):
    """A response body that does not fit the documented shape.

    The message reads ``"{endpoint}: {path}: {problem}"``, e.g.
    ``ohlcv: data.attributes.ohlcv_list[3][1]: expected number, got 'abc'``.
    """

    def __init__(self, endpoint: str, path: str, problem: str) -> None:
        super().__init__(f"{endpoint}: {path or BODY_PATH}: {problem}", endpoint=endpoint)
        self.path = path or BODY_PATH
        self.problem = problem


class InvalidJSON(PayloadError):
    """A body that does not parse as JSON: usually a dropped connection, so worth a retry."""

    retryable = True

    def __init__(self, endpoint: str, problem: str) -> None:
        super().__init__(endpoint, BODY_PATH, problem)


TruncatedJSON = InvalidJSON


class ApiErrorBody(GeckoError):
    """An error document (``errors`` or ``status.error_code``, no ``data``), even under HTTP 200.

    GeckoTerminal has been seen throttling with a 200 whose body is an error, so the body, not
    the status line, decides. ``status`` is the code found in the body (``None`` if absent).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        status: int | None,
        title: str | None,
        message: str | None,
        body: Any = None,
    ) -> None:
        parts = [p for p in (str(status) if status is not None else None, title, message) if p]
        super().__init__(
            f"{endpoint}: API error: {' '.join(parts) or 'unknown'}", endpoint=endpoint
        )
        self.status = status
        self.title = title
        self.message = message
        self.body = body

    @property
    def is_rate_limited(self) -> bool:
        """True for a throttle, whichever of the known 429 shapes it came in."""
        if self.status == 429:
            return True
        text = f"{self.title or ''} {self.message or ''}".lower()
        return "rate limit" in text

    @property
    def retryable(self) -> bool:
        """Throttles and server-side failures pass; anything else will fail the same way again."""
        return self.is_rate_limited or (self.status is not None and self.status >= 500)


class StatusError(GeckoError):
    """A non-2xx HTTP answer, raised by the client; ``status`` is the HTTP status code."""

    def __init__(self, status: int, *, endpoint: str, detail: str = "") -> None:
        text = f"{endpoint}: HTTP {status}" + (f": {detail}" if detail else "")
        super().__init__(text, endpoint=endpoint)
        self.status = status
        self.detail = detail


class RateLimited(StatusError):
    """HTTP 429. ``retry_after`` is the server's hint in seconds (``None`` if absent).

    The hint has been seen as ``0``: the caller must apply its own floor, not trust it.
    """

    retryable = True

    def __init__(self, retry_after: float | None, *, endpoint: str, detail: str = "") -> None:
        super().__init__(429, endpoint=endpoint, detail=detail)
        self.retry_after = retry_after


class ServerError(StatusError):
    """HTTP 5xx: transient on GeckoTerminal's side (or Cloudflare's)."""

    retryable = True


class ClientError(StatusError):
    """HTTP 4xx other than 429: the request itself is wrong; retrying will not help."""


class NotFound(ClientError):
    """HTTP 404: unknown network, pool or token."""

    def __init__(self, *, endpoint: str, detail: str = "") -> None:
        super().__init__(404, endpoint=endpoint, detail=detail)


class TransportError(GeckoError):
    """A timeout or connection failure: nothing (or nothing whole) came back."""

    retryable = True


class MustWait(GeckoError):
    """No API call may go now: the shared bucket or the circuit breaker says wait ``seconds``.

    Celery tasks turn this into ``self.retry(countdown=seconds)`` instead of sleeping in a
    worker slot; blocking callers (management commands) never see it.
    """

    def __init__(self, seconds: float, *, endpoint: str, why: str) -> None:
        super().__init__(f"{endpoint}: {why}; wait {seconds:.1f}s", endpoint=endpoint)
        self.seconds = seconds
        self.why = why


class Unreachable(Exception):
    """A command's target could not be resolved or connected to before it ever answered.

    Not a GeckoError on purpose: the walks catch GeckoError per unit and go on to the next one,
    but a target that never answered will not answer the next unit either; the command stops
    with this one line instead of retrying for minutes (issue 16)."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach the API at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason
