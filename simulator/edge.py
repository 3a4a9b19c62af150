"""The API's CDN: an answer is kept per URL and served again for up to ``max_age`` seconds.

GeckoTerminal answers with ``s-maxage=60`` behind Cloudflare, so a URL asked twice within a
minute gets its first answer back (the open candle, the last trades and the pool stats as they
were then), while a URL not asked recently is fresh. Age is simulated time, so a fast or
frozen clock ages answers as it ages the market. Only 200s are kept; errors and refusals never.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .responses import Reply

DEFAULT_MAX_AGE = 60.0
KEEP = 4096


@dataclass(frozen=True)
class Cached:
    reply: Reply
    request_id: str
    stored_at: float


def cache_key(path: str, query_string: str) -> str:
    """The URL without an API key in its query: the CDN keys on the resource, not the caller."""
    parts = [p for p in query_string.split("&") if p and not p.startswith("x_cg_")]
    return f"{path}?{'&'.join(parts)}"


class EdgeCache:
    """Thread-safe, bounded; ``max_age`` 0 turns it off."""

    def __init__(self, max_age: float = DEFAULT_MAX_AGE, keep: int = KEEP) -> None:
        self.max_age = _age(max_age)
        self._keep = keep
        self._data: OrderedDict[str, Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> tuple[Cached, float] | None:
        """The answer kept for ``key`` and its age, if younger than ``max_age``."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            age = now - entry.stored_at
            if not 0 <= age < self.max_age:
                del self._data[key]
                return None
            return entry, age

    def put(self, key: str, now: float, reply: Reply, request_id: str) -> None:
        if self.max_age <= 0 or reply.status != 200:
            return
        with self._lock:
            self._data[key] = Cached(reply, request_id, now)
            self._data.move_to_end(key)
            while len(self._data) > self._keep:
                self._data.popitem(last=False)

    def configure(self, max_age: float) -> None:
        self.max_age = _age(max_age)
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _age(seconds: float) -> float:
    seconds = float(seconds)
    if seconds < 0:
        raise ValueError(f"cache_seconds {seconds}: give 0 (no cache) or more")
    return seconds
