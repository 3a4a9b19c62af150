"""Raw GeckoTerminal v2 JSON → typed records: the one normalisation layer for every response.

Each parser takes the decoded body (see :func:`loads`), checks the envelope (error documents
raise :class:`ApiErrorBody` even under HTTP 200), and reads every field through
:class:`~collectors.gecko.parse_core.Node`, so a body that does not fit raises
:class:`PayloadError` naming the endpoint and field path. ``endpoint`` only labels errors;
pass e.g. ``"multi_pools"`` or ``"new_pools"`` to tell list endpoints apart.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from collectors.gecko.parse_core import (
    Node,
    api_error,
    check_envelope,
    loads,
    parse_trade_id,
    strip_network_prefix,
    strip_node,
)
from collectors.gecko.records import (
    CandleRecord,
    CandleReject,
    DexRecord,
    OhlcvPage,
    OhlcvTokenMeta,
    PoolPage,
    PoolRecord,
    TokenInfoRecord,
    TokenRecord,
    TradeRecord,
    TxCounts,
)

__all__ = [
    "api_error",
    "check_envelope",
    "loads",
    "parse_dexes",
    "parse_ohlcv",
    "parse_pool",
    "parse_pool_list",
    "parse_token",
    "parse_token_info",
    "parse_trade_id",
    "parse_trades",
    "strip_network_prefix",
]

# (record field, API attribute): documented pool keys, always served (null allowed).
_POOL_MONEY = (
    ("base_token_price_usd", "base_token_price_usd"),
    ("quote_token_price_usd", "quote_token_price_usd"),
    ("base_token_price_native", "base_token_price_native_currency"),
    ("quote_token_price_native", "quote_token_price_native_currency"),
    ("base_token_price_quote_token", "base_token_price_quote_token"),
    ("quote_token_price_base_token", "quote_token_price_base_token"),
    ("fdv_usd", "fdv_usd"),
    ("market_cap_usd", "market_cap_usd"),
    ("reserve_in_usd", "reserve_in_usd"),
)
# Market fields of /tokens/{a}; absent from tokens in ``included``, hence optional.
_TOKEN_MONEY = (
    "total_supply",
    "normalized_total_supply",
    "price_usd",
    "fdv_usd",
    "market_cap_usd",
    "total_reserve_in_usd",
)
_TRADE_MONEY = (
    ("from_token_amount", "from_token_amount"),
    ("to_token_amount", "to_token_amount"),
    ("price_from_in_currency_token", "price_from_in_currency_token"),
    ("price_to_in_currency_token", "price_to_in_currency_token"),
    ("price_from_in_usd", "price_from_in_usd"),
    ("price_to_in_usd", "price_to_in_usd"),
    ("volume_usd", "volume_in_usd"),
)
_TRADE_SIDES = ("buy", "sell")
_INFO_TEXT = (
    "image_url",
    "coingecko_coin_id",
    "discord_url",
    "farcaster_url",
    "zora_url",
    "telegram_handle",
    "twitter_handle",
    "description",
)
_INFO_LISTS = ("websites", "categories", "gt_category_ids")
_INFO_FLAGS = ("mint_authority", "freeze_authority", "is_honeypot")


def _root(body: Any, endpoint: str) -> Node:
    return Node(check_envelope(body, endpoint), endpoint)


def _resource(node: Node, kind: str) -> Node:
    """Check a resource object's ``type``: a token where a pool belongs is a bug upstream."""
    type_node = node["type"]
    if type_node.text() != kind:
        raise type_node.expected(repr(kind))
    return node


def _prefixed_address(node: Node, network: str) -> str:
    """``attributes.address``, checked against the prefixed ``id`` so the two never drift."""
    address = node["attributes"]["address"].text(non_empty=True)
    id_node = node["id"]
    if strip_node(id_node, network) != address:
        raise id_node.error(f"id {id_node.value!r} does not match attributes.address {address!r}")
    return address


def _related_id(node: Node, name: str) -> Node:
    return node["relationships"][name]["data"]["id"]


def _dex(node: Node) -> DexRecord:
    _resource(node, "dex")
    return DexRecord(slug=node["id"].text(non_empty=True), name=node["attributes"]["name"].text())


def _token(node: Node, network: str) -> TokenRecord:
    _resource(node, "token")
    attrs = node["attributes"]
    top_pools = node.get("relationships").get("top_pools").get("data")
    return TokenRecord(
        address=_prefixed_address(node, network),
        symbol=attrs["symbol"].text(),
        name=attrs["name"].text(),
        decimals=attrs.get("decimals").opt_integer(),
        image_url=attrs.get("image_url").opt_text(),
        coingecko_coin_id=attrs.get("coingecko_coin_id").opt_text(),
        volume_usd={window: v.money() for window, v in attrs.get("volume_usd").opt_members()},
        last_trade_timestamp=attrs.get("last_trade_timestamp").opt_moment(),
        top_pool_addresses=tuple(strip_node(p["id"], network) for p in top_pools.opt_elements()),
        **{key: attrs.get(key).money() for key in _TOKEN_MONEY},
    )


def _tx_counts(node: Node) -> TxCounts:
    return TxCounts(
        buys=node["buys"].integer(),
        sells=node["sells"].integer(),
        buyers=node.get("buyers").opt_integer(),
        sellers=node.get("sellers").opt_integer(),
    )


def _pool(node: Node, network: str) -> PoolRecord:
    _resource(node, "pool")
    attrs = node["attributes"]
    return PoolRecord(
        address=_prefixed_address(node, network),
        name=attrs["name"].text(),
        dex_slug=_related_id(node, "dex").text(non_empty=True),
        base_token_address=strip_node(_related_id(node, "base_token"), network),
        quote_token_address=strip_node(_related_id(node, "quote_token"), network),
        pool_created_at=attrs["pool_created_at"].opt_moment(),
        volume_usd={w: v.money() for w, v in attrs["volume_usd"].members()},
        price_change_percentage={
            w: v.money() for w, v in attrs["price_change_percentage"].members()
        },
        transactions={w: _tx_counts(v) for w, v in attrs["transactions"].members()},
        **{field: attrs[key].money() for field, key in _POOL_MONEY},
    )


def _page(root: Node, pools: list[PoolRecord], network: str) -> PoolPage:
    """Attach ``included`` tokens (keyed by address) and dexes; other included types are skipped."""
    tokens: dict[str, TokenRecord] = {}
    dexes: dict[str, DexRecord] = {}
    for item in root.get("included").opt_elements():
        kind = item["type"].text()
        if kind == "token":
            token = _token(item, network)
            tokens[token.address] = token
        elif kind == "dex":
            dex = _dex(item)
            dexes[dex.slug] = dex
    return PoolPage(pools=pools, tokens=tokens, dexes=dexes)


def parse_dexes(body: Any, *, endpoint: str = "dexes") -> tuple[list[DexRecord], str | None]:
    """``/networks/{n}/dexes``: one page of dexes and ``links.next`` (None on the last page)."""
    root = _root(body, endpoint)
    dexes = [_dex(item) for item in root["data"].elements()]
    return dexes, root.get("links").get("next").opt_text()


def parse_pool_list(body: Any, network: str, *, endpoint: str = "pools") -> PoolPage:
    """A list of pools (top pools of a dex or network, ``multi``, new pools); ``[]`` is fine."""
    root = _root(body, endpoint)
    pools = [_pool(item, network) for item in root["data"].elements()]
    return _page(root, pools, network)


def parse_pool(body: Any, network: str, *, endpoint: str = "pool") -> PoolPage:
    """``/networks/{n}/pools/{a}``: ``data`` is a single object, not a list."""
    root = _root(body, endpoint)
    return _page(root, [_pool(root["data"], network)], network)


def parse_token(body: Any, network: str, *, endpoint: str = "token") -> TokenRecord:
    """``/networks/{n}/tokens/{a}``: market data; ``included`` top pools are not parsed here."""
    return _token(_root(body, endpoint)["data"], network)


def parse_token_info(body: Any, network: str, *, endpoint: str = "token_info") -> TokenInfoRecord:
    """``/networks/{n}/tokens/{a}/info``: metadata; ``extra`` keeps the raw attributes whole."""
    data = _resource(_root(body, endpoint)["data"], "token")
    attrs = data["attributes"]
    holders = attrs.get("holders")
    return TokenInfoRecord(
        address=_prefixed_address(data, network),
        name=attrs["name"].text(),
        symbol=attrs["symbol"].text(),
        decimals=attrs.get("decimals").opt_integer(),
        image={size: url.opt_text() for size, url in attrs.get("image").opt_members()},
        gt_score=attrs.get("gt_score").opt_number(),
        gt_score_details={
            k: v.opt_number() for k, v in attrs.get("gt_score_details").opt_members()
        },
        gt_verified=attrs.get("gt_verified").opt_flag(),
        holders_count=holders.get("count").opt_integer(),
        holders_distribution={
            k: v.money(lenient=True)
            for k, v in holders.get("distribution_percentage").opt_members()
        },
        holders_last_updated=holders.get("last_updated").opt_moment(),
        metadata_updated_at=attrs.get("metadata_updated_at").opt_moment(),
        extra=dict(attrs.obj()),
        **{key: attrs.get(key).opt_text() for key in _INFO_TEXT},
        **{key: tuple(e.text() for e in attrs.get(key).opt_elements()) for key in _INFO_LISTS},
        **{key: attrs.get(key).opt_text_or_flag() for key in _INFO_FLAGS},
    )


def _ohlcv_meta(node: Node) -> OhlcvTokenMeta | None:
    if node.is_null:
        return None
    return OhlcvTokenMeta(
        address=node["address"].text(non_empty=True),
        name=node["name"].text(),
        symbol=node["symbol"].text(),
        coingecko_coin_id=node.get("coingecko_coin_id").opt_text(),
    )


def _candle(node: Node) -> CandleRecord:
    values = node.elements()
    if len(values) != 6:
        raise node.error(
            f"expected [timestamp, open, high, low, close, volume], got {len(values)} items"
        )
    timestamp, *prices = values
    return CandleRecord(timestamp.epoch(), *(value.number() for value in prices))


# An open time up to this far ahead of our clock is skew, not a fault.
FUTURE_TOLERANCE_SECONDS = 300
# Epoch seconds reach 10**11 in the year 5138; 13-digit values are milliseconds.
_MILLISECONDS_FROM = 10**11
_MILLISECONDS_UNTIL = 10**14


def _implausible(item: list, now: float) -> tuple[int | None, str] | None:
    """Why a well-typed candle cannot be stored, with its usable open time (None if that is
    the fault); None for a plausible candle. Checked before any datetime is built."""
    ts, o, h, low, c, v = item
    if _MILLISECONDS_FROM <= ts < _MILLISECONDS_UNTIL:
        return None, f"timestamp {ts} looks like milliseconds; expected epoch seconds"
    if not 0 <= ts < _MILLISECONDS_FROM:
        return None, f"timestamp {ts} is out of range"
    if ts > now + FUTURE_TOLERANCE_SECONDS:
        return None, f"timestamp {ts} is in the future ({int(ts - now)} s ahead)"
    try:
        finite = all(math.isfinite(x) for x in (o, h, low, c, v))
    except OverflowError:
        finite = False
    if not finite:
        return ts, f"not a finite number in {describe_list(item)}"
    if min(o, h, low, c) < 0:
        return ts, f"negative price in {describe_list(item)}"
    if v < 0:
        return ts, f"negative volume {v!r}"
    if h < low:
        return ts, f"high < low ({h!r} < {low!r})"
    return None


# A candle whose close is this many times above (or below) both its neighbours' is a glitch: a
# real move does not reverse within one interval. Memecoins move 100x in a day, never 10,000x
# and back.
PRICE_GLITCH = 1e4


def _glitches(candles: list[CandleRecord]) -> list[tuple[int, str]]:
    """(position, problem) of each candle priced ``PRICE_GLITCH`` times off both neighbours.
    The newest and oldest of a page have one neighbour, so which of two is wrong is unknown:
    they are not judged."""
    out = []
    closes = [c.close for c in candles]
    for i in range(1, len(closes) - 1):
        price, low, high = (
            closes[i],
            min(closes[i - 1], closes[i + 1]),
            max(closes[i - 1], closes[i + 1]),
        )
        if price <= 0 or low <= 0:
            continue
        if price >= PRICE_GLITCH * high:
            out.append((i, f"close {price!r} is {price / high:.3g}x both neighbours' closes"))
        elif price * PRICE_GLITCH <= low:
            out.append((i, f"close {price!r} is 1/{low / price:.3g} of both neighbours' closes"))
    return out


def describe_list(item: list) -> str:
    return "[" + ", ".join(repr(x) for x in item) + "]"


def _well_typed(item: Any) -> bool:
    return (
        type(item) is list
        and len(item) == 6
        and type(item[0]) is int
        and all(type(x) is float or type(x) is int for x in item[1:])
    )


def _candles(node: Node, endpoint: str) -> tuple[list[CandleRecord], tuple[CandleReject, ...]]:
    """Every candle, and the rejected ones. A well-formed candle (an int and five finite
    floats, the API's norm) is built directly, a mistyped one goes through the checked path
    and fails the page with its cell named. Why the fast path: a backfill parses ~260k
    candles per pool-timeframe and the checked path builds seven Nodes each."""
    if not isinstance(node.value, list):
        return [_candle(c) for c in node.elements()], ()
    candles: list[CandleRecord] = []
    indices: list[int] = []
    rejected: list[CandleReject] = []
    now = time.time()
    isfinite, fromtimestamp = math.isfinite, datetime.fromtimestamp
    for index, item in enumerate(node.value):
        if _well_typed(item):
            ts, o, h, low, c, v = item
            if (
                0 <= ts <= now + FUTURE_TOLERANCE_SECONDS
                and type(o) is float
                and type(h) is float
                and type(low) is float
                and type(c) is float
                and type(v) is float
                and isfinite(o + h + low + c + v)
                and min(o, h, low, c, v) >= 0
                and h >= low
            ):
                candles.append(CandleRecord(fromtimestamp(ts, UTC), o, h, low, c, v))
                indices.append(index)
                continue
            fault = _implausible(item, now)
            if fault is not None:
                at, problem = fault
                stamp = None if at is None else fromtimestamp(at, UTC)
                rejected.append(CandleReject(index, stamp, problem, endpoint))
                continue
        candles.append(_candle(node._child(item, index)))
        indices.append(index)
    glitches = _glitches(candles)
    for position, problem in glitches:
        rejected.append(
            CandleReject(indices[position], candles[position].timestamp, problem, endpoint)
        )
    if glitches:
        dropped = {position for position, _ in glitches}
        candles = [c for i, c in enumerate(candles) if i not in dropped]
        rejected.sort(key=lambda r: r.index)
    return candles, tuple(rejected)


def parse_ohlcv(body: Any, *, endpoint: str = "ohlcv") -> OhlcvPage:
    """``.../ohlcv/{timeframe}``: candles newest-first as served; ``meta`` is optional."""
    root = _root(body, endpoint)
    data = _resource(root["data"], "ohlcv_request_response")
    meta = root.get("meta")
    candles, rejected = _candles(data["attributes"]["ohlcv_list"], endpoint)
    return OhlcvPage(
        request_id=data["id"].text(),
        candles=candles,
        base=_ohlcv_meta(meta.get("base")),
        quote=_ohlcv_meta(meta.get("quote")),
        rejected=rejected,
    )


def _trade(node: Node, network: str) -> TradeRecord:
    _resource(node, "trade")
    trade_id = node["id"]
    strip_node(trade_id, network)
    attrs = node["attributes"]
    side = attrs["kind"]
    if side.text() not in _TRADE_SIDES:
        raise side.expected("'buy' or 'sell'")
    return TradeRecord(
        trade_id=trade_id.text(),
        block_number=attrs["block_number"].integer(),
        tx_hash=attrs["tx_hash"].text(non_empty=True),
        tx_from_address=attrs["tx_from_address"].text(),
        side=side.text(),
        from_token_address=attrs["from_token_address"].text(non_empty=True),
        to_token_address=attrs["to_token_address"].text(non_empty=True),
        block_timestamp=attrs["block_timestamp"].moment(),
        **{field: attrs[key].money() for field, key in _TRADE_MONEY},
    )


def parse_trades(body: Any, network: str, *, endpoint: str = "trades") -> list[TradeRecord]:
    """``.../pools/{a}/trades``: up to 300 trades of the last 24 h, newest first."""
    return [_trade(item, network) for item in _root(body, endpoint)["data"].elements()]
