"""Typed, immutable records for what GeckoTerminal returns: the only shapes the rest of the
project sees, so no caller ever touches raw JSON or the ``{network}_`` id prefixes.

Conventions: money, prices, percentages, supplies and amounts are exact ``Decimal`` (or
``None`` where the API sent null/"NaN"); counts are ``int``; candle values are ``float`` (the
API sends them as JSON numbers); every datetime is aware UTC. Addresses carry no network prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

Money = Decimal | None


@dataclass(frozen=True, slots=True)
class DexRecord:
    """A DEX of a network; ``slug`` is the bare API id (``pump-fun``, ``uniswap_v3``)."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token: identity from ``included`` or ``/tokens/{a}``; market fields only from the latter.

    ``decimals`` is None only if the API sent null.
    """

    address: str
    symbol: str
    name: str
    decimals: int | None
    image_url: str | None = None
    coingecko_coin_id: str | None = None
    total_supply: Money = None
    normalized_total_supply: Money = None
    price_usd: Money = None
    fdv_usd: Money = None
    market_cap_usd: Money = None
    total_reserve_in_usd: Money = None
    volume_usd: dict[str, Money] = field(default_factory=dict)
    last_trade_timestamp: datetime | None = None
    top_pool_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenInfoRecord:
    """Token metadata from ``/tokens/{a}/info``; ``extra`` is the raw attributes dict, whole."""

    address: str
    name: str
    symbol: str
    decimals: int | None = None
    image_url: str | None = None
    image: dict[str, str | None] = field(default_factory=dict)
    coingecko_coin_id: str | None = None
    websites: tuple[str, ...] = ()
    discord_url: str | None = None
    farcaster_url: str | None = None
    zora_url: str | None = None
    telegram_handle: str | None = None
    twitter_handle: str | None = None
    description: str | None = None
    gt_score: float | None = None
    gt_score_details: dict[str, float | None] = field(default_factory=dict)
    gt_verified: bool | None = None
    categories: tuple[str, ...] = ()
    gt_category_ids: tuple[str, ...] = ()
    holders_count: int | None = None
    holders_distribution: dict[str, Money] = field(default_factory=dict)
    holders_last_updated: datetime | None = None
    mint_authority: str | bool | None = None
    freeze_authority: str | bool | None = None
    is_honeypot: str | bool | None = None
    metadata_updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TxCounts:
    """Trades in one window; ``buyers``/``sellers`` are absent from older payloads."""

    buys: int
    sells: int
    buyers: int | None = None
    sellers: int | None = None


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """A pool snapshot. ``address`` is the pool's own; token addresses come from relationships.

    The window dicts are keyed as served (``m5``, ``m15``, ``m30``, ``h1``, ``h6``, ``h24``).
    """

    address: str
    name: str
    dex_slug: str
    base_token_address: str
    quote_token_address: str
    pool_created_at: datetime | None
    base_token_price_usd: Money
    quote_token_price_usd: Money
    base_token_price_native: Money
    quote_token_price_native: Money
    base_token_price_quote_token: Money
    quote_token_price_base_token: Money
    fdv_usd: Money
    market_cap_usd: Money
    reserve_in_usd: Money
    volume_usd: dict[str, Money]
    price_change_percentage: dict[str, Money]
    transactions: dict[str, TxCounts]


@dataclass(frozen=True, slots=True)
class PoolPage:
    """Pools of one response plus the deduplicated ``included`` tokens (by address) and dexes."""

    pools: list[PoolRecord]
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    dexes: dict[str, DexRecord] = field(default_factory=dict)

    def by_address(self) -> dict[str, PoolRecord]:
        """Pools keyed by address: ``multi`` drops unknown addresses, so never match by position."""
        return {pool.address: pool for pool in self.pools}


@dataclass(frozen=True, slots=True)
class CandleRecord:
    """One OHLCV candle; ``timestamp`` is the interval's open time."""

    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume_usd: float


@dataclass(frozen=True, slots=True)
class CandleReject:
    """A well-typed candle too implausible to store; ``timestamp`` None when that is the fault."""

    index: int
    timestamp: datetime | None
    problem: str
    endpoint: str = "ohlcv"

    def __str__(self) -> str:
        return f"{self.endpoint}: data.attributes.ohlcv_list[{self.index}]: {self.problem}"


@dataclass(frozen=True, slots=True)
class OhlcvTokenMeta:
    """``meta.base`` / ``meta.quote`` of an OHLCV response."""

    address: str
    name: str
    symbol: str
    coingecko_coin_id: str | None


@dataclass(frozen=True, slots=True)
class OhlcvPage:
    """One OHLCV response; ``candles`` stay newest-first, as served (the newest is still open)."""

    request_id: str
    candles: list[CandleRecord]
    base: OhlcvTokenMeta | None = None
    quote: OhlcvTokenMeta | None = None
    rejected: tuple[CandleReject, ...] = ()


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One swap. ``trade_id`` is the whole opaque API id: the only stable unique key."""

    trade_id: str
    block_number: int
    tx_hash: str
    tx_from_address: str
    side: str
    from_token_address: str
    to_token_address: str
    from_token_amount: Money
    to_token_amount: Money
    price_from_in_currency_token: Money
    price_to_in_currency_token: Money
    price_from_in_usd: Money
    price_to_in_usd: Money
    volume_usd: Money
    block_timestamp: datetime


@dataclass(frozen=True, slots=True)
class TradeIdParts:
    """A trade id split up; ``unix_ts`` is NOT the block timestamp (it runs seconds later)."""

    network: str
    block_number: int
    tx_hash: str
    event_index: int
    unix_ts: int
