"""Which endpoint a path names, under either base path the data is served from.

GeckoTerminal serves ``/api/v2/...`` keyless; CoinGecko serves the same resources to key holders
under ``/api/v3/onchain/...``, next to its own ``/api/v3/key`` usage endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

V2 = "/api/v2"
ONCHAIN = "/api/v3/onchain"
KEY_PATH = "/api/v3/key"
_SEG = r"([^/]+)"
ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^/{pattern}/?$"))
    for kind, pattern in (
        ("networks", "networks"),
        ("dexes", rf"networks/{_SEG}/dexes"),
        ("dex_pools", rf"networks/{_SEG}/dexes/{_SEG}/pools"),
        ("pools_multi", rf"networks/{_SEG}/pools/multi/([^/]*)"),
        ("ohlcv", rf"networks/{_SEG}/pools/{_SEG}/ohlcv/{_SEG}"),
        ("trades", rf"networks/{_SEG}/pools/{_SEG}/trades"),
        ("pool", rf"networks/{_SEG}/pools/{_SEG}"),
        ("token_info", rf"networks/{_SEG}/tokens/{_SEG}/info"),
        ("token", rf"networks/{_SEG}/tokens/{_SEG}"),
    )
)


@dataclass(frozen=True)
class Route:
    """``kind`` names the endpoint (``unknown`` if none matches); ``base`` roots its links."""

    kind: str
    args: tuple[str, ...] = ()
    base: str = V2


def resolve(path: str) -> Route:
    if path.rstrip("/") == KEY_PATH:
        return Route("key", base=KEY_PATH)
    for base in (V2, ONCHAIN):
        if path.startswith(base + "/"):
            rest = path[len(base) :]
            for kind, pattern in ROUTES:
                match = pattern.match(rest)
                if match:
                    return Route(kind, match.groups(), base)
            return Route("unknown", base=base)
    return Route("unknown")
